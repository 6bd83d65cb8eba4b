/**
 * `npm run bench:indexer`: the indexer (indexer/: Ponder over PGlite) against today's log scans,
 * on a local chain with a realistic consent history (issue #15).
 *
 * Seeded on anvil (127.0.0.1, ports 8700-8799): the contracts (test/indexer/lib.ts's deploy),
 * 20 organizations (10 providers, 10 researchers), then 100,000 consent events (grants, updates of
 * a grant, revocations) from 10,000 patients, plus 1,000 study enrolments. Seeding is batched:
 * anvil runs with automine off and auto-impersonation, thousands of `eth_sendTransaction`s go in
 * one JSON-RPC batch, one `evm_mine` makes them a block, and every block's receipts are checked
 * (all succeeded, as many logs as expected). One patient (`heavy`, a key of its own so it can sign
 * in to the gateway) holds 100 current grants from the first 10,000 events on.
 *
 * Measured at 10,000 and at 100,000 consent events (each time with a fresh indexer, so catching up
 * is timed from nothing):
 * - indexing throughput: the chain's logs since the deployment / seconds until `/status` reaches
 *   the latest block (from the indexer's start, its ~start-up included);
 * - "a patient's current grants" for `heavy`: sdk/history.ts (the indexer) against sdk/ledger.ts
 *   (today's log scan, readPatientGrants), p50/p99 of sequential calls;
 * - `GET /fhir/Consent?patient=` of `heavy` by `heavy` at a real gateway (its production entry
 *   point, `node gateway/src/server.ts`, in a process of its own on 127.0.0.1, PGlite store, real
 *   HTTP with a SIWE bearer token, logging warnings only and no audit anchoring) reading through
 *   the indexer (INDEXER_URL), and, while the gateway still had one, its log-scan path (now
 *   removed: the figure is shown as n/a).
 * The timed reads run in processes of their own too, as their readers would: not in this one, whose
 * heap holds the seeding of 100,000 transactions. The current grants from an app server's
 * (scripts/bench/indexer-reads.ts: the sdk, and with it Ponder's framework), the FHIR search from a
 * FHIR client's, which loads nothing but fetch (scripts/bench/fhir-reads.ts).
 *
 * Budgets (exit 1 when one is missed): through the indexer, p99 ≤ 20 ms for both reads, and the
 * p99 at 100,000 events ≤ 1.5 × the p99 at 10,000 (flat in the chain's history).
 *
 *   node scripts/bench/indexer-bench.ts [--events 100000] [--samples 300] [--port-base 8700]
 *        [--database-url postgres://… (a PostgreSQL server the indexer may create schemas in)]
 *        [--gateway-database-url postgres://… (a PostgreSQL database of the gateway's own, emptied)]
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

import type { Bundle } from "@medplum/fhirtypes";
import { type Address, type Hex, encodeFunctionData, getAddress, keccak256, toHex } from "viem";
import { privateKeyToAccount, type LocalAccount } from "viem/accounts";

import { KINDS, categoriesToMask, encodePurpose, type PurposeSpec } from "#sdk/codes.ts";
import { consentRegistryAbi, studyEscrowAbi } from "#sdk/generated/abis.ts";
import { indexerClient } from "#sdk/history.ts";
import { schema } from "../../indexer/client.ts";
import { generateSyntheticData, syntheticTransactionBundle } from "../../gateway/src/dev/synthetic.ts";
import { openDatabase, truncateAll } from "../../gateway/src/store/database.ts";
import {
  TEST_ADMIN_TOKEN,
  TEST_LINK_CODE_TOKEN,
  TEST_MASTER_KEY,
  TEST_TOKEN_SECRET,
} from "../../gateway/src/testing/fixtures.ts";
import { startIndexer } from "../../indexer/start.ts";
import { CHAIN_ID, KEYS, who } from "../../test/anvil/lib.ts";
import { deployConsentry } from "../../test/indexer/lib.ts";
import type { FhirReadsInput, FhirReadsOutput } from "./fhir-reads.ts";
import type { ReadsInput, ReadsOutput } from "./indexer-reads.ts";
import type { Latency } from "./timed.ts";
import { signIn } from "./sign-in.ts";

const HOST = "127.0.0.1";
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const BUDGET = { p99Ms: 20, growth: 1.5 } as const;
/**
 * Transactions per seeded block. anvil's cost of a block's receipts and full transactions (what
 * Ponder fetches) grows with the square of its transaction count: 2,000 a block took a minute
 * per block to read back; 250 keep it to a fraction of a second.
 */
