/**
 * `npm run indexer`: the indexer (Ponder) for CHAIN_ID at RPC_URL, serving on
 * 127.0.0.1:INDEXER_PORT (default 42069).
 *
 * A fresh chain gets a fresh index. The index is keyed by the chain instance: the chain id and the
 * hash of the deployment block. A development chain restarted under the same chain id has another
 * hash, so it gets a folder (PGlite) or a database schema (PostgreSQL) of its own, instead of a
 * kept index serving the events of a chain that no longer exists. PGlite folders of other
 * instances of the same chain id are removed (their chain is gone).
 *
 * Database: PostgreSQL from DATABASE_URL (schema `consentry_<chain id>_<instance>`), else PGlite in
 * INDEXER_DATA_ROOT (default .data/indexer/) under `<chain id>-<instance>`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { createPublicClient, http } from "viem";

import { patchPonder } from "./ponder-patch.ts";
import { indexerDeployment, indexerEnv, type Env } from "./settings.ts";

const ROOT = path.dirname(fileURLToPath(import.meta.url));
const PONDER = fileURLToPath(new URL("../node_modules/ponder/dist/esm/bin/ponder.js", import.meta.url));

export interface IndexerInstance {
  /** `<chain id>-<first 10 hex digits of the deployment block's hash>` */
  key: string;
  /** The PostgreSQL schema (also used under PGlite). */
  schema: string;
  /** PGlite's folder (unused with DATABASE_URL). */
  dataDir: string;
}

/** The instance of the chain the deployment lives on: its id and its deployment block's hash. */
export async function indexerInstance(env: Env): Promise<IndexerInstance> {
  const settings = indexerEnv(env);
  const block = BigInt(indexerDeployment(settings).deploymentBlock ?? 0);
  const client = createPublicClient({ transport: http(settings.rpcUrl, { retryCount: 0 }) });
  const { hash } = await client.getBlock({ blockNumber: block });
  const key = `${settings.chainId}-${hash!.slice(2, 12)}`;
  const dataRoot = path.resolve(env["INDEXER_DATA_ROOT"] || path.join(".data", "indexer"));
  return { key, schema: `consentry_${key.replace("-", "_")}`, dataDir: path.join(dataRoot, key) };
}

/** Removes the PGlite folders of other instances of the same chain id. */
function forgetDeadInstances(instance: IndexerInstance) {
  const root = path.dirname(instance.dataDir);
  const chainId = instance.key.split("-")[0]!;
  mkdirSync(root, { recursive: true });
  for (const entry of readdirSync(root)) {
    if (entry.startsWith(`${chainId}-`) && entry !== instance.key) {
      rmSync(path.join(root, entry), { recursive: true, force: true });
    }
  }
}

/** Starts Ponder for the instance; its child process (output inherited unless `stdio` says). */
export async function startIndexer(
  env: Env,
  opts: { stdio?: "inherit" | "pipe" | "ignore" | number } = {},
): Promise<{ child: ChildProcess; instance: IndexerInstance; port: number }> {
  // Ponder 0.17.7 hides a table's rows from PGlite readers after a large flush (ponder-patch.ts).
  patchPonder();
  const instance = await indexerInstance(env);
  if (!env["DATABASE_URL"]) forgetDeadInstances(instance);
  const port = Number(env["INDEXER_PORT"] || 42069);
  const child = spawn(
    process.execPath,
    [PONDER, "start", "--root", ROOT, "--schema", instance.schema, "--port", String(port), "-H", "127.0.0.1"],
    {
      stdio: ["ignore", opts.stdio ?? "inherit", opts.stdio ?? "inherit"],
      env: { ...process.env, ...env, INDEXER_DATA_DIR: instance.dataDir },
      // Ponder writes generated/schema.graphql under its working directory: the indexer folder.
      cwd: ROOT,
    },
  );
  return { child, instance, port };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { child, instance, port } = await startIndexer(process.env);
  console.log(`[indexer] chain instance ${instance.key}, schema ${instance.schema}, on http://127.0.0.1:${port}`);
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => child.kill(signal));
  child.once("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}
