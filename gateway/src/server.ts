/**
 * Starts the gateway: configuration from the environment, database (PGlite or PostgreSQL),
 * encrypted store, the chain (checked: right chain id, contracts present, the gateway key a
 * member of the custodian), the HTTP app on GATEWAY_HOST:GATEWAY_PORT and the periodic audit
 * anchoring job. Stops cleanly on SIGINT/SIGTERM.
 *
 *   node gateway/src/server.ts
 */
import type { FastifyInstance, FastifyServerOptions } from "fastify";
import type { Transport } from "viem";
import { indexerClient } from "#sdk/history.ts";
import { buildApp } from "./app.ts";
import { AuditAnchorer } from "./audit/anchor.ts";
import { GatewayChain, redactRpcUrl, transportFor } from "./chain/chain.ts";
import { ConfigError, loadConfig, type GatewayConfig, databaseOptions } from "./config/config.ts";
import { openDatabase, type Database } from "./store/database.ts";
import { Store } from "./store/store.ts";

export interface StartOptions {
  /** An open database to use (and not close); default: opened from the config. */
  database?: Database;
  /** How to reach the chain; default: the transport for RPC_URL. */
  transport?: Transport;
  logger?: FastifyServerOptions["logger"];
  /** Runs after the store opens and before the server listens (e.g. the dev path's seeding). */
  beforeListen?: (gateway: { app: FastifyInstance; store: Store; chain: GatewayChain }) => Promise<void>;
}

export interface RunningGateway {
  url: string;
  app: FastifyInstance;
  store: Store;
  chain: GatewayChain;
  anchorer: AuditAnchorer;
  close(): Promise<void>;
}

export async function startGateway(config: GatewayConfig, options: StartOptions = {}): Promise<RunningGateway> {
  const ownDatabase = options.database === undefined;
  const database: Database = options.database ?? (await openDatabase(databaseOptions(config.database)));
  const closeDatabase = async () => {
    if (ownDatabase) await database.close();
  };
  let store: Store;
  let chain: GatewayChain;
  try {
    store = await Store.open({ database, masterKey: config.masterKey.reveal() });
    chain = new GatewayChain({
      chainId: config.chainId,
      transport: options.transport ?? transportFor(config.rpcUrl.reveal()),
      consentRegistry: config.consentRegistryAddress,
      auditAnchor: config.auditAnchorAddress,
      studyEscrow: config.studyEscrowAddress,
      preventionRewards: config.preventionRewardsAddress,
      gatewayKey: config.gatewayPrivateKey.reveal(),
      custodian: config.custodianAddress,
      eventsFromBlock: BigInt(config.eventsFromBlock),
      indexer: config.indexerUrl ? indexerClient(config.indexerUrl) : undefined,
    });
  } catch (err) {
    await closeDatabase();
    throw err;
  }
  const app = buildApp({ config, store, chain, ...(options.logger !== undefined ? { logger: options.logger } : {}) });
  const anchorer = new AuditAnchorer({ db: store.db, chain, log: app.log });
  try {
    const check = await chain.checkStartup();
    for (const warning of check.warnings) app.log.warn(warning);
    if (options.beforeListen) await options.beforeListen({ app, store, chain });
    const address = await app.listen({ host: config.host, port: config.port });
    anchorer.start(config.anchorIntervalSeconds);
    app.log.info(
      {
        database: database.description,
        keyVersion: store.keyVersion,
        publicUrl: config.publicUrl,
        rpc: redactRpcUrl(config.rpcUrl.reveal()),
        chainId: config.chainId,
        block: check.blockNumber.toString(),
        gateway: check.gatewayAddress,
        custodian: config.custodianAddress,
        custodianName: config.custodianName,
        consentRegistry: config.consentRegistryAddress,
        auditAnchor: config.auditAnchorAddress,
        studyEscrow: config.studyEscrowAddress ?? null,
        preventionRewards: config.preventionRewardsAddress ?? null,
        eventsFromBlock: config.eventsFromBlock,
        indexerUrl: config.indexerUrl ?? null,
        anchorIntervalSeconds: config.anchorIntervalSeconds,
      },
      `Consentry gateway listening on ${address}: chain ${config.chainId}, ConsentRegistry ` +
        `${config.consentRegistryAddress} (events from block ${config.eventsFromBlock}), custodian ` +
        `${config.custodianName} ${config.custodianAddress}, ${database.description}`,
    );
    return {
      url: address,
      app,
      store,
      chain,
      anchorer,
      close: async () => {
        await anchorer.stop();
        await app.close();
        await closeDatabase();
      },
    };
  } catch (err) {
    await anchorer.stop();
    await app.close();
    await closeDatabase();
    throw err;
  }
}

/** Runs a started gateway until SIGINT/SIGTERM. */
export function stopOnSignals(gateway: RunningGateway): void {
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`${signal}: stopping the gateway\n`);
    gateway.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`error while stopping: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

async function main(): Promise<void> {
  let config: GatewayConfig;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
  stopOnSignals(await startGateway(config));
}

if (import.meta.main) {
  main().catch((err: unknown) => {
    process.stderr.write(`gateway failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
