/**
 * The gateway's one database schema (PostgreSQL dialect), shared by PGlite and a PostgreSQL
 * server. Migrations under gateway/drizzle/ are generated from this file by drizzle-kit
 * (`npx drizzle-kit generate --config gateway/drizzle.config.ts`); never edit them by hand.
 *
 * Health data lives only in `resources.ciphertext` (AES-256-GCM under a per-patient data key).
 * The plaintext columns are the minimum needed to index: resource type, id, patient id and
 * last-updated time. Audit events are not health data and stay readable JSON.
 */
import { sql } from "drizzle-orm";
import {
  bigint,
  check,
  customType,
  index,
  integer,
  jsonb,
  numeric,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
} from "drizzle-orm/pg-core";

/** PostgreSQL `bytea`; node-postgres yields Buffer, PGlite Uint8Array: both normalized to Buffer. */
export const bytea = customType<{ data: Buffer; driverData: Uint8Array }>({
  dataType() {
    return "bytea";
  },
  toDriver(value: Buffer): Uint8Array {
    return value;
  },
  fromDriver(value: Uint8Array): Buffer {
    return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  },
});

const timestamptz = (name: string) => timestamp(name, { withTimezone: true, precision: 3, mode: "date" });

/** Which master key (by version and fingerprint) wraps the data keys. Exactly one row. */
export const keyring = pgTable(
  "keyring",
  {
    id: smallint("id").primaryKey().default(1),
    keyVersion: integer("key_version").notNull(),
    /** HMAC-SHA256(master key, fixed label), truncated: identifies the key, reveals nothing. */
    fingerprint: text("fingerprint").notNull(),
    createdAt: timestamptz("created_at").notNull().defaultNow(),
    rotatedAt: timestamptz("rotated_at"),
  },
  (t) => [check("keyring_singleton", sql`${t.id} = 1`), check("keyring_version_positive", sql`${t.keyVersion} > 0`)],
);

/** One random AES-256 data key per patient, wrapped by the master key; NULL once erased. */
export const patientKeys = pgTable(
  "patient_keys",
  {
    patientId: text("patient_id").primaryKey(),
    /** iv (12) || tag (16) || wrapped key (32). */
    wrappedKey: bytea("wrapped_key"),
    keyVersion: integer("key_version").notNull(),
    createdAt: timestamptz("created_at").notNull().defaultNow(),
    erasedAt: timestamptz("erased_at"),
  },
  (t) => [
    check("patient_keys_erasure", sql`(${t.erasedAt} IS NULL) = (${t.wrappedKey} IS NOT NULL)`),
    check("patient_keys_version_positive", sql`${t.keyVersion} > 0`),
  ],
);

/** Current version of each stored FHIR resource, encrypted under its patient's data key. */
export const resources = pgTable(
  "resources",
  {
    resourceType: text("resource_type").notNull(),
    id: text("id").notNull(),
    patientId: text("patient_id")
      .notNull()
      .references(() => patientKeys.patientId),
    lastUpdated: timestamptz("last_updated").notNull(),
    version: integer("version").notNull(),
    ciphertext: bytea("ciphertext").notNull(),
    iv: bytea("iv").notNull(),
    authTag: bytea("auth_tag").notNull(),
  },
  (t) => [
    primaryKey({ name: "resources_pkey", columns: [t.resourceType, t.id] }),
    index("resources_patient_idx").on(t.patientId, t.resourceType, t.lastUpdated, t.id),
    index("resources_type_updated_idx").on(t.resourceType, t.lastUpdated, t.id),
    check("resources_id_format", sql`${t.id} ~ '^[A-Za-z0-9.-]{1,64}$'`),
    check("resources_version_positive", sql`${t.version} > 0`),
    check("resources_iv_length", sql`octet_length(${t.iv}) = 12`),
    check("resources_tag_length", sql`octet_length(${t.authTag}) = 16`),
  ],
);

