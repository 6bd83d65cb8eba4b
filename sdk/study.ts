/**
 * EIP-712 typed data for the patient's signed study actions (StudyEscrow.joinBySig / leaveBySig),
 * ready for viem's `signTypedData`. The type strings match JOIN_TYPEHASH and LEAVE_TYPEHASH in
 * StudyEscrow.sol; the nonce is the patient's per-study nonce (`getParticipant(studyId, patient).nonce`).
 */
import type { Address } from "viem";

export const STUDY_ESCROW_DOMAIN_NAME = "Consentry StudyEscrow";
export const STUDY_ESCROW_DOMAIN_VERSION = "1";

export const studyTypes = {
  Join: [
    { name: "studyId", type: "uint256" },
    { name: "patient", type: "address" },
    { name: "nonce", type: "uint64" },
    { name: "deadline", type: "uint256" },
  ],
  Leave: [
    { name: "studyId", type: "uint256" },
    { name: "patient", type: "address" },
    { name: "nonce", type: "uint64" },
    { name: "deadline", type: "uint256" },
  ],
} as const;

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

export function joinTypedData(domain: StudyEscrowDomainInput, message: StudyActionMessage) {
  return { domain: studyEscrowDomain(domain), types: studyTypes, primaryType: "Join", message } as const;
}

export function leaveTypedData(domain: StudyEscrowDomainInput, message: StudyActionMessage) {
  return { domain: studyEscrowDomain(domain), types: studyTypes, primaryType: "Leave", message } as const;
}
