/**
 * Tying a Patient to a wallet: the custodian hands the patient a one-time link code (only its
 * sha256 is stored, with an expiry); the patient redeems it signed in with a wallet, which
 * records `did:pkh:eip155:{chainId}:{address}` → patient id.
 *
 * A plain ("link") code ties a patient that has no wallet yet. Moving a patient to another wallet
 * (a lost key, a new device) takes a "relink" code, which only the custodian's admin route issues:
 * redeeming it replaces the patient's wallets with the one that redeems it.
 */
import { and, eq, gt, inArray, isNull } from "drizzle-orm";
import { createHash, randomBytes } from "node:crypto";
import { normalizeDidPkh as normalizeWallet } from "#sdk/did-pkh.ts";
import { badRequest, conflict, gone, notFound } from "../fhir/outcomes.ts";
import { assertValidId } from "../fhir/resources.ts";
import type { GatewayDb } from "./database.ts";
import { linkCodes, patientKeys, patientWallets } from "./schema.ts";

/** Crockford base32 without I, L, O, U: unambiguous when read aloud or typed. */
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/** 25 characters × 5 bits = 125 bits of entropy: unguessable, so a fast hash is enough. */
const CODE_LENGTH = 25;
export const DEFAULT_LINK_CODE_TTL_SECONDS = 15 * 60;
export const MAX_LINK_CODE_TTL_SECONDS = 7 * 24 * 60 * 60;

export type LinkCodeKind = "link" | "relink";

export interface LinkCode {
  /** Shown to the patient once; never stored. Groups of five separated by "-". */
  code: string;
  patientId: string;
  expiresAt: Date;
  kind: LinkCodeKind;
}

export interface LinkResult {
  patientId: string;
  did: string;
  kind: LinkCodeKind;
  /** The wallets a relink replaced (empty for a link). */
  replaced: string[];
}

function generateCode(): string {
  const bytes = randomBytes(CODE_LENGTH);
  let out = "";
  for (const b of bytes) out += ALPHABET[b & 31];
  return out.match(/.{5}/g)!.join("-");
}

/** Upper-cases, drops separators and whitespace, maps look-alikes (O→0, I/L→1). */
export function normalizeLinkCode(code: string): string {
  return code.toUpperCase().replace(/[\s-]/g, "").replace(/O/g, "0").replace(/[IL]/g, "1");
}

export function hashLinkCode(code: string): string {
  return createHash("sha256").update(normalizeLinkCode(code), "utf8").digest("hex");
}

/**
 * A did:pkh for an EVM account in its one spelling (sdk/did-pkh.ts: address EIP-55 checksummed).
 * Throws a 400 OperationOutcomeError otherwise.
 */
export function normalizeDidPkh(did: string): string {
  try {
    return normalizeWallet(did);
  } catch (err) {
    throw badRequest((err as Error).message);
  }
}

async function requireActivePatient(db: GatewayDb, patientId: string): Promise<void> {
  const [row] = await db
    .select({ erasedAt: patientKeys.erasedAt })
    .from(patientKeys)
    .where(eq(patientKeys.patientId, patientId))
    .for("share");
  if (!row) throw notFound(`Patient/${patientId} is not held by this gateway`);
  if (row.erasedAt) throw gone(`Patient/${patientId} has been erased`);
}

export async function createLinkCode(
  db: GatewayDb,
  patientId: string,
  options: { ttlSeconds?: number; now: Date; kind?: LinkCodeKind },
): Promise<LinkCode> {
  assertValidId(patientId);
  const kind = options.kind ?? "link";
  if (kind !== "link" && kind !== "relink") throw badRequest('Link code kind must be "link" or "relink"');
  const ttl = options.ttlSeconds ?? DEFAULT_LINK_CODE_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_LINK_CODE_TTL_SECONDS) {
    throw badRequest(`Link code lifetime must be 1..${MAX_LINK_CODE_TTL_SECONDS} seconds`);
  }
  const code = generateCode();
  const expiresAt = new Date(options.now.getTime() + ttl * 1000);
  await db.transaction(async (tx) => {
    await requireActivePatient(tx, patientId);
    await tx
      .insert(linkCodes)
      .values({ codeHash: hashLinkCode(code), patientId, createdAt: options.now, expiresAt, kind });
  });
  return { code, patientId, expiresAt, kind };
}

/**
 * Redeems a link code for a wallet: single use (atomic), before its expiry. The same message for
 * an unknown, used or expired code, so that redemption is no oracle. Linking a wallet that already
 * belongs to another patient is a 409; re-linking to the same patient is a no-op. A "link" code
 * for a patient that already has another wallet is a 409 (moving it takes a "relink" code); a
 * "relink" code replaces the patient's wallets. Nothing changes when it fails.
 */
export async function redeemLinkCode(db: GatewayDb, code: string, did: string, now: Date): Promise<LinkResult> {
  const wallet = normalizeDidPkh(did);
  return db.transaction(async (tx) => {
    const [used] = await tx
      .update(linkCodes)
      .set({ usedAt: now, usedBy: wallet })
      .where(and(eq(linkCodes.codeHash, hashLinkCode(code)), isNull(linkCodes.usedAt), gt(linkCodes.expiresAt, now)))
      .returning({ patientId: linkCodes.patientId, kind: linkCodes.kind });
    if (!used) throw badRequest("Invalid, expired or already used link code");
    const kind: LinkCodeKind = used.kind === "relink" ? "relink" : "link";
    await requireActivePatient(tx, used.patientId);
    const [existing] = await tx.select().from(patientWallets).where(eq(patientWallets.did, wallet)).for("update");
    if (existing && existing.patientId !== used.patientId) {
      throw conflict("This wallet is already linked to another patient");
    }
    const current = await tx
      .select({ did: patientWallets.did })
      .from(patientWallets)
      .where(eq(patientWallets.patientId, used.patientId))
      .for("update");
    const others = current.map((r) => r.did).filter((d) => d !== wallet);
    if (kind === "link" && others.length > 0) {
      throw conflict(
        "This patient is already linked to another wallet; moving it to a new wallet takes a relink code from the custodian",
      );
    }
    if (kind === "relink" && others.length > 0) {
      await tx
        .delete(patientWallets)
        .where(and(eq(patientWallets.patientId, used.patientId), inArray(patientWallets.did, others)));
    }
    if (!existing) await tx.insert(patientWallets).values({ did: wallet, patientId: used.patientId, linkedAt: now });
    return { patientId: used.patientId, did: wallet, kind, replaced: kind === "relink" ? others : [] };
  });
}

/** The patient a link code was issued for, whatever its state (for the audit of a failed redemption). */
export async function linkCodePatient(db: GatewayDb, code: string): Promise<string | undefined> {
  const [row] = await db
    .select({ patientId: linkCodes.patientId })
    .from(linkCodes)
    .where(eq(linkCodes.codeHash, hashLinkCode(code)));
  return row?.patientId;
}

/** The patient a wallet is linked to, if any (erased patients have no wallets). */
export async function findPatientByWallet(db: GatewayDb, did: string): Promise<string | undefined> {
  const [row] = await db
    .select({ patientId: patientWallets.patientId })
    .from(patientWallets)
    .where(eq(patientWallets.did, normalizeDidPkh(did)));
  return row?.patientId;
}

export async function listWallets(db: GatewayDb, patientId: string): Promise<string[]> {
  const rows = await db
    .select({ did: patientWallets.did })
    .from(patientWallets)
    .where(eq(patientWallets.patientId, patientId))
    .orderBy(patientWallets.linkedAt, patientWallets.did);
  return rows.map((r) => r.did);
}
