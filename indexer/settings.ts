/**
 * The indexer's settings from the environment, shared by its Ponder config (ponder.config.ts) and
 * its launcher (start.ts). Pure: reads nothing but the environment and the sdk's deployments.
 */
import path from "node:path";

import { type Deployment, deploymentFor } from "../sdk/deployments.ts";

export type Env = Readonly<Record<string, string | undefined>>;

export interface IndexerEnv {
  chainId: number;
  rpcUrl: string;
  /** PostgreSQL (production); undefined: PGlite in `dataDir`. */
  databaseUrl: string | undefined;
  dataDir: string;
  pollingInterval: number;
  /** INDEXER_GETLOGS_BLOCK_RANGE, when set. */
  getLogsBlockRange: number | undefined;
  deploymentJson: string | undefined;
}

function int(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if (!/^[0-9]+$/.test(raw)) throw new Error(`${name} must be a non-negative integer`);
  return Number(raw);
}

export function indexerEnv(env: Env): IndexerEnv {
  const chainId = int(env, "CHAIN_ID", 31337);
  const range = env["INDEXER_GETLOGS_BLOCK_RANGE"];
  return {
    chainId,
    rpcUrl: env["RPC_URL"] || "http://127.0.0.1:8545",
    databaseUrl: env["DATABASE_URL"] || undefined,
    dataDir: env["INDEXER_DATA_DIR"] || path.resolve(".data", "indexer", String(chainId)),
    pollingInterval: int(env, "INDEXER_POLLING_INTERVAL_MS", 1_000),
    getLogsBlockRange: range ? int(env, "INDEXER_GETLOGS_BLOCK_RANGE", 0) : undefined,
    deploymentJson: env["CONSENTRY_DEPLOYMENT"] || undefined,
  };
}

/** The contracts to index: CONSENTRY_DEPLOYMENT, else the sdk's deployment for the chain. */
export function indexerDeployment(env: IndexerEnv): Deployment {
  if (env.deploymentJson) return JSON.parse(env.deploymentJson) as Deployment;
  return deploymentFor(env.chainId);
}

/**
 * The widest `eth_getLogs` range the chain's RPC serves, per network (Ponder's
 * `ethGetLogsBlockRange`): public providers refuse wide ranges. INDEXER_GETLOGS_BLOCK_RANGE wins.
 */
export const GETLOGS_BLOCK_RANGE: Readonly<Record<number, number>> = {
  31337: 10_000, // the local Hardhat node: no limit, but bounded answers
  31338: 10_000, // anvil
  8453: 1_000, // Base (public RPCs refuse more)
  84532: 1_000, // Base Sepolia
  11155111: 1_000, // Sepolia
  1: 1_000,
};

export function getLogsBlockRange(env: IndexerEnv): number {
  return env.getLogsBlockRange ?? GETLOGS_BLOCK_RANGE[env.chainId] ?? 1_000;
}
