import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

/**
 * ConsentRegistry (with the OrganizationRegistry it extends). Parameters:
 * - admin: DEFAULT_ADMIN_ROLE holder (a multisig or timelock in production); default: the deployer.
 * - governance: GOVERNANCE_ROLE holder (accreditation, break-glass policy); default: the deployer.
 */
export default buildModule("ConsentRegistryModule", (m) => {
  const deployer = m.getAccount(0);
  const admin = m.getParameter("admin", deployer);
  const governance = m.getParameter("governance", deployer);
  const consentRegistry = m.contract("ConsentRegistry", [admin, governance]);
  return { consentRegistry };
});
