/**
 * `npm run test:e2e`: the browser tests alone. Unlike `npm test`, it fails when no Chromium is found.
 * `npm run test:e2e -- test/e2e/keyboard.test.ts …` runs only the files named.
 */
import { spawnSync } from "node:child_process";

import { findChromium } from "./lib/chromium.ts";

if (!findChromium()) {
  console.error("No Chromium found: install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH.");
  process.exit(1);
}
const files = process.argv.slice(2);
const r = spawnSync("npx", ["mocha", "--timeout", "1200000", ...(files.length > 0 ? files : ["test/e2e/*.test.ts"])], {
  stdio: "inherit",
  env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" },
});
process.exit(r.status ?? 1);
