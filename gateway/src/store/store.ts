/**
 * The encrypted FHIR resource store: one current version per (type, id), encrypted under the
 * patient's data key. The keys are keys.ts's (master key, data keys, rotation, study pseudonym
 * keys), erasure is erasure.ts's; `Store` is the one object the gateway holds for all of them.
 *
 * Reads say what they found — `found`, `not-found` or `erased` — and never return garbage: a
 * record that fails to decrypt for any other reason raises {@link StoreIntegrityError}.
 */
import type { Meta } from "@medplum/fhirtypes";
import { and, asc, count, eq, inArray, isNull, sql } from "drizzle-orm";
import { randomUUID } from "node:crypto";
import { badRequest, conflict, gone, notFound } from "../fhir/outcomes.ts";
import {
  SUPPORTED_RESOURCE_TYPES,
  assertValidId,
  isSupportedResourceType,
  isValidId,
  requirePatientId,
  type ResourceOfType,
  type SupportedResource,
  type SupportedResourceType,
} from "../fhir/resources.ts";
import { DecryptionError, decryptRecord, encryptRecord, fingerprintsEqual, keyFingerprint } from "./crypto.ts";
import type { Database, GatewayDb } from "./database.ts";
import { erasePatient, type ErasureResult } from "./erasure.ts";
import {
  adoptMasterKey,
  dataKeyForWrite,
  dataKeyOf,
  rotateMasterKey,
  StoreIntegrityError,
  studyPseudonymKey,
  type KeyState,
  type RotationOptions,
  type RotationResult,
} from "./keys.ts";
import * as links from "./links.ts";
import { patientKeys, patientWallets, resources } from "./schema.ts";

export type ReadOutcome<T> =
  { kind: "found"; resource: T } | { kind: "not-found" } | { kind: "erased"; patientId: string; erasedAt: string };

export type SearchOutcome<T> =
  { kind: "ok"; total: number; resources: T[] } | { kind: "erased"; patientId: string; erasedAt: string };

export interface SearchParams {
  /** Only resources in this patient's compartment. */
  patient?: string | undefined;
  /** Page size, 0..MAX_PAGE_SIZE (0: count only). Default DEFAULT_PAGE_SIZE. */
  _count?: number | undefined;
  /** Rows to skip. Default 0. */
  offset?: number | undefined;
}

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 1000;
export const MAX_OFFSET = 100_000;

/** Operations available inside {@link Store.transaction}: all run in that one transaction. */
export interface StoreTransaction {
  /** The transaction, for other tables written atomically with the resources (e.g. audit). */
  readonly db: GatewayDb;
  putResource<T extends SupportedResource>(resource: T): Promise<T>;
  getResource<K extends SupportedResourceType>(type: K, id: string): Promise<ReadOutcome<ResourceOfType<K>>>;
}

export interface StoreOptions {
  database: Database;
  masterKey: Uint8Array;
  /** Clock (tests). */
  now?: () => Date;
}

export class Store {
  readonly database: Database;
  readonly #now: () => Date;
  #keys: KeyState;
  /** Built once: the read of every consent-checked request (a named statement on PostgreSQL). */
  #fetchSealedQuery: ReturnType<typeof fetchSealedQuery> | undefined;
  /** Built once: Store.patientWallets' read, made by every read that names a patient. */
  #patientWalletsQuery: ReturnType<typeof patientWalletsQuery> | undefined;

  private constructor(database: Database, keys: KeyState, now: () => Date) {
    this.database = database;
    this.#keys = keys;
    this.#now = now;
  }

  /**
   * Binds a store to a migrated database and a master key. On a fresh database the key becomes
   * version 1; otherwise it must be the key the data keys are wrapped with
   * ({@link MasterKeyMismatchError} if not — the gateway must not start).
   */
  static async open(options: StoreOptions): Promise<Store> {
    const keys = await adoptMasterKey(options.database.db, options.masterKey);
    return new Store(options.database, keys, options.now ?? (() => new Date()));
  }

