/**
 * Shared test fixtures. One database per test process (PGlite in memory takes seconds to
 * start), or the PostgreSQL server named by DATABASE_URL; each suite empties it before use.
 */
import { createHash } from "node:crypto";
import { getAddress } from "viem";
import type { AppConfig } from "../app.ts";
import { Secret } from "../config/secret.ts";
import { openDatabase, truncateAll, type Database } from "../store/database.ts";
import { Store } from "../store/store.ts";

let shared: Promise<Database> | undefined;

// Close it after the whole run (a root-level mocha hook when loaded by mocha): PGlite leaves a
// PostgreSQL timer armed that would otherwise hold the process open for seconds.
if (typeof globalThis.after === "function") {
  after(async () => {
    if (shared) await (await shared).close();
  });
}

/** The process-wide test database, opened on first use. */
export function testDatabase(): Promise<Database> {
  shared ??= openDatabase(
    process.env["DATABASE_URL"] ? { kind: "postgres", url: process.env["DATABASE_URL"] } : { kind: "pglite" },
  );
  return shared;
}

/** A deterministic 256-bit key for tests. */
export function testKey(label: string): Buffer {
  return createHash("sha256").update(`consentry-test-key|${label}`).digest();
}

export const TEST_MASTER_KEY = testKey("master");

/** Empties the shared database and opens a store on it. */
export async function freshStore(options: { masterKey?: Uint8Array; now?: () => Date } = {}): Promise<Store> {
  const database = await testDatabase();
  await truncateAll(database.db);
  return Store.open({ database, masterKey: options.masterKey ?? TEST_MASTER_KEY, ...(options.now ? { now: options.now } : {}) });
}

export const TEST_ADMIN_TOKEN = "test-admin-token-0123456789-abcdefghijklmnopqrstuvwxyz";
export const TEST_CUSTODIAN = getAddress("0x00000000000000000000000000000000c0ffee01");

export function testAppConfig(overrides: Partial<AppConfig> = {}): AppConfig {
  return {
    publicUrl: "http://127.0.0.1:8080",
    adminToken: new Secret(TEST_ADMIN_TOKEN),
    bodyLimitBytes: 1024 * 1024,
    custodianName: "Riverside General Hospital",
    custodianAddress: TEST_CUSTODIAN,
    chainId: 31337,
    logLevel: "silent",
    ...overrides,
  };
}

/** A clock that starts at `start` and advances one second per call: distinct, ordered times. */
export function steppingClock(start = Date.parse("2025-07-01T12:00:00Z"), stepMs = 1000): () => Date {
  let t = start;
  return () => new Date((t += stepMs));
}
