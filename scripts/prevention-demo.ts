/**
 * The PreventionRewards part of `npm start`: deploys PreventionRewards and its PreventionBadge
 * through the Ignition module (reusing the ConsentRegistry and the RemunerationToken), accredits
 * the demo payer "Example Health Insurance" as a PAYER, and seeds one funded programme: a flu
 * vaccination (CVX 141, influenza seasonal injectable, in an Immunization record) confirmed by the
 * demo hospital or lab, rewarded once a year, its periods running from 1 September (the flu season's
 * start; the lab's demo gateway records alice's flu vaccination of this season, gateway/src/dev/gateway.ts). Idempotent: a chain that already has a programme is
 * left as it is. Called by `scripts/deploy-local.ts` after the escrow:
 *
 *   Object.assign(addresses, await deployPreventionWithDemoProgramme(connection, { governance, payer, hospital, lab }, addresses.ConsentRegistry));
 */
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { network } from "hardhat";

import PreventionRewardsModule from "../ignition/modules/PreventionRewards.ts";
import { KINDS } from "#sdk/codes.ts";
import { DEMO_PAYER } from "#sdk/demo.ts";
import { CVX_SYSTEM, criterionHash, fluSeasonStart } from "#sdk/prevention.ts";
import type {
  ConsentRegistry,
  PreventionBadge,
  PreventionRewards,
  RemunerationToken,
} from "../types/ethers-contracts/index.js";

type Connection = Awaited<ReturnType<typeof network.connect>>;

export const DEMO_PROGRAMME = {
  category: 5, // Immunization
  codeSystem: CVX_SYSTEM,
  code: "141", // CVX 141: influenza, seasonal, injectable
  periodDays: 365, // one flu vaccination a year
  durationDays: 3 * 365,
  reward: 10n * 10n ** 18n, // 10 CRC per patient and year
  budget: 1_000n * 10n ** 18n, // 100 rewards
} as const;

export async function deployPreventionWithDemoProgramme(
  { ethers, ignition }: Pick<Connection, "ethers" | "ignition">,
  accounts: {
    governance: HardhatEthersSigner;
    payer: HardhatEthersSigner;
    hospital: HardhatEthersSigner;
    lab: HardhatEthersSigner;
  },
  registryAddress: string,
): Promise<{ PreventionRewards: string; PreventionBadge: string }> {
  const deployed = await ignition.deploy(PreventionRewardsModule);
  const rewards = deployed.preventionRewards as unknown as PreventionRewards;
  const badge = deployed.preventionBadge as unknown as PreventionBadge;
  const registry = deployed.consentRegistry as unknown as ConsentRegistry;
  const token = deployed.remunerationToken as unknown as RemunerationToken;
  if ((await rewards.registry()).toLowerCase() !== registryAddress.toLowerCase()) {
    throw new Error("PreventionRewards uses another ConsentRegistry: deploy both on a persistent network");
  }
  const addresses = { PreventionRewards: await rewards.getAddress(), PreventionBadge: await badge.getAddress() };
  console.log(`PreventionRewards ${addresses.PreventionRewards}`);
  console.log(`PreventionBadge   ${addresses.PreventionBadge}`);
  if ((await rewards.programmeCount()) > 0n) {
    console.log("demo programme already seeded");
    return addresses;
  }

  const { governance, payer, hospital, lab } = accounts;
  const [organization] = await registry.accountOf(payer.address);
  if (organization === ethers.ZeroAddress) {
    const licence = ethers.id(`${DEMO_PAYER.name} licence documents`);
    await (
      await registry.connect(governance).accredit(payer.address, KINDS[DEMO_PAYER.kind], DEMO_PAYER.name, "", licence)
    ).wait();
    console.log(`accredited PAYER       ${DEMO_PAYER.name} (${payer.address})`);
  }
  await (await token.connect(governance).mint(payer.address, DEMO_PROGRAMME.budget)).wait();
  await (await token.connect(payer).approve(addresses.PreventionRewards, DEMO_PROGRAMME.budget)).wait();
  const now = (await ethers.provider.getBlock("latest"))!.timestamp;
  const params = {
    currency: await token.getAddress(),
    category: DEMO_PROGRAMME.category,
    codeSystem: criterionHash(DEMO_PROGRAMME.codeSystem),
    code: criterionHash(DEMO_PROGRAMME.code),
    // Period 0 is this flu season (from 1 September), so a vaccination given this season counts.
    firstPeriodStart: fluSeasonStart(now),
    periodLength: DEMO_PROGRAMME.periodDays * 86_400,
    reward: DEMO_PROGRAMME.reward,
    endTime: now + DEMO_PROGRAMME.durationDays * 86_400,
    custodians: [hospital.address, lab.address],
  };
  await (await rewards.connect(payer).createProgramme(params, DEMO_PROGRAMME.budget)).wait();
  console.log(
    `seeded demo programme 1 (flu vaccination, CVX ${DEMO_PROGRAMME.code}): ${ethers.formatEther(DEMO_PROGRAMME.budget)} CRC, ${ethers.formatEther(DEMO_PROGRAMME.reward)} CRC per patient and year`,
  );
  return addresses;
}
