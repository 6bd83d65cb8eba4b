/**
 * The append-only, hash-chained audit log.
 *
 *   hash_n = sha256(prev_hash_n || canonicalJson(event_n)),  prev_hash_n = hash_{n-1} (bytes),
 *   prev_hash_1 = 32 zero bytes; seq is gapless (1, 2, 3, …).
 *
 * Appends outside a caller's transaction are group-committed: queued per process and database,
 * and written one batch at a time, each caller's promise settling only once its batch is
 * committed (one fsync per batch). The writer remembers where the chain ended after its last
 * batch, so a batch is one statement: a multi-row INSERT that writes only if the log still ends
 * there (that entry with that hash, nothing after it) and otherwise writes nothing. The first
 * batch, and any batch whose guess was wrong (another writer appended in between: another
 * gateway instance on one PostgreSQL, a caller's own transaction, the erasure CLI), is written the
 * locked way: a transaction that takes a table lock (SHARE ROW EXCLUSIVE: readers go on), reads
 * the last hash and inserts. Either way several writers build one gapless chain, committed in
 * seq order: a writer only ever chains after an entry it has seen committed, and two writers
 * that chain after the same one collide on seq, the primary key. A database trigger refuses UPDATE,
 * DELETE and TRUNCATE; verifyChain() detects what a privileged user could still do (edit or
 * delete rows, with or without recomputing hashes). Removing the newest entries leaves a valid
 * shorter chain: that is caught against a head anchored elsewhere (`expectedHead`, on-chain).
 */
import type { AuditEvent } from "@medplum/fhirtypes";
import { and, asc, desc, eq, gt, is, lt, lte, sql } from "drizzle-orm";
import { PgTransaction } from "drizzle-orm/pg-core";
import { createHash } from "node:crypto";
import { type GatewayDb, rawRows } from "../store/database.ts";
import { auditEvents } from "../store/schema.ts";
import { canonicalJson } from "./canonical.ts";
import { auditPatientId } from "./events.ts";

export const GENESIS_HASH = "0".repeat(64);

export interface AuditEntry {
  seq: number;
  recordedAt: string;
  patientId: string | null;
  prevHash: string;
  hash: string;
  event: AuditEvent;
}

export type ChainVerification =
  | { ok: true; entries: number; head: { seq: number; hash: string } | null }
  | { ok: false; seq: number; reason: string };

/** sha256(prevHash bytes || canonical JSON of the event), hex. */
export function entryHash(prevHash: string, event: AuditEvent): string {
  return chainHash(prevHash, canonicalJson(event));
}

function chainHash(prevHash: string, canonical: string): string {
  if (!/^[0-9a-f]{64}$/.test(prevHash)) throw new TypeError("prevHash must be 64 lowercase hex characters");
  return createHash("sha256").update(Buffer.from(prevHash, "hex")).update(canonical, "utf8").digest("hex");
}

function toEntry(row: typeof auditEvents.$inferSelect): AuditEntry {
  return {
    seq: row.seq,
    recordedAt: row.recordedAt.toISOString(),
    patientId: row.patientId,
    prevHash: row.prevHash,
    hash: row.hash,
    event: row.event as AuditEvent,
  };
}

/** An event checked and put in its stored form: everything but its place in the chain. */
interface PreparedEvent {
  stored: AuditEvent;
  /** `stored` as JSON (what the jsonb column receives). */
  json: string;
  canonical: string;
  recorded: Date;
  patientId: string | null;
}

function prepare(event: AuditEvent): PreparedEvent {
  if (event.resourceType !== "AuditEvent") throw new TypeError("appendAudit: not an AuditEvent");
  const recorded = new Date(event.recorded ?? "");
  if (Number.isNaN(recorded.getTime())) throw new TypeError("appendAudit: AuditEvent.recorded is required");
  // Store exactly what is hashed: a JSON round trip drops undefined members, as canonicalJson does.
  // Text PostgreSQL's jsonb cannot hold (NUL, lone surrogates: JSON escapes both) is made storable,
  // so that no request, however malformed, goes unaudited.
  let json = JSON.stringify(event);
  if (/\\u(0000|d[89a-f])/i.test(json)) json = JSON.stringify(event, storableText);
  const stored = JSON.parse(json) as AuditEvent;
  return { stored, json, canonical: canonicalJson(stored), recorded, patientId: auditPatientId(stored) };
}

