/**
 * Contract addresses and deployment blocks by chainId. `sdk/generated/deployments.json` is written
 * by the deploy steps, never edited by hand: `npm run deploy -- --network <name>` (any network,
 * scripts/deploy.ts) and `npm start` (the local development chain, scripts/deploy-local.ts).
 */
import type { Address } from "viem";

import generated from "./generated/deployments.json" with { type: "json" };

/**
 * The deployed contracts. StudyCurrency is the stablecoin a real deployment allows studies to be
 * funded in; RemunerationToken is the demo token (and faucet) of the local development chain only.
 */
export type ContractName =
  | "ConsentRegistry"
  | "StudyEscrow"
  | "PreventionRewards"
  | "PreventionBadge"
  | "RemunerationToken"
  | "AuditAnchor"
  | "StudyCurrency"
  /** Where anyone creates a research fund; the indexer finds every fund through its FundCreated. */
  | "ResearchFundFactory"
  /** The local demo's research fund (created through the factory), its Governor and timelock. */
  | "ResearchFund"
  | "ResearchFundGovernor"
  | "ResearchFundTimelock";
export type Deployment = Partial<Record<ContractName, Address>> & {
  /** The block of the ConsentRegistry's deployment: event scans start here, not at block 0. */
  deploymentBlock?: number;
};

const deployments = generated as Record<string, Deployment>;

/** The deployment on `chainId`, or throws naming what is missing. */
export function deploymentFor(chainId: number): Deployment {
  const found = deployments[String(chainId)];
  if (!found) {
    throw new Error(
      `no Consentry deployment is known for chain ${chainId}; deploy first (npm run deploy -- --network <name>)`,
    );
  }
  return found;
}

export function contractAddress(chainId: number, name: ContractName): Address {
  const address = deploymentFor(chainId)[name];
  if (!address) throw new Error(`${name} is not deployed on chain ${chainId}`);
  return address;
}

/** The block the deployment on `chainId` starts at (0 when the deployment does not say). */
export function deploymentBlock(chainId: number): number {
  return deploymentFor(chainId).deploymentBlock ?? 0;
}
