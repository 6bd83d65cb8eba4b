import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";

import hardhatToolboxMochaEthers from "@nomicfoundation/hardhat-toolbox-mocha-ethers";
import { configVariable, defineConfig } from "hardhat/config";
import type { HttpNetworkUserConfig, SolidityCompilerConfig } from "hardhat/types/config";
import type { HardhatPlugin } from "hardhat/types/plugins";

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

/** The compiler settings of every build: tests, coverage, the local stack and real deployments. */
const COMPILER_SETTINGS = {
  optimizer: { enabled: true, runs: 10_000 },
  viaIR: true,
};

/**
 * StudyEscrow alone is optimized for fewer runs: at 10,000 its runtime code no longer fits EIP-170's
 * 24,576 bytes once it takes third-party sponsorships. Every `npm run bench:gas` budget still holds
 * at this setting (the relayed join is the tightest).
 */
const STUDY_ESCROW_RUNS = 2_500;

const STUDY_ESCROW_SETTINGS = { ...COMPILER_SETTINGS, optimizer: { enabled: true, runs: STUDY_ESCROW_RUNS } };

/**
 * The files compiled with StudyEscrow's settings: the escrow and every Solidity test that deploys
 * it, so that a test deploys the very bytecode that ships (a root file's job compiles its imports
 * with the root's settings) and the invariant runner recognizes its handler.
 */
const STUDY_ESCROW_FILES = [
  "contracts/StudyEscrow.sol",
  "contracts/StudyEscrow.t.sol",
  "contracts/ConsentRegistry.killswitch.t.sol",
  "contracts/test/StudyEscrowHandler.sol",
  "contracts/test/StudyEscrowSetup.sol",
  "contracts/ResearchFund.t.sol",
  "contracts/test/ResearchFundHandler.sol",
  "contracts/PreventionRewards.t.sol",
  "contracts/test/PreventionRewardsHandler.sol",
  "contracts/test/PreventionRewardsSetup.sol",
];

/** The one compiler of a build profile, with StudyEscrow's own optimizer runs. */
const PROFILE = {
  compilers: [{ version: SOLC_VERSION, path: soljsonPath, settings: COMPILER_SETTINGS }],
  overrides: Object.fromEntries(
    STUDY_ESCROW_FILES.map((file) => [
      file,
      { version: SOLC_VERSION, path: soljsonPath, settings: STUDY_ESCROW_SETTINGS },
    ]),
  ),
};

/**
 * Hardhat puts root files into one solc job only when their compiler configs are the same object,
 * and it resolves each override into an object of its own: the ten files above, with identical
 * settings, were ten jobs, each compiling StudyEscrow, ConsentRegistry and their imports again
 * (over half of every build). After resolution this makes identical overrides one object, so they
 * share one job. The bytecode is the same: a contract's output depends on its own sources and settings.
 */
const shareIdenticalOverrides: HardhatPlugin = {
  id: "consentry:share-identical-overrides",
  hookHandlers: {
    config: async () => ({
      default: async () => ({
        resolveUserConfig: async (userConfig, resolveConfigurationVariable, next) => {
          const resolved = await next(userConfig, resolveConfigurationVariable);
          for (const profile of Object.values(resolved.solidity.profiles)) {
            const shared = new Map<string, SolidityCompilerConfig>();
            for (const [file, config] of Object.entries(profile.overrides)) {
              const key = JSON.stringify(config);
              const first = shared.get(key);
              if (first === undefined) shared.set(key, config);
              else profile.overrides[file] = first;
            }
          }
          return resolved;
        },
      }),
    }),
    // Hardhat runs one solc at a time on two cores (os.cpus() - 1); the jobs are separate processes.
    solidity: async () => ({
      default: async () => ({
        build: async (context, rootFilePaths, options, next) =>
          await next(context, rootFilePaths, {
            ...options,
            concurrency: options?.concurrency ?? availableParallelism(),
          }),
      }),
    }),
  },
};

/**
 * A network of `npm run deploy -- --network <name>`. Nothing secret is in this file: the RPC URL
 * (which often embeds a provider's API key) and the deployer's key are configuration variables,
 * read from the environment or from the encrypted hardhat-keystore (`npx hardhat keystore set
 * SEPOLIA_RPC_URL`); `npm run deploy` also accepts DEPLOYER_PRIVATE_KEY_FILE (a file holding the
 * key). Add a chain by adding an entry here; see docs/runbook.md.
 */
function remote(prefix: string, chainId: number | undefined): HttpNetworkUserConfig {
  return {
    type: "http",
    chainType: prefix === "OP_SEPOLIA" || prefix === "BASE_SEPOLIA" || prefix === "BASE" ? "op" : "l1",
    ...(chainId !== undefined ? { chainId } : {}),
    url: configVariable(`${prefix}_RPC_URL`),
    accounts: [configVariable("DEPLOYER_PRIVATE_KEY")],
  };
}

export default defineConfig({
  plugins: [hardhatToolboxMochaEthers, shareIdenticalOverrides],
  solidity: {
    // `hardhat ignition deploy` builds with the production profile, which by default drops viaIR and
    // the optimizer runs (StudyEscrow then fails with "Stack too deep") and would deploy bytecode
    // the tests never ran: both profiles have exactly the same compiler and settings.
    profiles: {
      default: PROFILE,
      production: PROFILE,
    },
    // Each ResearchFund deploys a TimelockController: its artifact (ABI, types) for the tests and the sdk.
    npmFilesToBuild: ["@openzeppelin/contracts/governance/TimelockController.sol"],
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
    // Any other node, e.g. Foundry's anvil of `npm test` or a consortium's own Besu: ANVIL_RPC_URL.
    anvil: remote("ANVIL", undefined),
    // A permissioned chain the hospitals run themselves (Hyperledger Besu, QBFT): BESU_RPC_URL.
    besu: remote("BESU", undefined),
    sepolia: remote("SEPOLIA", 11155111),
    baseSepolia: remote("BASE_SEPOLIA", 84532),
    base: remote("BASE", 8453),
    opSepolia: remote("OP_SEPOLIA", 11155420),
    arbitrumSepolia: remote("ARBITRUM_SEPOLIA", 421614),
  },
  // Source verification on block explorers (`npx hardhat verify --network <name> <address> <args>`,
  // see docs/runbook.md). The API key is a configuration variable, never in this file.
  verify: {
    etherscan: { apiKey: configVariable("ETHERSCAN_API_KEY") },
    blockscout: { enabled: true },
    sourcify: { enabled: true },
  },
});
