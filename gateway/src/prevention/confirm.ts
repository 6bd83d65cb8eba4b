/**
 * The custodian's confirmations for a prevention programme (PreventionRewards): for each patient
 * linked to a wallet here who opted in, whether a record here meets the programme's criterion in
 * the period; the confirmations the contract would pay are reported with `reportConfirmations` in
 * batches of at most {@link CONFIRM_BATCH}. No record leaves the gateway: the payer learns only that
 * the criterion was met.
 *
 * 1. The programme is read at the latest block: it must exist and not be over, this gateway's
 *    custodian must be one of its custodians, and the period (by default the one that block falls
 *    in) must have started before its end.
 * 2. The candidates are this gateway's linked wallets on this chain (its own table, never a log
 *    scan) that the contract counts as opted in since before the period's end (a period that ended
 *    before the latest opt-in is not paid), not yet confirmed for the period, and whose consent for
 *    the programme (registry `scopeStatus` with the programme key and the criterion's category) is
 *    in force at that block.
 * 3. A candidate qualifies when one of its records of the criterion's resource type is done
 *    (Immunization completed, Procedure completed, Observation or DiagnosticReport final, amended
 *    or corrected), carries a coding whose system and code hash to the criterion's (keccak256 of
 *    their text, as the contract holds them), and took place within the period.
 * 4. At most `budget / reward` are reported (the contract would skip the rest); the outcome of each
 *    is read from the transaction's events.
 */
import type { CodeableConcept, Coding } from "@medplum/fhirtypes";
import { like } from "drizzle-orm";
import { type Address, type Hex, getAddress, parseEventLogs } from "viem";

import { DID_PKH_EIP155_PREFIX, parseDidPkh } from "#sdk/did-pkh.ts";
import { CONFIRMATION_SKIP_REASONS, criterionHash, periodAt, programmeKey } from "#sdk/prevention.ts";
import { CATEGORIES, CATEGORY_NAMES } from "#sdk/codes.ts";
import { consentRegistryAbi } from "#sdk/generated/abis.ts";
import { preventionRewardsAbi } from "#sdk/generated/prevention-abis.ts";
import type { BlockRef, GatewayChain } from "../chain/chain.ts";
import { conflict, forbidden, notFound } from "../fhir/outcomes.ts";
import { patientWallets } from "../store/schema.ts";
import type { Store } from "../store/store.ts";

/** Patients per `reportConfirmations` transaction (the contract's gas budget is per patient). */
export const CONFIRM_BATCH = 100;

const ALLOWED_REASON = 0; // IConsentRegistry.Reason.Allowed
const OPTED_IN = 1; // IPreventionRewards.EnrolmentStatus.OptedIn

/** The criterion of a programme as the contract holds it. */
export interface Criterion {
  /** The FHIR resource type (a ConsentCodes category name). */
  resourceType: string;
  /** keccak256 of the code system URI and of the code. */
  codeSystem: Hex;
  code: Hex;
}

/** A record as the store gives it back (any of the gateway's FHIR resources). */
type AnyRecord = { resourceType: string } & Record<string, unknown>;

const DONE: Record<string, readonly string[]> = {
  Immunization: ["completed"],
  Procedure: ["completed"],
  Observation: ["final", "amended", "corrected"],
  DiagnosticReport: ["final", "amended", "corrected"],
};

/** The codings that say what the record is, by resource type. */
function codingsOf(record: AnyRecord): Coding[] {
  const concept = (value: unknown) => ((value as CodeableConcept | undefined)?.coding ?? []) as Coding[];
  switch (record.resourceType) {
    case "Immunization":
      return concept(record["vaccineCode"]);
    case "MedicationRequest":
      return concept(record["medicationCodeableConcept"]);
    case "Encounter":
      return ((record["type"] as CodeableConcept[] | undefined) ?? []).flatMap(concept);
    default:
      return concept(record["code"]);
  }
}

