/**
 * `hardhat test --coverage` without losing the plain build. Coverage compiles instrumented sources
 * into the same artifacts/, cache/ and types/ as a plain build, so everything that deploys a plain
 * contract afterwards (`npm start`, the benchmarks) would first recompile all of it (about 2.5 min).
 * This sets the three folders aside, lets coverage build into empty ones, then throws those away and
 * puts the plain ones back, also when the tests fail or the run is interrupted. A run killed before
 * it could restore is mended by the next one.
 *
 *   node scripts/coverage.ts [hardhat test arguments...]
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";

const BUILD_FOLDERS = ["artifacts", "cache", "types"];
const ASIDE = ".plain-build";

function restore(): void {
  for (const folder of BUILD_FOLDERS) {
    const kept = join(ASIDE, folder);
    if (!existsSync(kept)) continue;
    rmSync(folder, { recursive: true, force: true });
    renameSync(kept, folder);
  }
  rmSync(ASIDE, { recursive: true, force: true });
}

if (existsSync(ASIDE)) {
  console.log(`[coverage] ${ASIDE}/ holds the plain build of an interrupted run: putting it back first`);
  restore();
}
mkdirSync(ASIDE);
for (const folder of BUILD_FOLDERS) {
  if (existsSync(folder)) renameSync(folder, join(ASIDE, folder));
}

const code = await new Promise<number>((resolve) => {
  const child = spawn("npx", ["hardhat", "test", "--coverage", ...process.argv.slice(2)], { stdio: "inherit" });
  // An interrupt ends the tests, not this script: it waits for them to end, then restores.
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => child.kill(signal));
  child.on("exit", (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0)));
  child.on("error", () => resolve(1));
});
restore();
process.exitCode = code;
