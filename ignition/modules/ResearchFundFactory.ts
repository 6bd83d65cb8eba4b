import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

import StudyEscrowModule from "./StudyEscrow.ts";

/**
 * The ResearchFundFactory on top of the StudyEscrow (reused, not redeployed), with the two
 * deployers that hold the creation code of each fund's TimelockController and Governor (a fund's
 * creation code with both would not fit in one contract: EIP-170). Anyone creates a fund with
 * `createFund` (ignition/modules/ResearchFund.ts does, for one fund). The factory holds no role and
 * no money: nothing to hand over. No parameters.
 */
export default buildModule("ResearchFundFactoryModule", (m) => {
  const { studyEscrow, remunerationToken } = m.useModule(StudyEscrowModule);
  const timelockDeployer = m.contract("ResearchFundTimelockDeployer");
  const governorDeployer = m.contract("ResearchFundGovernorDeployer");
  const researchFundFactory = m.contract("ResearchFundFactory", [studyEscrow, timelockDeployer, governorDeployer]);
  return { studyEscrow, remunerationToken, researchFundFactory };
});