const PER_BLOCK = 250;
const PATIENTS = 10_000;
const ENROLMENTS = 1_000;
const HEAVY_GRANTS = 100;
/** Ponder's finality depth on a chain id it does not know (ponder/dist/esm/utils/finality.js). */
const FINALITY = 30;

const { values: args } = parseArgs({
  args: process.argv.slice(2),
  options: {
    events: { type: "string", default: "100000" },
    samples: { type: "string", default: "300" },
    "port-base": { type: "string", default: "8700" },
    "database-url": { type: "string" },
    "gateway-database-url": { type: "string" },
  },
  strict: true,
});
const TOTAL_EVENTS = Number(args.events);
const FIRST_EVENTS = Math.round(TOTAL_EVENTS / 10);
const SAMPLES = Number(args.samples);
const PORT_BASE = Number(args["port-base"]);
const DATABASE_URL = args["database-url"];
const GATEWAY_DATABASE_URL = args["gateway-database-url"];
if (!Number.isInteger(TOTAL_EVENTS) || TOTAL_EVENTS < 2_000) throw new Error("--events must be ≥ 2000");
if (!Number.isInteger(SAMPLES) || SAMPLES < 20) throw new Error("--samples must be ≥ 20");
const PORT = { anvil: PORT_BASE + 1, indexer: PORT_BASE + 2, gateway: PORT_BASE + 4 };

const startedAt = Date.now();
const say = (line: string) =>
  void process.stderr.write(`[bench:indexer ${((Date.now() - startedAt) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);

// ---------------------------------------------------------------------------- processes
const children = new Set<ChildProcess>();
function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}
async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
}
process.on("exit", () => {
  for (const child of children) child.kill("SIGKILL");
});

async function startAnvil(): Promise<{ child: ChildProcess; rpc: string }> {
  const child = track(
    spawn(
      process.execPath,
      [
        "node_modules/@foundry-rs/anvil/bin.mjs",
        "--host",
        HOST,
        "--port",
        String(PORT.anvil),
        "--chain-id",
        String(CHAIN_ID),
        // Any sender, no balance needed: patients are addresses without keys, and gas costs nothing.
        "--auto-impersonate",
        "--base-fee",
        "0",
        "--gas-price",
        "0",
        "--disable-block-gas-limit",
      ],
      { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, TARGET_TOOL: "anvil" } },
    ),
  );
  let out = "";
  await new Promise<void>((resolve, reject) => {
    const onData = (c: Buffer) => {
      if (out.length < 10_000) out += c.toString();
      if (/Listening on/.test(out)) resolve();
    };
    child.stdout!.on("data", onData); // drained for good: anvil logs every transaction
    child.stderr!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`anvil exited (${code}) before it was ready:\n${out}`)));
  });
  return { child, rpc: `http://${HOST}:${PORT.anvil}` };
}

// ---------------------------------------------------------------------------- JSON-RPC batches
interface RpcCall {
  method: string;
  params: unknown[];
}
async function rpcBatch(url: string, calls: readonly RpcCall[]): Promise<unknown[]> {
  const results: unknown[] = [];
  for (let i = 0; i < calls.length; i += 500) {
    const chunk = calls.slice(i, i + 500);
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(chunk.map((c, j) => ({ jsonrpc: "2.0", id: j, ...c }))),
    });
    const body = (await res.json()) as { id: number; result?: unknown; error?: { message: string } }[];
    body.sort((a, b) => a.id - b.id);
    for (const r of body) {
      if (r.error) throw new Error(`${chunk[r.id]!.method}: ${r.error.message}`);
      results.push(r.result);
    }
  }
  return results;
}
const rpc = async (url: string, method: string, params: unknown[] = []) =>
  (await rpcBatch(url, [{ method, params }]))[0];

interface Tx {
  from: Address;
  to: Address;
  data: Hex;
  /** Logs the transaction emits (its block's logs are counted; unknown: its receipt is read). */
  logs?: number;
}

