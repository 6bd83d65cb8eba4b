"use client";
/**
 * The gasless path: the patient signs an EIP-712 consent action in the wallet (no fee), and a
 * custodian's gateway (its URL is on-chain) sends it and pays the network fee. Grants, study
 * joins and prevention opt-ins are relayed only by a custodian that holds the patient's record (an
 * opt-in only by one that confirms for the programme); revocations, leaving and opting out by any.
 * The prevention page's relayed opt-in and opt-out are in ./prevention.ts (with that
 * contract's ABI, which no page of the first load of `/` needs).
 */
import type { Address, Hash, Hex } from "viem";
import type { Config } from "wagmi";
import { getBlock, readContract, signTypedData, simulateContract } from "wagmi/actions";

import { grantSignatureDeadline } from "#sdk/eip712.ts";
import { consentRegistryAbi } from "#sdk/generated/abis.ts";
import { type SignedAction, type SignedActionMessages, relayBody, signedActionTypedData } from "#sdk/signed-actions.ts";
import { nowSeconds } from "./clock.ts";
import { reach, refusal } from "./gateway.ts";
import { type Custodian, useCustodians } from "./ledger.ts";
import type { Step } from "./tx.ts";
import { appChain, escrowAddress, registryAddress, rewardsAddress } from "./wagmi.ts";

/** How long a signature stays valid for the relaying gateway (Grant signatures: see `relayGrant`). */
export const SIGNATURE_LIFETIME_SECONDS = 15 * 60;

/** A custodian whose gateway sends a signed action (its relay routes live at /relay/…). */
export type Relayer = Custodian;

/** The custodians that can relay (optionally only those in `among`). */
export function useRelayers(among?: readonly Address[]): Relayer[] {
  return useCustodians(among).custodians;
}

/** Posts a signed action to a gateway's relay; the transaction it sent, to wait for. */
async function relay(relayer: Relayer, action: SignedAction, body: Record<string, string>): Promise<{ relayed: Hash }> {
  const response = await reach(
    `${relayer.origin}/relay/${action}`,
    {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(body),
    },
    relayer.name,
  ).catch((error: Error) => {
    throw new Error(`${error.message} Send it yourself instead.`);
  });
  if (!response.ok) {
    const refused = await refusal(response, `Sending it through ${relayer.name}`);
    throw new Error(
      refused.outcome
        ? `The gateway of ${relayer.name} refused: ${refused.message.replace(/\.?$/, ".")}`
        : refused.message,
    );
  }
  const sent = (await response.json()) as { transactionHash: Hash };
  return { relayed: sent.transactionHash };
}

/**
 * The one way the app sends a signed action: the wallet signs `message` as the sdk's table of
 * signed actions says (sdk/signed-actions.ts), and `relayer`'s gateway sends it. `what` is the
 * prompt shown while the wallet asks.
 */
export async function signAndRelay<A extends SignedAction>(
  config: Config,
  step: Step,
  relayer: Relayer,
  action: A,
  message: SignedActionMessages[A],
  what: string,
): Promise<{ relayed: Hash }> {
  step({ phase: "signing", what });
  const signature = await signTypedData(config, {
    account: message.patient,
    ...(signedActionTypedData(
      action,
      {
        chainId: appChain.id,
        registry: registryAddress ?? undefined,
        escrow: escrowAddress ?? undefined,
        prevention: rewardsAddress ?? undefined,
      },
      message,
    ) as Parameters<typeof signTypedData>[1]),
  });
  step({ phase: "checking" });
  return relay(relayer, action, relayBody(action, message, signature));
}

async function registryNonce(config: Config, patient: Address): Promise<bigint> {
  const [, nonce] = await readContract(config, {
    address: registryAddress!,
    abi: consentRegistryAbi,
    functionName: "patientState",
    args: [patient],
    chainId: appChain.id,
  });
  return BigInt(nonce);
}

/**
 * The patient's nonce for Revoke, RevokeAll and CancelSignatures signatures (a lane of their own);
 * a study's Join and a prevention OptIn sign it too (`registryNonce`), so that a revocation voids a
 * signature not yet sent.
 */
export async function revocationNonce(config: Config, patient: Address): Promise<bigint> {
  return readContract(config, {
    address: registryAddress!,
    abi: consentRegistryAbi,
    functionName: "revocationNonce",
    args: [patient],
    chainId: appChain.id,
  });
}

/** A grant signed by the patient and relayed: the same checks as a direct grant first. */
export async function relayGrant(
  config: Config,
  step: Step,
  relayer: Relayer,
  patient: Address,
  grant: { grantee: Address; categories: number; purpose: bigint; expiresAt: number },
): Promise<{ relayed: Hash }> {
  await simulateContract(config, {
    address: registryAddress!,
    abi: consentRegistryAbi,
    functionName: "grant",
    args: [grant.grantee, grant.categories, grant.purpose, 0, grant.expiresAt],
    account: patient,
    chainId: appChain.id,
  });
  const nonce = await registryNonce(config, patient);
  // The registry takes a Grant signature as made no earlier than a day before its deadline, and
  // refuses it for a consent revoked since: the deadline opens that day just after the latest block.
  const latest = await getBlock(config, { chainId: appChain.id });
  const deadline = grantSignatureDeadline(latest.timestamp, nowSeconds());
  return signAndRelay(
    config,
    step,
    relayer,
    "grant",
    { patient, ...grant, validFrom: 0, nonce, deadline },
    "Sign the consent in your wallet (no fee)…",
  );
}

/** A revocation signed by the patient and relayed (any custodian's gateway relays revocations). */
export async function relayRevoke(
  config: Config,
  step: Step,
  relayer: Relayer,
  patient: Address,
  revoke: { grantee: Address; scope: Hex },
): Promise<{ relayed: Hash }> {
  await simulateContract(config, {
    address: registryAddress!,
    abi: consentRegistryAbi,
    functionName: "revoke",
    args: [revoke.grantee, revoke.scope],
    account: patient,
    chainId: appChain.id,
  });
  const nonce = await revocationNonce(config, patient);
  const deadline = BigInt(nowSeconds() + SIGNATURE_LIFETIME_SECONDS);
  return signAndRelay(
    config,
    step,
    relayer,
    "revoke",
    { patient, ...revoke, nonce, deadline },
    "Sign the revocation in your wallet (no fee)…",
  );
}

/** A gateway's price for relaying a signed withdrawal, and the relayer address the patient signs for. */
export interface WithdrawQuote {
  relayer: Address;
  fee: bigint;
}

/** What `relayer` asks for relaying a withdrawal (GET /relay/withdraw); null if it does not say. */
export async function withdrawQuote(relayer: Relayer): Promise<WithdrawQuote | null> {
  try {
    const response = await fetch(`${relayer.origin}/relay/withdraw`, { headers: { accept: "application/json" } });
    if (!response.ok) return null;
    const quote = (await response.json()) as { relayer: Address; fee: string };
    return { relayer: quote.relayer, fee: BigInt(quote.fee) };
  } catch {
    return null;
  }
}