  get db(): GatewayDb {
    return this.database.db;
  }

  /** Version of the master key in use (incremented by each rotation). */
  get keyVersion(): number {
    return this.#keys.version;
  }

  get keyFingerprint(): string {
    return this.#keys.fingerprint;
  }

  now(): Date {
    return this.#now();
  }

  /**
   * Creates or updates a resource: assigns an id if missing, sets meta.versionId (1, 2, …) and
   * meta.lastUpdated, encrypts it under its patient's data key. A Patient gets a data key on
   * first write; any other resource must reference a Patient the gateway holds. Returns the
   * stored resource. Throws 400 (no/unknown patient, bad id), 410 (patient erased), 409 (race).
   */
  async putResource<T extends SupportedResource>(resource: T): Promise<T> {
    return this.db.transaction((tx) => putIn(tx, this.#keys, resource, this.#now()));
  }

  async getResource<K extends SupportedResourceType>(type: K, id: string): Promise<ReadOutcome<ResourceOfType<K>>> {
    return getIn(this.db, this.#keys, type, id);
  }

  /**
   * A resource for a consent-checked read, in one query: the patient it belongs to and that
   * patient's wallets (did:pkh, oldest link first) to decide access with, and the record itself
   * still encrypted. Nothing is decrypted until {@link Store.unseal}, which the caller runs only
   * once access is granted.
   */
  async fetchSealed<K extends SupportedResourceType>(
    type: K,
    id: string,
  ): Promise<
    | { kind: "found"; patientId: string; wallets: string[]; sealed: SealedResource<K> }
    | { kind: "not-found" }
    | { kind: "erased"; patientId: string; erasedAt: string }
  > {
    if (!isSupportedResourceType(type) || !isValidId(id)) return { kind: "not-found" };
    this.#fetchSealedQuery ??= fetchSealedQuery(this.db);
    const [row] = await this.#fetchSealedQuery.execute({ type, id });
    if (!row) return { kind: "not-found" };
    if (row.erasedAt || !row.wrappedKey) {
      return { kind: "erased", patientId: row.patientId, erasedAt: (row.erasedAt ?? new Date(0)).toISOString() };
    }
    const { wallets, ...encrypted } = row;
    const sealed: SealedResource<K> = Object.freeze({ resourceType: type, id });
    sealedRows.set(sealed, encrypted);
    return { kind: "found", patientId: row.patientId, wallets: wallets ?? [], sealed };
  }

  /** Decrypts a record fetched by {@link Store.fetchSealed}. */
  unseal<K extends SupportedResourceType>(sealed: SealedResource<K>): ResourceOfType<K> {
    const row = sealedRows.get(sealed);
    if (!row?.wrappedKey) throw new TypeError("unseal: not a record fetched by fetchSealed");
    const key = dataKeyOf(this.#keys, row.patientId, row.wrappedKey, row.keyVersion);
    return decryptRow(key, row) as ResourceOfType<K>;
  }

  /**
   * A page of resources of one type, optionally in one patient's compartment, ordered by
   * (last updated, id) ascending: deterministic, and stable for earlier pages while new data
   * arrives. Erased patients' resources are never included; asking for an erased patient's
   * compartment yields `erased`.
   */
  async search<K extends SupportedResourceType>(
    type: K,
    params: SearchParams = {},
  ): Promise<SearchOutcome<ResourceOfType<K>>> {
    if (!isSupportedResourceType(type)) throw notFound(`Resource type "${String(type)}" is not supported`);
    const limit = intParam("_count", params._count, DEFAULT_PAGE_SIZE, 0, MAX_PAGE_SIZE);
    const offset = intParam("_offset", params.offset, 0, 0, MAX_OFFSET);
    const db = this.db;
    const conditions = [eq(resources.resourceType, type), isNull(patientKeys.erasedAt)];
    if (params.patient !== undefined) {
      const status = await this.patientStatus(params.patient);
      if (status.kind === "erased") return status;
      if (status.kind === "unknown") return { kind: "ok", total: 0, resources: [] };
      conditions.push(eq(resources.patientId, params.patient));
    }
    const where = and(...conditions);
    const [{ total } = { total: 0 }] = await db
      .select({ total: count() })
      .from(resources)
      .innerJoin(patientKeys, eq(patientKeys.patientId, resources.patientId))
      .where(where);
    if (limit === 0) return { kind: "ok", total, resources: [] };
    const rows = await db
      .select(rowColumns)
      .from(resources)
      .innerJoin(patientKeys, eq(patientKeys.patientId, resources.patientId))
      .where(where)
      .orderBy(asc(resources.lastUpdated), asc(resources.id))
      .limit(limit)
      .offset(offset);
    const out = decryptRows(this.#keys, rows) as Array<ResourceOfType<K>>;
    return { kind: "ok", total, resources: out };
  }

  /**
   * Every resource in a patient's compartment of the given types (default: all supported),
   * ordered by type (SUPPORTED_RESOURCE_TYPES order, Patient first), last updated, id.
   */
  async everything(
    patientId: string,
    types: readonly SupportedResourceType[] = SUPPORTED_RESOURCE_TYPES,
  ): Promise<SearchOutcome<SupportedResource>> {
    for (const t of types)
      if (!isSupportedResourceType(t)) throw badRequest(`Unsupported resource type "${String(t)}"`);
    const status = await this.patientStatus(patientId);
    if (status.kind === "erased") return status;
    if (status.kind === "unknown" || types.length === 0) return { kind: "ok", total: 0, resources: [] };
    const order = sql`array_position(ARRAY[${sql.join(
      SUPPORTED_RESOURCE_TYPES.map((t) => sql`${t}`),
      sql`, `,
    )}]::text[], ${resources.resourceType})`;
    const rows = await this.db
      .select(rowColumns)
      .from(resources)
      .innerJoin(patientKeys, eq(patientKeys.patientId, resources.patientId))
      .where(
        and(
          eq(resources.patientId, patientId),
          inArray(resources.resourceType, [...types]),
          isNull(patientKeys.erasedAt),
        ),
      )
      .orderBy(order, asc(resources.lastUpdated), asc(resources.id));
    const out = decryptRows(this.#keys, rows);
    return { kind: "ok", total: out.length, resources: out };
  }

  /**
   * One page of a patient's compartment for `$everything`, in (type, id) order — types in
   * SUPPORTED_RESOURCE_TYPES order, Patient first — after the record `after` of the previous page:
   * a keyset page, so a record is never skipped or repeated between pages while data changes (a
   * record added before the cursor is only in a later request). The records stay encrypted until
   * `records()` decrypts them one at a time, for a response that streams.
   */
  async everythingPage(
    patientId: string,
    types: readonly SupportedResourceType[],
    options: { count: number; after?: { type: SupportedResourceType; id: string } | undefined },
  ): Promise<
    | {
        kind: "ok";
        total: number;
        /** The last record of this page, when there are more: the next page's `after`. */
        next: { type: SupportedResourceType; id: string } | undefined;
        records: () => Generator<SupportedResource>;
      }
    | { kind: "erased"; patientId: string; erasedAt: string }
  > {
    for (const t of types)
      if (!isSupportedResourceType(t)) throw badRequest(`Unsupported resource type "${String(t)}"`);
    const status = await this.patientStatus(patientId);
    if (status.kind === "erased") return status;
    const none = { kind: "ok" as const, total: 0, next: undefined, records: function* () {} };
    if (status.kind === "unknown" || types.length === 0) return none;
    const order = typeOrder();
    const where = and(
      eq(resources.patientId, patientId),
      inArray(resources.resourceType, [...types]),
      isNull(patientKeys.erasedAt),
    );
    const [{ total } = { total: 0 }] = await this.db
      .select({ total: count() })
      .from(resources)
      .innerJoin(patientKeys, eq(patientKeys.patientId, resources.patientId))
      .where(where);
    if (options.count === 0) return { ...none, total };
    const after = options.after;
    const rows = await this.db
      .select(rowColumns)
      .from(resources)
      .innerJoin(patientKeys, eq(patientKeys.patientId, resources.patientId))
      .where(
        after === undefined
          ? where
          : and(
              where,
              sql`(${order}, ${resources.id}) > (${SUPPORTED_RESOURCE_TYPES.indexOf(after.type) + 1}::int, ${after.id}::text)`,
            ),
      )
      .orderBy(order, asc(resources.id))
      .limit(options.count + 1);
    const page = rows.slice(0, options.count);
    const last = page.at(-1);
    const next =
      rows.length > options.count && last
        ? { type: last.resourceType as SupportedResourceType, id: last.id }
        : undefined;
    const keys = this.#keys;
    return { kind: "ok", total, next, records: () => decryptEach(keys, page) };
  }

  /**
   * The (type, id) of every record of these patients in these types, decrypting nothing (ids,
   * types and patients are plaintext columns); erased patients have none.
   */
  async compartmentRefs(
    patientIds: readonly string[],
    types: readonly SupportedResourceType[],
  ): Promise<Array<{ patientId: string; resourceType: SupportedResourceType; id: string }>> {
    if (patientIds.length === 0 || types.length === 0) return [];
    const rows = await this.db
      .select({ patientId: resources.patientId, resourceType: resources.resourceType, id: resources.id })
      .from(resources)
      .innerJoin(patientKeys, eq(patientKeys.patientId, resources.patientId))
      .where(
        and(
          inArray(resources.patientId, [...patientIds]),
          inArray(resources.resourceType, [...types]),
          isNull(patientKeys.erasedAt),
        ),
      );
    return rows as Array<{ patientId: string; resourceType: SupportedResourceType; id: string }>;
  }

  /**
   * These records (at most MAX_PAGE_SIZE), in the order given, decrypted one at a time by the
   * generator; a record gone or erased since it was listed is left out.
   */
  async recordsByRef(
    refs: ReadonlyArray<{ resourceType: SupportedResourceType; id: string }>,
  ): Promise<() => Generator<SupportedResource>> {
    if (refs.length > MAX_PAGE_SIZE) throw new RangeError(`recordsByRef: at most ${MAX_PAGE_SIZE} records`);
    if (refs.length === 0) return function* () {};
    const rows = await this.db
      .select(rowColumns)
      .from(resources)
      .innerJoin(patientKeys, eq(patientKeys.patientId, resources.patientId))
      .where(
        and(
          isNull(patientKeys.erasedAt),
          sql`(${resources.resourceType}, ${resources.id}) IN (${sql.join(
            refs.map((r) => sql`(${r.resourceType}, ${r.id})`),
            sql`, `,
          )})`,
        ),
      );
    const byRef = new Map(rows.map((r) => [`${r.resourceType}/${r.id}`, r]));
    const ordered = refs.map((r) => byRef.get(`${r.resourceType}/${r.id}`)).filter((r) => r !== undefined);
    const keys = this.#keys;
    return () => decryptEach(keys, ordered);
  }

  /** Whether the gateway holds a patient, and whether it has been erased. */
  async patientStatus(
    patientId: string,
  ): Promise<
    | { kind: "active"; patientId: string }
    | { kind: "unknown" }
    | { kind: "erased"; patientId: string; erasedAt: string }
  > {
    if (!isValidId(patientId)) return { kind: "unknown" };
    const [row] = await this.db
      .select({ erasedAt: patientKeys.erasedAt })
      .from(patientKeys)
      .where(eq(patientKeys.patientId, patientId));
    if (!row) return { kind: "unknown" };
    if (row.erasedAt) return { kind: "erased", patientId, erasedAt: row.erasedAt.toISOString() };
    return { kind: "active", patientId };
  }

  /** Erases a patient (see erasure.ts). */
  erasePatient(patientId: string): Promise<ErasureResult> {
    return erasePatient(this.database, patientId, this.#now());
  }

  /**
   * Re-wraps every data key from `oldKey` to `newKey` in one transaction and records the new
   * key version. `oldKey` must be the current master key. Afterwards this store uses `newKey`;
   * other processes still holding `oldKey` refuse to write new keys and must be restarted.
   */
  async rotateMasterKey(
    oldKey: Uint8Array,
    newKey: Uint8Array,
    options: RotationOptions = {},
  ): Promise<RotationResult> {
    const result = await rotateMasterKey(this.db, oldKey, newKey, this.#now(), options);
    if (fingerprintsEqual(this.#keys.fingerprint, keyFingerprint(oldKey))) {
      this.#keys = { masterKey: Buffer.from(newKey), version: result.keyVersion, fingerprint: result.fingerprint };
    }
    return result;
  }

  /**
   * The pseudonym key of a research study ("0x<escrow>:<studyId>"): created (random) on the
   * study's first export, wrapped by the master key, the same for every later export.
   */
  studyPseudonymKey(study: string): Promise<Buffer> {
    return studyPseudonymKey(this.db, this.#keys, study, this.#now());
  }

  /** Runs `fn` in one database transaction: all of its writes commit, or none. */
  async transaction<T>(fn: (tx: StoreTransaction) => Promise<T>): Promise<T> {
    const keys = this.#keys;
    return this.db.transaction(async (tx) => {
      const now = this.#now();
      const scoped: StoreTransaction = {
        db: tx,
        putResource: (resource) => putIn(tx, keys, resource, now),
        getResource: (type, id) => getIn(tx, keys, type, id),
      };
      return fn(scoped);
    });
  }

  createLinkCode(
    patientId: string,
    options: { ttlSeconds?: number; kind?: links.LinkCodeKind } = {},
  ): Promise<links.LinkCode> {
    return links.createLinkCode(this.db, patientId, { ...options, now: this.#now() });
  }

  /** Redeems a link code for a wallet (see links.redeemLinkCode); the patient and the wallet linked. */
  async redeemLinkCode(code: string, did: string): Promise<{ patientId: string; did: string }> {
    const { patientId, did: wallet } = await this.linkWallet(code, did);
    return { patientId, did: wallet };
  }

  /** Redeems a link or relink code for a wallet, saying which kind it was and what it replaced. */
  linkWallet(code: string, did: string): Promise<links.LinkResult> {
    return links.redeemLinkCode(this.db, code, did, this.#now());
  }

  /** The patient a link code names, whatever its state (never shown to clients: for the audit). */
  linkCodePatient(code: string): Promise<string | undefined> {
    return links.linkCodePatient(this.db, code);
  }

  findPatientByWallet(did: string): Promise<string | undefined> {
    return links.findPatientByWallet(this.db, did);
  }

  listWallets(patientId: string): Promise<string[]> {
    return links.listWallets(this.db, patientId);
  }

  /**
   * `patientStatus` and, for a patient held here, its linked wallets (as `listWallets`), in one
   * query: what every consent-checked read asks first.
   */
  async patientWallets(
    patientId: string,
  ): Promise<{ kind: "active"; wallets: string[] } | { kind: "unknown" } | { kind: "erased" }> {
    if (!isValidId(patientId)) return { kind: "unknown" };
    this.#patientWalletsQuery ??= patientWalletsQuery(this.db);
    const rows = await this.#patientWalletsQuery.execute({ patientId });
    if (rows.length === 0) return { kind: "unknown" };
    if (rows[0]!.erasedAt) return { kind: "erased" };
    return { kind: "active", wallets: rows.flatMap((r) => (r.did === null ? [] : [r.did])) };
  }
}

// ---------------------------------------------------------------------------------------------

const rowColumns = {
  resourceType: resources.resourceType,
  id: resources.id,
  patientId: resources.patientId,
  version: resources.version,
  ciphertext: resources.ciphertext,
  iv: resources.iv,
  authTag: resources.authTag,
  wrappedKey: patientKeys.wrappedKey,
  keyVersion: patientKeys.keyVersion,
  erasedAt: patientKeys.erasedAt,
};

/**
 * Store.fetchSealed's query, prepared: one resource by (type, id), its patient's data key, and the
 * patient's wallets (did:pkh, oldest link first).
 */
function fetchSealedQuery(db: GatewayDb) {
  return db
    .select({
      ...rowColumns,
      wallets: sql<
        string[] | null
      >`(SELECT array_agg(${patientWallets.did} ORDER BY ${patientWallets.linkedAt}, ${patientWallets.did}) FROM ${patientWallets} WHERE ${patientWallets.patientId} = ${resources.patientId})`,
    })
    .from(resources)
    .innerJoin(patientKeys, eq(patientKeys.patientId, resources.patientId))
    .where(and(eq(resources.resourceType, sql.placeholder("type")), eq(resources.id, sql.placeholder("id"))))
    .prepare("consentry_fetch_sealed");
}

/**
 * Store.patientWallets' query, prepared: the patient's erasure mark and linked wallets (did:pkh,
 * oldest link first; one row with a null wallet when it has none, no row when it is not held).
 */
function patientWalletsQuery(db: GatewayDb) {
  return db
    .select({ erasedAt: patientKeys.erasedAt, did: patientWallets.did })
    .from(patientKeys)
    .leftJoin(patientWallets, eq(patientWallets.patientId, patientKeys.patientId))
    .where(eq(patientKeys.patientId, sql.placeholder("patientId")))
    .orderBy(patientWallets.linkedAt, patientWallets.did)
    .prepare("consentry_patient_wallets");
}

/** A stored record as read, still encrypted (see Store.fetchSealed): only Store.unseal opens it. */
export interface SealedResource<K extends SupportedResourceType = SupportedResourceType> {
  readonly resourceType: K;
  readonly id: string;
}

const sealedRows = new WeakMap<SealedResource, EncryptedRow>();

interface EncryptedRow {
  resourceType: string;
  id: string;
  patientId: string;
  version: number;
  ciphertext: Buffer;
  iv: Buffer;
  authTag: Buffer;
  wrappedKey: Buffer | null;
  keyVersion: number;
  erasedAt: Date | null;
}

function intParam(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw badRequest(`${name} must be an integer from ${min} to ${max}`, name);
  }
  return value;
}

/** SUPPORTED_RESOURCE_TYPES order of a row's type (1-based), for ORDER BY and keyset cursors. */
function typeOrder() {
  return sql`array_position(ARRAY[${sql.join(
    SUPPORTED_RESOURCE_TYPES.map((t) => sql`${t}`),
    sql`, `,
  )}]::text[], ${resources.resourceType})`;
}

/** Decrypts rows one at a time (each patient's data key unwrapped once). */
function* decryptEach(keys: KeyState, rows: readonly EncryptedRow[]): Generator<SupportedResource> {
  const dataKeys = new Map<string, Buffer>();
  for (const row of rows) {
    if (!row.wrappedKey) throw new StoreIntegrityError(`Patient ${row.patientId} is erased`);
    let key = dataKeys.get(row.patientId);
    if (!key) {
      key = dataKeyOf(keys, row.patientId, row.wrappedKey, row.keyVersion);
      dataKeys.set(row.patientId, key);
    }
    yield decryptRow(key, row);
  }
}

function decryptRows(keys: KeyState, rows: EncryptedRow[]): SupportedResource[] {
  const dataKeys = new Map<string, Buffer>();
  return rows.map((row) => {
    if (!row.wrappedKey) throw new StoreIntegrityError(`Patient ${row.patientId} is erased`);
    let key = dataKeys.get(row.patientId);
    if (!key) {
      key = dataKeyOf(keys, row.patientId, row.wrappedKey, row.keyVersion);
      dataKeys.set(row.patientId, key);
    }
    return decryptRow(key, row);
  });
}

function decryptRow(dataKey: Buffer, row: EncryptedRow): SupportedResource {
  try {
    const plaintext = decryptRecord(
      dataKey,
      { ciphertext: row.ciphertext, iv: row.iv, authTag: row.authTag },
      { resourceType: row.resourceType, id: row.id, version: row.version, patientId: row.patientId },
    );
    return JSON.parse(plaintext.toString("utf8")) as SupportedResource;
  } catch (err) {
    if (err instanceof DecryptionError) {
      throw new StoreIntegrityError(`${row.resourceType}/${row.id} does not decrypt`, { cause: err });
    }
    throw err;
  }
}

async function getIn<K extends SupportedResourceType>(
  db: GatewayDb,
  keys: KeyState,
  type: K,
  id: string,
): Promise<ReadOutcome<ResourceOfType<K>>> {
  if (!isSupportedResourceType(type) || !isValidId(id)) return { kind: "not-found" };
  const [row] = await db
    .select(rowColumns)
    .from(resources)
    .innerJoin(patientKeys, eq(patientKeys.patientId, resources.patientId))
    .where(and(eq(resources.resourceType, type), eq(resources.id, id)));
  if (!row) return { kind: "not-found" };
  if (row.erasedAt || !row.wrappedKey) {
    return { kind: "erased", patientId: row.patientId, erasedAt: (row.erasedAt ?? new Date(0)).toISOString() };
  }
  const key = dataKeyOf(keys, row.patientId, row.wrappedKey, row.keyVersion);
  return { kind: "found", resource: decryptRow(key, row) as ResourceOfType<K> };
}

async function putIn<T extends SupportedResource>(tx: GatewayDb, keys: KeyState, input: T, now: Date): Promise<T> {
  if (!isSupportedResourceType(input.resourceType)) {
    throw badRequest(`Resource type "${String(input.resourceType)}" is not supported`, "resourceType");
  }
  const id = input.id === undefined ? randomUUID() : assertValidId(input.id, `${input.resourceType}.id`);
  const patientId = requirePatientId({ ...input, id } as SupportedResource);
  const type = input.resourceType;

  const [existing] = await tx
    .select({ version: resources.version, patientId: resources.patientId, erasedAt: patientKeys.erasedAt })
    .from(resources)
    .innerJoin(patientKeys, eq(patientKeys.patientId, resources.patientId))
    .where(and(eq(resources.resourceType, type), eq(resources.id, id)))
    .for("update", { of: resources });
  if (existing?.erasedAt) throw gone(`${type}/${id} belongs to an erased patient`);

  const dataKey = await dataKeyForWrite(tx, keys, { ...input, id } as SupportedResource, patientId);
  const version = (existing?.version ?? 0) + 1;
  const meta: Meta = { ...input.meta, versionId: String(version), lastUpdated: now.toISOString() };
  const { resourceType: _type, id: _id, meta: _meta, ...rest } = input;
  const stored = { resourceType: type, id, meta, ...rest } as unknown as T;
  const encrypted = encryptRecord(dataKey, Buffer.from(JSON.stringify(stored), "utf8"), {
    resourceType: type,
    id,
    version,
    patientId,
  });
  const values = { patientId, lastUpdated: now, version, ...encrypted };
  if (existing) {
    await tx
      .update(resources)
      .set(values)
      .where(and(eq(resources.resourceType, type), eq(resources.id, id), eq(resources.version, existing.version)));
  } else {
    const inserted = await tx
      .insert(resources)
      .values({ resourceType: type, id, ...values })
      .onConflictDoNothing()
      .returning({ id: resources.id });
    if (inserted.length === 0) throw conflict(`${type}/${id} was created concurrently; retry`);
  }
  return stored;
}

export { MasterKeyMismatchError, StoreIntegrityError, type RotationOptions, type RotationResult } from "./keys.ts";
export type { ErasureResult } from "./erasure.ts";
