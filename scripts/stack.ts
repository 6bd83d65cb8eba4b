/**
 * `npm start`: the whole local stack. A Hardhat node (chainId 31337) on 127.0.0.1:8545, every
 * contract deployed through the Ignition modules with the addresses written where sdk/ reads
 * them, the demo organizations seeded, the indexer (indexer/: Ponder over PGlite in
 * .data/indexer/, a fresh index for every fresh chain) on 127.0.0.1:42069, caught up before anything
 * reads it, the demo gateways and the web app (both read their lists from the indexer, INDEXER_URL).
 * Ctrl-C stops every child and leaves nothing behind.
 *
 *   node scripts/stack.ts [--no-app]
 *
 * --no-app: everything but the web app's dev server (the browser tests serve their production build).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";

import { privateKeyToAccount } from "viem/accounts";

import {
  DEMO_ACCOUNTS,
  DEMO_MEMBERS,
  DEMO_ORGANIZATIONS,
  DEMO_PAYER,
  DEV_PRIVATE_KEYS,
  LOCAL_CHAIN_ID,
  LOCAL_RPC_URL,
} from "#sdk/demo.ts";

process.env.NEXT_TELEMETRY_DISABLED ??= "1";
const CHAIN_PORT = 8545;
const APP_PORT = 3000;
const INDEXER_PORT = 42069;
const nextCli = fileURLToPath(new URL("../node_modules/next/dist/bin/next", import.meta.url));
const GATEWAYS = [
  { name: "St. Example Hospital", custodian: "hospital", port: 4001 },
  { name: "Riverside Clinical Lab", custodian: "lab", port: 4002 },
] as const;
const HOST = "127.0.0.1";
/** Where the app and the gateways read their lists (histories) from. */
const INDEXER_URL = `http://${HOST}:${INDEXER_PORT}`;
const hardhatCli = fileURLToPath(new URL("../node_modules/hardhat/dist/src/cli.js", import.meta.url));
const WITH_APP = !process.argv.includes("--no-app");
const unknownArguments = process.argv.slice(2).filter((arg) => arg !== "--no-app");
if (unknownArguments.length > 0) {
  console.error(`[stack] unknown argument ${unknownArguments.join(" ")}: the one option is --no-app`);
  process.exit(2);
}
const children: ChildProcess[] = [];
let stopping = false;

const say = (msg: string) => console.log(`[stack] ${msg}`);

/** Hardhat's well-known development mnemonic (its keys are public). */

/** One line per demo account: who it is, its address and its (public, development) private key. */
function demoAccountLines(): string[] {
  const roleOf = (name: string): string => {
    if (name === "governance") return "governance (accredits organizations)";
    if (name === DEMO_PAYER.account) return `${DEMO_PAYER.name} (payer organization)`;
    const org = DEMO_ORGANIZATIONS.find((o) => o.account === name);
    if (org) return `${org.name} (${org.kind.toLowerCase()} organization)`;
    const member = DEMO_MEMBERS.find((m) => m.account === name);
    if (member) {
      const of = DEMO_ORGANIZATIONS.find((o) => o.account === member.organization)?.name ?? member.organization;
      return `${member.role.toLowerCase()} of ${of}`;
    }
    return "patient";
  };
  return Object.entries(DEMO_ACCOUNTS).map(([name, index]) => {
    const key = DEV_PRIVATE_KEYS[index]!;
    return `#${index} ${name.padEnd(16)} ${privateKeyToAccount(key).address}  ${key}  ${roleOf(name)}`;
  });
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

/** Where the chatty children (the node logs every RPC call) write their output: .data/logs/. */
const LOG_DIR = fileURLToPath(new URL("../.data/logs/", import.meta.url));

/**
 * Starts a child of the stack. `log`: its standard output goes to .data/logs/<log>.log instead of
 * the terminal (a file, never an unread pipe: a full pipe would block the child's writes).
 */
function start(name: string, args: string[], opts: { log?: string; env?: NodeJS.ProcessEnv } = {}): ChildProcess {
  let out: "inherit" | number = "inherit";
  if (opts.log) {
    mkdirSync(LOG_DIR, { recursive: true });
    out = openSync(`${LOG_DIR}${opts.log}.log`, "w");
  }
  const child = spawn(process.execPath, args, {
    stdio: ["ignore", out, "inherit"],
    env: { ...process.env, ...opts.env },
  });
  if (typeof out === "number") closeSync(out); // the child has its own copy
  children.push(child);
  child.on("exit", (code, signal) => {
    if (!stopping) {
      say(`${name} exited unexpectedly (${signal ?? `code ${code}`}); stopping the stack.`);
      void stop(1);
    }
  });
  return child;
}

function runToEnd(name: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: "inherit" });
    children.push(child);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${name} failed (exit ${code})`))));
  });
}

async function rpc(method: string): Promise<unknown> {
  const res = await fetch(LOCAL_RPC_URL, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params: [] }),
  });
  const body = (await res.json()) as { result?: unknown };
  return body.result;
}

async function waitForChain(timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await rpc("eth_chainId")) === `0x${LOCAL_CHAIN_ID.toString(16)}`) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the chain did not answer on ${LOCAL_RPC_URL} within ${timeoutMs / 1000} s`);
}

