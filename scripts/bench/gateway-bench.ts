/**
 * `npm run bench:gateway`: consent-checked reads of the FHIR gateway under load, side by side with
 * the same read path without the chain check, and revoke-then-read trials (issue #5).
 *
 * Everything is real and local: a `hardhat node` (JSON-RPC over HTTP, automine) on a free port,
 * every contract deployed through the Ignition modules and the demo organizations accredited
 * (gateway/src/testing/chain.ts), the hospital's gateway app (Fastify on 127.0.0.1, PGlite on disk
 * in a temporary directory, the demo's synthetic data ingested and alice linked through the
 * gateway's own routes), Sign-In with Ethereum over HTTP for the bearer tokens, and autocannon as
 * the load generator in a child process (scripts/bench/gateway-load.ts).
 *
 * The read measured: the hospital's clinician GETs one of alice's Observations with
 * `X-Purpose-Of-Use: TREAT`, alice having granted the hospital TREAT for Observations.
 * "checked" is the production read path: every request reads the chain's latest block, and what the
 * consent reads returned is remembered for that block only (BlockMemo), so a new block (one every
 * second during the load runs, as on a live chain) or a revocation's block is read afresh.
 * "no-memo" is checked with the memo off (every decision read from the chain), for comparison.
 * "unchecked" is a second app on the same store, built with an AccessControl whose `decide` skips
 * the chain (UncheckedAccess below, through buildApp's `access` seam, which server.ts and the
 * configuration never expose); auth, store, decryption and audit are the same.
 *
 * Budgets (the exit code is 1 when one is missed): checked throughput >= 50% of unchecked at 10
 * and at 50 connections; checked p99 <= 50 ms at 10 connections; no non-2xx in a checked run;
 * 0 stale reads in 1,000 revoke-then-read trials.
 *
 *   node scripts/bench/gateway-bench.ts [--duration 15] [--warmup 3] [--trials 1000]   (seconds, seconds, trials)
 *        [--database-url postgres://…]   (a new, empty PostgreSQL database instead of PGlite on disk)
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { sql } from "drizzle-orm";
import type { FastifyInstance } from "fastify";
import type { Address } from "viem";

import { buildApp } from "../../gateway/src/app.ts";
import { GatewayChain, transportFor } from "../../gateway/src/chain/chain.ts";
import { devEnv, seedDemo } from "../../gateway/src/dev/gateway.ts";
import { loadConfig, type GatewayConfig } from "../../gateway/src/config/config.ts";
import { auditWriterFor } from "../../gateway/src/audit/log.ts";
import { AccessControl, BlockMemo, type AccessDecision } from "../../gateway/src/consent/access.ts";
import { openDatabase, rawRows, type Database } from "../../gateway/src/store/database.ts";
import { Store } from "../../gateway/src/store/store.ts";
import { deployTestChain, type TestChain } from "../../gateway/src/testing/chain.ts";
import { PGLITE_TEMPLATE } from "../../gateway/src/testing/fixtures.ts";
import { categoriesToMask, encodePurpose, purposeScope, type CategoryName, type PurposeName } from "#sdk/codes.ts";
import { LOCAL_CHAIN_ID } from "#sdk/demo.ts";
import { LOAD_SPEC_VARIABLE, MEASURING, type LoadResult, type LoadSpec } from "./gateway-load.ts";
import { signIn } from "./sign-in.ts";
import { percentile } from "./timed.ts";

const HOST = "127.0.0.1";
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const HARDHAT_CLI = path.join(ROOT, "node_modules/hardhat/dist/src/cli.js");
const LOAD_SCRIPT = fileURLToPath(new URL("./gateway-load.ts", import.meta.url));
const CONNECTIONS = [10, 50] as const;
const BUDGET = { throughputRatio: 0.5, p99At10Ms: 50, trials: 1000 } as const;
const BLOCK_INTERVAL_MS = 1000;

const { values: args } = parseArgs({
  args: process.argv.slice(2),
  options: {
    duration: { type: "string", default: "15" },
    warmup: { type: "string", default: "3" },
    trials: { type: "string", default: String(BUDGET.trials) },
    "database-url": { type: "string" },
  },
  strict: true,
});
const durationSeconds = Number(args.duration);
const warmupSeconds = Number(args.warmup);
const trials = Number(args.trials);
const databaseUrl = args["database-url"];
if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
  throw new Error("--database-url must be a postgres:// URL (of a new, empty database)");
}
for (const [name, v] of [
  ["--duration", durationSeconds],
  ["--warmup", warmupSeconds],
  ["--trials", trials],
] as const) {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer`);
}

const startedAt = Date.now();
const say = (line: string): void =>
  void process.stderr.write(`[bench:gateway ${((Date.now() - startedAt) / 1000).toFixed(0).padStart(3)} s] ${line}\n`);

// ---------------------------------------------------------------------------- processes
/** Every child runs in its own process group, killed as a whole (hardhat node, load generator). */
const children = new Set<ChildProcess>();

