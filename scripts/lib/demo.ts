/**
 * The local demo: who is who among Hardhat's well-known development accounts (chain 31337 only;
 * these keys are public and must never hold value) and the organizations `npm start` accredits.
 */
export const LOCAL_CHAIN_ID = 31337;
export const LOCAL_RPC_URL = "http://127.0.0.1:8545";

export const DEMO_ACCOUNTS = {
  governance: 0,
  alice: 1,
  bob: 2,
  hospital: 3,
  clinician: 4,
  hospitalGateway: 5,
  lab: 6,
  labGateway: 7,
  research: 8,
  analyst: 9,
} as const;

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