async function waitForHttp(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (stopping) return;
    try {
      if ((await fetch(url, { signal: AbortSignal.timeout(2000) })).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${url} did not answer within ${timeoutMs / 1000} s`);
}

/** The block the indexer has indexed to (-1 before its first), from its /status. */
async function indexedBlock(): Promise<number> {
  const res = await fetch(`${INDEXER_URL}/status`, { signal: AbortSignal.timeout(2000) });
  if (!res.ok) return -1;
  const chains = Object.values((await res.json()) as Record<string, { block?: { number?: number } }>);
  return chains[0]?.block?.number ?? -1;
}

/** Waits until the indexer has indexed the chain's latest block (its /status, not /ready). */
async function waitForIndexer(timeoutMs: number): Promise<void> {
  const latest = Number(BigInt((await rpc("eth_blockNumber")) as string));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (stopping) return;
    try {
      if ((await indexedBlock()) >= latest) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the indexer at ${INDEXER_URL} did not reach block ${latest} within ${timeoutMs / 1000} s`);
}

async function stop(code: number): Promise<never> {
  stopping = true;
  const alive = children.filter((c) => c.exitCode === null && c.signalCode === null);
  for (const c of alive) c.kill("SIGTERM");
  await Promise.race([
    Promise.all(alive.map((c) => new Promise((r) => c.once("exit", r)))),
    new Promise((r) => setTimeout(r, 5000)),
  ]);
  for (const c of alive) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  process.exit(code);
}

for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(sig, () => {
    if (stopping) return;
    say(`${sig}: stopping every process of the stack ...`);
    void stop(0);
  });
}

