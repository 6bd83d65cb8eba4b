/**
 * Prevention programmes (PreventionRewards, PreventionBadge), shared by the patient's page
 * (/prevention) and the payer console (/payer), and by no page of the first load of `/`: the
 * contracts' addresses, the lists from the indexer (sdk/history.ts through the app's server) and
 * a programme's criterion and periods in words, and the gasless opt-in and opt-out (signed by the
 * patient, sent by a custodian's gateway through ./relay.ts).
 */
import type { Address, Hash } from "viem";
import type { Config } from "wagmi";
import { readContract, simulateContract } from "wagmi/actions";

import type { ChainReader } from "#sdk/chain-reader.ts";
import { CATEGORIES, CATEGORY_NAMES, type CategoryName } from "#sdk/codes.ts";
import { preventionRewardsAbi } from "#sdk/generated/prevention-abis.ts";
import type { PatientPrevention, ProgrammeListing } from "#sdk/history.ts";
import { type PreventiveAction, findPreventiveAction, periodAt } from "#sdk/prevention.ts";
import { nowSeconds } from "./clock.ts";
import { formatDate } from "./dates.ts";
import { useHistory } from "./history.ts";
import { type Relayer, SIGNATURE_LIFETIME_SECONDS, revocationNonce, signAndRelay } from "./relay.ts";
import type { Step } from "./tx.ts";
import { appChain, deployedOn, rewardsAddress } from "./wagmi.ts";

/** PreventionRewards on the app's chain; null if not deployed. */
export { rewardsAddress };
/** PreventionBadge on the app's chain; null if not deployed. */
export const badgeAddress: Address | null = deployedOn(appChain.id, "PreventionBadge");

export type { PatientPrevention, ProgrammeListing };

/** Every programme, or one payer's, as the indexer had them at its block's time (`timestamp`). */
export function useProgrammes(payer?: Address) {
  return useHistory<{ blockNumber: bigint; timestamp: number; programmes: ProgrammeListing[] }>(
    "programmes",
    rewardsAddress ? (payer ? { payer } : {}) : null,
  );
}

/** The patient's opt-ins, paid confirmations, badges and balances in the programmes. */
export function usePatientPrevention(patient: Address | undefined) {
  return useHistory<PatientPrevention>("patient-prevention", rewardsAddress && patient ? { patient } : null);
}

/** A programme's confirmations per period: how many were paid (and for how much) and skipped. */
export function useProgrammeCompletions(programmeId: bigint) {
  return useHistory<{ period: number; paid: number; skipped: number; amount: bigint }[]>(
    "programme-completions",
    rewardsAddress ? { programme: programmeId.toString() } : null,
  );
}

/** The FHIR resource type of a programme's criterion (its ConsentCodes category index). */
export function criterionType(programme: Pick<ProgrammeListing, "category">): CategoryName | undefined {
  return CATEGORY_NAMES.find((name) => CATEGORIES[name].bit === programme.category);
}

/** The programme's preventive action, when it is one the app knows (sdk PREVENTIVE_ACTIONS). */
export function programmeAction(
  programme: Pick<ProgrammeListing, "codeSystem" | "code">,
): PreventiveAction | undefined {
  return findPreventiveAction(programme.codeSystem, programme.code);
}

/** What counts, as a noun phrase: "a flu vaccination", or the record type for a code the app does not know. */
export function actionWords(programme: Pick<ProgrammeListing, "codeSystem" | "code" | "category">): string {
  const action = programmeAction(programme);
  if (action) return action.words;
  const type = criterionType(programme);
  return type ? `a coded record among your ${CATEGORIES[type].display}` : "a coded record";
}

/** The code it counts, as people cite it ("CVX 141"), or "a code this app does not list". */
export function codeWords(programme: Pick<ProgrammeListing, "codeSystem" | "code">): string {
  return programmeAction(programme)?.codeName ?? "a code this app does not list";
}

/** The period `timestamp` falls in, or null before the first period. */
export function periodOf(programme: Pick<ProgrammeListing, "firstPeriodStart" | "periodLength">, timestamp: number) {
  if (timestamp < programme.firstPeriodStart) return null;
  return periodAt(programme.firstPeriodStart, programme.periodLength, timestamp);
}

/** A period's first second and the first second after it. */
export function periodBounds(
  programme: Pick<ProgrammeListing, "firstPeriodStart" | "periodLength">,
  period: number,
): { start: number; end: number } {
  const start = programme.firstPeriodStart + period * programme.periodLength;
  return { start, end: start + programme.periodLength };
}

/** "between 1 September 2026 and 31 August 2027": a period's first and last day. */
export function periodBetween(
  programme: Pick<ProgrammeListing, "firstPeriodStart" | "periodLength">,
  period: number,
): string {
  const { start, end } = periodBounds(programme, period);
  return `between ${formatDate(start)} and ${formatDate(end - 1)}`;
}

