/**
 * `npm run accredit -- --network <name> --file <organizations.json> [--calldata]`
 *
 * The step after `npm run deploy`: governance accredits the first organizations, read from a file
 * (see ignition/parameters/organizations.example.json):
 *
 *   [{ "address": "0x…", "kind": "PROVIDER", "name": "…", "gatewayUrl": "https://…/fhir", "licence": "…",
 *      "commercial": true, "forProfit": true }]
 *
 * kind is one of sdk/codes.ts KINDS; gatewayUrl is empty for an organization that holds no data;
 * licence is the text (e.g. a document hash) whose keccak256 is recorded as the licence hash.
 * commercial and forProfit (default true) are governance's record of the organization's uses, the
 * use flags of every consent check of its reads (a grant restricted to non-commercial or
 * not-for-profit use, DUO NCU/NPU, refuses a commercial or for-profit one): when either is false,
 * `setUseProfile` follows the accreditation (in the same batch). Organizations already accredited
 * are skipped (only their use profile is set, if the file's differs from the record), so the step
 * can be run again after a failure.
 *
 * Governance is a multisig or timelock in production: with --calldata nothing is sent, the
 * transactions are printed as a Safe Transaction Builder batch (to, value, data) for its owners to
 * sign. Without it, the transactions are sent from GOVERNANCE_PRIVATE_KEY (or the file named by
 * GOVERNANCE_PRIVATE_KEY_FILE): a governance that is a plain key (a test chain, a consortium's
 * permissioned chain during set-up). The registry's address comes from the sdk for the chain id.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

import { createPublicClient, createWalletClient, encodeFunctionData, getAddress, http, keccak256, toHex } from "viem";
import type { Address, Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { KINDS, type KindName } from "#sdk/codes.ts";
import { contractAddress } from "#sdk/deployments.ts";
import { consentRegistryAbi } from "#sdk/generated/abis.ts";

const { values: args } = parseArgs({
  options: {
    network: { type: "string" },
    file: { type: "string" },
    calldata: { type: "boolean", default: false },
  },
});
const fail = (message: string): never => {
  process.stderr.write(`accredit: ${message}\n`);
  process.exit(1);
};
const networkName = args.network ?? fail("--network <name> is required");
const file = args.file ?? fail("--file <organizations.json> is required");

interface OrganizationEntry {
  address: string;
  kind: KindName;
  name: string;
  gatewayUrl?: string;
  licence: string;
  commercial?: boolean;
  forProfit?: boolean;
}
const entries = JSON.parse(readFileSync(file, "utf8")) as OrganizationEntry[];
if (!Array.isArray(entries) || entries.length === 0) fail(`${file} must be a non-empty JSON array`);
for (const [i, e] of entries.entries()) {
  if (!/^0x[0-9a-fA-F]{40}$/.test(e.address)) fail(`${file}[${i}].address is not an address`);
  if (!(e.kind in KINDS)) fail(`${file}[${i}].kind must be one of ${Object.keys(KINDS).join(", ")}`);
  if (!e.name) fail(`${file}[${i}].name is required`);
  if (!e.licence) fail(`${file}[${i}].licence is required`);
  for (const flag of ["commercial", "forProfit"] as const) {
    if (e[flag] !== undefined && typeof e[flag] !== "boolean") fail(`${file}[${i}].${flag} must be true or false`);
  }
}

// The network's RPC URL (environment or keystore), without its accounts: the deployer key is not
// needed here.
const hre = (await import("hardhat")).default;
const networkConfig = hre.config.networks[networkName] ?? fail(`no network ${networkName} in hardhat.config.ts`);
if (networkConfig.type !== "http") fail(`${networkName} is not a network of a running node`);
const transport = http(await (networkConfig as { url: { get(): Promise<string> } }).url.get());
const client = createPublicClient({ transport });
const chainId = await client.getChainId();
const registry = contractAddress(chainId, "ConsentRegistry");
console.log(`network ${networkName} (chain id ${chainId}), ConsentRegistry ${registry}`);

const calls: { organization: Address; to: Address; data: Hex; label: string; accredits: boolean }[] = [];
for (const e of entries) {
  const organization = getAddress(e.address);
  const existing = await client
    .readContract({ address: registry, abi: consentRegistryAbi, functionName: "getOrganization", args: [organization] })
    .catch((err: unknown) => {
      if (String(err).includes("OrganizationRegistryUnknownOrganization")) return null;
      throw err;
    });
  const commercial = e.commercial ?? true;
  const forProfit = e.forProfit ?? true;
  const useProfile = {
    organization,
    to: registry,
    data: encodeFunctionData({
      abi: consentRegistryAbi,
      functionName: "setUseProfile",
      args: [organization, commercial, forProfit],
    }),
    label: `use profile of ${e.name}: ${commercial ? "commercial" : "non-commercial"}, ${forProfit ? "for-profit" : "not-for-profit"}`,
    accredits: false,
  };
  if (existing !== null) {
    console.log(`already accredited: ${existing.name} (${organization})`);
    const [recordedCommercial, recordedForProfit] = await client.readContract({
      address: registry,
      abi: consentRegistryAbi,
      functionName: "useProfile",
      args: [organization],
    });
    if (recordedCommercial !== commercial || recordedForProfit !== forProfit) calls.push(useProfile);
    continue;
  }
  const data = encodeFunctionData({
    abi: consentRegistryAbi,
    functionName: "accredit",
    args: [organization, KINDS[e.kind], e.name, e.gatewayUrl ?? "", keccak256(toHex(e.licence))],
  });
  calls.push({ organization, to: registry, data, label: `${e.kind} ${e.name} (${organization})`, accredits: true });
  // No record counts as commercial and for-profit: a call only to record otherwise.
  if (!commercial || !forProfit) calls.push(useProfile);
}

if (args.calldata) {
  const batch = {
    version: "1.0",
    chainId: String(chainId),
    meta: { name: `Consentry: accredit organizations (${calls.length} transaction(s))` },
    transactions: calls.map((c) => ({ to: c.to, value: "0", data: c.data })),
  };
  console.log(JSON.stringify(batch, null, 2));
  process.exit(0);
}

let key = process.env.GOVERNANCE_PRIVATE_KEY;
if (process.env.GOVERNANCE_PRIVATE_KEY_FILE) key = readFileSync(process.env.GOVERNANCE_PRIVATE_KEY_FILE, "utf8").trim();
if (!key || !/^0x[0-9a-fA-F]{64}$/.test(key)) {
  fail("set GOVERNANCE_PRIVATE_KEY or GOVERNANCE_PRIVATE_KEY_FILE, or use --calldata for a multisig");
}
const account = privateKeyToAccount(key as Hex);
const governanceRole = await client.readContract({
  address: registry,
  abi: consentRegistryAbi,
  functionName: "GOVERNANCE_ROLE",
});
const isGovernance = await client.readContract({
  address: registry,
  abi: consentRegistryAbi,
  functionName: "hasRole",
  args: [governanceRole, account.address],
});
if (!isGovernance) fail(`${account.address} does not hold GOVERNANCE_ROLE on ${registry}`);
const wallet = createWalletClient({ account, transport });
for (const call of calls) {
  const hash = await wallet.sendTransaction({ to: call.to, data: call.data, chain: null });
  const receipt = await client.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") fail(`${call.accredits ? "accrediting " : ""}${call.label} failed (${hash})`);
  const done = call.accredits ? `accredited ${call.label}` : `set the ${call.label}`;
  console.log(`${done} in block ${receipt.blockNumber}, gas ${receipt.gasUsed}`);
}
const accredited = calls.filter((c) => c.accredits).length;
console.log(`${accredited} accredited, ${entries.length - accredited} already were`);
process.exit(0);