try {
  for (const gateway of GATEWAYS) {
    if (!(await portFree(gateway.port))) {
      throw new Error(
        `port ${gateway.port} on ${HOST} is taken (${gateway.name} gateway): stop whatever uses it and retry.`,
      );
    }
  }
  if (!(await portFree(INDEXER_PORT))) {
    throw new Error(`port ${INDEXER_PORT} on ${HOST} is taken (indexer): stop whatever uses it and retry.`);
  }
  if (WITH_APP && !(await portFree(APP_PORT))) {
    throw new Error(`port ${APP_PORT} on ${HOST} is taken (web app): stop whatever uses it and retry.`);
  }
  if (!(await portFree(CHAIN_PORT))) {
    throw new Error(
      `port ${CHAIN_PORT} on ${HOST} is taken: stop whatever uses it (another \`npm start\`?) and retry.`,
    );
  }
  // The web app's dev server starts first, beside everything else: it compiles a page only when
  // asked, and it is first asked once the contracts are deployed (their addresses are in the sdk).
  if (WITH_APP) {
    say(`starting the web app (next dev) on ${HOST}:${APP_PORT} ...`);
    start("web app", [nextCli, "dev", "-H", HOST, "-p", String(APP_PORT)], { log: "web-app", env: { INDEXER_URL } });
  }
  say("compiling contracts ...");
  await runToEnd("hardhat build", [hardhatCli, "build", "--quiet"]);
  say(`starting the local chain (Hardhat node, chainId ${LOCAL_CHAIN_ID}) on ${HOST}:${CHAIN_PORT} ...`);
  start("hardhat node", [hardhatCli, "node", "--hostname", HOST, "--port", String(CHAIN_PORT)], {
    log: "hardhat-node",
  });
  await waitForChain(60_000);
  // Every start is a fresh chain: drop Ignition's journal of the previous one.
  rmSync(fileURLToPath(new URL(`../ignition/deployments/chain-${LOCAL_CHAIN_ID}`, import.meta.url)), {
    recursive: true,
    force: true,
  });
  say("deploying contracts through Ignition and seeding the demo organizations ...");
  await runToEnd("deploy", [hardhatCli, "run", "--network", "localhost", "scripts/deploy-local.ts"]);
  // Every start is a fresh chain: it gets a fresh index (never the index of the previous chain).
  const indexerData = fileURLToPath(new URL("../.data/indexer/", import.meta.url));
  mkdirSync(indexerData, { recursive: true });
  for (const entry of readdirSync(indexerData)) {
    if (entry.startsWith(`${LOCAL_CHAIN_ID}-`)) rmSync(`${indexerData}${entry}`, { recursive: true, force: true });
  }
  say(`starting the indexer (Ponder, PGlite in .data/indexer/) on ${INDEXER_URL} ...`);
  start("indexer", ["indexer/start.ts"], {
    log: "indexer",
    env: {
      CHAIN_ID: String(LOCAL_CHAIN_ID),
      RPC_URL: LOCAL_RPC_URL,
      INDEXER_PORT: String(INDEXER_PORT),
      INDEXER_DATA_ROOT: indexerData,
      // A local chain mines a block per transaction: poll it often, so a list shows an action at once.
      INDEXER_POLLING_INTERVAL_MS: "200",
      DATABASE_URL: "",
    },
  });
  for (const gateway of GATEWAYS) {
    say(`starting the ${gateway.name} FHIR gateway on ${HOST}:${gateway.port} (first start seeds synthetic data) ...`);
    start(
      `${gateway.name} gateway`,
      [
        "gateway/src/dev/gateway.ts",
        "--custodian",
        gateway.custodian,
        "--port",
        String(gateway.port),
        "--log-file",
        `${LOG_DIR}gateway-${gateway.custodian}.log`,
      ],
      { env: { INDEXER_URL } },
    );
  }
  // The gateways seed and open their databases while the web app compiles its first page.
  await Promise.all([
    waitForIndexer(300_000),
    ...GATEWAYS.map((gateway) => waitForHttp(`http://${HOST}:${gateway.port}/healthz`, 180_000)),
    ...(WITH_APP ? [waitForHttp(`http://${HOST}:${APP_PORT}/`, 300_000)] : []),
  ]);
  say("ready (the logs of the chain, the indexer, the gateways and the web app: .data/logs/):");
  say(`  chain      ${LOCAL_RPC_URL}  (chainId ${LOCAL_CHAIN_ID})`);
  say("  contracts  sdk/generated/deployments.json");
  say(`  indexer    ${INDEXER_URL}  (lists and logs; INDEXER_URL of the gateways and the web app)`);
  for (const gateway of GATEWAYS) say(`  gateway    http://${HOST}:${gateway.port}/fhir  (${gateway.name})`);
  if (WITH_APP) say(`  web app    http://${HOST}:${APP_PORT}`);
  say(
    "demo accounts (Hardhat's public development keys: local chain only, never for value); the app's development wallet signs with them, or import them into a wallet of your own:",
  );
  for (const line of demoAccountLines()) say(`  ${line}`);
  if (WITH_APP) {
    say(
      `Open http://${HOST}:${APP_PORT} in a browser, nothing to install: connect the "Consentry development wallet" and follow the tour on the home page.`,
    );
  }
  say("Press Ctrl-C to stop everything.");
} catch (error) {
  console.error(`[stack] error: ${(error as Error).message}`);
  await stop(1);
}
