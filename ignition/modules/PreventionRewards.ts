import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

import StudyEscrowModule from "./StudyEscrow.ts";

/**
 * PreventionRewards and its PreventionBadge, on top of the ConsentRegistry and the remuneration
 * token of StudyEscrowModule (reused, not redeployed). The deployer must hold the registry's
 * DEFAULT_ADMIN_ROLE (true with ConsentRegistryModule's defaults) to grant the rewards contract
 * STUDY_MANAGER_ROLE (it creates and ends programme consents as the escrow does study grants), and
 * its GOVERNANCE_ROLE to allow the token (true with this module's defaults). Parameters:
 * - admin: DEFAULT_ADMIN_ROLE holder; default: the deployer.
 * - governance: GOVERNANCE_ROLE holder (currencies, excess recovery); default: the deployer.
 * - withdrawFeeCap: the most a relayer may take of a signed withdrawal in the token; default 1 CRC.
 */
export default buildModule("PreventionRewardsModule", (m) => {
  const { consentRegistry, remunerationToken } = m.useModule(StudyEscrowModule);
  const deployer = m.getAccount(0);
  const admin = m.getParameter("admin", deployer);
  const governance = m.getParameter("governance", deployer);
  const withdrawFeeCap = m.getParameter("withdrawFeeCap", 10n ** 18n);

  const preventionRewards = m.contract("PreventionRewards", [consentRegistry, admin, governance]);
  const preventionBadge = m.contract("PreventionBadge", [preventionRewards]);

  const studyManagerRole = m.staticCall(consentRegistry, "STUDY_MANAGER_ROLE", [], 0, {
    id: "RewardsStudyManagerRole",
  });
  m.call(consentRegistry, "grantRole", [studyManagerRole, preventionRewards], { id: "GrantRewardsStudyManager" });
  m.call(preventionRewards, "setCurrencyAllowed", [remunerationToken, true], { id: "AllowRewardsToken" });
  m.call(preventionRewards, "setWithdrawFeeCap", [remunerationToken, withdrawFeeCap], { id: "CapRewardsWithdrawFee" });

  return { consentRegistry, remunerationToken, preventionRewards, preventionBadge };
});
