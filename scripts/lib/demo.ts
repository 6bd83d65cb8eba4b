/**
 * The local demo: who is who among Hardhat's well-known development accounts (chain 31337 only;
 * these keys are public and must never hold value) and the organizations `npm start` accredits.
 */
// The accounts (and their public development keys) live in the sdk, where the app's development
// wallet reads them too.
export { DEMO_ACCOUNTS, LOCAL_CHAIN_ID, LOCAL_RPC_URL } from "../../sdk/dev-accounts.ts";

export const DEMO_ORGANIZATIONS = [
  { account: "hospital", kind: "PROVIDER", name: "St. Example Hospital", gatewayPort: 4001 },
  { account: "lab", kind: "PROVIDER", name: "Riverside Clinical Lab", gatewayPort: 4002 },
  { account: "research", kind: "RESEARCHER", name: "Example Research Institute", gatewayPort: null },
] as const;

export const DEMO_MEMBERS = [
  { account: "clinician", organization: "hospital", role: "CLINICIAN" },
  { account: "hospitalGateway", organization: "hospital", role: "GATEWAY" },
  { account: "labGateway", organization: "lab", role: "GATEWAY" },
  { account: "analyst", organization: "research", role: "ANALYST" },
] as const;
