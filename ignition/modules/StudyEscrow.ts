import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

import ConsentRegistryModule from "./ConsentRegistry.ts";

/**
 * StudyEscrow and its RemunerationToken, on top of the ConsentRegistry (reused, not redeployed).
 * The deployer must hold the registry's DEFAULT_ADMIN_ROLE (true with ConsentRegistryModule's
 * defaults) to grant the escrow STUDY_MANAGER_ROLE, and the escrow's GOVERNANCE_ROLE to allow the
 * token as a currency (true with this module's defaults). Parameters:
 * - admin: DEFAULT_ADMIN_ROLE holder of the escrow and the token; default: the deployer.
 * - governance: GOVERNANCE_ROLE holder of the escrow (currencies, excess recovery); default: the deployer.
 * - minter: MINTER_ROLE holder of the token; default: the deployer.
 * - tokenName / tokenSymbol: default "Consentry Research Credit" / "CRC".
 * - withdrawFeeCap: the most a relayer may take of a signed withdrawal in the token (its smallest
 *   unit); default 1 CRC (10^18).
 */
export default buildModule("StudyEscrowModule", (m) => {
  const { consentRegistry } = m.useModule(ConsentRegistryModule);
  const deployer = m.getAccount(0);
  const admin = m.getParameter("admin", deployer);
  const governance = m.getParameter("governance", deployer);
  const minter = m.getParameter("minter", deployer);
  const tokenName = m.getParameter("tokenName", "Consentry Research Credit");
  const tokenSymbol = m.getParameter("tokenSymbol", "CRC");
  const withdrawFeeCap = m.getParameter("withdrawFeeCap", 10n ** 18n);

  const remunerationToken = m.contract("RemunerationToken", [tokenName, tokenSymbol, admin, minter]);
  const studyEscrow = m.contract("StudyEscrow", [consentRegistry, admin, governance]);

  const studyManagerRole = m.staticCall(consentRegistry, "STUDY_MANAGER_ROLE", [], 0, { id: "StudyManagerRole" });
  m.call(consentRegistry, "grantRole", [studyManagerRole, studyEscrow], { id: "GrantEscrowStudyManager" });
  m.call(studyEscrow, "setCurrencyAllowed", [remunerationToken, true], { id: "AllowRemunerationToken" });
  m.call(studyEscrow, "setWithdrawFeeCap", [remunerationToken, withdrawFeeCap], { id: "CapWithdrawFee" });

  return { consentRegistry, remunerationToken, studyEscrow };
});
