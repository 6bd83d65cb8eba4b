/**
 * `npm run deploy -- --network <name> [--parameters <file>] [--deployment-id <id>] [--yes]`
 *
 * Puts Consentry on any network of hardhat.config.ts through the Ignition module
 * ignition/modules/Consentry.ts (no demo token, no faucet, no demo organization):
 * - the network's RPC URL and the deployer key are configuration variables (environment or
 *   `npx hardhat keystore set ...`); DEPLOYER_PRIVATE_KEY_FILE names a file holding the key instead;
 * - the parameters (admin and governance: a multisig or timelock, refused when equal to the
 *   deployer; currency: an existing stablecoin) come from ignition/parameters/<network>.json unless
 *   --parameters names another file;
 * - contracts are compiled with the one set of compiler settings the tests use (default profile,
 *   the cache the tests built; the production profile is declared identical);
 * - Ignition's journal (ignition/deployments/<deployment id>/) makes it resumable after a failure
 *   and idempotent: a finished deployment run again sends nothing;
 * - prints the gas of every transaction and writes the addresses and the deployment block for the
 *   chain id into sdk/generated/deployments.json, where the sdk, the app and the gateways read them.
 *
 * From a terminal it asks for confirmation (unless --yes); without one it proceeds (CI, scripts).
 * Accrediting the first organizations is a separate step: scripts/accredit.ts.
 */
import { existsSync, readFileSync } from "node:fs";
import { createInterface } from "node:readline/promises";
import { parseArgs } from "node:util";

import { writeFileAtomically } from "./lib/files.ts";

const { values: args } = parseArgs({
  options: {
    network: { type: "string" },
    parameters: { type: "string" },
    "deployment-id": { type: "string" },
    yes: { type: "boolean", default: false },
  },
});
const fail = (message: string): never => {
  process.stderr.write(`deploy: ${message}\n`);
  process.exit(1);
};
const networkName = args.network ?? fail("--network <name> is required (a network of hardhat.config.ts)");
if (networkName === "hardhat") fail("the in-process network keeps nothing: deploy to a running node");

// A key file (e.g. a mounted secret) is read before Hardhat resolves its configuration variables.
const keyFile = process.env.DEPLOYER_PRIVATE_KEY_FILE;
if (keyFile) {
  if (process.env.DEPLOYER_PRIVATE_KEY) fail("set DEPLOYER_PRIVATE_KEY or DEPLOYER_PRIVATE_KEY_FILE, not both");
  process.env.DEPLOYER_PRIVATE_KEY = readFileSync(keyFile, "utf8").trim();
}

const parametersFile = args.parameters ?? `ignition/parameters/${networkName}.json`;
if (!existsSync(parametersFile)) {
  fail(`no parameters file ${parametersFile}: copy ignition/parameters/example.json and fill it in`);
}
const parameters = JSON.parse(readFileSync(parametersFile, "utf8")) as {
  ConsentryModule?: { admin?: string; governance?: string; currency?: string };
};
const module = parameters.ConsentryModule ?? fail(`${parametersFile} has no "ConsentryModule" section`);

const hre = (await import("hardhat")).default;
const { default: ConsentryModule } = await import("../ignition/modules/Consentry.ts");
const { ethers, ignition, networkConfig } = await hre.network.connect({ network: networkName });
const provider = ethers.provider;
const chainId = Number((await provider.getNetwork()).chainId);
const [deployer] = await ethers.getSigners();
if (!deployer) fail(`network ${networkName} has no deployer account (set DEPLOYER_PRIVATE_KEY)`);
const deployerAddress = deployer!.address;

for (const role of ["admin", "governance", "currency"] as const) {
  const value = module[role];
  if (!value || !ethers.isAddress(value) || value === ethers.ZeroAddress) {
    fail(`${parametersFile}: ConsentryModule.${role} must be a non-zero address`);
  }
  if (role !== "currency" && value!.toLowerCase() === deployerAddress.toLowerCase()) {
    fail(`${parametersFile}: ${role} must not be the deployer (${deployerAddress}): use a multisig or timelock`);
  }
}
if ((await provider.getCode(module.currency!)) === "0x") {
  fail(`${parametersFile}: the currency ${module.currency} has no code on chain ${chainId}: name an existing token`);
}
for (const role of ["admin", "governance"] as const) {
  if ((await provider.getCode(module[role]!)) === "0x") {
    console.warn(`warning: ${role} ${module[role]} is not a contract (a multisig or timelock is expected)`);
  }
}

