/**
 * Gas benchmark: every budgeted contract operation, measured on Hardhat's in-process EDR chain
 * (default hardfork, optimizer on, via-IR) after deploying through the Ignition modules. Prints a
 * table and exits non-zero when one is over budget. Run: `npm run bench:gas` (part of `npm run bench`).
 */
import { measureConsentGas } from "./bench/consent-gas.ts";
import { measureEscrowGas } from "./bench/escrow-gas.ts";
import { measureFundGas } from "./bench/fund-gas.ts";
import { measurePreventionGas } from "./bench/prevention-gas.ts";

const rows = [
  ...(await measureConsentGas()),
  ...(await measureEscrowGas()),
  ...(await measurePreventionGas()),
  ...(await measureFundGas()),
];

let failed = 0;
console.log("\nConsentry gas benchmark (Hardhat EDR, optimizer on)\n");
console.log(`${"operation".padEnd(56)} ${"gas".padStart(8)} ${"budget".padStart(8)}  result`);
for (const row of rows) {
  const ok = row.gas <= row.budget;
  if (!ok) failed++;
  console.log(
    `${row.what.padEnd(56)} ${row.gas.toString().padStart(8)} ${row.budget.toString().padStart(8)}  ${ok ? "ok" : "OVER BUDGET"}`,
  );
}
console.log(`\n${rows.length - failed} within budget, ${failed} over budget`);
if (failed > 0) process.exitCode = 1;
