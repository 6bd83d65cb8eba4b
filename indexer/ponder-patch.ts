/**
 * A fix to Ponder 0.17.7, applied to node_modules/ponder before the indexer starts (start.ts).
 *
 * The defect: when a batch of events updates more than 20 rows of a table, Ponder's indexing cache
 * writes the updates through a temporary table named like the table itself
 * (`CREATE TEMP TABLE IF NOT EXISTS "consent_grant" …`, COPY, UPDATE … FROM it, then
 * `TRUNCATE TABLE "consent_grant"`), and keeps that empty temporary table for the rest of the
 * session. PostgreSQL resolves an unqualified name in the session's temporary schema first. On
 * PostgreSQL the readers (`/sql`, GraphQL) have connections of their own, but PGlite has one
 * session for everything: from the first such batch on, every read of the table (`SELECT … FROM
 * "consent_grant"`) answered the empty temporary table, while the real table held every row. The
 * benchmark's 10,000 consent events (the first batches with more than 20 updated grants) came back
 * with no grant at all.
 *
 * The fix: drop the temporary table where Ponder truncates it (both of its write paths), so no
 * temporary table outlives a flush. It is created again, empty, by the next flush that needs it.
 *
 * The file is replaced by a new one (written beside it, then renamed), never rewritten in place:
 * node_modules may be hard-linked to other checkouts' copies. A Ponder whose cache.js does not
 * hold the expected statement stops the indexer (a newer Ponder must be checked by hand).
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const PONDER_CACHE_JS = fileURLToPath(
  new URL("../node_modules/ponder/dist/esm/indexing-store/cache.js", import.meta.url),
);

const BROKEN = 'db.execute(`TRUNCATE TABLE "${target}"`)';
const FIXED = 'db.execute(`DROP TABLE IF EXISTS pg_temp."${target}"`)';

/** Applies the fix once (idempotent); throws when the installed Ponder is not the one it fixes. */
export function patchPonder(file = PONDER_CACHE_JS): "patched" | "already" {
  const source = readFileSync(file, "utf8");
  const broken = source.split(BROKEN).length - 1;
  const fixed = source.split(FIXED).length - 1;
  if (broken === 0 && fixed === 2) return "already";
  if (broken + fixed !== 2) {
    throw new Error(
      `${file}: expected Ponder 0.17.7's two TRUNCATEs of its flush's temporary table; the installed Ponder differs (see indexer/ponder-patch.ts)`,
    );
  }
  const temporary = `${file}.consentry-${process.pid}`;
  writeFileSync(temporary, source.replaceAll(BROKEN, FIXED));
  renameSync(temporary, file);
  return "patched";
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(`[indexer] ${PONDER_CACHE_JS}: ${patchPonder()}`);
}
