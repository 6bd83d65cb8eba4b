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

import { type WithdrawMessage, studyTypes } from "./study.ts";

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

export interface PreventionDomainInput {
  chainId: number;
  rewards: Address;
}

/** A signed opt-out (and what an opt-in adds to it): the nonce is `getEnrolment(programmeId, patient).nonce`. */
export interface ProgrammeActionMessage {
  programmeId: bigint;
  patient: Address;
  nonce: bigint;
  deadline: bigint;
}

/** The programme's terms an OptIn signs, as `getProgramme(programmeId)` returns them (extra fields ignored). */
export interface ProgrammeTerms {
  payer: Address;
  category: number | bigint;
  codeSystem: Hex;
  code: Hex;
  reward: bigint;
  currency: Address;
  endTime: number | bigint;
}

export interface OptInMessage extends ProgrammeActionMessage {
  terms: ProgrammeTerms;
  /** The patient's `ConsentRegistry.revocationNonce` (a revoke-all or a cancellation there voids the signature). */
  registryNonce: bigint;
}

/** A signed opt-in (PreventionRewards.optInBySig): the wallet shows the programme's terms. */
export function optInTypedData(domain: PreventionDomainInput, message: OptInMessage) {
  const { terms, ...action } = message;
  return {
    domain: preventionRewardsDomain(domain),
    types: { OptIn: preventionTypes.OptIn, Terms: preventionTypes.Terms },
    primaryType: "OptIn",
    message: {
      ...action,
      terms: {
        payer: terms.payer,
        category: Number(terms.category),
        codeSystem: terms.codeSystem,
        code: terms.code,
        reward: terms.reward,
        currency: terms.currency,
        endTime: Number(terms.endTime),
      },
    },
  } as const;
}

/** A signed opt-out (PreventionRewards.optOutBySig). */
export function optOutTypedData(domain: PreventionDomainInput, message: ProgrammeActionMessage) {
  return {
    domain: preventionRewardsDomain(domain),
    types: { OptOut: preventionTypes.OptOut },
    primaryType: "OptOut",
    message,
  } as const;
}

/**
 * A withdrawal of prevention rewards relayed by `relayer` for `fee` (PreventionRewards.withdrawBySig):
 * the accounting core's Withdraw type, as for research earnings, in the PreventionRewards' domain;
 * the nonce is `getEnrolment(0, patient).nonce` (programme 0: the lane of signed withdrawals).
 */
export function preventionWithdrawTypedData(domain: PreventionDomainInput, message: WithdrawMessage) {
  return {
    domain: preventionRewardsDomain(domain),
    types: { Withdraw: studyTypes.Withdraw },
    primaryType: "Withdraw",
    message,
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

/** LOINC (laboratory tests and observations), as FHIR names it. */
export const LOINC_SYSTEM = "http://loinc.org";
/** SNOMED CT (clinical terms, among them procedures), as FHIR names it. */
export const SNOMED_SYSTEM = "http://snomed.info/sct";

/** A preventive action a programme can reward: one code of a code system, in one resource type. */
export interface PreventiveAction {
  /** A stable key (form values, tests). */
  id: string;
  /** What counts, for a patient, as a noun phrase: "a flu vaccination". */
  words: string;
  /** The FHIR resource type that records it (a ConsentCodes category). */
  resourceType: "Immunization" | "Observation" | "Procedure";
  system: string;
  code: string;
  /** The code's display in its system. */
  display: string;
  /** The code as people cite it: "CVX 141". */
  codeName: string;
}

/**
 * The short list of preventive actions the payer console offers (a programme rewards one code):
 * seasonal flu vaccines (CVX), the HbA1c test of people with diabetes (LOINC 4548-4) and
 * colorectal cancer screening by colonoscopy (SNOMED CT 73761001). The contract holds only the
 * hashes of the system and the code; `findPreventiveAction` names a programme's criterion again.
 */
export const PREVENTIVE_ACTIONS: readonly PreventiveAction[] = [
  {
    id: "flu-141",
    words: "a flu vaccination",
    resourceType: "Immunization",
    system: CVX_SYSTEM,
    code: "141",
    display: "Influenza, seasonal, injectable",
    codeName: "CVX 141",
  },
  {
    id: "flu-140",
    words: "a flu vaccination",
    resourceType: "Immunization",
    system: CVX_SYSTEM,
    code: "140",
    display: "Influenza, seasonal, injectable, preservative free",
    codeName: "CVX 140",
  },
  {
    id: "flu-150",
    words: "a flu vaccination",
    resourceType: "Immunization",
    system: CVX_SYSTEM,
    code: "150",
    display: "Influenza, injectable, quadrivalent, preservative free",
    codeName: "CVX 150",
  },
  {
    id: "flu-158",
    words: "a flu vaccination",
    resourceType: "Immunization",
    system: CVX_SYSTEM,
    code: "158",
    display: "Influenza, injectable, quadrivalent, contains preservative",
    codeName: "CVX 158",
  },
  {
    id: "hba1c",
    words: "an HbA1c blood test (long-term blood sugar)",
    resourceType: "Observation",
    system: LOINC_SYSTEM,
    code: "4548-4",
    display: "Hemoglobin A1c/Hemoglobin.total in Blood",
    codeName: "LOINC 4548-4",
  },
  {
    id: "colonoscopy",
    words: "a bowel cancer screening by colonoscopy",
    resourceType: "Procedure",
    system: SNOMED_SYSTEM,
    code: "73761001",
    display: "Colonoscopy",
    codeName: "SNOMED CT 73761001",
  },
];

let actionsByHash: Map<string, PreventiveAction> | undefined;

/** The preventive action of a criterion as the contract holds it (hashes of system and code), if listed. */
export function findPreventiveAction(codeSystem: Hex, code: Hex): PreventiveAction | undefined {
  actionsByHash ??= new Map(
    PREVENTIVE_ACTIONS.map((a) => [`${criterionHash(a.system)}:${criterionHash(a.code)}`, a] as const),
  );
  return actionsByHash.get(`${codeSystem.toLowerCase()}:${code.toLowerCase()}`);
}

/** The start (00:00 UTC) of the flu season a time falls in: the latest 1 September at or before it. */
export function fluSeasonStart(timestamp: number): number {
  const now = new Date(timestamp * 1000);
  const year = now.getUTCMonth() >= 8 ? now.getUTCFullYear() : now.getUTCFullYear() - 1;
  return Date.UTC(year, 8, 1) / 1000;
}
