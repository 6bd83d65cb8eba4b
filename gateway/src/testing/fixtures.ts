/**
 * Shared test fixtures. One database per test process (PGlite in memory takes seconds to
 * start), or the PostgreSQL server named by DATABASE_URL; each suite empties it before use.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { getAddress } from "viem/utils";
import type { AppConfig } from "../app.ts";
import { Secret } from "../config/secret.ts";
import { MIGRATIONS_FOLDER, openDatabase, truncateAll, type Database } from "../store/database.ts";
import { Store } from "../store/store.ts";
// Every response of every app the suite builds is checked for FHIR conformance (issue 19).
import "./fhir-conformance.ts";

let shared: Promise<Database> | undefined;

// Close it after the whole run (a root-level mocha hook when loaded by mocha): PGlite leaves a
// PostgreSQL timer armed that would otherwise hold the process open for seconds.
if (typeof globalThis.after === "function") {
  after("close the shared test database", async function () {
    this.timeout(60_000);
    if (shared) await (await shared).close();
  });
}

/**
 * A migrated, empty PGlite data directory, cached in the temp directory under a hash of the
 * PGlite version and the migrations: starting from it skips initdb (most of PGlite's start-up).
 */
export const PGLITE_TEMPLATE = path.join(
  tmpdir(),
  `consentry-gateway-pglite-${createHash("sha256")
    .update(
      readFileSync(
        path.join(path.dirname(createRequire(import.meta.url).resolve("@electric-sql/pglite")), "..", "package.json"),
      ),
    )
    .update(
      readdirSync(MIGRATIONS_FOLDER, { recursive: true, encoding: "utf8" })
        .sort()
        .filter((f) => /\.(sql|json)$/.test(f))
        .map((f) => `${f}\n${readFileSync(path.join(MIGRATIONS_FOLDER, f), "utf8")}`)
        .join("\n"),
    )
    .digest("hex")
    .slice(0, 16)}.tar`,
);

function readTemplate(): Blob | undefined {
  try {
    return new Blob([readFileSync(PGLITE_TEMPLATE)]);
  } catch {
    return undefined;
  }
}

async function writeTemplate(database: Database): Promise<void> {
  if (!database.dumpDataDir) return;
  const bytes = Buffer.from(await (await database.dumpDataDir()).arrayBuffer());
  const temp = `${PGLITE_TEMPLATE}.${process.pid}.tmp`;
  writeFileSync(temp, bytes);
  renameSync(temp, PGLITE_TEMPLATE); // atomic: concurrent runs never see half a file
}

async function openShared(): Promise<Database> {
  const url = process.env["DATABASE_URL"];
  if (url) return openDatabase({ kind: "postgres", url });
  const template = readTemplate();
  if (template) {
    try {
      return await openDatabase({ kind: "pglite", template });
    } catch {
      rmSync(PGLITE_TEMPLATE, { force: true }); // unusable: rebuild it below
    }
  }
  const database = await openDatabase({ kind: "pglite" });
  await writeTemplate(database);
  return database;
}

/** The process-wide test database, opened on first use. */
export function testDatabase(): Promise<Database> {
  shared ??= openShared();
  return shared;
}

/** Path of the PGlite template, once it exists (undefined on PostgreSQL runs without one). */
export async function pgliteTemplatePath(): Promise<string | undefined> {
  if (!existsSync(PGLITE_TEMPLATE) && !process.env["DATABASE_URL"]) await testDatabase();
  return existsSync(PGLITE_TEMPLATE) ? PGLITE_TEMPLATE : undefined;
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
  return Store.open({
    database,
    masterKey: options.masterKey ?? TEST_MASTER_KEY,
    ...(options.now ? { now: options.now } : {}),
  });
}

export const TEST_ADMIN_TOKEN = "test-admin-token-0123456789-abcdefghijklmnopqrstuvwxyz";
export const TEST_LINK_CODE_TOKEN = "test-link-code-token-9876543210-zyxwvutsrqponmlkjihgfedcba";
export const TEST_TOKEN_SECRET = testKey("bearer-token-secret");
export const TEST_CUSTODIAN = getAddress("0x00000000000000000000000000000000c0ffee01");

export function testAppConfig(overrides: Partial<AppConfig> = {}): AppConfig {
  return {
    publicUrl: "http://127.0.0.1:8080",
    adminToken: new Secret(TEST_ADMIN_TOKEN),
    linkCodeToken: new Secret(TEST_LINK_CODE_TOKEN),
    bodyLimitBytes: 1024 * 1024,
    custodianName: "Riverside General Hospital",
    custodianAddress: TEST_CUSTODIAN,
    chainId: 31337,
    logLevel: "silent",
    tokenSecret: new Secret(TEST_TOKEN_SECRET),
    tokenTtlSeconds: 900,
    rateLimits: { perAddressPerMinute: 100_000, perIpPerMinute: 100_000 },
    relayLimits: {
      perAddressPerHour: 1000,
      globalPerHour: 100_000,
      weiPerHour: 10n ** 24n,
      revocationWeiPerHour: 10n ** 23n,
    },
    relayWithdrawFee: String(10n ** 17n),
    corsOrigins: [],
    trustedProxies: [],
    ...overrides,
  };
}

/** A clock that starts at `start` and advances one second per call: distinct, ordered times. */
export function steppingClock(start = Date.parse("2025-07-01T12:00:00Z"), stepMs = 1000): () => Date {
  let t = start;
  return () => new Date((t += stepMs));
}
