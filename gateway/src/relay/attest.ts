/**
 * Custodian-attested enrolment: a study created with `attestedEnrolment` takes only joins that
 * carry the EIP-712 `EnrolmentAttestation(patient, studyId, custodian, deadline)` of an active
 * GATEWAY member of one of its custodians (StudyEscrow.joinAttested / joinBySigAttested). This
 * gateway signs one with its own key (the GATEWAY member key it relays with, checked at start-up
 * by `GatewayChain.startupCheck`, and again by the escrow at every join) only for a wallet linked
 * to a patient here: `POST /relay/join` does it for a signed join, `POST /enrolment-attestations`
 * for a patient signed in with Ethereum who joins and pays the fee itself.
 */
import type { Address, Hex } from "viem";
import { studyEscrowAbi } from "#sdk/generated/abis.ts";
import { enrolmentAttestationTypedData } from "#sdk/study.ts";
import type { GatewayChain } from "../chain/chain.ts";

/** How long an attestation stays valid: enough to sign and send a join, short enough to end with a link. */
export const ATTESTATION_LIFETIME_SECONDS = 15 * 60;

export interface EnrolmentAttestation {
  custodian: Address;
  deadline: bigint;
  signature: Hex;
}

/** Whether the study takes only attested joins (false for an unknown study: the contract refuses it anyway). */
export async function requiresAttestation(chain: GatewayChain, escrow: Address, studyId: bigint): Promise<boolean> {
  const study = await chain.read((c) =>
    c.readContract({ address: escrow, abi: studyEscrowAbi, functionName: "getStudy", args: [studyId] }),
  );
  return study.attestedEnrolment;
}

/**
 * This custodian's attestation that it holds `patient`'s records, for one study. The caller has
 * checked that `patient` is a wallet linked to a patient here.
 */
export async function attestEnrolment(
  chain: GatewayChain,
  escrow: Address,
  patient: Address,
  studyId: bigint,
): Promise<EnrolmentAttestation> {
  const block = await chain.latestBlock();
  const deadline = BigInt(block.timestamp + ATTESTATION_LIFETIME_SECONDS);
  const signature = await chain.account.signTypedData(
    enrolmentAttestationTypedData(
      { chainId: chain.chainId, escrow },
      { patient, studyId, custodian: chain.custodian, deadline },
    ),
  );
  return { custodian: chain.custodian, deadline, signature };
}
