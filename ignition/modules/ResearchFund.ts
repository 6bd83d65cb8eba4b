import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

import StudyEscrowModule from "./StudyEscrow.ts";

/**
 * One research fund (a DAO per cause) on top of the StudyEscrow (reused, not redeployed). The
 * ResearchFund's constructor deploys its Governor and TimelockController and wires them (the
 * Governor proposes and cancels, anyone executes, nobody administers), so anyone can create a fund
 * with this module or with the same constructor call from the sdk. The fund takes the escrow
 * module's RemunerationToken (a fund in another allowed currency: the same constructor call).
 * Parameters:
 * - cause: what the fund is for (required).
 * - end: the fund's end, a Unix time in seconds (required: nothing else knows "now").
 * - goal: the most the fund raises, in the currency's smallest unit; default 10,000 CRC.
 * - quorumPercent: default 20; votingPeriod: seconds, default 3 days; timelockDelay: seconds,
 *   default 2 days (the members' window to ragequit).
 */
export default buildModule("ResearchFundModule", (m) => {
  const { studyEscrow, remunerationToken } = m.useModule(StudyEscrowModule);
  const fundParams = {
    cause: m.getParameter<string>("cause"),
    currency: remunerationToken,
    goal: m.getParameter("goal", 10_000n * 10n ** 18n),
    end: m.getParameter<number>("end"),
    quorumPercent: m.getParameter("quorumPercent", 20),
    votingPeriod: m.getParameter("votingPeriod", 3 * 86_400),
    timelockDelay: m.getParameter("timelockDelay", 2 * 86_400),
  };
  const researchFund = m.contract("ResearchFund", [studyEscrow, fundParams]);
  return { studyEscrow, remunerationToken, researchFund };
});
