/**
 * The append-only, hash-chained audit log.
 *
 *   hash_n = sha256(prev_hash_n || canonicalJson(event_n)),  prev_hash_n = hash_{n-1} (bytes),
 *   prev_hash_1 = 32 zero bytes; seq is gapless (1, 2, 3, …).
 *
 * Appends are serialized by a table lock (SHARE ROW EXCLUSIVE: readers go on), so several
 * gateway instances on one PostgreSQL build one chain. A database trigger refuses UPDATE,
 * DELETE and TRUNCATE; verifyChain() detects what a privileged user could still do (edit or
 * delete rows, with or without recomputing hashes). Removing the newest entries leaves a valid
 * shorter chain: that is caught against a head anchored elsewhere (`expectedHead`, on-chain).
 */
import type { AuditEvent } from "@medplum/fhirtypes";
import { and, asc, desc, eq, gt, lt, sql } from "drizzle-orm";
import { createHash } from "node:crypto";
import type { GatewayDb } from "../store/database.ts";
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
  if (!/^[0-9a-f]{64}$/.test(prevHash)) throw new TypeError("prevHash must be 64 lowercase hex characters");
  return createHash("sha256").update(Buffer.from(prevHash, "hex")).update(canonicalJson(event), "utf8").digest("hex");
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

/**
 * Appends one AuditEvent to the chain. Atomic with the caller's transaction when `db` is one
 * (e.g. the write it audits); the table lock is then held until that transaction ends.
 */
export async function appendAudit(db: GatewayDb, event: AuditEvent): Promise<AuditEntry> {
  if (event.resourceType !== "AuditEvent") throw new TypeError("appendAudit: not an AuditEvent");
  const recorded = new Date(event.recorded ?? "");
  if (Number.isNaN(recorded.getTime())) throw new TypeError("appendAudit: AuditEvent.recorded is required");
  // Store exactly what is hashed: a JSON round trip drops undefined members, as canonicalJson does.
  const stored = JSON.parse(JSON.stringify(event)) as AuditEvent;
  return db.transaction(async (tx) => {
    await tx.execute(sql`LOCK TABLE audit_events IN SHARE ROW EXCLUSIVE MODE`);
    const [last] = await tx
      .select({ seq: auditEvents.seq, hash: auditEvents.hash })
      .from(auditEvents)
      .orderBy(sql`${auditEvents.seq} DESC`)
      .limit(1);
    const prevHash = last?.hash ?? GENESIS_HASH;
    const row = {
      seq: (last?.seq ?? 0) + 1,
      recordedAt: recorded,
      patientId: auditPatientId(stored),
      prevHash,
      hash: entryHash(prevHash, stored),
      event: stored,
    };
    await tx.insert(auditEvents).values(row);
    return toEntry(row);
  });
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
 * A page of a patient's audit trail, newest first: entries with seq < `beforeSeq` (all when
 * undefined), at most `limit`, and how many entries the trail has in all.
 */
export async function listAuditNewestFirst(
  db: GatewayDb,
  patientId: string,
  options: { beforeSeq?: number | undefined; limit: number },
): Promise<{ entries: AuditEntry[]; total: number }> {
  const limit = Math.min(Math.max(options.limit, 0), 1000);
  const [counted] = await db
    .select({ total: sql<string>`count(*)` })
    .from(auditEvents)
    .where(eq(auditEvents.patientId, patientId));
  const total = Number(counted?.total ?? 0);
  if (limit === 0) return { entries: [], total };
  const where =
    options.beforeSeq === undefined
      ? eq(auditEvents.patientId, patientId)
      : and(eq(auditEvents.patientId, patientId), lt(auditEvents.seq, options.beforeSeq));
  const rows = await db.select().from(auditEvents).where(where).orderBy(desc(auditEvents.seq)).limit(limit);
  return { entries: rows.map(toEntry), total };
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
