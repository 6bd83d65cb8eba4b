/**
 * wagmi, set up the SSR-safe way: a config factory (one config per request on the server, one per
 * browser tab in `Providers`' state), cookie storage so the server renders the connection the
 * browser had, and the `Register` augmentation that types every hook with this config.
 * Wallets are found through EIP-6963 (each announced wallet becomes a connector named after it);
 * `injected()` stays as the fallback for a wallet that only sets `window.ethereum`.
 *
 * The chain of a build comes from the environment at build time (Next.js inlines NEXT_PUBLIC_*):
 *   NEXT_PUBLIC_CONSENTRY_CHAIN_ID          EIP-155 chain id (unset: the local development chain)
 *   NEXT_PUBLIC_CONSENTRY_CHAIN_NAME        the name people see, e.g. "Base Sepolia"
 *   NEXT_PUBLIC_CONSENTRY_RPC_URL           a public JSON-RPC URL (never one with a secret key)
 *   NEXT_PUBLIC_CONSENTRY_CURRENCY_NAME / _SYMBOL / _DECIMALS   the native currency (default Ether, ETH, 18)
 *   NEXT_PUBLIC_CONSENTRY_EXPLORER_URL / _EXPLORER_NAME          a block explorer, if the chain has one
 * The contract addresses come from the sdk (sdk/generated/deployments.json) for that chain id.
 * A wallet on another chain is asked to switch; wagmi adds the chain to a wallet that does not know
 * it (EIP-3085 wallet_addEthereumChain) from these same values.
 */
import type { Address, Chain, Hash } from "viem";
import { cookieStorage, createConfig, createStorage, http, injected } from "wagmi";

import { type ContractName, deploymentFor } from "#sdk/deployments.ts";
import { LOCAL_DEV_CHAIN, LOCAL_DEV_RPC_URL } from "./local-dev.ts";

const env = {
  chainId: process.env.NEXT_PUBLIC_CONSENTRY_CHAIN_ID,
  chainName: process.env.NEXT_PUBLIC_CONSENTRY_CHAIN_NAME,
  rpcUrl: process.env.NEXT_PUBLIC_CONSENTRY_RPC_URL,
  currencyName: process.env.NEXT_PUBLIC_CONSENTRY_CURRENCY_NAME,
  currencySymbol: process.env.NEXT_PUBLIC_CONSENTRY_CURRENCY_SYMBOL,
  currencyDecimals: process.env.NEXT_PUBLIC_CONSENTRY_CURRENCY_DECIMALS,
  explorerUrl: process.env.NEXT_PUBLIC_CONSENTRY_EXPLORER_URL,
  explorerName: process.env.NEXT_PUBLIC_CONSENTRY_EXPLORER_NAME,
};

/** The chain a build serves, from NEXT_PUBLIC_CONSENTRY_* (exported for tests). */
export function chainFromEnvironment(e: typeof env): Chain {
  const id = e.chainId ? Number(e.chainId) : LOCAL_DEV_CHAIN.id;
  if (!Number.isSafeInteger(id) || id <= 0) {
    throw new Error(`NEXT_PUBLIC_CONSENTRY_CHAIN_ID must be a positive integer, not ${e.chainId}`);
  }
  const local = id === LOCAL_DEV_CHAIN.id;
  const rpcUrl = e.rpcUrl || (local ? LOCAL_DEV_RPC_URL : undefined);
  if (!rpcUrl) throw new Error(`NEXT_PUBLIC_CONSENTRY_RPC_URL is required for chain ${id}`);
  const decimals = e.currencyDecimals ? Number(e.currencyDecimals) : 18;
  const explorer = e.explorerUrl?.replace(/\/+$/, "");
  return {
    id,
    name: e.chainName || (local ? "Consentry local chain" : `Chain ${id}`),
    nativeCurrency: { name: e.currencyName || "Ether", symbol: e.currencySymbol || "ETH", decimals },
    rpcUrls: { default: { http: [rpcUrl] } },
    ...(explorer ? { blockExplorers: { default: { name: e.explorerName || "Explorer", url: explorer } } } : {}),
    testnet: local,
  } as const satisfies Chain;
}

/** The chain of this build. */
export const appChain = chainFromEnvironment(env);
/** The JSON-RPC endpoint the app reads from (a public URL, never a secret). */
export const RPC_URL = appChain.rpcUrls.default.http[0]!;
/** True on the local development chain only: the demo token's faucet is offered there and nowhere else. */
export const isLocalDevChain = appChain.id === LOCAL_DEV_CHAIN.id;

/** The block explorer's page of a transaction, when the chain has an explorer. */
export function explorerTxUrl(hash: Hash): string | null {
  const explorer = appChain.blockExplorers?.default.url;
  return explorer ? `${explorer}/tx/${hash}` : null;
}

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

/** A contract of the deployment on `chainId`, from sdk/generated/deployments.json; null if not deployed. */
export function deployedOn(chainId: number, name: ContractName): Address | null {
  try {
    return deploymentFor(chainId)[name] ?? null;
  } catch {
    return null;
  }
}

/** The ConsentRegistry on the app's chain, from sdk/generated/deployments.json; null if not deployed. */
export const registryAddress: Address | null = deployedOn(appChain.id, "ConsentRegistry");
/** The StudyEscrow on the app's chain; null if not deployed. */
export const escrowAddress: Address | null = deployedOn(appChain.id, "StudyEscrow");
/** PreventionRewards on the app's chain; null if not deployed (app/_lib/prevention.ts names it too). */
export const rewardsAddress: Address | null = deployedOn(appChain.id, "PreventionRewards");
/**
 * The currency studies are funded in: the stablecoin of a real deployment, or the demo token of the
 * local development chain; null if not deployed.
 */
export const tokenAddress: Address | null =
  deployedOn(appChain.id, "StudyCurrency") ?? deployedOn(appChain.id, "RemunerationToken");

/** The ResearchFundFactory on the app's chain (where anyone creates a research fund); null if not deployed. */
export const fundFactoryAddress: Address | null = deployedOn(appChain.id, "ResearchFundFactory");

export function getConfig() {
  return createConfig({
    chains: [appChain],
    connectors: [injected()],
    multiInjectedProviderDiscovery: true,
    ssr: true,
    storage: createStorage({ storage: cookieStorage }),
    transports: { [appChain.id]: http(RPC_URL) },
    // A local chain mines on demand: poll often enough that a change shows within seconds.
    pollingInterval: isLocalDevChain ? 1_500 : 4_000,
  });
}

declare module "wagmi" {
  interface Register {
    config: ReturnType<typeof getConfig>;
  }
}