/** A string as jsonb stores it: lone surrogates as U+FFFD, NUL as U+2400 (SYMBOL FOR NULL). */
function storableText(_key: string, value: unknown): unknown {
  if (typeof value !== "string") return value;
  return value
    .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd")
    .replaceAll("\u0000", "\u2400");
}

/** Thrown inside a batch's transaction when the database refused its INSERT (nothing committed). */
class InsertRefused extends Error {
  readonly original: unknown;
  constructor(original: unknown) {
    super("the database refused the audit entries");
    this.original = original;
  }
}

/** Rows per INSERT statement (6 bind parameters each; PostgreSQL allows 65,535). */
const INSERT_ROWS = 1000;

/**
 * Chains events after the newest entry, under the table lock, in transaction `tx`. `take` gives
 * the events once the lock is held (a group commit takes whoever queued while it waited for it).
 */
async function appendIn(tx: GatewayDb, take: () => readonly PreparedEvent[]): Promise<AuditEntry[]> {
  await tx.execute(sql`LOCK TABLE audit_events IN SHARE ROW EXCLUSIVE MODE`);
  const events = take();
  const [last] = await tx
    .select({ seq: auditEvents.seq, hash: auditEvents.hash })
    .from(auditEvents)
    .orderBy(sql`${auditEvents.seq} DESC`)
    .limit(1);
  const rows = chained(last ?? { seq: 0, hash: GENESIS_HASH }, events);
  try {
    // One INSERT per batch (a caller's own events may exceed it: bounded by the bind parameters).
    for (let i = 0; i < rows.length; i += INSERT_ROWS)
      await tx.insert(auditEvents).values(rows.slice(i, i + INSERT_ROWS));
  } catch (err) {
    throw new InsertRefused(err);
  }
  return rows.map(toEntry);
}

/** Where the chain ends: its newest entry (seq 0 and the genesis hash when it is empty). */
interface ChainHead {
  seq: number;
  hash: string;
}

/** The events as the rows that follow `head`. */
function chained(head: ChainHead, events: readonly PreparedEvent[]) {
  let seq = head.seq;
  let prevHash = head.hash;
  return events.map((e) => {
    const hash = chainHash(prevHash, e.canonical);
    const row = { seq: ++seq, recordedAt: e.recorded, patientId: e.patientId, prevHash, hash, event: e.stored };
    prevHash = hash;
    return row;
  });
}

/**
 * Appends `events` after `head` in one statement (its own transaction), if the log still ends at
 * `head`: that entry is there with that hash and none follows it (seq is gapless: no entry
 * head.seq + 1; asked by equality, an index probe, as PGlite keeps no statistics for a planner
 * that would scan the table for a range). Returns the entries written, or null when the log ends
 * elsewhere (nothing written). A writer that chains after the same entry at the same moment makes
 * this statement fail on seq (the primary key): also null, nothing written.
 */
async function appendAfter(
  db: GatewayDb,
  head: ChainHead,
  events: readonly PreparedEvent[],
): Promise<AuditEntry[] | null> {
  if (events.length > INSERT_ROWS) return null; // more than one statement's bind parameters: the locked way
  const rows = chained(head, events);
  const values = sql.join(
    rows.map(
      (r, i) =>
        sql`(${r.seq}::bigint, ${r.recordedAt.toISOString()}::timestamptz, ${r.patientId}::text, ${r.prevHash}::text, ${r.hash}::text, ${events[i]!.json}::jsonb)`,
    ),
    sql`, `,
  );
  let written: { seq: unknown }[];
  try {
    written = await rawRows<{ seq: unknown }>(
      db,
      sql`INSERT INTO audit_events (seq, recorded_at, patient_id, prev_hash, hash, event)
        SELECT * FROM (VALUES ${values}) AS v
        WHERE EXISTS (SELECT 1 FROM audit_events WHERE seq = ${head.seq}::bigint AND hash = ${head.hash}::text)
          AND NOT EXISTS (SELECT 1 FROM audit_events WHERE seq = ${head.seq + 1}::bigint)
        RETURNING seq`,
    );
  } catch (err) {
    if (isSeqTaken(err)) return null;
    throw new InsertRefused(err);
  }
  if (written.length === 0) return null;
  if (written.length !== rows.length) throw new Error(`audit: ${written.length} of ${rows.length} entries written`);
  return rows.map(toEntry);
}

