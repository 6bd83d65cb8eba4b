/**
 * EIP-712 typed data for the patient's signed study actions (StudyEscrow.joinBySig / leaveBySig),
 * and for a custodian's attestation that it holds a patient (joinAttested / joinBySigAttested),
 * ready for viem's `signTypedData`. The type strings match JOIN_TYPEHASH and LEAVE_TYPEHASH in
 * StudyEscrow.sol; the nonce is the patient's per-study nonce (`getParticipant(studyId, patient).nonce`).
 * A Join carries the study's terms as the escrow holds them (`getStudy`) as a nested `Terms`
 * struct: the wallet shows the patient every field, and the signature is worth nothing for a study
 * with other terms. The escrow hashes the terms once, when the study is created, and a join reads
 * that hash (StudyEscrow.TERMS_TYPEHASH); what the wallet signs is the same either way. A Join's
 * `registryNonce` is the patient's `ConsentRegistry.revocationNonce`, which a revoke-all or a
 * signature cancellation in the registry moves on, voiding the Join signature.
 */
import type { Address } from "viem";

export const STUDY_ESCROW_DOMAIN_NAME = "Consentry StudyEscrow";
export const STUDY_ESCROW_DOMAIN_VERSION = "1";

export const studyTypes = {
  Join: [
    { name: "studyId", type: "uint256" },
    { name: "patient", type: "address" },
    { name: "terms", type: "Terms" },
    { name: "registryNonce", type: "uint64" },
    { name: "nonce", type: "uint64" },
    { name: "deadline", type: "uint256" },
  ],
  Terms: [
    { name: "researcher", type: "address" },
    { name: "purpose", type: "uint64" },
    { name: "categories", type: "uint32" },
    { name: "price", type: "uint128" },
    { name: "endTime", type: "uint40" },
    { name: "protocolHash", type: "bytes32" },
  ],
  Leave: [
    { name: "studyId", type: "uint256" },
    { name: "patient", type: "address" },
    { name: "nonce", type: "uint64" },
    { name: "deadline", type: "uint256" },
  ],
  /** A custodian's GATEWAY member confirms it holds the patient's records (StudyEscrow.ATTESTATION_TYPEHASH). */
  EnrolmentAttestation: [
    { name: "patient", type: "address" },
    { name: "studyId", type: "uint256" },
    { name: "custodian", type: "address" },
    { name: "deadline", type: "uint256" },
  ],
  /**
   * A patient's withdrawal sent by a relayer that takes `fee` of it (StudyEscrow.WITHDRAW_TYPEHASH);
   * `relayer` must be the sender, the nonce is `getParticipant(0, patient).nonce` (WITHDRAW_NONCE_LANE).
   */
  Withdraw: [
    { name: "patient", type: "address" },
    { name: "token", type: "address" },
    { name: "fee", type: "uint256" },
    { name: "relayer", type: "address" },
    { name: "nonce", type: "uint64" },
    { name: "deadline", type: "uint256" },
  ],
} as const;

/** The "study" id whose participant nonce counts a patient's signed withdrawals (no study has it). */
export const WITHDRAW_NONCE_LANE = 0n;

export interface StudyEscrowDomainInput {
  chainId: number;
  escrow: Address;
}

export function studyEscrowDomain({ chainId, escrow }: StudyEscrowDomainInput) {
  return {
    name: STUDY_ESCROW_DOMAIN_NAME,
    version: STUDY_ESCROW_DOMAIN_VERSION,
    chainId,
    verifyingContract: escrow,
  } as const;
}

export interface StudyActionMessage {
  studyId: bigint;
  patient: Address;
  nonce: bigint;
  deadline: bigint;
}

/** The study's terms a Join signs, as `getStudy(studyId)` returns them. */
export interface StudyTerms {
  researcher: Address;
  purpose: bigint;
  categories: number | bigint;
  price: bigint;
  endTime: number | bigint;
  protocolHash: `0x${string}`;
}

/** What a patient signs to join: the study's terms and the registry's revocation nonce besides the action's fields. */
export interface JoinMessage extends StudyActionMessage {
  terms: StudyTerms;
  /** The patient's `ConsentRegistry.revocationNonce` now. */
  registryNonce: bigint;
}

export function joinTypedData(domain: StudyEscrowDomainInput, message: JoinMessage) {
  const { terms, ...action } = message;
  return {
    domain: studyEscrowDomain(domain),
    types: { Join: studyTypes.Join, Terms: studyTypes.Terms },
    primaryType: "Join",
    message: {
      ...action,
      terms: {
        researcher: terms.researcher,
        purpose: terms.purpose,
        categories: Number(terms.categories),
        price: terms.price,
        endTime: Number(terms.endTime),
        protocolHash: terms.protocolHash,
      },
    },
  } as const;
}

export function leaveTypedData(domain: StudyEscrowDomainInput, message: StudyActionMessage) {
  return {
    domain: studyEscrowDomain(domain),
    types: { Leave: studyTypes.Leave },
    primaryType: "Leave",
    message,
  } as const;
}

export interface EnrolmentAttestationMessage {
  patient: Address;
  studyId: bigint;
  /** The custodian organization whose GATEWAY member signs. */
  custodian: Address;
  deadline: bigint;
}

/**
 * The attestation a custodian's gateway signs (its GATEWAY member key) for a patient it holds, so
 * that the patient may join a study created with `attestedEnrolment` (`joinAttested`,
 * `joinBySigAttested`). Not the patient's signature: the patient still signs its own Join.
 */
export function enrolmentAttestationTypedData(domain: StudyEscrowDomainInput, message: EnrolmentAttestationMessage) {
  return {
    domain: studyEscrowDomain(domain),
    types: { EnrolmentAttestation: studyTypes.EnrolmentAttestation },
    primaryType: "EnrolmentAttestation",
    message,
  } as const;
}

export interface WithdrawMessage {
  patient: Address;
  token: Address;
  /** What the relayer takes of the withdrawn balance, in the token's smallest unit. */
  fee: bigint;
  /** The only account that may send it (and takes the fee). */
  relayer: Address;
  nonce: bigint;
  deadline: bigint;
}

/** A withdrawal of the patient's whole balance of `token`, relayed by `relayer` for `fee` (StudyEscrow.withdrawBySig). */
export function withdrawTypedData(domain: StudyEscrowDomainInput, message: WithdrawMessage) {
  return {
    domain: studyEscrowDomain(domain),
    types: { Withdraw: studyTypes.Withdraw },
    primaryType: "Withdraw",
    message,
  } as const;
}
