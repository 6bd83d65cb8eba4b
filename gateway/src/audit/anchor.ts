/**
 * Anchoring the audit log on-chain: the Merkle root (audit/merkle.ts) of the entries not yet
 * anchored is posted to AuditAnchor.anchor(root, first, last) with the gateway's key, batch after
 * batch, contiguous from entry 1 (the contract says where the next batch starts). Before a batch
 * is posted its hash chain is re-checked from the stored events: a log that was tampered with is
 * never anchored.
 *
 * A batch holds at most AuditAnchor.MAX_BATCH_SIZE entries (the contract refuses more, so that one
 * anchor cannot reserve the sequence space); a larger `maxBatch` is cut to it. A mistaken batch is
 * superseded on-chain by the custodian organization or an ADMIN member (`AuditAnchor.supersede`),
 * never by this gateway's key; verification reads the batch in force (`batchAt`).
 *
 * `AuditAnchorer.anchorPending()` anchors once (the job's step, also callable on its own);
 * `start(intervalSeconds)` runs it periodically, never two runs at once.
 */
import type { Hex } from "viem";
import { auditAnchorAbi } from "#sdk/generated/abis.ts";
import type { GatewayChain } from "../chain/chain.ts";
import type { GatewayDb } from "../store/database.ts";
import { auditRange, entryHash, GENESIS_HASH, lastAuditSeq } from "./log.ts";
import { merkleRoot } from "./merkle.ts";

export const DEFAULT_MAX_BATCH = 5000;
/** AuditAnchor.MAX_BATCH_SIZE: the most entries the contract takes in one batch. */
export const ANCHOR_MAX_BATCH_SIZE = 10_000;

export type AnchorResult =
  | { status: "up-to-date"; anchoredThrough: number }
  | { status: "anchored"; first: number; last: number; root: Hex; transactionHash: Hex; blockNumber: bigint };

/** The log does not hash-chain where it should: it was altered, and is not anchored. */
export class AuditIntegrityError extends Error {
  readonly seq: number;
  constructor(seq: number, message: string) {
    super(message);
    this.name = "AuditIntegrityError";
    this.seq = seq;
  }
}

export interface AnchorLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export class AuditAnchorer {
  readonly #db: GatewayDb;
  readonly #chain: GatewayChain;
  readonly #maxBatch: number;
  readonly #log: AnchorLogger | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> | undefined;

  constructor(options: { db: GatewayDb; chain: GatewayChain; maxBatch?: number; log?: AnchorLogger }) {
    this.#db = options.db;
    this.#chain = options.chain;
    this.#maxBatch = Math.min(options.maxBatch ?? DEFAULT_MAX_BATCH, ANCHOR_MAX_BATCH_SIZE);
    this.#log = options.log;
  }

  /** The most entries this anchorer puts in one batch. */
  get maxBatch(): number {
    return this.#maxBatch;
  }

  /** Where the custodian's next batch must start, per the contract. */
  async nextSequence(): Promise<number> {
    const next = await this.#chain.read((c) =>
      c.readContract({
        address: this.#chain.auditAnchor,
        abi: auditAnchorAbi,
        functionName: "nextSequence",
        args: [this.#chain.custodian],
      }),
    );
    return Number(next);
  }

  /** Anchors the next batch of not-yet-anchored entries (at most maxBatch), if there is one. */
  async anchorOnce(): Promise<AnchorResult> {
    const first = await this.nextSequence();
    const last = Math.min(await lastAuditSeq(this.#db), first + this.#maxBatch - 1);
    if (last < first) return { status: "up-to-date", anchoredThrough: first - 1 };
    const hashes = await this.#checkedHashes(first, last);
    const root = merkleRoot(hashes);
    const sent = await this.#chain.send({
      address: this.#chain.auditAnchor,
      abi: auditAnchorAbi,
      functionName: "anchor",
      args: [root, BigInt(first), BigInt(last)],
    });
    return { status: "anchored", first, last, root, transactionHash: sent.hash, blockNumber: sent.blockNumber };
  }

  /** Anchors batch after batch until every entry is anchored; the batches it posted. */
  async anchorPending(): Promise<AnchorResult[]> {
    const run = (this.#running ?? Promise.resolve()).then(async () => {
      const results: AnchorResult[] = [];
      for (;;) {
        const result = await this.anchorOnce();
        results.push(result);
        if (result.status === "up-to-date") return results;
      }
    });
    this.#running = run.catch(() => undefined);
    return run;
  }

  /** Runs anchorPending every `intervalSeconds` (0: never); errors are logged, never thrown. */
  start(intervalSeconds: number): void {
    this.stopTimer();
    if (intervalSeconds <= 0) return;
    this.#timer = setInterval(() => {
      void this.anchorPending().then(
        (results) => {
          for (const r of results) {
            if (r.status === "anchored") {
              this.#log?.info(
                { first: r.first, last: r.last, root: r.root, tx: r.transactionHash },
                "audit batch anchored on-chain",
              );
            }
          }
        },
        (err: unknown) => {
          if (err instanceof AuditIntegrityError)
            this.#log?.error({ seq: err.seq, err }, "audit log integrity failure: not anchoring");
          else this.#log?.warn({ err }, "audit anchoring failed; will retry");
        },
      );
    }, intervalSeconds * 1000);
    this.#timer.unref();
  }

  stopTimer(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Stops the periodic job and waits for a run in progress. */
  async stop(): Promise<void> {
    this.stopTimer();
    await this.#running;
  }

  /** The entries' hashes, recomputed from the stored events and checked against the chain of hashes. */
  async #checkedHashes(first: number, last: number): Promise<string[]> {
    let prevHash = GENESIS_HASH;
    if (first > 1) {
      const [previous] = await auditRange(this.#db, first - 1, first - 1);
      if (!previous) throw new AuditIntegrityError(first - 1, `audit entry ${first - 1} is missing`);
      prevHash = previous.hash;
    }
    const entries = await auditRange(this.#db, first, last);
    const hashes: string[] = [];
    let expected = first;
    for (const entry of entries) {
      if (entry.seq !== expected) throw new AuditIntegrityError(expected, `audit entry ${expected} is missing`);
      if (entry.prevHash !== prevHash) {
        throw new AuditIntegrityError(entry.seq, `audit entry ${entry.seq} does not chain to entry ${entry.seq - 1}`);
      }
      const hash = entryHash(prevHash, entry.event);
      if (hash !== entry.hash)
        throw new AuditIntegrityError(entry.seq, `audit entry ${entry.seq} does not match its hash`);
      hashes.push(hash);
      prevHash = hash;
      expected++;
    }
    if (expected !== last + 1) throw new AuditIntegrityError(expected, `audit entry ${expected} is missing`);
    return hashes;
  }
}