/** Sends the transactions in blocks of PER_BLOCK (explicit nonces, one evm_mine per block); checks every receipt. */
class Seeder {
  private readonly nonces = new Map<string, number>();
  logs = 0;
  blocks = 0;
  txs = 0;
  private readonly url: string;
  constructor(url: string) {
    this.url = url;
  }

  async nonceOf(address: Address): Promise<number> {
    const key = address.toLowerCase();
    let n = this.nonces.get(key);
    if (n === undefined) {
      n = Number(await rpc(this.url, "eth_getTransactionCount", [address, "latest"]));
      this.nonces.set(key, n);
    }
    return n;
  }
  /**
   * Mines empty blocks past Ponder's finality depth (30 blocks on an unknown chain id): the seeded
   * history is then backfilled (batched, cached) as on a real network, not indexed block by block
   * as live blocks are.
   */
  async settle(): Promise<void> {
    await rpc(this.url, "anvil_mine", [toHex(FINALITY + 10)]);
  }
  /** Fresh addresses (never used): nonce 0 without asking. */
  fresh(addresses: readonly Address[]) {
    for (const a of addresses) this.nonces.set(a.toLowerCase(), 0);
  }

  async send(txs: readonly Tx[]): Promise<void> {
    for (let i = 0; i < txs.length; i += PER_BLOCK) {
      const chunk = txs.slice(i, i + PER_BLOCK);
      const calls: RpcCall[] = [];
      for (const tx of chunk) {
        const nonce = await this.nonceOf(tx.from);
        this.nonces.set(tx.from.toLowerCase(), nonce + 1);
        calls.push({
          method: "eth_sendTransaction",
          params: [{ from: tx.from, to: tx.to, data: tx.data, gas: "0x7a120", gasPrice: "0x0", nonce: toHex(nonce) }],
        });
      }
      const t0 = performance.now();
      await rpcBatch(this.url, calls);
      const t1 = performance.now();
      await rpc(this.url, "evm_mine");
      const t2 = performance.now();
      const block = (await rpc(this.url, "eth_getBlockByNumber", ["latest", false])) as {
        number: Hex;
        transactions: Hex[];
      };
      if (block.transactions.length !== chunk.length) {
        throw new Error(`a seeded block holds ${block.transactions.length} transactions, not ${chunk.length}`);
      }
      let logs: number;
      if (chunk.every((tx) => tx.logs !== undefined)) {
        // Every transaction's logs are known (a reverted one emits none): the block's logs must add
        // up. (anvil's eth_getBlockReceipts takes a minute for a block of 2,000.)
        const found = (await rpc(this.url, "eth_getLogs", [
          { fromBlock: block.number, toBlock: block.number },
        ])) as unknown[];
        const expected = chunk.reduce((n, tx) => n + tx.logs!, 0);
        if (found.length !== expected) throw new Error(`a seeded block emitted ${found.length} logs, not ${expected}`);
        logs = found.length;
      } else {
        const receipts = (await rpc(this.url, "eth_getBlockReceipts", [block.number])) as {
          status: Hex;
          logs: unknown[];
        }[];
        receipts.forEach((r, k) => {
          if (r.status !== "0x1") throw new Error(`a seeded transaction reverted (${k} of its block)`);
        });
        logs = receipts.reduce((n, r) => n + r.logs.length, 0);
      }
      if (this.blocks % 100 === 5 && chunk.length > 100) {
        const t3 = performance.now();
        say(
          `  block of ${chunk.length}: sent ${(t1 - t0).toFixed(0)} ms, mined ${(t2 - t1).toFixed(0)} ms, checked ${(t3 - t2).toFixed(0)} ms`,
        );
      }
      this.logs += logs;
      this.blocks++;
      this.txs += chunk.length;
    }
  }
}

// ---------------------------------------------------------------------------- the history
/** A small deterministic PRNG (mulberry32): the same history every run. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PROVIDER_PURPOSES: PurposeSpec[] = [{ purpose: "TREAT" }, { purpose: "ETREAT" }, { purpose: "HOPERAT" }];
const RESEARCH_PURPOSES: PurposeSpec[] = [
  { purpose: "HRESCH" },
  { purpose: "GRU" },
  { purpose: "HMB" },
  { purpose: "DS", disease: 1 },
  { purpose: "DS", disease: 2 },
  { purpose: "DS", disease: 3 },
  { purpose: "DS", disease: 4 },
];
const address = (label: string, i: number) => getAddress(keccak256(toHex(`${label}-${i}`)).slice(0, 42));

interface World {
  registry: Address;
  escrow: Address;
  orgs: { address: Address; purposes: bigint[] }[];
  patients: Address[];
  heavy: LocalAccount;
  expiresAt: number;
  /** Active grants: `${patient}:${org}:${purpose}` */
  active: Set<string>;
  random: () => number;
}

