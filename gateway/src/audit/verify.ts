/**
 * Verifies the audit log against itself and against the chain: the hash chain is recomputed from
 * every stored event, then each batch the custodian anchored (AuditAnchor.batchAt, cross-checked
 * with the AuditBatchAnchored events) is recomputed as a Merkle root from the recomputed hashes
 * and compared. An edited, deleted or re-pointed entry breaks the chain; a log rewritten with
 * consistent hashes (what a database owner could do) no longer matches the anchored roots;
 * anchored entries that were cut off are missing. A batch the custodian superseded on-chain
 * (AuditAnchor.supersede, AuditBatchSuperseded) is checked as superseded, and its earlier roots
 * are listed: the history stays visible.
 */
import type { Address, Hex, PublicClient } from "viem";
import { auditAnchorAbi } from "#sdk/generated/abis.ts";
import type { GatewayDb } from "../store/database.ts";
import { auditRange, entryHash, verifyChain, type ChainVerification } from "./log.ts";
import { merkleRoot } from "./merkle.ts";

export interface BatchCheck {
  index: number;
  first: number;
  last: number;
  root: Hex;
  anchoredAt: number;
  /** The roots this batch had before the one in force, oldest first (a supersession). */
  supersededRoots?: Hex[];
  ok: boolean;
  problem?: string;
}

export interface AuditVerification {
  ok: boolean;
  /** The hash chain of the stored log. */
  chain: ChainVerification;
  batches: BatchCheck[];
  /** The last entry covered by an anchored batch (0 when none). */
  anchoredThrough: number;
  /** Entries in the log after the last anchored batch. */
  unanchored: number;
  /** Every problem found, in words. */
  problems: string[];
}

export interface VerifyAuditOptions {
  client: PublicClient;
  auditAnchor: Address;
  custodian: Address;
  /** Scan the AuditBatchAnchored events from this block (default 0). */
  fromBlock?: bigint;
  /** The widest `eth_getLogs` range asked at once (default {@link GETLOGS_BLOCK_RANGE}). */
  blockRange?: bigint;
}

/**
 * Verification is a decision (is the log intact?), so it reads the chain itself, never the
 * indexer, which could be behind or wrong. It reads the anchor's events in bounded ranges, so an
 * RPC that refuses wide `eth_getLogs` ranges (public providers: a few thousand blocks) still works.
 * The one log scan the gateway keeps (the test of issue #15 allows this file by name).
 */
export const GETLOGS_BLOCK_RANGE = 1_000n;

async function inRanges<T>(
  from: bigint,
  to: bigint,
  range: bigint,
  read: (fromBlock: bigint, toBlock: bigint) => Promise<T[]>,
): Promise<T[]> {
  const out: T[] = [];
  for (let start = from; start <= to; start += range) {
    const end = start + range - 1n < to ? start + range - 1n : to;
    out.push(...(await read(start, end)));
  }
  return out;
}

export async function verifyAudit(db: GatewayDb, options: VerifyAuditOptions): Promise<AuditVerification> {
  const problems: string[] = [];
  const chain = await verifyChain(db);
  if (!chain.ok) problems.push(`hash chain broken at entry ${chain.seq}: ${chain.reason}`);

  const read = { address: options.auditAnchor, abi: auditAnchorAbi } as const;
  const blockNumber = await options.client.getBlockNumber({ cacheTime: 0 });
  const count = Number(
    await options.client.readContract({ ...read, functionName: "batchCount", args: [options.custodian], blockNumber }),
  );
  const stored = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      options.client.readContract({
        ...read,
        functionName: "batchAt",
        args: [options.custodian, BigInt(i)],
        blockNumber,
      }),
    ),
  );
  const from = options.fromBlock ?? 0n;
  const range = options.blockRange ?? GETLOGS_BLOCK_RANGE;
  if (range < 1n) throw new Error("blockRange must be at least 1");
  const events = await inRanges(from, blockNumber, range, (fromBlock, toBlock) =>
    options.client.getContractEvents({
      ...read,
      eventName: "AuditBatchAnchored",
      args: { custodian: options.custodian },
      fromBlock,
      toBlock,
      strict: true,
    }),
  );
  const byIndex = new Map<number, { merkleRoot: Hex; firstSequence: bigint; lastSequence: bigint }>(
    events.map((e) => [Number(e.args.batchIndex), e.args]),
  );
  const supersessions = await inRanges(from, blockNumber, range, (fromBlock, toBlock) =>
    options.client.getContractEvents({
      ...read,
      eventName: "AuditBatchSuperseded",
      args: { custodian: options.custodian },
      fromBlock,
      toBlock,
      strict: true,
    }),
  );
  const earlierRoots = new Map<number, Hex[]>();
  for (const e of supersessions) {
    const index = Number(e.args.batchIndex);
    const anchored = byIndex.get(index);
    if (!anchored) continue;
    earlierRoots.set(index, [...(earlierRoots.get(index) ?? []), e.args.previousRoot]);
    byIndex.set(index, { ...anchored, merkleRoot: e.args.merkleRoot, lastSequence: e.args.lastSequence });
  }
  if (events.length !== count) {
    problems.push(`the chain holds ${count} batches but ${events.length} AuditBatchAnchored events`);
  }

  const batches: BatchCheck[] = [];
  for (let i = 0; i < count; i++) {
    const b = stored[i]!;
    const check: BatchCheck = {
      index: i,
      first: Number(b.firstSequence),
      last: Number(b.lastSequence),
      root: b.merkleRoot,
      anchoredAt: Number(b.anchoredAt),
      ok: true,
    };
    const roots = earlierRoots.get(i);
    if (roots) check.supersededRoots = roots;
    const event = byIndex.get(i);
    if (
      !event ||
      event.merkleRoot !== b.merkleRoot ||
      event.firstSequence !== b.firstSequence ||
      event.lastSequence !== b.lastSequence
    ) {
      check.ok = false;
      check.problem = "the batch's AuditBatchAnchored event is missing or differs from batchAt";
    } else {
      const entries = await auditRange(db, check.first, check.last);
      const expected = check.last - check.first + 1;
      if (entries.length !== expected || entries.some((e, k) => e.seq !== check.first + k)) {
        check.ok = false;
        check.problem = `${expected - entries.length} of its ${expected} entries are missing from the log`;
      } else {
        // The root of hashes recomputed from the events: a stored hash column proves nothing.
        const hashes = entries.map((e) => entryHash(e.prevHash, e.event));
        const root = merkleRoot(hashes);
        if (root !== b.merkleRoot) {
          check.ok = false;
          check.problem = `the log's entries hash to ${root}, not to the anchored root`;
        }
      }
    }
    if (!check.ok) problems.push(`anchored batch ${i} (entries ${check.first}-${check.last}): ${check.problem}`);
    batches.push(check);
  }
  const anchoredThrough = batches.length === 0 ? 0 : batches[batches.length - 1]!.last;
  const total = chain.ok ? chain.entries : Math.max(0, chain.seq - 1);
  return {
    ok: problems.length === 0,
    chain,
    batches,
    anchoredThrough,
    unanchored: Math.max(0, total - anchoredThrough),
    problems,
  };
}
