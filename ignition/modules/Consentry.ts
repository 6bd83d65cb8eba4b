import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { keccak256, toHex, zeroHash } from "viem";

const GOVERNANCE_ROLE = keccak256(toHex("GOVERNANCE_ROLE"));
const STUDY_MANAGER_ROLE = keccak256(toHex("STUDY_MANAGER_ROLE"));

/**
 * Consentry on a real network (`npm run deploy -- --network <name>`): ConsentRegistry, AuditAnchor,
 * StudyEscrow, PreventionRewards and its PreventionBadge, the ResearchFundFactory (with the deployers
 * of each fund's timelock and Governor; it holds no role), with no demo token and no faucet. Parameters (a file in ignition/parameters/,
 * every one required):
 * - admin: DEFAULT_ADMIN_ROLE holder of the registry and the escrow (a multisig or timelock).
 * - governance: GOVERNANCE_ROLE holder of both (accreditation, break-glass policy, currencies;
 *   a multisig or timelock).
 * - currency: the ERC-20 studies and prevention programmes are funded in (an existing stablecoin).
 *
 * The deployer holds roles only for the duration of the deployment: the registry's and the
 * escrows' admin roles (to make both escrows study managers, to hand over roles) and their
 * governance roles (to allow the currency).
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

  const preventionRewards = m.contract("PreventionRewards", [consentRegistry, deployer, deployer]);
  const preventionBadge = m.contract("PreventionBadge", [preventionRewards]);

  // Anyone creates a research fund here; nothing to hand over (no role, no owner).
  const researchFundFactory = m.contract("ResearchFundFactory", [
    studyEscrow,
    m.contract("ResearchFundTimelockDeployer"),
    m.contract("ResearchFundGovernorDeployer"),
  ]);

  const manager = m.call(consentRegistry, "grantRole", [STUDY_MANAGER_ROLE, studyEscrow], {
    id: "GrantEscrowStudyManager",
  });
  const rewardsManager = m.call(consentRegistry, "grantRole", [STUDY_MANAGER_ROLE, preventionRewards], {
    id: "GrantRewardsStudyManager",
  });
  const rewardsAllowed = m.call(preventionRewards, "setCurrencyAllowed", [currency, true], {
    id: "AllowRewardsCurrency",
  });
  const rewardsGovernance = m.call(preventionRewards, "grantRole", [GOVERNANCE_ROLE, governance], {
    id: "GrantRewardsGovernance",
    after: [rewardsAllowed],
  });
  const rewardsGovernanceRenounced = m.call(preventionRewards, "renounceRole", [GOVERNANCE_ROLE, deployer], {
    id: "RenounceDeployerRewardsGovernance",
    after: [rewardsGovernance],
  });
  const rewardsAdmin = m.call(preventionRewards, "grantRole", [zeroHash, admin], {
    id: "GrantRewardsAdmin",
    after: [rewardsGovernanceRenounced],
  });
  m.call(preventionRewards, "renounceRole", [zeroHash, deployer], {
    id: "RenounceDeployerRewardsAdmin",
    after: [rewardsAdmin],
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
    after: [manager, rewardsManager],
  });
  m.call(consentRegistry, "renounceRole", [zeroHash, deployer], {
    id: "RenounceDeployerRegistryAdmin",
    after: [registryAdmin],
  });

  return { consentRegistry, auditAnchor, studyEscrow, preventionRewards, preventionBadge, researchFundFactory };
});