/** `count` consent events of random patients (grants ~60 %, updates and revocations ~20 % each). */
function consentEvents(world: World, count: number): Tx[] {
  const txs: Tx[] = [];
  const { random } = world;
  for (let i = 0; i < count; i++) {
    const p = Math.floor(random() * world.patients.length);
    const o = Math.floor(random() * world.orgs.length);
    const org = world.orgs[o]!;
    const k = Math.floor(random() * org.purposes.length);
    const key = `${p}:${o}:${k}`;
    const from = world.patients[p]!;
    const roll = random();
    if (world.active.has(key) && roll < 0.5) {
      world.active.delete(key);
      txs.push({ from, to: world.registry, logs: 1, data: revokeData(org.address, org.purposes[k]!) });
    } else {
      world.active.add(key);
      const categories = 1 + Math.floor(random() * 0x3ff);
      txs.push({
        from,
        to: world.registry,
        logs: 1,
        data: grantData(world, org.address, org.purposes[k]!, categories),
      });
    }
  }
  return txs;
}

function grantData(world: World, grantee: Address, purpose: bigint, categories: number): Hex {
  return encodeFunctionData({
    abi: consentRegistryAbi,
    functionName: "grant",
    args: [grantee, categories, purpose, 0, world.expiresAt],
  });
}
function revokeData(grantee: Address, purpose: bigint): Hex {
  return encodeFunctionData({
    abi: consentRegistryAbi,
    functionName: "revoke",
    args: [grantee, `0x${(purpose & 0xffffffff00ffn).toString(16).padStart(64, "0")}`],
  });
}

/** The heavy patient's 100 grants: every purpose of every organization (10 × 3 + 10 × 7). */
function heavyGrants(world: World): Tx[] {
  return world.orgs.flatMap((org) =>
    org.purposes.map((purpose) => ({
      from: world.heavy.address,
      to: world.registry,
      logs: 1,
      data: grantData(world, org.address, purpose, categoriesToMask(["Observation", "Condition"])),
    })),
  );
}

function enrolments(world: World, studyId: bigint, from: number, count: number): Tx[] {
  const data = encodeFunctionData({ abi: studyEscrowAbi, functionName: "join", args: [studyId] });
  // StudyJoined and the registry's ConsentGranted of the study grant.
  return world.patients.slice(from, from + count).map((p) => ({ from: p, to: world.escrow, logs: 2, data }));
}

// ---------------------------------------------------------------------------- measuring
/** One reader's timed reads, in a fresh process (`script` prints its result as its last line). */
async function timedReads<I, O>(script: string, input: I): Promise<O> {
  const child = track(
    spawn(process.execPath, [script, JSON.stringify(input)], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "inherit"],
    }),
  );
  let out = "";
  child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  if (code !== 0) throw new Error(`the timed reads of ${script} failed (exit ${code})`);
  return JSON.parse(out.trim().split("\n").at(-1)!) as O;
}

interface RunningIndexer {
  child: ChildProcess;
  url: string;
  /** Seconds from its start until it had indexed the latest block. */
  catchUpSeconds: number;
  /** Seconds from its start until its HTTP server answered. */
  startSeconds: number;
  /** Seconds from its first fetch of the history until it had indexed the latest block. */
  syncSeconds: number;
}

