/**
 * Fails when line coverage of a deployable contract (contracts/**, not contracts/test/ and not
 * *.t.sol) in coverage/lcov.info is under the threshold. Run after `hardhat test --coverage`,
 * whose own table also prints statement coverage.
 *
 *   node scripts/coverage-check.ts [minPercent=95]
 */
import { readFileSync } from "node:fs";

const min = Number(process.argv[2] ?? 95);
const lcov = readFileSync("coverage/lcov.info", "utf8");
let failed = 0;
let hitAll = 0;
let foundAll = 0;
console.log(`\nLine coverage of deployable contracts (minimum ${min}%)`);
for (const record of lcov.split("end_of_record")) {
  const file = /^SF:(.+)$/m.exec(record)?.[1];
  if (!file || file.startsWith("contracts/test/") || file.endsWith(".t.sol") || !file.startsWith("contracts/"))
    continue;
  const lines = new Map<number, number>();
  for (const m of record.matchAll(/^DA:(\d+),(\d+)$/gm)) {
    const line = Number(m[1]);
    lines.set(line, Math.max(lines.get(line) ?? 0, Number(m[2])));
  }
  const found = lines.size;
  const hit = [...lines.values()].filter((n) => n > 0).length;
  hitAll += hit;
  foundAll += found;
  const pct = found === 0 ? 100 : (hit / found) * 100;
  const ok = pct >= min;
  if (!ok) failed++;
  const missing = [...lines.entries()].filter(([, n]) => n === 0).map(([l]) => l);
  console.log(
    `  ${ok ? "ok  " : "LOW "} ${file.padEnd(44)} ${pct.toFixed(2).padStart(6)}%${missing.length ? `  uncovered: ${missing.join(", ")}` : ""}`,
  );
}
console.log(`  total ${foundAll === 0 ? 100 : ((hitAll / foundAll) * 100).toFixed(2)}% of ${foundAll} lines`);
if (failed > 0) {
  console.error(`\n${failed} contract(s) under ${min}% line coverage`);
  process.exitCode = 1;
}
