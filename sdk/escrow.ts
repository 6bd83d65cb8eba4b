/**
 * StudyEscrow helpers: the registry scope of a study's research grants, the escrow's enums and
 * skip reasons in plain words, the custodian-share arithmetic, and reads that the app and the
 * gateway share. The EIP-712 typed data of relayed joins and leaves is in `study.ts`; ABIs come
 * from `generated/abis.ts`.
 */
import { type Address, encodeAbiParameters, type Hex, keccak256, type PublicClient } from "viem";

import { remunerationTokenAbi, studyEscrowAbi } from "./generated/abis.ts";

/** The most a study's custodian may take of each price, and the most custodians per study. */
export const MAX_CUSTODIAN_SHARE_BPS = 3_000;
export const MAX_CUSTODIANS = 16;

/** The registry scope of a study's research grants: keccak256(abi.encode(escrow, studyId)). */
export function studyKey(escrow: Address, studyId: bigint): Hex {
  return keccak256(encodeAbiParameters([{ type: "address" }, { type: "uint256" }], [escrow, studyId]));
}

/** IStudyEscrow.StudyStatus. A study is over once its end time has passed; cancelling ends it. */
export const STUDY_STATUS = ["None", "Open", "Cancelled"] as const;
export type StudyStatus = (typeof STUDY_STATUS)[number];

/** IStudyEscrow.ParticipantStatus. */
export const PARTICIPANT_STATUS = ["None", "Joined", "Left"] as const;
export type ParticipantStatus = (typeof PARTICIPANT_STATUS)[number];

/** IStudyEscrow.SkipReason: why a reported delivery paid nothing, in plain words. */
export const SKIP_REASONS = [
  { name: "NotParticipant", display: "the patient is not a current participant of the study" },
  { name: "AlreadyDelivered", display: "this custodian's delivery of this patient was already paid" },
  { name: "BudgetExhausted", display: "the study's budget cannot cover the price" },
  { name: "NoActiveGrant", display: "the patient's research grant for the study is not in force" },
] as const;

/** A share in basis points of a price, as the escrow rounds it (down, in the custodian's disfavour). */
export function custodianShare(price: bigint, shareBps: number): { custodian: bigint; patient: bigint } {
  const custodian = (price * BigInt(shareBps)) / 10_000n;
  return { custodian, patient: price - custodian };
}

/** What a study is now, with its status in words and whether it still takes joins and deliveries. */
export async function readStudy(client: PublicClient, escrow: Address, studyId: bigint) {
  const [study, block] = await Promise.all([
    client.readContract({ address: escrow, abi: studyEscrowAbi, functionName: "getStudy", args: [studyId] }),
    client.getBlock(),
  ]);
  const now = block.timestamp;
  return {
    ...study,
    statusName: STUDY_STATUS[study.status] ?? "None",
    enrolling: study.status === 1 && now < BigInt(study.enrolmentDeadline),
    acceptingDeliveries: study.status === 1 && now < BigInt(study.endTime),
    over: study.status !== 0 && now >= BigInt(study.endTime),
  };
}

/** What `account` may withdraw from the escrow in the study's currency, and the token's symbol. */
export async function readEarnings(client: PublicClient, escrow: Address, token: Address, account: Address) {
  const [amount, symbol, decimals] = await Promise.all([
    client.readContract({ address: escrow, abi: studyEscrowAbi, functionName: "balanceOf", args: [token, account] }),
    client.readContract({ address: token, abi: remunerationTokenAbi, functionName: "symbol" }),
    client.readContract({ address: token, abi: remunerationTokenAbi, functionName: "decimals" }),
  ]);
  return { amount, symbol, decimals };
}