async function indexerFor(rpcUrl: string, deployment: object, dataRoot: string): Promise<RunningIndexer> {
  const latest = Number(await rpc(rpcUrl, "eth_blockNumber"));
  const t0 = performance.now();
  const { child } = await startIndexer(
    {
      ...process.env,
      CHAIN_ID: String(CHAIN_ID),
      RPC_URL: rpcUrl,
      CONSENTRY_DEPLOYMENT: JSON.stringify(deployment),
      INDEXER_DATA_ROOT: dataRoot,
      INDEXER_PORT: String(PORT.indexer),
      INDEXER_POLLING_INTERVAL_MS: "500",
      // 8 seeded blocks (≤ 2,000 logs) an eth_getLogs: a 10,000-log answer from anvil timed out on
      // 2 shared cores. (The grants once missing at 10,000 events were not this: Ponder's flush hid
      // them from PGlite's readers, see indexer/ponder-patch.ts.)
      INDEXER_GETLOGS_BLOCK_RANGE: "8",
      DATABASE_URL: DATABASE_URL ?? "",
      PONDER_LOG_LEVEL: process.env["BENCH_INDEXER_LOG"] || "info",
    },
    { stdio: "pipe" },
  );
  track(child);
  let out = "";
  if (process.env["BENCH_INDEXER_LOG"]) child.stdout!.pipe(process.stderr);
  // Ponder's start-up (its build, PGlite, migrations) is not indexing: the clock of the
  // throughput starts when it starts fetching the history.
  let syncStarted = 0;
  child.stdout!.on("data", (c: Buffer) => {
    out = (out + c.toString()).slice(-8000);
    if (!syncStarted && /Started (fetching backfill|backfill indexing)/.test(out)) syncStarted = performance.now();
  });
  child.stderr!.on("data", (c: Buffer) => (out = (out + c.toString()).slice(-8000)));
  const url = `http://${HOST}:${PORT.indexer}`;
  let startSeconds = 0;
  const deadline = Date.now() + 1_800_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the indexer exited (${child.exitCode}):\n${out}`);
    if (Date.now() > deadline) throw new Error(`the indexer did not catch up within 30 min:\n${out}`);
    try {
      const status = await indexerClient(url).status();
      if (!startSeconds) startSeconds = (performance.now() - t0) / 1000;
      // /ready answers 200 once the backfill is done (its /status block may run ahead of it).
      if (status.block >= latest && (await fetch(`${url}/ready`)).ok) break;
    } catch {
      // not answering yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const done = performance.now();
  return {
    child,
    url,
    startSeconds,
    catchUpSeconds: (done - t0) / 1000,
    syncSeconds: (done - (syncStarted || t0)) / 1000,
  };
}

// ---------------------------------------------------------------------------- the gateway
interface Gateway {
  child: ChildProcess;
  url: string;
  token: string;
  patientId: string;
}

/** The gateway's production entry point in a process of its own, configured from the environment. */
async function gatewayFor(
  rpcUrl: string,
  registry: Address,
  anchor: Address,
  escrow: Address,
  indexerUrl: string,
  heavy: LocalAccount,
  dataDir: string,
  port: number,
): Promise<Gateway> {
  const url = `http://${HOST}:${port}`;
  let database: Record<string, string>;
  if (GATEWAY_DATABASE_URL) {
    // A PostgreSQL database of its own, emptied for each stage.
    const emptied = await openDatabase({ kind: "postgres", url: GATEWAY_DATABASE_URL });
    await truncateAll(emptied.db);
    await emptied.close();
    database = { DATABASE_URL: GATEWAY_DATABASE_URL };
  } else {
    database = { GATEWAY_DATA_DIR: dataDir };
  }
  const child = track(
    spawn(process.execPath, ["gateway/src/server.ts"], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        ...database,
        RPC_URL: rpcUrl,
        CHAIN_ID: String(CHAIN_ID),
        CUSTODIAN_ADDRESS: who.hospital.address,
        CONSENT_REGISTRY_ADDRESS: registry,
        AUDIT_ANCHOR_ADDRESS: anchor,
        STUDY_ESCROW_ADDRESS: escrow,
        INDEXER_URL: indexerUrl,
        GATEWAY_CUSTODIAN_NAME: "Benchmark hospital",
        GATEWAY_HOST: HOST,
        GATEWAY_PORT: String(port),
        GATEWAY_PUBLIC_URL: url,
        GATEWAY_PRIVATE_KEY: KEYS[7],
        GATEWAY_MASTER_KEY: TEST_MASTER_KEY.toString("hex"),
        GATEWAY_TOKEN_SECRET: TEST_TOKEN_SECRET.toString("hex"),
        GATEWAY_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
        GATEWAY_LINK_CODE_TOKEN: TEST_LINK_CODE_TOKEN,
        // One reader asks as fast as it can: no per-address limit in its way, no anchoring run
        // during the timing, and no line logged per request.
        GATEWAY_RATE_LIMIT_PER_MINUTE: "1000000",
        GATEWAY_RATE_LIMIT_IP_PER_MINUTE: "1000000",
        GATEWAY_ANCHOR_INTERVAL_SECONDS: "0",
        GATEWAY_LOG_LEVEL: "warn",
      },
    }),
  );
  let out = "";
  child.stdout!.on("data", (c: Buffer) => (out = (out + c.toString()).slice(-8000)));
  child.stderr!.on("data", (c: Buffer) => (out = (out + c.toString()).slice(-8000)));
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the gateway exited (${child.exitCode}):\n${out}`);
    if (Date.now() > deadline) throw new Error(`the gateway did not answer within 2 min:\n${out}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // not answering yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  // One synthetic patient, linked to `heavy` through the gateway's own routes.
  const data = generateSyntheticData({ seed: "bench-indexer", custodian: "Benchmark hospital", patients: 1 });
  const ingested = await fetch(`${url}/fhir`, {
    method: "POST",
    headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, "content-type": "application/fhir+json" },
    body: JSON.stringify(syntheticTransactionBundle(data) satisfies Bundle),
  });
  if (!ingested.ok) throw new Error(`ingest: ${ingested.status} ${(await ingested.text()).slice(0, 300)}`);
  const patientId = data.patients[0]!.id!;
  const code = await fetch(`${url}/admin/link-codes`, {
    method: "POST",
    headers: { authorization: `Bearer ${TEST_LINK_CODE_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ patientId }),
  });
  if (code.status !== 201) throw new Error(`link code: ${code.status} ${await code.text()}`);
  const token = await signIn(url, heavy);
  const linked = await fetch(`${url}/auth/link`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ code: ((await code.json()) as { code: string }).code }),
  });
  if (!linked.ok) throw new Error(`link: ${linked.status} ${await linked.text()}`);
  return { child, url, token, patientId };
}

// ---------------------------------------------------------------------------- main
interface Stage {
  consentEvents: number;
  logs: number;
  blocks: number;
  catchUpSeconds: number;
  syncSeconds: number;
  grantsIndexer: Latency;
  grantsLogScan: Latency;
  consentIndexer: Latency;
  consentLogScan: Latency | null;
}

async function measureStage(
  world: World,
  rpcUrl: string,
  deployment: Awaited<ReturnType<typeof deployConsentry>>,
  seeder: Seeder,
  consentCount: number,
  tmp: string,
): Promise<Stage> {
  say(`indexing ${seeder.logs} logs in ${seeder.blocks} seeded blocks with a fresh indexer ...`);
  const indexer = await indexerFor(rpcUrl, deployment, mkdtempSync(path.join(tmp, "indexer-")));
  say(
    `caught up ${indexer.catchUpSeconds.toFixed(1)} s after its start (HTTP up after ${indexer.startSeconds.toFixed(1)} s, history fetched and indexed in ${indexer.syncSeconds.toFixed(1)} s)`,
  );
  const gateway = await gatewayFor(
    rpcUrl,
    deployment.ConsentRegistry,
    deployment.AuditAnchor,
    deployment.StudyEscrow,
    indexer.url,
    world.heavy,
    mkdtempSync(path.join(tmp, "gateway-")),
    PORT.gateway,
  );
  try {
    const reads = await (async () => {
      const grants = await timedReads<ReadsInput, ReadsOutput>("scripts/bench/indexer-reads.ts", {
        indexerUrl: indexer.url,
        rpcUrl,
        registry: world.registry,
        patient: world.heavy.address,
        samples: SAMPLES,
        expectedGrants: HEAVY_GRANTS,
      });
      const fhir = await timedReads<FhirReadsInput, FhirReadsOutput>("scripts/bench/fhir-reads.ts", {
        url: `${gateway.url}/fhir/Consent?patient=${gateway.patientId}`,
        headers: {
          authorization: `Bearer ${gateway.token}`,
          accept: "application/fhir+json",
          "x-purpose-of-use": "TREAT",
        },
        samples: SAMPLES,
        expectedEntries: HEAVY_GRANTS,
      });
      return { ...grants, ...fhir };
    })().catch(async (error: unknown) => {
      // What the indexer holds, to tell a seeding fault from an indexing one.
      const ix = indexerClient(indexer.url);
      const counts = await Promise.all(
        [schema.organization, schema.consentGrant, schema.grantChange, schema.chainEvent, schema.enrolment].map(
          async (table) => (await ix.db.select().from(table)).length,
        ),
      );
      say(`rows: organization, consent_grant, grant_change, chain_event, enrolment = ${counts.join(", ")}`);
      say(`indexer status ${JSON.stringify(await ix.status())}; heavy ${world.heavy.address}`);
      throw error;
    });
    return {
      consentEvents: consentCount,
      logs: seeder.logs,
      blocks: seeder.blocks,
      catchUpSeconds: indexer.catchUpSeconds,
      syncSeconds: indexer.syncSeconds,
      ...reads,
      consentLogScan: null,
    };
  } finally {
    await stopChild(gateway.child);
    await stopChild(indexer.child);
  }
}

async function main(): Promise<number> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), "consentry-bench-indexer-"));
  let anvil: ChildProcess | undefined;
  try {
    say(`starting anvil on ${HOST}:${PORT.anvil} ...`);
    ({ child: anvil } = await startAnvil());
    const rpcUrl = `http://${HOST}:${PORT.anvil}`;
    const deployment = await deployConsentry(rpcUrl);
    const seedStarted = performance.now();
    await rpc(rpcUrl, "evm_setAutomine", [false]);
    const seeder = new Seeder(rpcUrl);
    const { timestamp } = (await rpc(rpcUrl, "eth_getBlockByNumber", ["latest", false])) as { timestamp: Hex };
    const random = prng(15);
    const world: World = {
      registry: deployment.ConsentRegistry,
      escrow: deployment.StudyEscrow,
      orgs: Array.from({ length: 20 }, (_, i) => ({
        address: address("org", i),
        purposes: (i < 10 ? PROVIDER_PURPOSES : RESEARCH_PURPOSES).map((p) => encodePurpose(p)),
      })),
      patients: Array.from({ length: PATIENTS }, (_, i) => address("patient", i)),
      heavy: privateKeyToAccount(keccak256(toHex("consentry bench: the patient with 100 grants"))),
      expiresAt: Number(timestamp) + 10 * 365 * 86_400,
      active: new Set(),
      random,
    };
    seeder.fresh([...world.patients, world.heavy.address, ...world.orgs.map((o) => o.address)]);

    say("accrediting 20 organizations, creating a study ...");
    const licence = keccak256(toHex("licence"));
    await seeder.send(
      world.orgs.map((org, i) => ({
        from: who.multisig.address,
        to: world.registry,
        data: encodeFunctionData({
          abi: consentRegistryAbi,
          functionName: "accredit",
          args: [org.address, i < 10 ? KINDS.PROVIDER : KINDS.RESEARCHER, `Organization ${i}`, "", licence],
        }),
      })),
    );
    const researcher = world.orgs[10]!.address;
    await seeder.send([
      {
        from: researcher,
        to: world.escrow,
        data: encodeFunctionData({
          abi: studyEscrowAbi,
          functionName: "createStudy",
          args: [
            {
              currency: deployment.RemunerationToken,
              purpose: encodePurpose("HMB"),
              categories: categoriesToMask(["Observation", "Condition"]),
              price: 1_000_000n,
              maxParticipants: ENROLMENTS,
              enrolmentDeadline: world.expiresAt - 86_400,
              endTime: world.expiresAt,
              protocolHash: keccak256(toHex("bench protocol")),
              custodians: [{ custodian: world.orgs[0]!.address, shareBps: 1_000 }],
              attestedEnrolment: false,
            },
            0n,
          ],
        }),
      },
    ]);
    const studyId = 1n;

    const firstEnrolments = Math.round(ENROLMENTS / 10);
    say(
      `seeding ${FIRST_EVENTS} consent events (${HEAVY_GRANTS} of them the heavy patient's grants) and ${firstEnrolments} enrolments ...`,
    );
    await seeder.send([...heavyGrants(world), ...consentEvents(world, FIRST_EVENTS - HEAVY_GRANTS)]);
    await seeder.send(enrolments(world, studyId, 0, firstEnrolments));
    await seeder.settle();
    const firstSeedSeconds = (performance.now() - seedStarted) / 1000;
    say(
      `seeded ${seeder.txs} transactions (${seeder.logs} logs, ${seeder.blocks} blocks) in ${firstSeedSeconds.toFixed(1)} s`,
    );
    const small = await measureStage(world, rpcUrl, deployment, seeder, FIRST_EVENTS, tmp);

    say(
      `seeding ${TOTAL_EVENTS - FIRST_EVENTS} more consent events and ${ENROLMENTS - firstEnrolments} enrolments ...`,
    );
    const moreStarted = performance.now();
    for (let done = FIRST_EVENTS; done < TOTAL_EVENTS; done += 10_000) {
      await seeder.send(consentEvents(world, Math.min(10_000, TOTAL_EVENTS - done)));
    }
    await seeder.send(enrolments(world, studyId, firstEnrolments, ENROLMENTS - firstEnrolments));
    await seeder.settle();
    const seedSeconds = firstSeedSeconds + (performance.now() - moreStarted) / 1000;
    say(
      `seeded ${seeder.txs} transactions (${seeder.logs} logs, ${seeder.blocks} blocks) in ${seedSeconds.toFixed(1)} s in all`,
    );
    const large = await measureStage(world, rpcUrl, deployment, seeder, TOTAL_EVENTS, tmp);

    return report([small, large], seedSeconds, seeder.txs);
  } finally {
    await stopChild(anvil);
    rmSync(tmp, { recursive: true, force: true });
  }
}

function report(stages: [Stage, Stage], seedSeconds: number, txs: number): number {
  const ms = (l: Latency | null) => (l ? `${l.p50.toFixed(1)} / ${l.p99.toFixed(1)}` : "n/a");
  const n = (x: number) => x.toLocaleString("en-US");
  const rows = [
    ["", ...stages.map((s) => `${n(s.consentEvents)} consent events`)],
    ["chain: logs / blocks", ...stages.map((s) => `${n(s.logs)} / ${n(s.blocks)}`)],
    [
      "indexing: fetch + index s (events/s)",
      ...stages.map((s) => `${s.syncSeconds.toFixed(1)} s (${n(Math.round(s.logs / s.syncSeconds))}/s)`),
    ],
    ["indexer start to caught up s", ...stages.map((s) => `${s.catchUpSeconds.toFixed(1)} s`)],
    ["current grants, indexer p50/p99 ms", ...stages.map((s) => ms(s.grantsIndexer))],
    ["current grants, log scan p50/p99 ms", ...stages.map((s) => ms(s.grantsLogScan))],
    ["GET /fhir/Consent, indexer p50/p99 ms", ...stages.map((s) => ms(s.consentIndexer))],
    ["GET /fhir/Consent, log scan p50/p99 ms", ...stages.map((s) => ms(s.consentLogScan))],
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  console.log(
    `\nindexer benchmark (anvil, Ponder over ${DATABASE_URL ? "PostgreSQL" : "PGlite"}; ${txs} transactions seeded in ${seedSeconds.toFixed(0)} s):\n`,
  );
  for (const r of rows) console.log(`  ${r.map((cell, c) => cell.padEnd(widths[c]!)).join("  |  ")}`);

  const [small, large] = stages;
  const checks = [
    ["current grants p99 ≤ 20 ms (indexer, 100k)", large.grantsIndexer.p99 <= BUDGET.p99Ms],
    ["GET /fhir/Consent p99 ≤ 20 ms (indexer, 100k)", large.consentIndexer.p99 <= BUDGET.p99Ms],
    ["current grants p99 ≤ 20 ms (indexer, 10k)", small.grantsIndexer.p99 <= BUDGET.p99Ms],
    ["GET /fhir/Consent p99 ≤ 20 ms (indexer, 10k)", small.consentIndexer.p99 <= BUDGET.p99Ms],
    [
      `current grants p99 at 100k ≤ ${BUDGET.growth} × at 10k`,
      large.grantsIndexer.p99 <= BUDGET.growth * small.grantsIndexer.p99,
    ],
    [
      `GET /fhir/Consent p99 at 100k ≤ ${BUDGET.growth} × at 10k`,
      large.consentIndexer.p99 <= BUDGET.growth * small.consentIndexer.p99,
    ],
  ] as const;
  console.log("\nbudgets:");
  for (const [name, ok] of checks) console.log(`  ${ok ? "ok    " : "MISSED"} ${name}`);
  return checks.every(([, ok]) => ok) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(2);
  },
);
