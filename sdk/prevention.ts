/**
 * Prevention programmes (PreventionRewards, PreventionBadge): the EIP-712 typed data of a
 * patient's signed opt-in and opt-out, ready for viem's `signTypedData` (the type strings match
 * OPT_IN_TYPEHASH and OPT_OUT_TYPEHASH in PreventionRewards.sol; the nonce is the patient's
 * per-programme nonce, `getEnrolment(programmeId, patient).nonce`, and an opt-in's
 * `registryNonce` the patient's `ConsentRegistry.revocationNonce`, which a revoke-all or a
 * signature cancellation in the registry moves on, voiding the opt-in signature), the programme's
 * registry scope, a criterion's on-chain hashes and a badge's token id.
 */
import { type Address, type Hex, encodeAbiParameters, keccak256, toHex } from "viem";

export const PREVENTION_REWARDS_DOMAIN_NAME = "Consentry PreventionRewards";
export const PREVENTION_REWARDS_DOMAIN_VERSION = "1";

export const preventionTypes = {
  OptIn: [
    { name: "programmeId", type: "uint256" },
    { name: "patient", type: "address" },
    { name: "terms", type: "Terms" },
    { name: "registryNonce", type: "uint64" },
    { name: "nonce", type: "uint64" },
    { name: "deadline", type: "uint256" },
  ],
  Terms: [
    { name: "payer", type: "address" },
    { name: "category", type: "uint8" },
    { name: "codeSystem", type: "bytes32" },
    { name: "code", type: "bytes32" },
    { name: "reward", type: "uint128" },
    { name: "currency", type: "address" },
    { name: "endTime", type: "uint40" },
  ],
  OptOut: [
    { name: "programmeId", type: "uint256" },
    { name: "patient", type: "address" },
    { name: "nonce", type: "uint64" },
    { name: "deadline", type: "uint256" },
  ],
} as const;

/** IPreventionRewards.EnrolmentStatus, by index. */
export const ENROLMENT_STATUS = ["None", "OptedIn", "OptedOut"] as const;
export type EnrolmentStatus = (typeof ENROLMENT_STATUS)[number];

/** IPreventionRewards.SkipReason, by index. */
export const CONFIRMATION_SKIP_REASONS = [
  "NotOptedIn",
  "AlreadyPaid",
  "BudgetExhausted",
  "NoActiveConsent",
  "PeriodBeforeOptIn",
] as const;

/** The most custodians a programme may allow (PreventionRewards.MAX_CUSTODIANS). */
export const MAX_PROGRAMME_CUSTODIANS = 16;

export function preventionRewardsDomain({ chainId, rewards }: { chainId: number; rewards: Address }) {
  return {
    name: PREVENTION_REWARDS_DOMAIN_NAME,
    version: PREVENTION_REWARDS_DOMAIN_VERSION,
    chainId,
    verifyingContract: rewards,
  } as const;
}

/** The registry scope of a programme's consents: keccak256(abi.encode(rewards, programmeId)). */
export function programmeKey(rewards: Address, programmeId: bigint): Hex {
  return keccak256(encodeAbiParameters([{ type: "address" }, { type: "uint256" }], [rewards, programmeId]));
}

/** A criterion's code system URI or code as the contract holds it: keccak256 of its UTF-8 text. */
export function criterionHash(text: string): Hex {
  return keccak256(toHex(text));
}

/** The CVX code system (vaccines administered), as FHIR names it. */
export const CVX_SYSTEM = "http://hl7.org/fhir/sid/cvx";

/** The token id of a badge: programmeId << 192 | period << 160 | patient (PreventionBadge.badgeId). */
export function badgeId(programmeId: bigint, period: number, patient: Address): bigint {
  return (programmeId << 192n) | (BigInt(period) << 160n) | BigInt(patient);
}

/** The period a time falls in: floor((timestamp - firstPeriodStart) / periodLength). */
export function periodAt(firstPeriodStart: number, periodLength: number, timestamp: number): number {
  if (timestamp < firstPeriodStart) throw new RangeError("the time is before the programme's first period");
  return Math.floor((timestamp - firstPeriodStart) / periodLength);
}
