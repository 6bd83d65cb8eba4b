/**
 * `npm run bench`: every benchmark, each in its own process, all of them even when one misses its
 * budget; then one line per benchmark and a non-zero exit when any missed.
 */
import { spawnSync } from "node:child_process";

const BENCHMARKS = [
  { name: "gas (contracts)", script: "bench:gas" },
  { name: "gateway (reads, revocation)", script: "bench:gateway" },
  { name: "web app (first-load JavaScript)", script: "bench:app" },
  { name: "indexer (100k consent events)", script: "bench:indexer" },
] as const;

const results = BENCHMARKS.map((b) => {
  console.log(`\n=== ${b.name}: npm run ${b.script}\n`);
  const started = performance.now();
  const run = spawnSync("npm", ["run", "--silent", b.script], { stdio: "inherit" });
  return { ...b, status: run.status ?? 1, seconds: (performance.now() - started) / 1000 };
});

console.log("\nbenchmarks:");
for (const r of results) {
  console.log(
    `  ${r.name.padEnd(34)} ${r.status === 0 ? "within budget" : `BUDGET MISSED (exit ${r.status})`}  ${r.seconds.toFixed(0)} s`,
  );
}
const missed = results.filter((r) => r.status !== 0).length;
console.log(`${results.length - missed} within budget, ${missed} missed`);
process.exitCode = missed > 0 ? 1 : 0;