function spawnGroup(args: string[], stdout: "ignore" | "pipe", env: Record<string, string> = {}): ChildProcess {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", stdout, "pipe"],
    env: { ...process.env, ...env },
  });
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

function killGroups(signal: NodeJS.Signals): void {
  for (const child of children) {
    if (child.pid === undefined) continue;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  }
}

async function stopChildren(): Promise<void> {
  if (children.size === 0) return;
  const exited = [...children].map((c) => new Promise((resolve) => c.once("exit", resolve)));
  killGroups("SIGTERM");
  await Promise.race([Promise.all(exited), new Promise((resolve) => setTimeout(resolve, 5000))]);
  killGroups("SIGKILL");
}

process.on("exit", () => killGroups("SIGKILL"));

/** Runs a child to its end; its stdout (when piped) is the result. Fails with its stderr's tail. */
function runToEnd(
  name: string,
  args: string[],
  stdout: "ignore" | "pipe" = "ignore",
  onSpawn?: (pid: number, child: ChildProcess) => void,
  env: Record<string, string> = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawnGroup(args, stdout, env);
    if (child.pid !== undefined) onSpawn?.(child.pid, child);
    let out = "";
    let err = "";
    child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    child.once("error", reject);
    child.once("exit", (code, signal) =>
      code === 0 ? resolve(out) : reject(new Error(`${name} failed (${signal ?? `exit ${code}`}): ${err.trim()}`)),
    );
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, HOST, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitForChain(url: string, node: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (node.exitCode !== null || node.signalCode !== null) throw new Error("hardhat node exited during start-up");
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
        signal: AbortSignal.timeout(2000),
      });
      if (((await res.json()) as { result?: string }).result === `0x${LOCAL_CHAIN_ID.toString(16)}`) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the hardhat node did not answer on ${url} within ${timeoutMs / 1000} s`);
}

/** One JSON-RPC call to the node; throws its error. */
async function rpc(url: string, method: string, params: unknown[]): Promise<unknown> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = (await res.json()) as { result?: unknown; error?: { message?: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message ?? JSON.stringify(body.error)}`);
  return body.result;
}

// ---------------------------------------------------------------------------- the seam
/**
 * The read path without the chain check, for this benchmark only: the patient's wallets are still
 * looked up in the store (a patient without one is refused, as always), every category is allowed
 * without reading the chain. Passed to buildApp's `access` option, which nothing else sets.
 */
class UncheckedAccess extends AccessControl {
  override async decide(
    patientId: string,
    _requester: Address,
    categories: readonly CategoryName[],
    _purpose: PurposeName,
    options: { wallets?: readonly string[] | undefined } = {},
  ) {
    const wallets = await this.patientWallets(patientId, options.wallets);
    const decisions = [...new Set(categories)].map((category) => ({
      category,
      allowed: true,
      emergency: false,
      reason: "Allowed" as const,
      explanation: "not checked (benchmark without the chain check)",
      expiresAt: null,
    }));
    const decision: AccessDecision = {
      relation: "reader",
      block: null,
      wallets,
      decisions,
      allowed: decisions.map((d) => d.category),
      refused: [],
      emergency: false,
    };
    return decision;
  }
}

// ---------------------------------------------------------------------------- HTTP helpers

function readHeaders(token: string, purpose = "TREAT"): Record<string, string> {
  return { authorization: `Bearer ${token}`, accept: "application/fhir+json", "x-purpose-of-use": purpose };
}

async function read(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { headers });
  return { status: res.status, body: await res.text() };
}

async function expectStatus(what: string, url: string, headers: Record<string, string>, status: number) {
  const res = await read(url, headers);
  if (res.status !== status)
    throw new Error(`${what}: expected ${status}, got ${res.status} ${res.body.slice(0, 300)}`);
}

