/**
 * wagmi, set up the SSR-safe way: a config factory (one config per request on the server, one per
 * browser tab in `Providers`' state), cookie storage so the server renders the connection the
 * browser had, and the `Register` augmentation that types every hook with this config.
 * Wallets are found through EIP-6963 (each announced wallet becomes a connector named after it);
 * `injected()` stays as the fallback for a wallet that only sets `window.ethereum`.
 */
import type { Address, Chain } from "viem";
import { hardhat } from "viem/chains";
import { cookieStorage, createConfig, createStorage, http, injected } from "wagmi";

import { type ContractName, deploymentFor } from "../../sdk/deployments.ts";

/** The JSON-RPC endpoint the app reads from (a public URL, never a secret). */
export const RPC_URL = process.env.NEXT_PUBLIC_CONSENTRY_RPC_URL || "http://127.0.0.1:8545";

/** The local chain of `npm start`: Hardhat's 31337, named for people. */
export const localChain = {
  ...hardhat,
  name: "Consentry local chain",
  rpcUrls: { default: { http: [RPC_URL] } },
} as const satisfies Chain;

/**
 * Whether this build offers the development wallet (./dev-wallet.ts): only for the local development
 * chain. Fixed at build time. Every `import()` of the wallet must sit behind this same expression
 * written out in place (a constant imported from another module is not folded), so that the minifier
 * drops the import from a build for any other chain (NEXT_PUBLIC_CONSENTRY_CHAIN_ID set to its id),
 * keys and all; `test/e2e` checks such a build's bundle.
 */
export const DEV_WALLET_ENABLED = (process.env.NEXT_PUBLIC_CONSENTRY_CHAIN_ID ?? "31337") === "31337";

/** The development wallet's name and EIP-6963 id (wagmi's connector id), here so that naming it
 * loads nothing of the wallet itself. */
export const DEV_WALLET_NAME = "Consentry development wallet";
export const DEV_WALLET_RDNS = "org.consentry.devwallet";

function deployedOn(chainId: number, name: ContractName): Address | null {
  try {
    return deploymentFor(chainId)[name] ?? null;
  } catch {
    return null;
  }
}

/** The ConsentRegistry on the app's chain, from sdk/generated/deployments.json; null if not deployed. */
export const registryAddress: Address | null = deployedOn(localChain.id, "ConsentRegistry");
/** The StudyEscrow on the app's chain; null if not deployed. */
export const escrowAddress: Address | null = deployedOn(localChain.id, "StudyEscrow");
/** The remuneration token (the local currency of studies); null if not deployed. */
export const tokenAddress: Address | null = deployedOn(localChain.id, "RemunerationToken");

export function getConfig() {
  return createConfig({
    chains: [localChain],
    connectors: [injected()],
    multiInjectedProviderDiscovery: true,
    ssr: true,
    storage: createStorage({ storage: cookieStorage }),
    transports: { [localChain.id]: http(RPC_URL) },
    // A local chain mines on demand: poll often enough that a change shows within seconds.
    pollingInterval: 1_500,
  });
}

declare module "wagmi" {
  interface Register {
    config: ReturnType<typeof getConfig>;
  }
}