/** Append-only, hash-chained log of FHIR AuditEvent resources. */
export const auditEvents = pgTable(
  "audit_events",
  {
    /** Gapless, assigned under a table lock: 1, 2, 3, … */
    seq: bigint("seq", { mode: "number" }).primaryKey(),
    recordedAt: timestamptz("recorded_at").notNull(),
    /** The patient the event is about, if any (copied from the event, checked by verifyChain). */
    patientId: text("patient_id"),
    /** Hex sha256; 64 zeros for the first entry. */
    prevHash: text("prev_hash").notNull(),
    /** Hex sha256(prev_hash bytes || canonical JSON of event). */
    hash: text("hash").notNull().unique("audit_events_hash_key"),
    event: jsonb("event").notNull(),
  },
  (t) => [
    index("audit_events_patient_idx").on(t.patientId, t.seq),
    // GET /fhir/AuditEvent/{id}: the event's own (stable, hashed) id.
    index("audit_events_event_id_idx").on(sql`(${t.event}->>'id')`),
    check("audit_events_seq_positive", sql`${t.seq} > 0`),
    check("audit_events_hash_format", sql`${t.hash} ~ '^[0-9a-f]{64}$' AND ${t.prevHash} ~ '^[0-9a-f]{64}$'`),
  ],
);

/** One-time codes (only their sha256 is stored) that tie a Patient to a wallet. */
export const linkCodes = pgTable(
  "link_codes",
  {
    codeHash: text("code_hash").primaryKey(),
    patientId: text("patient_id")
      .notNull()
      .references(() => patientKeys.patientId, { onDelete: "cascade" }),
    createdAt: timestamptz("created_at").notNull(),
    expiresAt: timestamptz("expires_at").notNull(),
    usedAt: timestamptz("used_at"),
    usedBy: text("used_by"),
    /** "link": ties a patient that has no wallet yet; "relink": replaces its wallets (issued by an admin). */
    kind: text("kind").notNull().default("link"),
  },
  (t) => [
    index("link_codes_patient_idx").on(t.patientId),
    check("link_codes_hash_format", sql`${t.codeHash} ~ '^[0-9a-f]{64}$'`),
    check("link_codes_expiry_after_creation", sql`${t.expiresAt} > ${t.createdAt}`),
    check("link_codes_kind", sql`${t.kind} IN ('link', 'relink')`),
  ],
);

/** A wallet (did:pkh) belongs to at most one patient; a patient may have several wallets. */
export const patientWallets = pgTable(
  "patient_wallets",
  {
    did: text("did").primaryKey(),
    patientId: text("patient_id")
      .notNull()
      .references(() => patientKeys.patientId, { onDelete: "cascade" }),
    linkedAt: timestamptz("linked_at").notNull(),
  },
  (t) => [
    index("patient_wallets_patient_idx").on(t.patientId),
    check("patient_wallets_did_format", sql`${t.did} ~ '^did:pkh:eip155:[0-9]{1,20}:0x[0-9a-fA-F]{40}$'`),
  ],
);

/** Sign-In with Ethereum nonces: issued by GET /auth/nonce, each accepted once before it expires. */
export const siweNonces = pgTable(
  "siwe_nonces",
  {
    nonce: text("nonce").primaryKey(),
    createdAt: timestamptz("created_at").notNull(),
    expiresAt: timestamptz("expires_at").notNull(),
    usedAt: timestamptz("used_at"),
    /** The address that signed in with it (lower case). */
    usedBy: text("used_by"),
  },
  (t) => [
    index("siwe_nonces_expires_idx").on(t.expiresAt),
    check("siwe_nonces_format", sql`${t.nonce} ~ '^[A-Za-z0-9]{16,64}$'`),
    check("siwe_nonces_expiry_after_creation", sql`${t.expiresAt} > ${t.createdAt}`),
  ],
);

