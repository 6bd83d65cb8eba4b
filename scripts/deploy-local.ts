/**
 * Deploys every contract through the Ignition modules, writes the addresses where sdk/ reads
 * them (sdk/generated/deployments.json) and seeds the local demo organizations, study, programme
 * and fund.
 * Run by `npm start` as `hardhat run --network localhost scripts/deploy-local.ts`.
 */
import { readFileSync } from "node:fs";

import { network } from "hardhat";

import AuditAnchorModule from "../ignition/modules/AuditAnchor.ts";
import { KINDS, ROLES } from "#sdk/codes.ts";
import { deployEscrowWithDemoStudy } from "./escrow-demo.ts";
import { deployPreventionWithDemoProgramme } from "./prevention-demo.ts";
import { deployDemoFund } from "./fund-demo.ts";
import { writeFileAtomically } from "./lib/files.ts";
import { DEMO_ACCOUNTS, DEMO_MEMBERS, DEMO_ORGANIZATIONS } from "#sdk/demo.ts";

const { ethers, ignition } = await network.connect();
const chainId = Number((await ethers.provider.getNetwork()).chainId);
const signers = await ethers.getSigners();
const signer = (name: keyof typeof DEMO_ACCOUNTS) => signers[DEMO_ACCOUNTS[name]]!;

const { consentRegistry, auditAnchor } = await ignition.deploy(AuditAnchorModule);
const registry = consentRegistry as unknown as {
  getAddress(): Promise<string>;
  connect(s: unknown): typeof registry;
  accredit(...args: unknown[]): Promise<{ wait(): Promise<unknown> }>;
  offerMembership(...args: unknown[]): Promise<{ wait(): Promise<unknown> }>;
  acceptMembership(...args: unknown[]): Promise<{ wait(): Promise<unknown> }>;
};
const addresses: Record<string, string> = {
  ConsentRegistry: await registry.getAddress(),
  AuditAnchor: await auditAnchor.getAddress(),
};
for (const [name, address] of Object.entries(addresses)) console.log(`${name.padEnd(18)} ${address}`);

for (const org of DEMO_ORGANIZATIONS) {
  const url = org.gatewayPort ? `http://127.0.0.1:${org.gatewayPort}/fhir` : "";
  const licence = ethers.id(`${org.name} licence documents`);
  await (await registry.accredit(signer(org.account).address, KINDS[org.kind], org.name, url, licence)).wait();
  console.log(`accredited ${org.kind.padEnd(11)} ${org.name} (${signer(org.account).address})`);
}
for (const member of DEMO_MEMBERS) {
  const org = signer(member.organization);
  const account = signer(member.account);
  // Membership is offered by the organization, then accepted by the member's own address.
  await (await registry.connect(org).offerMembership(org.address, account.address, ROLES[member.role])).wait();
  await (await registry.connect(account).acceptMembership(org.address, ROLES[member.role])).wait();
}

// The study escrow and its remuneration token, with one funded demo study.
Object.assign(
  addresses,
  await deployEscrowWithDemoStudy(
    { ethers, ignition },
    {
      governance: signer("governance"),
      research: signer("research"),
      hospital: signer("hospital"),
      lab: signer("lab"),
    },
    addresses.ConsentRegistry!,
  ),
);

// Prevention rewards and their badge, with the demo payer and one funded flu-vaccination programme.
Object.assign(
  addresses,
  await deployPreventionWithDemoProgramme(
    { ethers, ignition },
    { governance: signer("governance"), payer: signer("payer"), hospital: signer("hospital"), lab: signer("lab") },
    addresses.ConsentRegistry!,
  ),
);
// One research fund (a DAO per cause) that sponsors the escrow's studies by its members' vote.
Object.assign(addresses, await deployDemoFund({ ethers, ignition }, addresses.StudyEscrow));

const file = new URL("../sdk/generated/deployments.json", import.meta.url);
const all = JSON.parse(readFileSync(file, "utf8")) as Record<string, Record<string, string>>;
all[String(chainId)] = addresses;
writeFileAtomically(file, `${JSON.stringify(all, null, 2)}\n`);
console.log(`addresses written to sdk/generated/deployments.json for chain ${chainId}`);