// ---------------------------------------------------------------------------- measurements
interface Row {
  variant: "checked" | "unchecked" | "no-memo";
  connections: number;
  result: LoadResult;
  loadPid: number;
  /** During the measured run, as shares of one core: this process (the gateway), the hardhat node. */
  gatewayCpu: number;
  nodeCpu: number | undefined;
  /** The gateway's event loop: longest delay (ms) during the measured run. */
  loopMaxMs: number;
  /** The audit log's group commit during the measured run: COMMITs, events written, PGlite fsyncs. */
  audit: AuditCounters;
}

interface AuditCounters {
  commits: number;
  events: number;
  fsyncs: number;
}

/** CPU seconds a process has used (Linux /proc; undefined elsewhere). */
function processCpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in USER_HZ (100)
  } catch {
    return undefined;
  }
}

async function measure(
  variant: Row["variant"],
  connections: number,
  url: string,
  token: string,
  nodePid: number | undefined,
  auditCounters: () => AuditCounters,
): Promise<Row> {
  say(`${variant}, ${connections} connections: ${warmupSeconds} s warm-up, then ${durationSeconds} s measured ...`);
  const spec: LoadSpec = { url, headers: readHeaders(token), connections, warmupSeconds, durationSeconds };
  let loadPid = 0;
  const loop = monitorEventLoopDelay({ resolution: 10 });
  let start: { wall: number; cpu: NodeJS.CpuUsage; node: number | undefined; audit: AuditCounters } | undefined;
  // The spec (with the bearer token) goes through the environment, not the command line.
  const out = await runToEnd(
    "autocannon",
    [LOAD_SCRIPT],
    "pipe",
    (pid, child) => {
      loadPid = pid;
      child.stdout?.on("data", (d: Buffer) => {
        if (start === undefined && d.toString().split("\n").includes(MEASURING)) {
          start = {
            wall: performance.now(),
            cpu: process.cpuUsage(),
            node: processCpuSeconds(nodePid),
            audit: auditCounters(),
          };
          loop.enable();
        }
      });
    },
    { [LOAD_SPEC_VARIABLE]: JSON.stringify(spec) },
  );
  loop.disable();
  if (start === undefined) throw new Error("the load generator never started its measured run");
  const wallMs = performance.now() - start.wall;
  const cpu = process.cpuUsage(start.cpu);
  const nodeNow = processCpuSeconds(nodePid);
  const auditNow = auditCounters();
  const result = JSON.parse(out.trim().split("\n").at(-1)!) as LoadResult;
  return {
    variant,
    connections,
    result,
    loadPid,
    gatewayCpu: (cpu.user + cpu.system) / 1000 / wallMs,
    nodeCpu: start.node !== undefined && nodeNow !== undefined ? ((nodeNow - start.node) * 1000) / wallMs : undefined,
    loopMaxMs: loop.max / 1e6,
    audit: {
      commits: auditNow.commits - start.audit.commits,
      events: auditNow.events - start.audit.events,
      fsyncs: auditNow.fsyncs - start.audit.fsyncs,
    },
  };
}

/** a / b with `digits` decimals ("-" when b is 0). */
function ratio(a: number, b: number, digits = 1): string {
  return b === 0 ? "-" : (a / b).toFixed(digits);
}

/** A share of one core as a percentage ("-" when unknown). */
function pct(share: number | undefined): string {
  return share === undefined ? "-" : `${(share * 100).toFixed(0)}%`;
}

// ---------------------------------------------------------------------------- main
const tmp = mkdtempSync(path.join(os.tmpdir(), "consentry-gateway-bench-"));
const deploymentId = `bench-gateway-${process.pid}-${Date.now()}`;
const deploymentDir = path.join(ROOT, "ignition", "deployments", deploymentId);
const apps: FastifyInstance[] = [];
let database: Database | undefined;
let interrupted = false;
let stopping = false;
let cleaning: Promise<void> | undefined;