const deploymentId = args["deployment-id"] ?? `consentry-${chainId}`;
const journalDir = `${hre.config.paths.ignition}/deployments/${deploymentId}`;
console.log(`network     ${networkName} (chain id ${chainId}, ${"url" in networkConfig ? "remote" : "local"})`);
console.log(
  `deployer    ${deployerAddress} (${ethers.formatEther(await provider.getBalance(deployerAddress))} native)`,
);
console.log(`admin       ${module.admin}\ngovernance  ${module.governance}\ncurrency    ${module.currency}`);
console.log(`journal     ${journalDir}${existsSync(journalDir) ? " (exists: resuming)" : ""}`);

if (process.stdin.isTTY && !args.yes) {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  const answer = await rl.question(`Deploy Consentry to ${networkName} (chain id ${chainId})? [y/N] `);
  rl.close();
  if (!/^y(es)?$/i.test(answer.trim())) fail("cancelled");
}

// The default build profile: the settings and the cache of the tests (no recompilation when built).
await hre.tasks.getTask("build").run({ quiet: true, noTests: true });

const deployed = await ignition.deploy(ConsentryModule, {
  parameters: { ConsentryModule: module },
  deploymentId,
  displayUi: process.stdout.isTTY === true,
});

// Gas per transaction, from the journal's transactions and their receipts.
const hashes = new Map<string, string[]>();
for (const line of readFileSync(`${journalDir}/journal.jsonl`, "utf8").split("\n")) {
  if (!line.trim()) continue;
  const message = JSON.parse(line) as { type: string; futureId?: string; transaction?: { hash: string } };
  if (message.type === "TRANSACTION_SEND" && message.futureId && message.transaction) {
    hashes.set(message.futureId, [...(hashes.get(message.futureId) ?? []), message.transaction.hash]);
  }
}
let total = 0n;
let deploymentBlock: number | undefined;
console.log("\ngas used");
for (const [futureId, txs] of hashes) {
  for (const hash of txs) {
    const receipt = await provider.getTransactionReceipt(hash);
    if (!receipt || receipt.status !== 1) continue; // replaced or dropped
    total += receipt.gasUsed;
    console.log(`  ${futureId.replace(/^ConsentryModule#/, "").padEnd(40)} ${receipt.gasUsed.toString().padStart(10)}`);
    if (futureId === "ConsentryModule#ConsentRegistry") deploymentBlock = receipt.blockNumber;
  }
}
console.log(`  ${"total".padEnd(40)} ${total.toString().padStart(10)}`);
if (deploymentBlock === undefined) fail("the journal holds no receipt of the ConsentRegistry deployment");

const addresses = {
  ConsentRegistry: await deployed.consentRegistry.getAddress(),
  AuditAnchor: await deployed.auditAnchor.getAddress(),
  StudyEscrow: await deployed.studyEscrow.getAddress(),
  PreventionRewards: await deployed.preventionRewards.getAddress(),
  PreventionBadge: await deployed.preventionBadge.getAddress(),
  ResearchFundFactory: await deployed.researchFundFactory.getAddress(),
  StudyCurrency: ethers.getAddress(module.currency!),
  deploymentBlock: deploymentBlock!,
};
const file = new URL("../sdk/generated/deployments.json", import.meta.url);
const all = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
all[String(chainId)] = addresses;
const sorted = Object.fromEntries(Object.entries(all).sort(([a], [b]) => Number(a) - Number(b)));
writeFileAtomically(file, `${JSON.stringify(sorted, null, 2)}\n`);
console.log(`\n${JSON.stringify(addresses, null, 2)}`);
console.log(
  `written to sdk/generated/deployments.json for chain ${chainId}; next: scripts/accredit.ts (docs/runbook.md)`,
);
process.exit(0);
