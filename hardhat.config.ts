import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

import hardhatToolboxMochaEthers from "@nomicfoundation/hardhat-toolbox-mocha-ethers";
import { defineConfig } from "hardhat/config";

/** The one Solidity version of the project; the `solc` npm package is pinned to exactly this. */
export const SOLC_VERSION = "0.8.30";

// Hardhat cannot download compilers offline: it compiles with the soljson.js of the `solc` npm
// package. Stop early when that file is not the configured version (e.g. a caret range let npm
// install a newer one), since Hardhat would silently print the configured version anyway.
const require = createRequire(import.meta.url);
const soljsonPath = require.resolve("solc/soljson.js");
const soljsonVersion = await readSoljsonVersion(soljsonPath);
if (soljsonVersion !== SOLC_VERSION) {
  throw new Error(
    `solc mismatch: hardhat.config.ts wants ${SOLC_VERSION} but ${soljsonPath} is ${soljsonVersion}. ` +
      `Pin "solc": "${SOLC_VERSION}" (exact, no caret) in package.json and reinstall.`,
  );
}

/** Asks the soljson itself (about 1 s), remembering the answer per file size and mtime. */
async function readSoljsonVersion(path: string): Promise<string> {
  const { size, mtimeMs } = statSync(path);
  const cacheDir = fileURLToPath(new URL("cache/", import.meta.url));
  const cacheFile = `${cacheDir}soljson-version.json`;
  try {
    const cached = JSON.parse(readFileSync(cacheFile, "utf8")) as Record<string, unknown>;
    if (cached.path === path && cached.size === size && cached.mtimeMs === mtimeMs) return String(cached.version);
  } catch {
    // no cache yet
  }
  const wrapper = require("solc/wrapper.js") as (soljson: unknown) => { version(): string };
  const long = wrapper(require(path)).version();
  const version = /^(\d+\.\d+\.\d+)/.exec(long)?.[1] ?? `unparseable (${long})`;
  mkdirSync(cacheDir, { recursive: true });
  writeFileSync(cacheFile, JSON.stringify({ path, size, mtimeMs, version }));
  return version;
}

export default defineConfig({
  plugins: [hardhatToolboxMochaEthers],
  solidity: {
    version: SOLC_VERSION,
    path: soljsonPath,
    settings: {
      optimizer: { enabled: true, runs: 10_000 },
      viaIR: true,
    },
  },
  // TypeChain's ethers types serve the contract tests only (the sdk exports viem-typed ABIs); they are
  // generated code, not held to erasableSyntaxOnly.
  typechain: { tsNocheck: true },
  paths: {
    tests: { mocha: "test/contracts", solidity: "contracts" },
  },
  networks: {
    localhost: {
      type: "http",
      chainType: "l1",
      url: "http://127.0.0.1:8545",
    },
  },
});