/** Closes the apps and the database, stops the children, removes the temporary files; once. */
function cleanUp(): Promise<void> {
  stopping = true;
  cleaning ??= (async () => {
    for (const app of apps) await app.close().catch(() => undefined);
    if (database) await database.close().catch(() => undefined);
    await stopChildren();
    rmSync(tmp, { recursive: true, force: true });
    rmSync(deploymentDir, { recursive: true, force: true });
  })();
  return cleaning;
}

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    say(`${signal}: stopping everything this benchmark started ...`);
    void cleanUp().finally(() => process.exit(130));
  });
}

async function main(): Promise<number> {
  const started = Date.now();
  say("compiling contracts (hardhat build: minutes on a fresh clone, seconds after) ...");
  await runToEnd("hardhat build", [HARDHAT_CLI, "build", "--quiet"]);

  const chainPort = await freePort();
  const rpcUrl = `http://${HOST}:${chainPort}`;
  say(`starting a hardhat node on ${HOST}:${chainPort} ...`);
  const node = spawnGroup([HARDHAT_CLI, "node", "--hostname", HOST, "--port", String(chainPort)], "ignore");
  let nodeErr = "";
  node.stderr?.on("data", (d: Buffer) => (nodeErr = (nodeErr + d.toString()).slice(-4000)));
  node.once("exit", (code, signal) => {
    if (stopping) return;
    say(`hardhat node exited unexpectedly (${signal ?? `code ${code}`}) ${nodeErr.trim()}`);
    killGroups("SIGTERM"); // a running load generator fails, and with it the benchmark
  });
  await waitForChain(rpcUrl, node, 60_000);

  say("deploying the contracts through Ignition, accrediting the demo organizations ...");
  const t: TestChain = await deployTestChain({
    network: { network: "localhost", override: { url: rpcUrl } },
    deploymentId,
  });

  // Three gateway apps of the hospital on one store: checked (as in production), unchecked, and
  // checked without the per-block memo (every decision read from the chain: for comparison only).
  const [checkedPort, uncheckedPort, noMemoPort] = [await freePort(), await freePort(), await freePort()];
  const envFor = (port: number) => ({
    ...devEnv("hospital", {
      port,
      paths: { secrets: path.join(tmp, "secrets"), data: path.join(tmp, "data") },
      overrides: {
        RPC_URL: rpcUrl,
        CONSENT_REGISTRY_ADDRESS: t.registry,
        AUDIT_ANCHOR_ADDRESS: t.auditAnchor,
        STUDY_ESCROW_ADDRESS: t.studyEscrow,
        PREVENTION_REWARDS_ADDRESS: t.preventionRewards,
        GATEWAY_LOG_LEVEL: "warn",
        GATEWAY_ANCHOR_INTERVAL_SECONDS: "0",
      },
    }),
    GATEWAY_RATE_LIMIT_PER_MINUTE: "1000000",
    // One client asks 1,000 times in a minute or two, half of the answers refusals "as for a patient
    // not held here": the per-client allowance of such answers (its own tests prove it) would
    // throttle the benchmark, not measure the read path.
    GATEWAY_RATE_LIMIT_IP_PER_MINUTE: "1000000",
    GATEWAY_TOKEN_TTL_SECONDS: "3600",
  });
  const configs: [GatewayConfig, GatewayConfig, GatewayConfig] = [
    loadConfig(envFor(checkedPort)),
    loadConfig(envFor(uncheckedPort)),
    loadConfig(envFor(noMemoPort)),
  ];
  if (databaseUrl !== undefined) {
    say("opening PostgreSQL (--database-url) ...");
    database = await openDatabase({ kind: "postgres", url: databaseUrl });
    const [used] = await rawRows<{ n: number }>(
      database.db,
      sql`SELECT (SELECT count(*) FROM keyring) + (SELECT count(*) FROM resources) + (SELECT count(*) FROM audit_events) AS n`,
    );
    if (Number(used?.n) !== 0) {
      throw new Error(
        `the database at --database-url (${database.description}) is not empty: give the benchmark a new, empty database (it writes synthetic records and audit events)`,
      );
    }
  } else {
    say(`opening PGlite in ${path.join(tmp, "data")} ...`);
    // The tests' migrated PGlite template, when one is there, spares initdb (seconds of CPU).
    const template = existsSync(PGLITE_TEMPLATE) ? new Blob([readFileSync(PGLITE_TEMPLATE)]) : undefined;
    database = await openDatabase({ kind: "pglite", dataDir: path.join(tmp, "data"), template });
  }
  const store = await Store.open({ database, masterKey: configs[0].masterKey.reveal() });
  const chainFor = (config: GatewayConfig) =>
    new GatewayChain({
      chainId: config.chainId,
      transport: transportFor(config.rpcUrl.reveal()),
      consentRegistry: config.consentRegistryAddress,
      auditAnchor: config.auditAnchorAddress,
      studyEscrow: config.studyEscrowAddress,
      gatewayKey: config.gatewayPrivateKey.reveal(),
      custodian: config.custodianAddress,
    });
  const checkedChain = chainFor(configs[0]);
  const uncheckedChain = chainFor(configs[1]);
  const checkedApp = buildApp({ config: configs[0], store, chain: checkedChain });
  const uncheckedApp = buildApp({
    config: configs[1],
    store,
    chain: uncheckedChain,
    access: new UncheckedAccess(store, uncheckedChain),
  });
  const noMemoChain = chainFor(configs[2]);
  const noMemoApp = buildApp({
    config: configs[2],
    store,
    chain: noMemoChain,
    access: new AccessControl(store, noMemoChain, { memo: new BlockMemo({ maxEntries: 0 }) }),
  });
  apps.push(checkedApp, uncheckedApp, noMemoApp);
  await checkedChain.checkStartup();

  say("ingesting the demo's synthetic data and linking alice through the gateway's routes ...");
  const seeded = await seedDemo(checkedApp, store, {
    custodianName: configs[0].custodianName,
    publicUrl: configs[0].publicUrl,
    chainId: configs[0].chainId,
    adminToken: configs[0].adminToken.reveal(),
    linkCodeToken: configs[0].linkCodeToken.reveal(),
    wallets: { alice: t.actors.alice },
  });
  const patientId = seeded.linked["alice"]!;
  const page = await store.search("Observation", { patient: patientId, _count: 1 });
  if (page.kind !== "ok" || page.resources.length === 0) throw new Error(`no Observation of Patient/${patientId}`);
  const observationId = page.resources[0]!.id!;

  await checkedApp.listen({ host: HOST, port: checkedPort });
  await uncheckedApp.listen({ host: HOST, port: uncheckedPort });
  await noMemoApp.listen({ host: HOST, port: noMemoPort });
  const checkedUrl = `${configs[0].publicUrl}/fhir/Observation/${observationId}`;
  const uncheckedUrl = `${configs[1].publicUrl}/fhir/Observation/${observationId}`;
  const noMemoUrl = `${configs[2].publicUrl}/fhir/Observation/${observationId}`;

  // alice grants the hospital TREAT for Observations; the clinician signs in to the three apps.
  const alice = t.actors.alice;
  const hospital = t.actors.hospital.address;
  const expiresAt = (await t.now()) + 30 * 24 * 3600;
  const grant = () =>
    t.registryWrite(alice, "grant", [
      hospital,
      categoriesToMask(["Observation"]),
      encodePurpose("TREAT"),
      0,
      expiresAt,
    ]);
  await grant();
  const checkedToken = await signIn(configs[0].publicUrl, t.actors.clinician);
  const uncheckedToken = await signIn(configs[1].publicUrl, t.actors.clinician);
  const noMemoToken = await signIn(configs[2].publicUrl, t.actors.clinician);

  // The check is on in one and off in the other: a purpose alice did not grant tells them apart.
  await expectStatus("checked read (TREAT, granted)", checkedUrl, readHeaders(checkedToken), 200);
  await expectStatus("checked read (HOPERAT, not granted)", checkedUrl, readHeaders(checkedToken, "HOPERAT"), 403);
  await expectStatus("no-memo read (HOPERAT, not granted)", noMemoUrl, readHeaders(noMemoToken, "HOPERAT"), 403);
  await expectStatus(
    "unchecked read (HOPERAT, not granted)",
    uncheckedUrl,
    readHeaders(uncheckedToken, "HOPERAT"),
    200,
  );
  say(`set up in ${((Date.now() - started) / 1000).toFixed(0)} s`);

  // ---------------------------------------------------------------- throughput and latency
  const rows: Row[] = [];
  const blockBeforeLoad = await t.client.getBlockNumber();
  const writer = auditWriterFor(store.db); // both apps' audits: one group commit per process and database
  const auditCounters = (): AuditCounters => ({
    commits: writer.stats.transactions,
    events: writer.stats.committed,
    fsyncs: store.database.fsyncCount(),
  });
  // As on a live chain, blocks keep coming during the load (automine stays on for transactions):
  // the memo of the checked path holds for one block only, so it is read afresh every second.
  await rpc(rpcUrl, "evm_setIntervalMining", [BLOCK_INTERVAL_MS]);
  for (const connections of CONNECTIONS) {
    rows.push(await measure("checked", connections, checkedUrl, checkedToken, node.pid, auditCounters));
    rows.push(await measure("unchecked", connections, uncheckedUrl, uncheckedToken, node.pid, auditCounters));
    if (connections === 10) {
      rows.push(await measure("no-memo", connections, noMemoUrl, noMemoToken, node.pid, auditCounters));
    }
  }
  const blocksDuringLoad = (await t.client.getBlockNumber()) - blockBeforeLoad;
  await rpc(rpcUrl, "evm_setIntervalMining", [0]);

  // ---------------------------------------------------------------- revoke, then read
  say(`${trials} revoke-then-read trials (alternately revoke and revokeAll) ...`);
  const headers = readHeaders(checkedToken);
  const refusedAfterMs: number[] = [];
  let stale = 0;
  const kinds = { revoke: 0, revokeAll: 0 };
  for (let i = 0; i < trials; i++) {
    await grant();
    await expectStatus(`trial ${i + 1}: read after the grant`, checkedUrl, headers, 200);
    const kind = i % 2 === 0 ? "revoke" : "revokeAll";
    kinds[kind]++;
    if (kind === "revoke") await t.registryWrite(alice, "revoke", [hospital, purposeScope("TREAT")]);
    else await t.registryWrite(alice, "revokeAll", []);
    const mined = performance.now(); // registryWrite returns once the receipt is there
    const after = await read(checkedUrl, headers);
    refusedAfterMs.push(performance.now() - mined);
    if (after.status === 200) stale++;
    // Refused: a 403 while the reader still holds some consent of the patient, else the 404 of a
    // record not held here (the gateway is no patient-existence oracle).
    else if (after.status !== 403 && after.status !== 404) {
      throw new Error(
        `trial ${i + 1}: read after ${kind}: expected 403 or 404, got ${after.status} ${after.body.slice(0, 300)}`,
      );
    }
    if ((i + 1) % 250 === 0) say(`  ${i + 1}/${trials} trials, ${stale} stale`);
  }

  // ---------------------------------------------------------------- report
  const load = os.loadavg().map((l) => l.toFixed(2));
  const out: string[] = [];
  const onPostgres = database.kind === "postgres";
  out.push("");
  out.push("Consentry gateway benchmark (npm run bench:gateway)");
  out.push(`read:    GET /fhir/Observation/${observationId}, X-Purpose-Of-Use: TREAT, by the hospital's clinician`);
  out.push(`         (alice granted the hospital TREAT for Observations); bearer token from Sign-In with Ethereum`);
  out.push(`chain:   hardhat node, JSON-RPC over HTTP on ${rpcUrl} (automine), contracts deployed through Ignition;`);
  out.push(
    `         during the load runs also a block every ${BLOCK_INTERVAL_MS / 1000} s (${blocksDuringLoad} blocks in all), as on a live chain`,
  );
  out.push(
    `gateway: Fastify on ${HOST} in the benchmark's process (pid ${process.pid}), ${onPostgres ? database.description : "PGlite on disk"}, log level warn;`,
  );
  out.push(
    `         checked = the production read path (chain reads remembered per block hash, read afresh each new block);`,
  );
  out.push(`         unchecked = the same app with buildApp's access seam (no chain);`);
  out.push(
    `         no-memo = checked with the memo off, every decision read from the chain (for comparison, no budget)`,
  );
  out.push(
    `load:    autocannon 9 in a child process (pids ${rows.map((r) => r.loadPid).join(", ")}), keep-alive, 1 request in flight per connection;`,
  );
  out.push(`         ${warmupSeconds} s warm-up then ${durationSeconds} s measured per run`);
  out.push(
    `machine: ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? "?"}), load average ${load.join(" ")} (1/5/15 min)`,
  );
  out.push("");
  out.push(
    `${"variant".padEnd(10)} ${"conns".padStart(5)} ${"req/s".padStart(7)} ${"p50 ms".padStart(7)} ${"p99 ms".padStart(7)} ${"non-2xx".padStart(8)} ${"errors".padStart(7)}   ${"CPU: gateway".padStart(12)} ${"node".padStart(5)} ${"load".padStart(5)}  ${"loop max ms".padStart(11)}  ${"audit/commit".padStart(12)} ${"fsync/req".padStart(9)}`,
  );
  for (const r of rows) {
    out.push(
      `${r.variant.padEnd(10)} ${String(r.connections).padStart(5)} ${r.result.requestsPerSecond.toFixed(0).padStart(7)} ${String(r.result.p50).padStart(7)} ${String(r.result.p99).padStart(7)} ${String(r.result.non2xx).padStart(8)} ${String(r.result.errors).padStart(7)}   ${pct(r.gatewayCpu).padStart(12)} ${pct(r.nodeCpu).padStart(5)} ${pct(r.result.cpu).padStart(5)}  ${r.loopMaxMs.toFixed(0).padStart(11)}  ${ratio(r.audit.events, r.audit.commits).padStart(12)} ${(onPostgres ? "-" : ratio(r.audit.fsyncs, r.audit.events, 2)).padStart(9)}`,
    );
  }
  out.push(
    "CPU: share of one core during the measured run (gateway = this process, node = the hardhat node, load = autocannon);",
  );
  out.push("loop max ms: the gateway's longest event-loop stall during the measured run;");
  out.push(
    "audit/commit: AuditEvents per group commit (one transaction, one fsync); fsync/req: PGlite's real fsyncs per audited request",
  );
  if (onPostgres) out.push("PostgreSQL: the server's own CPU is not in the table (it may be another machine)");
  out.push("");

  const failures: string[] = [];
  const verdict = (ok: boolean, what: string): string => {
    if (!ok) failures.push(what);
    return ok ? "ok" : "MISSED";
  };
  for (const connections of CONNECTIONS) {
    const checked = rows.find((r) => r.variant === "checked" && r.connections === connections)!.result;
    const unchecked = rows.find((r) => r.variant === "unchecked" && r.connections === connections)!.result;
    const ratio = checked.requestsPerSecond / unchecked.requestsPerSecond;
    out.push(
      `checked / unchecked throughput at ${connections} connections: ${(ratio * 100).toFixed(0)}% (budget >= ${BUDGET.throughputRatio * 100}%)  ${verdict(ratio >= BUDGET.throughputRatio, `throughput ratio at ${connections} connections`)}`,
    );
    const clean =
      checked.non2xx === 0 &&
      checked.errors === 0 &&
      checked.warmup.non2xx === 0 &&
      Object.keys(checked.statusCodes).every((status) => status === "200");
    out.push(
      `checked non-2xx / errors at ${connections} connections: ${checked.non2xx} / ${checked.errors} (must be 0)  ${verdict(clean, `non-2xx or errors in the checked run at ${connections} connections`)}`,
    );
    if (connections === 10) {
      out.push(
        `checked p99 at 10 connections: ${checked.p99} ms (budget <= ${BUDGET.p99At10Ms} ms; unchecked: ${unchecked.p99} ms)  ${verdict(checked.p99 <= BUDGET.p99At10Ms, "p99 at 10 connections")}`,
      );
    }
  }
  const sorted = [...refusedAfterMs].sort((a, b) => a - b);
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  out.push(
    `revocation: ${trials} trials (${kinds.revoke} revoke, ${kinds.revokeAll} revokeAll), ${stale} stale reads (budget 0 in ${BUDGET.trials})  ${verdict(
      stale === 0 && trials >= BUDGET.trials,
      stale > 0
        ? `${stale} stale reads in ${trials} trials`
        : `only ${trials} trials (the budget needs ${BUDGET.trials})`,
    )}`,
  );
  out.push(
    `            revoke mined -> refused read: mean ${mean.toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms`,
  );
  out.push("");
  out.push(failures.length === 0 ? "all budgets met" : `MISSED: ${failures.join("; ")}`);
  out.push(`(${((Date.now() - started) / 1000).toFixed(0)} s in all)`);
  console.log(out.join("\n"));
  return failures.length === 0 ? 0 : 1;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  if (!interrupted) {
    process.stderr.write(`[bench:gateway] error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  }
  code = 1;
} finally {
  await cleanUp();
}
process.exit(interrupted ? 130 : code);
