/**
 * Contract addresses by chainId. `sdk/generated/deployments.json` is written by the deploy step
 * (`npm start` for the local chain 31337) from the Ignition deployment; never edited by hand.
 */
import type { Address } from "viem";

import generated from "./generated/deployments.json" with { type: "json" };

export type ContractName = "ConsentRegistry" | "StudyEscrow" | "RemunerationToken" | "AuditAnchor";
export type Deployment = Partial<Record<ContractName, Address>>;

const deployments = generated as Record<string, Deployment>;

/** The deployment on `chainId`, or throws naming what is missing. */
export function deploymentFor(chainId: number): Deployment {
  const found = deployments[String(chainId)];
  if (!found) throw new Error(`no Consentry deployment is known for chain ${chainId}; deploy first (npm start)`);
  return found;
}

export function contractAddress(chainId: number, name: ContractName): Address {
  const address = deploymentFor(chainId)[name];
  if (!address) throw new Error(`${name} is not deployed on chain ${chainId}`);
  return address;
}