/** When the record's care took place (unix seconds), or undefined when it does not say. */
function whenOf(record: AnyRecord): number | undefined {
  const period = (value: unknown) => (value as { start?: string } | undefined)?.start;
  const candidates: Array<unknown> =
    {
      Immunization: [record["occurrenceDateTime"]],
      Procedure: [record["performedDateTime"], period(record["performedPeriod"])],
      Observation: [record["effectiveDateTime"], period(record["effectivePeriod"]), record["issued"]],
      DiagnosticReport: [record["effectiveDateTime"], period(record["effectivePeriod"]), record["issued"]],
      Encounter: [period(record["period"])],
      MedicationRequest: [record["authoredOn"]],
      Condition: [record["onsetDateTime"], record["recordedDate"]],
    }[record.resourceType] ?? [];
  for (const value of candidates) {
    if (typeof value !== "string") continue;
    const ms = Date.parse(value);
    if (!Number.isNaN(ms)) return Math.floor(ms / 1000);
  }
  return undefined;
}

/** Whether `record` meets the criterion within [from, to) (unix seconds). */
export function meetsCriterion(record: AnyRecord, criterion: Criterion, from: number, to: number): boolean {
  if (record.resourceType !== criterion.resourceType) return false;
  const done = DONE[record.resourceType];
  if (done && !done.includes(String(record["status"]))) return false;
  const coded = codingsOf(record).some(
    (c) =>
      c.system !== undefined &&
      c.code !== undefined &&
      criterionHash(c.system) === criterion.codeSystem &&
      criterionHash(c.code) === criterion.code,
  );
  if (!coded) return false;
  const when = whenOf(record);
  return when !== undefined && when >= from && when < to;
}

export interface ConfirmationResult {
  programmeId: bigint;
  period: number;
  /** The programme's purpose of use (a ConsentCodes purpose, as the registry encodes it). */
  purpose: bigint;
  /** Wallets reported and paid now; wallets reported and skipped, with the contract's reason. */
  paid: Address[];
  skipped: Array<{ patient: Address; reason: string }>;
  /** Linked, opted-in patients whose records here do not meet the criterion in the period. */
  notMet: number;
  /**
   * The patients (this gateway's patient ids) whose confirmation was sent to the contract, paid or
   * skipped there: what the payer learnt of them is that the criterion was met.
   */
  reported: Array<{ patient: Address; patientId: string }>;
  transactions: Hex[];
  block: BlockRef;
}

export class PreventionConfirmations {
  readonly #store: Store;
  readonly #chain: GatewayChain;
  readonly #rewards: Address;

  constructor(store: Store, chain: GatewayChain, rewards: Address) {
    this.#store = store;
    this.#chain = chain;
    this.#rewards = getAddress(rewards);
  }