/** Transactions the gateway relayed (and paid gas for), to cap them per patient address and in all. */
export const relayUsage = pgTable(
  "relay_usage",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    /** The patient whose signature was relayed (lower-case address). */
    patient: text("patient").notNull(),
    /** grant, revoke, revoke-all, cancel-signatures, join, leave. */
    action: text("action").notNull(),
    createdAt: timestamptz("created_at").notNull(),
    txHash: text("tx_hash"),
    /** Which hourly budget pays: "revocation" (its own, served first) or "shared" (the rest). */
    budget: text("budget").notNull().default("shared"),
    /**
     * Wei charged: the most the transaction can cost (gas limit × max fee) while it is pending,
     * what it did cost (gas used × effective price) once mined, 0 when it was never sent.
     */
    wei: numeric("wei", { precision: 78, scale: 0, mode: "bigint" })
      .notNull()
      .default(sql`0`),
  },
  (t) => [
    index("relay_usage_patient_idx").on(t.patient, t.createdAt),
    index("relay_usage_created_idx").on(t.createdAt),
    check("relay_usage_patient_format", sql`${t.patient} ~ '^0x[0-9a-f]{40}$'`),
    check("relay_usage_budget", sql`${t.budget} IN ('revocation', 'shared')`),
    check("relay_usage_wei", sql`${t.wei} >= 0`),
  ],
);

/**
 * The research studies this gateway has exported data to, with the key of the study's pseudonyms
 * (HMAC-SHA256 of "Type/id"): random, kept so that every export of one study uses the same
 * pseudonyms and two studies unrelated ones, and wrapped by the master key like the data keys
 * (whoever reads the database cannot recompute a pseudonym from a plaintext resource id).
 */
export const researchStudies = pgTable(
  "research_studies",
  {
    /** StudyEscrow address (lower case) and study id: "0x…:42". */
    study: text("study").primaryKey(),
    /** iv (12) || tag (16) || wrapped key (32), bound to `study`. */
    wrappedKey: bytea("wrapped_key").notNull(),
    createdAt: timestamptz("created_at").notNull(),
  },
  (t) => [
    check("research_studies_format", sql`${t.study} ~ '^0x[0-9a-f]{40}:[0-9]{1,78}$'`),
    check("research_studies_key_length", sql`octet_length(${t.wrappedKey}) = 60`),
  ],
);

/**
 * Each participant's delivery to a study, as reported to the StudyEscrow: "reporting" before the
 * report is sent, then "paid" (this custodian's delivery of that patient was paid, now or
 * earlier) or "refused" (the escrow skipped it: no grant, budget exhausted, not a participant).
 * A report is idempotent on-chain, so a row left "reporting" by a crash is simply reported again.
 */
export const researchDeliveries = pgTable(
  "research_deliveries",
  {
    study: text("study")
      .notNull()
      .references(() => researchStudies.study),
    /** The participant's wallet (lower case). */
    patient: text("patient").notNull(),
    patientId: text("patient_id").notNull(),
    status: text("status").notNull(),
    /** Why the escrow skipped it (IStudyEscrow.SkipReason name), for "refused". */
    reason: text("reason"),
    txHash: text("tx_hash"),
    updatedAt: timestamptz("updated_at").notNull(),
  },
  (t) => [
    primaryKey({ name: "research_deliveries_pkey", columns: [t.study, t.patient] }),
    check("research_deliveries_patient_format", sql`${t.patient} ~ '^0x[0-9a-f]{40}$'`),
    check("research_deliveries_status", sql`${t.status} IN ('reporting', 'paid', 'refused')`),
  ],
);

/**
 * Bearer tokens ended before their expiry (sign-out): refused by every instance. A row is needed
 * only until the token would have expired anyway.
 */
export const revokedTokens = pgTable(
  "revoked_tokens",
  {
    /** The token's `jti`. */
    jti: text("jti").primaryKey(),
    /** When the token would have expired (the row may go after it). */
    expiresAt: timestamptz("expires_at").notNull(),
    revokedAt: timestamptz("revoked_at").notNull(),
  },
  (t) => [
    index("revoked_tokens_revoked_idx").on(t.revokedAt),
    check("revoked_tokens_jti_format", sql`${t.jti} ~ '^[A-Za-z0-9_-]{8,64}$'`),
  ],
);