/** Whether `err` is PostgreSQL's unique violation of audit_events' primary key (seq). */
function isSeqTaken(err: unknown): boolean {
  let e = err;
  for (let depth = 0; depth < 4 && typeof e === "object" && e !== null; depth++) {
    const { code, constraint } = e as { code?: unknown; constraint?: unknown };
    if (code === "23505" && constraint === "audit_events_pkey") return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** How many events one group commit writes at most (a caller's events are never split). */
export const AUDIT_BATCH_LIMIT = 500;

interface Waiting {
  events: PreparedEvent[];
  resolve: (entries: AuditEntry[]) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit of the audit log for one database (one per process: {@link auditWriterFor}).
 * Callers queue; one batch at a time takes every waiting caller's events (up to `maxBatch`, whole
 * callers only), chains them and commits them at once (in one statement after the entry the
 * writer last wrote, else the locked way: see the top of this file); each caller's promise
 * settles only after that commit (durable then: fsync on PGlite, synchronous_commit on a server).
 * A batch that fails rejects its callers and the queue goes on with the next. When the database
 * refused the INSERT itself (nothing was committed), the batch is split in halves and retried,
 * so that one event the database cannot store fails its own caller only.
 */
export class AuditWriter {
  readonly #db: GatewayDb;
  readonly #maxBatch: number;
  /** Where the chain ended after this writer's last batch; null: unknown (first batch, after a failure). */
  #head: ChainHead | null = null;
  #queue: Waiting[] = [];
  #draining = false;
  /**
   * Batches written (`transactions`), of them the ones written the locked way (`locked`), entries
   * committed and the largest batch (diagnostics, tests).
   */
  readonly stats = { transactions: 0, locked: 0, committed: 0, largestBatch: 0 };

  constructor(db: GatewayDb, options: { maxBatch?: number } = {}) {
    if (is(db, PgTransaction)) throw new TypeError("AuditWriter: needs the database, not a transaction");
    this.#db = db;
    this.#maxBatch = Math.max(1, options.maxBatch ?? AUDIT_BATCH_LIMIT);
  }

  /** Appends the events (in this order, consecutively), resolving once they are committed. */
  append(events: readonly AuditEvent[]): Promise<AuditEntry[]> {
    let prepared: PreparedEvent[];
    try {
      prepared = events.map(prepare);
    } catch (err) {
      return Promise.reject(err);
    }
    if (prepared.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.#queue.push({ events: prepared, resolve, reject });
      if (!this.#draining) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      while (this.#queue.length > 0) {
        // Let the work already under way finish first: requests whose reads have just completed
        // (promise continuations, e.g. PGlite answering in microtasks) queue their events before
        // the batch is formed, instead of the first caller committing alone.
        await new Promise<void>((resolve) => setImmediate(resolve));
        await this.#commit();
      }
    } finally {
      this.#draining = false;
    }
  }

  /** The callers waiting now, oldest first: up to maxBatch events, whole callers only (at least one). */
  #take(): Waiting[] {
    let size = 0;
    let take = 0;
    while (take < this.#queue.length && (take === 0 || size + this.#queue[take]!.events.length <= this.#maxBatch)) {
      size += this.#queue[take]!.events.length;
      take++;
    }
    return this.#queue.splice(0, take);
  }

  /**
   * Commits one batch and settles its callers; never throws. After the entry this writer last
   * wrote, in one statement when the log still ends there; otherwise the locked way, and then,
   * without `fixed`, the batch is taken from the queue once the transaction holds the table lock:
   * whoever queued while BEGIN and LOCK waited (for the database, or for another gateway instance)
   * is in it.
   */
  async #commit(fixed?: Waiting[]): Promise<void> {
    let batch = fixed;
    const events = (): PreparedEvent[] => {
      batch ??= this.#take();
      const all = batch.flatMap((w) => w.events);
      this.stats.largestBatch = Math.max(this.stats.largestBatch, all.length);
      return all;
    };
    this.stats.transactions++;
    const head = this.#head;
    this.#head = null; // unknown until this batch is known to be committed
    let entries: AuditEntry[] | null = null;
    try {
      if (head !== null) entries = await appendAfter(this.#db, head, events());
      if (entries === null) {
        this.stats.locked++;
        entries = await this.#db.transaction((tx) => appendIn(tx, events));
      }
    } catch (err) {
      // Failed before the batch was taken (BEGIN or LOCK): the callers waiting now fail with it,
      // so that a database that is gone never leaves the queue stuck.
      batch ??= this.#take();
      if (err instanceof InsertRefused && batch.length > 1) {
        const half = Math.ceil(batch.length / 2);
        await this.#commit(batch.slice(0, half));
        await this.#commit(batch.slice(half));
        return;
      }
      const cause = err instanceof InsertRefused ? err.original : err;
      for (const w of batch) w.reject(cause);
      return;
    }
    this.stats.committed += entries.length;
    const last = entries.at(-1)!;
    this.#head = { seq: last.seq, hash: last.hash };
    let i = 0;
    for (const w of batch!) {
      w.resolve(entries.slice(i, i + w.events.length));
      i += w.events.length;
    }
  }
}

const writers = new WeakMap<GatewayDb, AuditWriter>();

/** The process's group-commit writer for `db` (a database, not a transaction). */
export function auditWriterFor(db: GatewayDb): AuditWriter {
  let writer = writers.get(db);
  if (!writer) {
    writer = new AuditWriter(db);
    writers.set(db, writer);
  }
  return writer;
}

/**
 * Appends one AuditEvent to the chain and resolves once it is committed. Inside a caller's
 * transaction (`db` is one: e.g. the write it audits) it is atomic with that transaction, and the
 * table lock is held until that transaction ends; otherwise it is group-committed (AuditWriter).
 */
export async function appendAudit(db: GatewayDb, event: AuditEvent): Promise<AuditEntry> {
  const [entry] = await appendAudits(db, [event]);
  return entry!;
}

/** Appends several AuditEvents, consecutively and all or none (see {@link appendAudit}). */
export async function appendAudits(db: GatewayDb, events: readonly AuditEvent[]): Promise<AuditEntry[]> {
  if (!is(db, PgTransaction)) return auditWriterFor(db).append(events);
  const prepared = events.map(prepare);
  if (prepared.length === 0) return [];
  try {
    return await db.transaction((tx) => appendIn(tx, () => prepared));
  } catch (err) {
    throw err instanceof InsertRefused ? err.original : err;
  }
}

/** A patient's audit trail (what was done with their data, by whom), oldest first. */
export async function listAudit(
  db: GatewayDb,
  patientId: string,
  options: { afterSeq?: number; limit?: number } = {},
): Promise<AuditEntry[]> {
  const limit = Math.min(Math.max(options.limit ?? 100, 1), 1000);
  const rows = await db
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.patientId, patientId), gt(auditEvents.seq, options.afterSeq ?? 0)))
    .orderBy(asc(auditEvents.seq))
    .limit(limit);
  return rows.map(toEntry);
}

