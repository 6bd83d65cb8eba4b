/**
 * `npm run indexer`: the indexer (Ponder) for CHAIN_ID at RPC_URL, serving on
 * 127.0.0.1:INDEXER_PORT (default 42069).
 *
 * A fresh chain gets a fresh index. The index is keyed by the chain instance: the chain id and the
 * hash of the deployment block. A development chain restarted under the same chain id has another
 * hash, so it gets a folder (PGlite) or a database schema (PostgreSQL) of its own, instead of a
 * kept index serving the events of a chain that no longer exists. PGlite folders of other
 * instances of the same chain id are removed (their chain is gone). On PostgreSQL, Ponder's RPC
 * cache (`ponder_sync`, keyed by chain id alone) is emptied of the chain id when it holds another
 * chain's blocks (forgetDeadSyncCache).
 *
 * Database: PostgreSQL from DATABASE_URL (schema `consentry_<chain id>_<instance>`), else PGlite in
 * INDEXER_DATA_ROOT (default .data/indexer/) under `<chain id>-<instance>`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import pg from "pg";
import { BlockNotFoundError, createPublicClient, http } from "viem";

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

/**
 * PostgreSQL only: empties Ponder's RPC cache (`ponder_sync`, keyed by chain id alone) for this
 * chain id when it holds another chain's blocks. A development chain restarted under the same
 * chain id would otherwise be indexed from the dead chain's cached logs (the cached ranges count as
 * fetched). The test is the oldest cached block at or after the deployment block (long final on a
 * real network, so a live chain's reorganisation never empties the cache): its hash against the
 * chain's. A block the chain does not have yet counts as another chain's. Returns whether the cache
 * was emptied. Only the cache goes: every index keeps its own schema.
 */
export async function forgetDeadSyncCache(env: Env, log: (line: string) => void = console.log): Promise<boolean> {
  const url = env["DATABASE_URL"];
  if (!url) return false;
  const settings = indexerEnv(env);
  const from = BigInt(indexerDeployment(settings).deploymentBlock ?? 0);
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    const exists = await db.query<{ present: boolean }>(
      "SELECT to_regclass('ponder_sync.blocks') IS NOT NULL AS present",
    );
    if (!exists.rows[0]?.present) return false;
    const cached = await db.query<{ number: string; hash: string }>(
      "SELECT number::text AS number, hash FROM ponder_sync.blocks WHERE chain_id = $1 AND number >= $2 ORDER BY number LIMIT 1",
      [settings.chainId, from.toString()],
    );
    const oldest = cached.rows[0];
    if (oldest === undefined) return false;
    const client = createPublicClient({ transport: http(settings.rpcUrl, { retryCount: 0 }) });
    // A block the chain does not have is another chain's; an RPC that fails is not an answer (a
    // flaky start must not throw a production cache away), so that error stops the start.
    const onChain = await client.getBlock({ blockNumber: BigInt(oldest.number) }).catch((err: unknown) => {
      if (err instanceof BlockNotFoundError) return null;
      throw err;
    });
    if (onChain?.hash?.toLowerCase() === oldest.hash.toLowerCase()) return false;
    const tables = await db.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.columns WHERE table_schema = 'ponder_sync' AND column_name = 'chain_id' ORDER BY table_name",
    );
    await db.query("BEGIN");
    for (const { table_name } of tables.rows) {
      await db.query(`DELETE FROM ponder_sync.${pg.escapeIdentifier(table_name)} WHERE chain_id = $1`, [
        settings.chainId,
      ]);
    }
    await db.query("COMMIT");
    log(
      `[indexer] ponder_sync held another chain ${settings.chainId} (block ${oldest.number} is ${oldest.hash.slice(0, 12)}… in the cache, ${onChain?.hash?.slice(0, 12) ?? "absent"}… on the chain): emptied its cache of that chain id (${tables.rows.length} tables)`,
    );
    return true;
  } catch (err) {
    await db.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    await db.end();
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
  if (env["DATABASE_URL"]) await forgetDeadSyncCache(env);
  else forgetDeadInstances(instance);
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
