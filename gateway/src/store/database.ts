/**
 * Opens the gateway database — PGlite (embedded PostgreSQL: on disk, or in memory for tests) or
 * a PostgreSQL server — behind one Drizzle type, and applies the migrations in gateway/drizzle/.
 *
 * Durability (PGlite on disk): PGlite starts PostgreSQL with fsync off by default and its
 * Emscripten file system ignores fsync/fdatasync. We start it with fsync on and
 * wal_sync_method=fsync, and route the file system's fsync to the real fs.fsyncSync, so a
 * COMMIT returns only after its WAL record reached the disk (see DurableNodeFS). This relies on
 * PGlite 0.5's NODEFS internals; openDatabase fails closed if they are not there.
 */
import { PGlite } from "@electric-sql/pglite";
import { NodeFS } from "@electric-sql/pglite/nodefs";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { sql, type SQLWrapper } from "drizzle-orm";
import { drizzle as drizzlePg } from "drizzle-orm/node-postgres";
import { migrate as migratePg } from "drizzle-orm/node-postgres/migrator";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";

/** A Drizzle database or transaction over the gateway schema, whatever the driver. */
export type GatewayDb = PgDatabase<PgQueryResultHKT>;

export const MIGRATIONS_FOLDER = fileURLToPath(new URL("../../drizzle", import.meta.url));

export type DatabaseOptions =
  | {
      kind: "pglite";
      /** undefined: in memory (tests). Otherwise PGlite keeps its files in `${dataDir}/pgdata`. */
      dataDir?: string | undefined;
      /**
       * A data directory dumped by {@link Database.dumpDataDir}, to start a *new* database from
       * instead of running initdb (seconds of CPU). Ignored when dataDir already holds a database.
       */
      template?: Blob | undefined;
    }
  | { kind: "postgres"; url: string; maxConnections?: number | undefined };

export interface Database {
  readonly kind: "pglite" | "postgres";
  readonly db: GatewayDb;
  /** Where the data lives, safe to log (no credentials). */
  readonly description: string;
  /** Real fsync calls made by PGlite on disk (0 in memory / on a server); for diagnostics. */
  readonly fsyncCount: () => number;
  /** Runs `SELECT 1`; throws if the database is unreachable. */
  ping(): Promise<void>;
  /** PGlite only: the whole data directory as a tarball (a template for new databases). */
  dumpDataDir?: () => Promise<Blob>;
  close(): Promise<void>;
}

/** Rows of a raw SQL statement, for either driver (both results carry `rows`). */
export async function rawRows<T extends Record<string, unknown>>(db: GatewayDb, query: SQLWrapper): Promise<T[]> {
  const result = (await db.execute(query)) as unknown as { rows: T[] };
  return result.rows;
}

/** The start parameters of PGlite 0.5 (PGlite.defaultStartParams) with "-F" (fsync off) removed. */
const DURABLE_START_PARAMS = [
  "--single",
  "-O",
  "-j",
  "-c",
  "search_path=public",
  "-c",
  "exit_on_error=false",
  "-c",
  "log_checkpoints=false",
  "-c",
  "max_worker_processes=0",
  "-c",
  "max_parallel_workers=0",
  "-c",
  "max_parallel_workers_per_gather=0",
  "-c",
  "io_method=sync",
  "-c",
  "max_parallel_maintenance_workers=0",
  "-c",
  "fsync=on",
  "-c",
  "synchronous_commit=on",
  "-c",
  "wal_sync_method=fsync",
  "-c",
  "full_page_writes=on",
];

interface EmscriptenStream {
  nfd?: number;
}
interface EmscriptenModule {
  NODEFS?: { stream_ops?: { fsync?: (stream: EmscriptenStream) => number } };
}

/** PGlite's NodeFS with fsync(2) made real. */
class DurableNodeFS extends NodeFS {
  syncs = 0;
  override async init(...args: Parameters<NodeFS["init"]>): ReturnType<NodeFS["init"]> {
    const result = await super.init(...args);
    const preRun = (result.emscriptenOpts.preRun ?? []) as Array<(mod: EmscriptenModule) => void>;
    preRun.unshift((mod: EmscriptenModule) => {
      const ops = mod.NODEFS?.stream_ops;
      if (!ops) throw new Error("PGlite NODEFS not found: cannot make fsync durable with this PGlite version");
      ops.fsync = (stream: EmscriptenStream): number => {
        if (typeof stream.nfd === "number") {
          fsyncSync(stream.nfd);
          this.syncs++;
        }
        return 0;
      };
    });
    result.emscriptenOpts.preRun = preRun as typeof result.emscriptenOpts.preRun;
    return result;
  }
}

const heldLocks = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * One process at a time may open a PGlite data directory (two would corrupt it). A lock file
 * holds the owner's pid; a stale one (its process gone, e.g. after kill -9) is taken over.
 */
