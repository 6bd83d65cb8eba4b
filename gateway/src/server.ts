/**
 * Starts the gateway: configuration from the environment, database (PGlite or PostgreSQL),
 * encrypted store, HTTP app on GATEWAY_HOST:GATEWAY_PORT. Stops cleanly on SIGINT/SIGTERM.
 *
 *   node gateway/src/server.ts
 */
import { buildApp } from "./app.ts";
import { ConfigError, loadConfig, type GatewayConfig } from "./config/config.ts";
import { openDatabase, type Database } from "./store/database.ts";
import { Store } from "./store/store.ts";

export async function startGateway(config: GatewayConfig): Promise<{ close(): Promise<void>; url: string }> {
  const database: Database = await openDatabase(
    config.database.kind === "postgres"
      ? { kind: "postgres", url: config.database.url.reveal() }
      : { kind: "pglite", dataDir: config.database.dataDir },
  );
  let store: Store;
  try {
    store = await Store.open({ database, masterKey: config.masterKey.reveal() });
  } catch (err) {
    await database.close();
    throw err;
  }
  const app = buildApp({ config, store });
  try {
    const address = await app.listen({ host: config.host, port: config.port });
    app.log.info(
      { database: database.description, keyVersion: store.keyVersion, publicUrl: config.publicUrl },
      `Consentry gateway listening on ${address}`,
    );
    return {
      url: address,
      close: async () => {
        await app.close();
        await database.close();
      },
    };
  } catch (err) {
    await app.close();
    await database.close();
    throw err;
  }
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
  const gateway = await startGateway(config);
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

if (import.meta.main) {
  main().catch((err: unknown) => {
    process.stderr.write(`gateway failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
