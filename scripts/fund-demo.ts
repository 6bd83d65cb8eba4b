/**
 * The research-fund part of `npm start`: deploys the ResearchFundFactory (with its two deployers)
 * and creates one demo ResearchFund through it (`createFund`, as anyone does from the app; the fund
 * has its Governor and TimelockController deployed) with the Ignition module, in the escrow's
 * RemunerationToken, reusing the StudyEscrow deployment. Nobody has contributed yet: the demo's
 * members do that from the app (or the end-to-end walk). Called by `scripts/deploy-local.ts` after
 * the escrow:
 *
 *   Object.assign(addresses, await deployDemoFund(connection, addresses.StudyEscrow));
 */
import type { network } from "hardhat";

import ResearchFundModule from "../ignition/modules/ResearchFund.ts";
import type { ResearchFund } from "../types/ethers-contracts/index.js";

type Connection = Awaited<ReturnType<typeof network.connect>>;

export const DEMO_FUND = {
  cause: "Example syndrome: research into a rare disease, funded by patients and foundations",
  goal: 50_000n * 10n ** 18n, // 50,000 CRC
  durationDays: 365,
  quorumPercent: 20,
  votingPeriod: 3 * 86_400,
  timelockDelay: 2 * 86_400,
} as const;

export async function deployDemoFund(
  { ethers, ignition }: Pick<Connection, "ethers" | "ignition">,
  escrow?: string,
): Promise<{
  ResearchFundFactory: string;
  ResearchFund: string;
  ResearchFundGovernor: string;
  ResearchFundTimelock: string;
}> {
  const end = (await ethers.provider.getBlock("latest"))!.timestamp + DEMO_FUND.durationDays * 86_400;
  const { cause, goal, quorumPercent, votingPeriod, timelockDelay } = DEMO_FUND;
  const deployed = await ignition.deploy(ResearchFundModule, {
    parameters: { ResearchFundModule: { cause, goal, end, quorumPercent, votingPeriod, timelockDelay } },
  });
  const fund = deployed.researchFund as unknown as ResearchFund;
  const fundEscrow = await fund.escrow();
  if (escrow !== undefined && fundEscrow.toLowerCase() !== escrow.toLowerCase()) {
    throw new Error(`the demo fund uses the StudyEscrow at ${fundEscrow}, not ${escrow}`);
  }
  const addresses = {
    ResearchFundFactory: await deployed.researchFundFactory.getAddress(),
    ResearchFund: await fund.getAddress(),
    ResearchFundGovernor: await fund.governor(),
    ResearchFundTimelock: await fund.timelock(),
  };
  console.log(`ResearchFundFactory ${addresses.ResearchFundFactory}`);
  console.log(`ResearchFund     ${addresses.ResearchFund} (${cause.split(":")[0]})`);
  console.log(`ResearchFundGovernor ${addresses.ResearchFundGovernor}`);
  return addresses;
}
