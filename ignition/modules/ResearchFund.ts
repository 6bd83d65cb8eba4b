import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

import ResearchFundFactoryModule from "./ResearchFundFactory.ts";

/**
 * One research fund (a DAO per cause), created through the ResearchFundFactory (deployed by its
 * module if this deployment has none) on the StudyEscrow, exactly as anyone creates one from the
 * app: `createFund`, whose `FundCreated` names the fund, its Governor and its TimelockController
 * (the Governor proposes, cancels and executes, anyone asks it to execute, nobody administers).
 * The fund takes the escrow module's RemunerationToken. Parameters:
 * - cause: what the fund is for (required; 1 to 200 bytes).
 * - end: the fund's end, a Unix time in seconds (required: nothing else knows "now").
 * - goal: the most the fund raises, in the currency's smallest unit; default 10,000 CRC.
 * - quorumPercent: default 20; votingPeriod: seconds, default 3 days; timelockDelay: seconds,
 *   default 2 days (the members' window to ragequit).
 */
export default buildModule("ResearchFundModule", (m) => {
  const { studyEscrow, remunerationToken, researchFundFactory } = m.useModule(ResearchFundFactoryModule);
  const fundParams = {
    cause: m.getParameter<string>("cause"),
    currency: remunerationToken,
    goal: m.getParameter("goal", 10_000n * 10n ** 18n),
    end: m.getParameter<number>("end"),
    quorumPercent: m.getParameter("quorumPercent", 20),
    votingPeriod: m.getParameter("votingPeriod", 3 * 86_400),
    timelockDelay: m.getParameter("timelockDelay", 2 * 86_400),
  };
  const created = m.call(researchFundFactory, "createFund", [fundParams], { id: "CreateFund" });
  const fundAddress = m.readEventArgument(created, "FundCreated", "fund", { id: "CreatedFund" });
  const researchFund = m.contractAt("ResearchFund", fundAddress, { id: "ResearchFund" });
  return { studyEscrow, remunerationToken, researchFundFactory, researchFund };
});