function acquireDirLock(lockPath: string): () => void {
  if (heldLocks.has(lockPath)) throw new Error(`${lockPath}: this process already has the database open`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPath, "wx", 0o600);
      writeSync(fd, `${process.pid}\n`);
      fsyncSync(fd);
      closeSync(fd);
      heldLocks.add(lockPath);
      return () => {
        heldLocks.delete(lockPath);
        try {
          unlinkSync(lockPath);
        } catch {
          // already gone
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      let owner = NaN;
      try {
        owner = Number.parseInt(readFileSync(lockPath, "utf8").trim(), 10);
      } catch {
        // unreadable: treat as stale
      }
      const ours = owner === process.pid; // a previous life of this pid (containers reuse pid 1)
      if (Number.isInteger(owner) && owner > 0 && !ours && isAlive(owner)) {
        throw new Error(`${lockPath}: the database is in use by process ${owner}`);
      }
      unlinkSync(lockPath);
    }
  }
  throw new Error(`${lockPath}: could not acquire the database lock`);
}

async function openPglite(dataDir: string | undefined, template: Blob | undefined): Promise<Database> {
  if (dataDir === undefined) {
    const client = new PGlite(template ? { loadDataDir: template } : {});
    await client.waitReady;
    const db = drizzlePglite({ client });
    await migratePglite(db, { migrationsFolder: MIGRATIONS_FOLDER });
    return {
      kind: "pglite",
      db: db as unknown as GatewayDb,
      description: "PGlite (in memory)",
      fsyncCount: () => 0,
      ping: async () => {
        await client.query("SELECT 1");
      },
      dumpDataDir: async () => (await client.dumpDataDir("none")) as Blob,
      close: () => client.close(),
    };
  }
  const root = path.resolve(dataDir);
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const release = acquireDirLock(path.join(root, "gateway.lock"));
  try {
    const pgdata = path.join(root, "pgdata");
    const fs = new DurableNodeFS(pgdata);
    const fresh = !existsSync(path.join(pgdata, "PG_VERSION"));
    const client = new PGlite({
      fs,
      startParams: DURABLE_START_PARAMS,
      ...(template && fresh ? { loadDataDir: template } : {}),
    });
    await client.waitReady;
    const fsyncSetting = await client.query<{ fsync: string }>("SHOW fsync");
    if (fsyncSetting.rows[0]?.fsync !== "on") throw new Error("PGlite did not start with fsync on");
    const db = drizzlePglite({ client });
    await migratePglite(db, { migrationsFolder: MIGRATIONS_FOLDER });
    let closed = false;
    return {
      kind: "pglite",
      db: db as unknown as GatewayDb,
      description: `PGlite (${root})`,
      fsyncCount: () => fs.syncs,
      ping: async () => {
        await client.query("SELECT 1");
      },
      dumpDataDir: async () => (await client.dumpDataDir("none")) as Blob,
      close: async () => {
        if (closed) return;
        closed = true;
        try {
          await client.close();
        } finally {
          release();
        }
      },
    };
  } catch (err) {
    release();
    throw err;
  }
}

/** Arbitrary constant: the advisory lock that serializes migrations across gateway instances. */
const MIGRATION_LOCK_ID = 0x636f6e73; // "cons"

async function openPostgres(url: string, maxConnections: number): Promise<Database> {
  const parsed = new URL(url);
  const description = `PostgreSQL (${parsed.hostname}:${parsed.port || "5432"}${parsed.pathname})`;
  // Migrate over one dedicated connection holding an advisory lock, so that several gateway
  // instances starting together apply each migration once.
  const migrator = new pg.Client({ connectionString: url });
  await migrator.connect();
  try {
    await migrator.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_ID]);
    await migratePg(drizzlePg({ client: migrator }), { migrationsFolder: MIGRATIONS_FOLDER });
    await migrator.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_ID]);
  } finally {
    await migrator.end();
  }
  const pool = new pg.Pool({ connectionString: url, max: maxConnections, allowExitOnIdle: true });
  pool.on("error", (err) => {
    // An idle client lost its connection; the pool replaces it. Never crash the gateway for it.
    process.emitWarning(`PostgreSQL idle client error: ${err.message}`);
  });
  const db = drizzlePg({ client: pool });
  return {
    kind: "postgres",
    db: db as unknown as GatewayDb,
    description,
    fsyncCount: () => 0,
    ping: async () => {
      await pool.query("SELECT 1");
    },
    close: () => pool.end(),
  };
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.kind === "postgres") return openPostgres(options.url, options.maxConnections ?? 10);
  return openPglite(options.dataDir, options.template);
}

/** Tables in dependency order (children first); for tests and tooling. */
export const TABLES = [
  "research_deliveries",
  "research_studies",
  "siwe_nonces",
  "relay_usage",
  "patient_wallets",
  "link_codes",
  "resources",
  "patient_keys",
  "keyring",
  "audit_events",
] as const;

/**
 * Empties every table. For tests only: it lifts the audit log's append-only trigger for the
 * duration of one transaction (which needs table-owner rights).
 */
export async function truncateAll(db: GatewayDb): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.execute(sql.raw(`ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_truncate`));
    await tx.execute(sql.raw(`TRUNCATE ${TABLES.join(", ")}`));
    await tx.execute(sql.raw(`ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_truncate`));
  });
}
