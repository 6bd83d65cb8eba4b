import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

import ConsentRegistryModule from "./ConsentRegistry.ts";

/** AuditAnchor, reading gateway membership from the ConsentRegistry (OrganizationRegistry). */
export default buildModule("AuditAnchorModule", (m) => {
  const { consentRegistry } = m.useModule(ConsentRegistryModule);
  const auditAnchor = m.contract("AuditAnchor", [consentRegistry]);
  return { auditAnchor, consentRegistry };
});