/** "1 September 2026 to 31 August 2027": a period's first and last day. */
export function periodWords(
  programme: Pick<ProgrammeListing, "firstPeriodStart" | "periodLength">,
  period: number,
): string {
  const { start, end } = periodBounds(programme, period);
  return `${formatDate(start)} to ${formatDate(end - 1)}`;
}

const DAY = 86_400;

/** The period lengths the payer console offers, and how a period of each is said. */
export const PERIOD_LENGTHS = [
  { days: 365, words: "year" },
  { days: 182, words: "half year" },
  { days: 91, words: "quarter" },
  { days: 30, words: "month" },
] as const;

/** "year", "quarter", or "period of 10 days". */
export function periodLengthWords(seconds: number): string {
  const known = PERIOD_LENGTHS.find((p) => p.days * DAY === seconds);
  if (known) return known.words;
  const days = seconds / DAY;
  return Number.isInteger(days) ? `period of ${days} ${days === 1 ? "day" : "days"}` : `period of ${seconds} seconds`;
}

/** The state of a programme on its badge. */
export function programmeState(programme: Pick<ProgrammeListing, "cancelled" | "over">): string {
  return programme.cancelled ? "Cancelled" : programme.over ? "Ended" : "Open";
}

/**
 * What a signed withdrawal of prevention rewards needs, as sdk/escrow.ts `readWithdrawal` reads it
 * for research earnings: the patient's nonce in the lane of signed withdrawals (programme 0's,
 * `getEnrolment(0, patient)`), the fee cap and the balance. Here, not in the sdk's escrow.ts, so
 * that PreventionRewards' ABI stays out of the patient portal's first load (`/`).
 */
export async function readPreventionWithdrawal(
  client: ChainReader,
  rewards: Address,
  token: Address,
  patient: Address,
): Promise<{ nonce: bigint; feeCap: bigint; amount: bigint }> {
  const read = { address: rewards, abi: preventionRewardsAbi } as const;
  const [enrolment, feeCap, amount] = await Promise.all([
    client.readContract({ ...read, functionName: "getEnrolment", args: [0n, patient] }),
    client.readContract({ ...read, functionName: "withdrawFeeCap", args: [token] }),
    client.readContract({ ...read, functionName: "balanceOf", args: [token, patient] }),
  ]);
  return { nonce: BigInt(enrolment.nonce), feeCap, amount };
}

/** The patient's nonce for signatures in a programme (programme 0: signed withdrawals). */
async function programmeNonce(config: Config, programmeId: bigint, patient: Address): Promise<bigint> {
  const { nonce } = await readContract(config, {
    address: rewardsAddress!,
    abi: preventionRewardsAbi,
    functionName: "getEnrolment",
    args: [programmeId, patient],
    chainId: appChain.id,
  });
  return BigInt(nonce);
}

/**
 * An opt-in signed by the patient and relayed by `relayer` (a custodian that confirms for the
 * programme and holds her record): the same checks as a direct opt-in first, then the wallet shows
 * the programme's terms as the contract holds them; the signature also binds her registry
 * revocation nonce, so a revoke-all before it is sent voids it.
 */
export async function relayOptIn(
  config: Config,
  step: Step,
  relayer: Relayer,
  patient: Address,
  programmeId: bigint,
): Promise<{ relayed: Hash }> {
  const at = { address: rewardsAddress!, abi: preventionRewardsAbi, chainId: appChain.id } as const;
  await simulateContract(config, { ...at, functionName: "optIn", args: [programmeId], account: patient });
  const [terms, registryNonce, nonce] = await Promise.all([
    readContract(config, { ...at, functionName: "getProgramme", args: [programmeId] }),
    revocationNonce(config, patient),
    programmeNonce(config, programmeId, patient),
  ]);
  const deadline = BigInt(nowSeconds() + SIGNATURE_LIFETIME_SECONDS);
  return signAndRelay(
    config,
    step,
    relayer,
    "prevention-opt-in",
    { programmeId, patient, terms, registryNonce, nonce, deadline },
    "Sign the request to join in your wallet (no fee)…",
  );
}

/** An opt-out signed by the patient and relayed (any custodian's gateway relays one). */
export async function relayOptOut(
  config: Config,
  step: Step,
  relayer: Relayer,
  patient: Address,
  programmeId: bigint,
): Promise<{ relayed: Hash }> {
  await simulateContract(config, {
    address: rewardsAddress!,
    abi: preventionRewardsAbi,
    functionName: "optOut",
    args: [programmeId],
    account: patient,
    chainId: appChain.id,
  });
  const nonce = await programmeNonce(config, programmeId, patient);
  const deadline = BigInt(nowSeconds() + SIGNATURE_LIFETIME_SECONDS);
  return signAndRelay(
    config,
    step,
    relayer,
    "prevention-opt-out",
    { programmeId, patient, nonce, deadline },
    "Sign the request to leave in your wallet (no fee)…",
  );
}
