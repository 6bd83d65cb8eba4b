import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { keccak256, toHex, zeroHash } from "viem";

const GOVERNANCE_ROLE = keccak256(toHex("GOVERNANCE_ROLE"));
const STUDY_MANAGER_ROLE = keccak256(toHex("STUDY_MANAGER_ROLE"));

/**
 * Consentry on a real network (`npm run deploy -- --network <name>`): ConsentRegistry, AuditAnchor
 * and StudyEscrow, with no demo token and no faucet. Parameters (a file in ignition/parameters/,
 * every one required):
 * - admin: DEFAULT_ADMIN_ROLE holder of the registry and the escrow (a multisig or timelock).
 * - governance: GOVERNANCE_ROLE holder of both (accreditation, break-glass policy, currencies;
 *   a multisig or timelock).
 * - currency: the ERC-20 studies are funded in (an existing stablecoin on that chain).
 *
 * The deployer holds roles only for the duration of the deployment: the registry's and the
 * escrow's admin roles (to make the escrow a study manager, to hand over roles) and the escrow's
 * governance role (to allow the currency).
 * Both are handed to `admin`/`governance` and renounced by the deployer in the same deployment, so
 * a finished deployment leaves the deployer key with no power at all.
 */
export default buildModule("ConsentryModule", (m) => {
  const deployer = m.getAccount(0);
  const admin = m.getParameter<string>("admin");
  const governance = m.getParameter<string>("governance");
  const currency = m.getParameter<string>("currency");

  const consentRegistry = m.contract("ConsentRegistry", [deployer, governance]);
  const auditAnchor = m.contract("AuditAnchor", [consentRegistry]);
  const studyEscrow = m.contract("StudyEscrow", [consentRegistry, deployer, deployer]);

  const manager = m.call(consentRegistry, "grantRole", [STUDY_MANAGER_ROLE, studyEscrow], {
    id: "GrantEscrowStudyManager",
  });
  const allowed = m.call(studyEscrow, "setCurrencyAllowed", [currency, true], { id: "AllowCurrency" });

  const escrowGovernance = m.call(studyEscrow, "grantRole", [GOVERNANCE_ROLE, governance], {
    id: "GrantEscrowGovernance",
    after: [allowed],
  });
  const escrowGovernanceRenounced = m.call(studyEscrow, "renounceRole", [GOVERNANCE_ROLE, deployer], {
    id: "RenounceDeployerEscrowGovernance",
    after: [escrowGovernance],
  });
  const escrowAdmin = m.call(studyEscrow, "grantRole", [zeroHash, admin], {
    id: "GrantEscrowAdmin",
    after: [escrowGovernanceRenounced],
  });
  m.call(studyEscrow, "renounceRole", [zeroHash, deployer], {
    id: "RenounceDeployerEscrowAdmin",
    after: [escrowAdmin],
  });
  const registryAdmin = m.call(consentRegistry, "grantRole", [zeroHash, admin], {
    id: "GrantRegistryAdmin",
    after: [manager],
  });
  m.call(consentRegistry, "renounceRole", [zeroHash, deployer], {
    id: "RenounceDeployerRegistryAdmin",
    after: [registryAdmin],
  });

  return { consentRegistry, auditAnchor, studyEscrow };
});
