/**
 * The local demo (chain 31337 only): who is who among Hardhat's (and anvil's) well-known
 * development accounts, their keys, and the organizations and members `npm start` accredits.
 * Shared by the scripts, the gateway's dev CLI and test chain, and the app's development wallet.
 * The keys are public (derived from the mnemonic
 * "test test test test test test test test test test test junk", printed by every Hardhat node)
 * and must never hold value: they are for the local chain (31337) only. The app's development
 * wallet (`app/_lib/dev-wallet.ts`) signs with them, and is left out of every build for another
 * chain; `sdk/demo.test.ts` checks the keys against the mnemonic.
 */
import type { Hex } from "viem";

export const LOCAL_CHAIN_ID = 31337;
export const LOCAL_RPC_URL = "http://127.0.0.1:8545";

/** Account index (in the development mnemonic) of each demo role. */
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
  payer: 10,
} as const;

export type DemoAccountName = keyof typeof DEMO_ACCOUNTS;

/** Hardhat's development private keys, by account index (0-10). */
export const DEV_PRIVATE_KEYS: readonly Hex[] = [
  "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
  "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
  "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
  "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
  "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
  "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
  "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
  "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
  "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
  "0xf214f2b2cd398c806f84e317254e0f0b801d0643303237d97a22a48e01628897",
];

/**
 * The people of the demo a newcomer can act as, in the order the development wallet lists them,
 * named for what they do. The gateways' own keys are not among them: the gateways sign with those.
 */
export const DEV_WALLET_ROLES: readonly { account: DemoAccountName; label: string }[] = [
  { account: "alice", label: "alice (patient)" },
  { account: "bob", label: "bob (patient)" },
  { account: "clinician", label: "clinician at St. Example Hospital" },
  { account: "hospital", label: "St. Example Hospital (administrator)" },
  { account: "lab", label: "Riverside Clinical Lab (administrator)" },
  { account: "research", label: "Example Research Institute" },
  { account: "analyst", label: "analyst at Example Research Institute" },
  { account: "governance", label: "governance" },
  { account: "payer", label: "Example Health Insurance (payer)" },
];

export const DEMO_ORGANIZATIONS = [
  { account: "hospital", kind: "PROVIDER", name: "St. Example Hospital", gatewayPort: 4001 },
  { account: "lab", kind: "PROVIDER", name: "Riverside Clinical Lab", gatewayPort: 4002 },
  { account: "research", kind: "RESEARCHER", name: "Example Research Institute", gatewayPort: null },
] as const;

/**
 * The demo payer, accredited by `npm start` after the organizations above (kept apart from them:
 * it runs no gateway and is in no gateway's test chain), with one prevention programme.
 */
export const DEMO_PAYER = { account: "payer", kind: "PAYER", name: "Example Health Insurance" } as const;

export const DEMO_MEMBERS = [
  { account: "clinician", organization: "hospital", role: "CLINICIAN" },
  { account: "hospitalGateway", organization: "hospital", role: "GATEWAY" },
  { account: "labGateway", organization: "lab", role: "GATEWAY" },
  { account: "analyst", organization: "research", role: "ANALYST" },
] as const;