/**
 * A page of a patient's audit trail, newest first, as it stood at entry `atSeq` (the log's
 * snapshot; default: now): entries with seq ≤ `atSeq` and < `beforeSeq` (all when undefined),
 * at most `limit`; how many entries the trail had at that snapshot; and the snapshot (the
 * newest of the patient's entries then, 0 when none) for the next pages. Appends are serialized
 * and committed in seq order (table lock), so every entry up to the snapshot is already visible.
 */
export async function listAuditNewestFirst(
  db: GatewayDb,
  patientId: string,
  options: { beforeSeq?: number | undefined; atSeq?: number | undefined; limit: number },
): Promise<{ entries: AuditEntry[]; total: number; atSeq: number }> {
  const limit = Math.min(Math.max(options.limit, 0), 1000);
  const ofPatient = eq(auditEvents.patientId, patientId);
  let atSeq = options.atSeq;
  if (atSeq === undefined) {
    const [newest] = await db
      .select({ seq: auditEvents.seq })
      .from(auditEvents)
      .where(ofPatient)
      .orderBy(desc(auditEvents.seq))
      .limit(1);
    atSeq = newest?.seq ?? 0;
  }
  const inSnapshot = and(ofPatient, lte(auditEvents.seq, atSeq));
  const [counted] = await db
    .select({ total: sql<string>`count(*)` })
    .from(auditEvents)
    .where(inSnapshot);
  const total = Number(counted?.total ?? 0);
  if (limit === 0) return { entries: [], total, atSeq };
  const where = options.beforeSeq === undefined ? inSnapshot : and(inSnapshot, lt(auditEvents.seq, options.beforeSeq));
  const rows = await db.select().from(auditEvents).where(where).orderBy(desc(auditEvents.seq)).limit(limit);
  return { entries: rows.map(toEntry), total, atSeq };
}

