/**
 * `npm test`: every suite the project has, in order, then a summary. Exits non-zero on any failure.
 * Browser tests run when a Chromium is found (CHROMIUM_PATH or /usr/bin/chromium) and are
 * reported loudly as skipped otherwise.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";

import { findChromium } from "./lib/chromium.ts";

interface Step {
  name: string;
  command: string[];
  env?: Record<string, string>;
  skip?: string;
}

const e2eFiles = existsSync("test/e2e") ? readdirSync("test/e2e").filter((f) => f.endsWith(".test.ts")) : [];
const chromium = findChromium();
const steps: Step[] = [
  { name: "lint: solhint", command: ["npx", "solhint", "contracts/**/*.sol"] },
  { name: "lint: eslint", command: ["npx", "eslint", "."] },
  { name: "lint: prettier", command: ["npx", "prettier", "--check", "."] },
  { name: "typecheck", command: ["npx", "tsc", "--noEmit", "-p", "tsconfig.json"] },
  { name: "typecheck: gateway (with sdk)", command: ["npx", "tsc", "--noEmit", "-p", "gateway/tsconfig.json"] },
  { name: "typecheck: web app", command: ["npx", "tsc", "--noEmit", "-p", "app/tsconfig.json"] },
  { name: "build contracts", command: ["npx", "hardhat", "build"] },
  { name: "sdk ABIs match the build", command: ["node", "scripts/export-sdk.ts", "--check"] },
  // One instrumented run of the Solidity (fuzz, invariant) and TypeScript contract tests.
  { name: "contract tests with coverage", command: ["npx", "hardhat", "test", "--coverage"] },
  { name: "contract coverage >= 95%", command: ["node", "scripts/coverage-check.ts", "95"] },
  {
    name: "sdk, gateway and stack tests",
    command: ["npx", "mocha", "sdk/**/*.test.ts", "gateway/**/*.test.ts", "test/stack/*.test.ts"],
  },
  { name: "build web app", command: ["npx", "next", "build"], env: { NEXT_TELEMETRY_DISABLED: "1" } },
  process.env.CONSENTRY_TEST_DATABASE_URL
    ? {
        name: "gateway tests on PostgreSQL",
        command: ["npx", "mocha", "gateway/**/*.test.ts"],
        env: { DATABASE_URL: process.env.CONSENTRY_TEST_DATABASE_URL },
      }
    : {
        name: "gateway tests on PostgreSQL",
        command: [],
        skip: "CONSENTRY_TEST_DATABASE_URL not set (.ci/run sets it up)",
      },
  e2eFiles.length === 0
    ? { name: "browser tests", command: [], skip: "no browser tests in test/e2e yet" }
    : chromium
      ? {
          name: "browser tests",
          command: ["npx", "mocha", "--timeout", "1200000", "test/e2e/*.test.ts"],
          env: { E2E_REUSE_BUILD: "1" },
        }
      : { name: "browser tests", command: [], skip: "NO CHROMIUM FOUND (set CHROMIUM_PATH or apt-get install chromium)" },
];

function run(command: string[], env: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve) => {
    const [cmd, ...args] = command;
    const child = spawn(cmd!, args, { stdio: "inherit", env: { ...process.env, ...env } });
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    child.on("error", () => resolve(1));
  });
}

const results: { name: string; status: "passed" | "FAILED" | "SKIPPED"; seconds: number; note?: string }[] = [];
for (const step of steps) {
  if (step.skip) {
    console.log(`\n=== ${step.name}: SKIPPED — ${step.skip}\n`);
    results.push({ name: step.name, status: "SKIPPED", seconds: 0, note: step.skip });
    continue;
  }
  console.log(`\n=== ${step.name}: ${step.command.join(" ")}\n`);
  const started = performance.now();
  const code = await run(step.command, step.env);
  results.push({ name: step.name, status: code === 0 ? "passed" : "FAILED", seconds: (performance.now() - started) / 1000 });
}

const passed = results.filter((r) => r.status === "passed").length;
const failed = results.filter((r) => r.status === "FAILED").length;
const skipped = results.filter((r) => r.status === "SKIPPED").length;
console.log("\nConsentry test summary");
for (const r of results) {
  console.log(`  ${r.status.padEnd(8)} ${r.name.padEnd(40)} ${r.seconds.toFixed(1).padStart(6)} s${r.note ? `  (${r.note})` : ""}`);
}
if (skipped > 0) console.log(`\n  WARNING: ${skipped} step(s) skipped — see above.`);
console.log(`\nsteps: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exitCode = failed > 0 ? 1 : 0;