  /** Confirms the programme's `period`, by default the period the latest block falls in. */
  async confirm(programmeId: bigint, requestedPeriod?: number): Promise<ConfirmationResult> {
    const chain = this.#chain;
    const block = await chain.latestBlock();
    const at = { blockNumber: block.number };
    const programme = await chain.read((c) =>
      c.readContract({
        address: this.#rewards,
        abi: preventionRewardsAbi,
        functionName: "getProgramme",
        args: [programmeId],
        ...at,
      }),
    );
    if (programme.payer === "0x0000000000000000000000000000000000000000") {
      throw notFound(`Prevention programme ${programmeId} does not exist`);
    }
    if (block.timestamp >= programme.endTime) throw conflict(`Prevention programme ${programmeId} has ended`);
    const custodians = await chain.read((c) =>
      c.readContract({
        address: this.#rewards,
        abi: preventionRewardsAbi,
        functionName: "programmeCustodians",
        args: [programmeId],
        ...at,
      }),
    );
    if (!custodians.some((c) => c.toLowerCase() === chain.custodian.toLowerCase())) {
      throw forbidden(`This custodian (${chain.custodian}) does not confirm for programme ${programmeId}`);
    }
    if (requestedPeriod === undefined && block.timestamp < programme.firstPeriodStart) {
      throw conflict(`The first period of programme ${programmeId} has not started`);
    }
    const period = requestedPeriod ?? periodAt(programme.firstPeriodStart, programme.periodLength, block.timestamp);
    const from = programme.firstPeriodStart + period * programme.periodLength;
    const to = from + programme.periodLength;
    if (from > block.timestamp || from >= programme.endTime) {
      throw conflict(`Period ${period} of programme ${programmeId} has not started or lies after its end`);
    }
    const resourceType = CATEGORY_NAMES.find((name) => CATEGORIES[name].bit === programme.category);
    if (resourceType === undefined) throw conflict(`Programme ${programmeId} has an unknown resource type`);
    const criterion: Criterion = { resourceType, codeSystem: programme.codeSystem, code: programme.code };

    const key = programmeKey(this.#rewards, programmeId);
    const prefix = `${DID_PKH_EIP155_PREFIX}${chain.chainId}:`;
    const linked = await this.#store.db
      .select({ did: patientWallets.did, patientId: patientWallets.patientId })
      .from(patientWallets)
      .where(like(patientWallets.did, `${prefix}%`));
    const candidates: Array<{ wallet: Address; patientId: string }> = [];
    for (const { did, patientId } of linked) {
      const wallet = parseDidPkh(did).address;
      const [enrolment, confirmed, consent] = await Promise.all([
        chain.read((c) =>
          c.readContract({
            address: this.#rewards,
            abi: preventionRewardsAbi,
            functionName: "getEnrolment",
            args: [programmeId, wallet],
            ...at,
          }),
        ),
        chain.read((c) =>
          c.readContract({
            address: this.#rewards,
            abi: preventionRewardsAbi,
            functionName: "isConfirmed",
            args: [programmeId, wallet, period],
            ...at,
          }),
        ),
        chain.read((c) =>
          c.readContract({
            address: chain.consentRegistry,
            abi: consentRegistryAbi,
            functionName: "scopeStatus",
            args: [wallet, programme.payer, key, programme.category],
            ...at,
          }),
        ),
      ]);
      if (enrolment.status === OPTED_IN && enrolment.optedInAt < to && !confirmed && consent[0] === ALLOWED_REASON) {
        candidates.push({ wallet, patientId });
      }
    }

    let notMet = 0;
    const qualified: Address[] = [];
    const patientIdOf = new Map(candidates.map((c) => [c.wallet, c.patientId]));
    for (const c of candidates) {
      const refs = await this.#store.compartmentRefs([c.patientId], [resourceType as never]);
      let met = false;
      for (let i = 0; i < refs.length && !met; i += 500) {
        const records = await this.#store.recordsByRef(refs.slice(i, i + 500));
        for (const record of records()) {
          if (meetsCriterion(record as unknown as AnyRecord, criterion, from, to)) {
            met = true;
            break;
          }
        }
      }
      if (met) qualified.push(c.wallet);
      else notMet++;
    }

    const payable = Number(programme.reward > 0n ? programme.budget / programme.reward : 0n);
    const reported = qualified.slice(0, payable);
    const skipped: ConfirmationResult["skipped"] = qualified
      .slice(payable)
      .map((patient) => ({ patient, reason: "BudgetExhausted" }));
    const paid: Address[] = [];
    const transactions: Hex[] = [];
    for (let i = 0; i < reported.length; i += CONFIRM_BATCH) {
      const batch = reported.slice(i, i + CONFIRM_BATCH);
      const sent = await chain.send({
        address: this.#rewards,
        abi: preventionRewardsAbi,
        functionName: "reportConfirmations",
        args: [programmeId, period, batch],
      });
      transactions.push(sent.hash);
      const receipt = await chain.read((c) => c.getTransactionReceipt({ hash: sent.hash }));
      const events = parseEventLogs({ abi: preventionRewardsAbi, logs: receipt.logs }).filter(
        (e) => e.address.toLowerCase() === this.#rewards.toLowerCase(),
      );
      for (const e of events) {
        if (e.eventName === "ConfirmationPaid" && e.args.programmeId === programmeId) paid.push(e.args.patient);
        if (e.eventName === "ConfirmationSkipped" && e.args.programmeId === programmeId) {
          skipped.push({ patient: e.args.patient, reason: CONFIRMATION_SKIP_REASONS[e.args.reason] ?? "unknown" });
        }
      }
    }
    const disclosed = reported.map((patient) => ({ patient, patientId: patientIdOf.get(patient)! }));
    return {
      programmeId,
      period,
      purpose: BigInt(programme.purpose),
      paid,
      skipped,
      notMet,
      reported: disclosed,
      transactions,
      block,
    };
  }
}