/** The entry whose AuditEvent has this id (its own, hashed id), if any. */
export async function findAuditEvent(db: GatewayDb, id: string): Promise<AuditEntry | undefined> {
  const [row] = await db
    .select()
    .from(auditEvents)
    .where(sql`(${auditEvents.event}->>'id') = ${id}`)
    .limit(1);
  return row ? toEntry(row) : undefined;
}

/** The newest entry's sequence number (0 when the log is empty). */
export async function lastAuditSeq(db: GatewayDb): Promise<number> {
  const [row] = await db.select({ seq: auditEvents.seq }).from(auditEvents).orderBy(desc(auditEvents.seq)).limit(1);
  return row?.seq ?? 0;
}

/** Entries fromSeq..toSeq inclusive, in order (a batch to anchor). */
export async function auditRange(db: GatewayDb, fromSeq: number, toSeq: number): Promise<AuditEntry[]> {
  const rows = await db
    .select()
    .from(auditEvents)
    .where(sql`${auditEvents.seq} BETWEEN ${fromSeq} AND ${toSeq}`)
    .orderBy(asc(auditEvents.seq));
  return rows.map(toEntry);
}

/**
 * Re-reads the whole chain (in pages) and checks, per entry: seq is the next integer, prev_hash
 * is the previous entry's hash, hash recomputes from the stored event, and the indexed columns
 * (patient_id, recorded_at) match the event. With `expectedHead` (e.g. the last anchored entry),
 * also checks that that entry is still there with that hash.
 */
export async function verifyChain(
  db: GatewayDb,
  options: { expectedHead?: { seq: number; hash: string }; pageSize?: number } = {},
): Promise<ChainVerification> {
  const pageSize = options.pageSize ?? 1000;
  let expectedSeq = 1;
  let prevHash = GENESIS_HASH;
  let entries = 0;
  let headSeen = options.expectedHead === undefined;
  for (;;) {
    const rows = await db
      .select()
      .from(auditEvents)
      .where(gt(auditEvents.seq, expectedSeq - 1))
      .orderBy(asc(auditEvents.seq))
      .limit(pageSize);
    for (const row of rows) {
      if (row.seq !== expectedSeq) {
        return { ok: false, seq: expectedSeq, reason: `entry ${expectedSeq} is missing (next is ${row.seq})` };
      }
      if (row.prevHash !== prevHash) {
        return { ok: false, seq: row.seq, reason: "prev_hash does not match the previous entry's hash" };
      }
      const event = row.event as AuditEvent;
      let recomputed: string;
      try {
        recomputed = entryHash(prevHash, event);
      } catch {
        return { ok: false, seq: row.seq, reason: "event cannot be canonicalized" };
      }
      if (recomputed !== row.hash) return { ok: false, seq: row.seq, reason: "hash does not match the event" };
      if (auditPatientId(event) !== row.patientId) {
        return { ok: false, seq: row.seq, reason: "patient_id column does not match the event" };
      }
      if (new Date(event.recorded ?? "").getTime() !== row.recordedAt.getTime()) {
        return { ok: false, seq: row.seq, reason: "recorded_at column does not match the event" };
      }
      if (options.expectedHead && row.seq === options.expectedHead.seq) {
        if (row.hash !== options.expectedHead.hash.replace(/^0x/, "").toLowerCase()) {
          return { ok: false, seq: row.seq, reason: "entry differs from the anchored head" };
        }
        headSeen = true;
      }
      prevHash = row.hash;
      expectedSeq++;
      entries++;
    }
    if (rows.length < pageSize) break;
  }
  if (!headSeen) {
    return {
      ok: false,
      seq: options.expectedHead!.seq,
      reason: `anchored entry ${options.expectedHead!.seq} is missing (chain ends at ${expectedSeq - 1})`,
    };
  }
  return { ok: true, entries, head: entries === 0 ? null : { seq: expectedSeq - 1, hash: prevHash } };
}
