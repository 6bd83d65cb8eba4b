/**
 * A research fund's settings as its creator chooses them, and the bounds ResearchFund's constructor
 * enforces (contracts/ResearchFund.sol; test/contracts/ResearchFund.ts checks that these are the
 * contract's own constants), so that a form refuses in words before anything is signed.
 * Browser-safe: nothing here reads the chain or the indexer.
 */

const HOUR = 3_600;
const DAY = 86_400;

/** The contract's bounds (ResearchFund.MIN_…/MAX_…), times in seconds. */
export const FUND_BOUNDS = {
  maxCauseBytes: 200,
  minQuorumPercent: 4,
  maxQuorumPercent: 100,
  minVotingPeriod: HOUR,
  maxVotingPeriod: 30 * DAY,
  minTimelockDelay: HOUR,
  maxTimelockDelay: 30 * DAY,
  /** The latest end, from now. */
  maxDuration: 3_650 * DAY,
  /** The largest goal, in the currency's smallest unit (2^128 - 1). */
  maxGoal: 2n ** 128n - 1n,
} as const;

/** What the transaction may take to be mined: an end this close to the earliest is refused here. */
export const END_MARGIN_SECONDS = 10 * 60;

/** ResearchFund's FundParams, the argument of ResearchFundFactory.createFund. */
export interface FundSettings {
  cause: string;
  currency: `0x${string}`;
  goal: bigint;
  /** Unix seconds. */
  end: number;
  quorumPercent: number;
  /** Seconds. */
  votingPeriod: number;
  /** Seconds. */
  timelockDelay: number;
}

export type FundSettingsField = "cause" | "goal" | "end" | "quorumPercent" | "votingPeriod" | "timelockDelay";

export interface FundSettingsProblem {
  field: FundSettingsField;
  message: string;
}

/** "3 days", "36 hours", "1 hour". */
export function durationWords(seconds: number): string {
  if (seconds % DAY === 0) return `${seconds / DAY} day${seconds === DAY ? "" : "s"}`;
  if (seconds % HOUR === 0) return `${seconds / HOUR} hour${seconds === HOUR ? "" : "s"}`;
  return `${Math.round(seconds / 60)} minutes`;
}

/** UTF-8 bytes, as the contract counts a string. */
export const utf8Bytes = (text: string) => new TextEncoder().encode(text).length;

/**
 * What the contract would refuse in `settings` at chain time `now` (unix seconds), one sentence per
 * field; empty when the fund can be created. The end must leave room for one vote and its timelock
 * delay after the transaction is mined (END_MARGIN_SECONDS for that), and be within ten years.
 */
export function checkFundSettings(settings: Omit<FundSettings, "currency">, now: number): FundSettingsProblem[] {
  const b = FUND_BOUNDS;
  const problems: FundSettingsProblem[] = [];
  const add = (field: FundSettingsField, message: string) => problems.push({ field, message });
  const causeBytes = utf8Bytes(settings.cause);
  if (settings.cause.trim() === "") add("cause", "Say what the fund is for (its cause).");
  else if (causeBytes > b.maxCauseBytes)
    add("cause", `Keep the cause to ${b.maxCauseBytes} bytes (it is ${causeBytes}): a short heading, not a document.`);
  if (settings.goal <= 0n) add("goal", "The goal must be more than zero.");
  else if (settings.goal > b.maxGoal) add("goal", "The goal is too large.");
  const { quorumPercent: q, votingPeriod: v, timelockDelay: t } = settings;
  if (!Number.isInteger(q) || q < b.minQuorumPercent || q > b.maxQuorumPercent)
    add("quorumPercent", `The quorum must be a whole number from ${b.minQuorumPercent} to ${b.maxQuorumPercent} %.`);
  const votingOk = Number.isInteger(v) && v >= b.minVotingPeriod && v <= b.maxVotingPeriod;
  if (!votingOk)
    add(
      "votingPeriod",
      `Voting must last from ${durationWords(b.minVotingPeriod)} to ${durationWords(b.maxVotingPeriod)}.`,
    );
  const delayOk = Number.isInteger(t) && t >= b.minTimelockDelay && t <= b.maxTimelockDelay;
  if (!delayOk)
    add(
      "timelockDelay",
      `The timelock delay must be from ${durationWords(b.minTimelockDelay)} to ${durationWords(b.maxTimelockDelay)}.`,
    );
  if (!Number.isInteger(settings.end)) add("end", "Choose the day the fund ends.");
  else if (settings.end > now + b.maxDuration) add("end", "A fund may run for at most ten years.");
  else if (votingOk && delayOk && settings.end <= now + v + t + END_MARGIN_SECONDS)
    add(
      "end",
      `The fund must end more than ${durationWords(v + t)} from now: room for one vote (${durationWords(v)}) and its timelock delay (${durationWords(t)}).`,
    );
  else if (settings.end <= now + END_MARGIN_SECONDS) add("end", "The fund must end in the future.");
  return problems;
}
