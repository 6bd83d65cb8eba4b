/**
 * Querying the indexer from server code: `@ponder/client`'s SQL over HTTP (`<url>/sql`), typed
 * with the indexer's tables, and its `/status` (the block it has indexed to).
 *
 * `ponder` and `@ponder/client` each carry their own copy of drizzle-orm 0.41 (the project's is
 * 0.45): tables come from `ponder` (ponder.schema.ts), so the database is typed with `ponder`'s
 * drizzle and query helpers (`eq`, `and`, `desc`, …) are imported from `ponder`, never from the
 * project's drizzle-orm. At run time drizzle recognises its objects by their `entityKind`, not by
 * class identity, so the copies work together.
 *
 * Server code only (it imports Ponder): browser code that imports this pulls ~59 kB gzip.
 */
import { createClient } from "@ponder/client";
import { type ReadonlyDrizzle, min, onchainTable } from "ponder";

import * as schema from "./ponder.schema.ts";

export { schema };
export type IndexerDb = ReadonlyDrizzle<typeof schema>;

export interface IndexerStatus {
  chainId: number;
  /** The last block indexed, and its time (unix seconds); -1 before the first. */
  block: number;
  timestamp: number;
}

export interface IndexerClient {
  url: string;
  db: IndexerDb;
  status(): Promise<IndexerStatus>;
}

/**
 * Ponder's own record of how far it has indexed each chain (`/status` answers from it), declared
 * here (not in the indexer's schema) so that a list can read it in the same query as its rows:
 * one round trip instead of two, and the block the answer gives is the one its rows were read at.
 */
const ponderCheckpoint = onchainTable("_ponder_checkpoint", (t) => ({
  chainName: t.text().primaryKey(),
  latestCheckpoint: t.varchar({ length: 75 }).notNull(),
}));

/**
 * A one-row subquery `indexed` with column `checkpoint`: the least indexed of the indexer's chains
 * (it indexes one), to select from and join a list to. Decode it with `checkpointStatus`.
 */
export function indexedCheckpoint(db: IndexerDb) {
  return db
    .select({ checkpoint: min(ponderCheckpoint.latestCheckpoint).as("checkpoint") })
    .from(ponderCheckpoint)
    .as("indexed");
}

/**
 * The block and time of a Ponder checkpoint: 10 digits of block time, 16 of chain id, 16 of block
 * number, then the event's place in its block (Ponder's utils/checkpoint.js). Null (no chain
 * indexed yet): block -1, as `/status` before its first block.
 */
export function checkpointStatus(checkpoint: string | null): Omit<IndexerStatus, "chainId"> {
  if (checkpoint === null) return { block: -1, timestamp: 0 };
  if (!/^[0-9]{75}$/.test(checkpoint)) throw new Error(`the indexer's checkpoint is not Ponder's: ${checkpoint}`);
  return { timestamp: Number(checkpoint.slice(0, 10)), block: Number(checkpoint.slice(26, 42)) };
}

/** What decoding needs of a drizzle column: its name in the database and its decoding of a value. */
interface DecodableColumn {
  name: string;
  mapFromDriverValue(value: unknown): unknown;
}

/** A row as Ponder's `/sql` answers a raw statement: keyed by column name, values as the database gives them. */
export type RawRow = Record<string, unknown>;

/**
 * Runs a query (a select built with the typed database) and answers its rows undecoded: keyed by
 * column name (the select's columns must not share a name). Decode them with {@link rowDecoder}.
 *
 * Why not the select's own answer: `@ponder/client` maps every cell through drizzle's `is()`
 * checks, and since its drizzle is another copy than the one ponder's tables are made with, each
 * check misses `instanceof` and walks the class chain. For a patient's 100 grants that was about
 * 1.5 ms of the gateway's CPU per listing (profiled), more than the rest of the decoding.
 */
export async function rawRows(db: IndexerDb, query: Parameters<IndexerDb["execute"]>[0]): Promise<RawRow[]> {
  const result = (await db.execute(query)) as unknown as RawRow[] | { rows: RawRow[] };
  return Array.isArray(result) ? result : result.rows;
}

/**
 * A raw row's columns of `table` as the table's row type (each column's own decoding, as drizzle
 * applies it), or null when the row has none of it (the null side of a left join: its key column
 * is null).
 */
export function rowDecoder<T extends { $inferSelect: object }>(
  table: T,
  key: keyof T["$inferSelect"] & string,
): (raw: RawRow) => T["$inferSelect"] | null {
  // Drizzle keeps a table's columns under this symbol (what its getTableColumns reads), whichever copy made it.
  const all = (table as unknown as Record<symbol, Record<string, DecodableColumn>>)[Symbol.for("drizzle:Columns")]!;
  const columns = Object.entries(all).map(([name, column]) => ({ name, column }));
  const keyColumn = all[key]!.name;
  return (raw) => {
    if (raw[keyColumn] === null || raw[keyColumn] === undefined) return null;
    const row: Record<string, unknown> = {};
    for (const { name, column } of columns) {
      const value = raw[column.name];
      if (value === undefined) throw new Error(`the indexer's answer has no column ${column.name}`);
      row[name] = value === null ? null : column.mapFromDriverValue(value);
    }
    return row as T["$inferSelect"];
  };
}

/** A client of the indexer at `url` (its base URL, e.g. http://127.0.0.1:42069). */
export function indexerClient(url: string): IndexerClient {
  const base = url.replace(/\/+$/, "");
  const client = createClient(`${base}/sql`, { schema });
  return {
    url: base,
    db: client.db as unknown as IndexerDb,
    async status() {
      const response = await fetch(`${base}/status`);
      if (!response.ok) throw new Error(`the indexer at ${base} answered ${response.status} to /status`);
      const chains = Object.values(
        (await response.json()) as Record<string, { id: number; block: { number: number; timestamp: number } }>,
      );
      const chain = chains[0];
      return chain
        ? { chainId: chain.id, block: chain.block.number, timestamp: chain.block.timestamp }
        : { chainId: 0, block: -1, timestamp: 0 };
    },
  };
}
