/**
 * StudyEscrow helpers: the registry scope of a study's research grants, the escrow's enums and
 * skip reasons in plain words, the custodian-share arithmetic, and reads that the app and the
 * gateway share. The EIP-712 typed data of relayed joins and leaves is in `study.ts`; ABIs come
 * from `generated/abis.ts`.
 */
import { type Address, encodeAbiParameters, type Hex, keccak256 } from "viem";

import type { ChainReader } from "./chain-reader.ts";
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
export async function readStudy(client: ChainReader, escrow: Address, studyId: bigint) {
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
export async function readEarnings(client: ChainReader, escrow: Address, token: Address, account: Address) {
  const [amount, symbol, decimals] = await Promise.all([
    client.readContract({ address: escrow, abi: studyEscrowAbi, functionName: "balanceOf", args: [token, account] }),
    client.readContract({ address: token, abi: remunerationTokenAbi, functionName: "symbol" }),
    client.readContract({ address: token, abi: remunerationTokenAbi, functionName: "decimals" }),
  ]);
  return { amount, symbol, decimals };
}

/** A study as the app lists it: the stored study, its custodians, and its state at one block. */
export interface StudyListing {
  id: bigint;
  researcher: Address;
  purpose: bigint;
  categories: number;
  currency: Address;
  enrolmentDeadline: number;
  endTime: number;
  statusName: StudyStatus;
  price: bigint;
  budget: bigint;
  maxParticipants: number;
  /** The places taken now: a participant who left freed its place. */
  participants: number;
  protocolHash: Hex;
  custodians: { custodian: Address; shareBps: number }[];
  /** Joins need one of its custodians' attestation that it holds the patient's records. */
  attestedEnrolment: boolean;
  /** Open and before the enrolment deadline: takes joins. */
  enrolling: boolean;
  /** Past its end (a cancelled study ended when it was cancelled). */
  over: boolean;
}

/** Every study of the escrow (ids 1..studyCount) at one block, with the chain's time then. */
export async function readStudies(
  client: ChainReader,
  escrow: Address,
): Promise<{ blockNumber: bigint; timestamp: number; studies: StudyListing[] }> {
  const block = await client.getBlock({ blockTag: "latest" });
  const blockNumber = block.number;
  const read = { address: escrow, abi: studyEscrowAbi, blockNumber } as const;
  const count = await client.readContract({ ...read, functionName: "studyCount" });
  const ids = Array.from({ length: Number(count) }, (_, i) => BigInt(i + 1));
  const [studies, custodians] = await Promise.all([
    Promise.all(ids.map((id) => client.readContract({ ...read, functionName: "getStudy", args: [id] }))),
    Promise.all(ids.map((id) => client.readContract({ ...read, functionName: "studyCustodians", args: [id] }))),
  ]);
  const now = Number(block.timestamp);
  return {
    blockNumber,
    timestamp: now,
    studies: ids.map((id, i): StudyListing => {
      const s = studies[i]!;
      return {
        id,
        researcher: s.researcher,
        purpose: s.purpose,
        categories: s.categories,
        currency: s.currency,
        enrolmentDeadline: s.enrolmentDeadline,
        endTime: s.endTime,
        statusName: STUDY_STATUS[s.status] ?? "None",
        price: s.price,
        budget: s.budget,
        maxParticipants: s.maxParticipants,
        participants: s.participants,
        protocolHash: s.protocolHash,
        custodians: custodians[i]!.map((c) => ({ custodian: c.custodian, shareBps: c.shareBps })),
        attestedEnrolment: s.attestedEnrolment,
        enrolling: s.status === 1 && now < s.enrolmentDeadline,
        over: now >= s.endTime,
      };
    }),
  };
}

/**
 * A study's enrolment and spend, from its events: who joined and left, what was funded and paid.
 * `readStudyActivity` scans the escrow's logs (the reference the indexer test compares with); the
 * app reads the same shape from the indexer (`historyStudyActivity`, sdk/history.ts).
 */
export interface StudyActivity {
  /** Patients taking part now (their last action was a join). */
  current: Address[];
  /** Patients who joined and then left (and did not join again). */
  left: Address[];
  joins: number;
  leaves: number;
  funded: bigint;
  deliveriesPaid: number;
  deliveriesSkipped: number;
  paidToPatients: bigint;
  paidToCustodians: bigint;
  reclaimed: bigint;
}

export async function readStudyActivity(
  client: ChainReader,
  escrow: Address,
  studyId: bigint,
  fromBlock = 0n,
): Promise<StudyActivity> {
  const toBlock = await client.getBlockNumber({ cacheTime: 0 });
  const base = { address: escrow, abi: studyEscrowAbi, fromBlock, toBlock, strict: true } as const;
  const args = { studyId };
  const [joined, leftLogs, funded, paid, skipped, reclaimed] = await Promise.all([
    client.getContractEvents({ ...base, eventName: "StudyJoined", args }),
    client.getContractEvents({ ...base, eventName: "StudyLeft", args }),
    client.getContractEvents({ ...base, eventName: "StudyFunded", args }),
    client.getContractEvents({ ...base, eventName: "DeliveryPaid", args }),
    client.getContractEvents({ ...base, eventName: "DeliverySkipped", args }),
    client.getContractEvents({ ...base, eventName: "BudgetReclaimed", args }),
  ]);
  const last = new Map<string, { patient: Address; joined: boolean; at: [bigint, number] }>();
  const note = (patient: Address, isJoin: boolean, at: [bigint, number]) => {
    const previous = last.get(patient.toLowerCase());
    const later = !previous || at[0] > previous.at[0] || (at[0] === previous.at[0] && at[1] > previous.at[1]);
    if (later) last.set(patient.toLowerCase(), { patient, joined: isJoin, at });
  };
  for (const l of joined) note(l.args.patient, true, [l.blockNumber, l.logIndex]);
  for (const l of leftLogs) note(l.args.patient, false, [l.blockNumber, l.logIndex]);
  const sum = (values: bigint[]) => values.reduce((a, b) => a + b, 0n);
  return {
    current: [...last.values()].filter((e) => e.joined).map((e) => e.patient),
    left: [...last.values()].filter((e) => !e.joined).map((e) => e.patient),
    joins: joined.length,
    leaves: leftLogs.length,
    funded: sum(funded.map((l) => l.args.amount)),
    deliveriesPaid: paid.length,
    deliveriesSkipped: skipped.length,
    paidToPatients: sum(paid.map((l) => l.args.patientAmount)),
    paidToCustodians: sum(paid.map((l) => l.args.custodianAmount)),
    reclaimed: sum(reclaimed.map((l) => l.args.amount)),
  };
}

/**
 * What a signed withdrawal needs: the patient's withdrawal nonce (`getParticipant(0, patient)`),
 * the most a relayer may take in `token` (governance's cap) and the patient's balance.
 */
export async function readWithdrawal(client: ChainReader, escrow: Address, token: Address, patient: Address) {
  const [participant, feeCap, amount] = await Promise.all([
    client.readContract({ address: escrow, abi: studyEscrowAbi, functionName: "getParticipant", args: [0n, patient] }),
    client.readContract({ address: escrow, abi: studyEscrowAbi, functionName: "withdrawFeeCap", args: [token] }),
    client.readContract({ address: escrow, abi: studyEscrowAbi, functionName: "balanceOf", args: [token, patient] }),
  ]);
  return { nonce: BigInt(participant.nonce), feeCap, amount };
}

/** An ERC-20's symbol and decimals, for amounts in words. */
export async function readTokenInfo(client: ChainReader, token: Address) {
  const [symbol, decimals] = await Promise.all([
    client.readContract({ address: token, abi: remunerationTokenAbi, functionName: "symbol" }),
    client.readContract({ address: token, abi: remunerationTokenAbi, functionName: "decimals" }),
  ]);
  return { address: token, symbol, decimals };
}

/** EIP-2612's Permit, as the remuneration token (OpenZeppelin ERC20Permit) hashes it. */
export const permitTypes = {
  Permit: [
    { name: "owner", type: "address" },
    { name: "spender", type: "address" },
    { name: "value", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
} as const;

/** EIP-2612 typed data for a permit of `value` of `token` to `spender`, from the token's own EIP-5267 domain. */
export async function permitTypedData(
  client: ChainReader,
  {
    token,
    owner,
    spender,
    value,
    deadline,
  }: { token: Address; owner: Address; spender: Address; value: bigint; deadline: bigint },
) {
  const [[, name, version, chainId, verifyingContract], nonce] = await Promise.all([
    client.readContract({ address: token, abi: remunerationTokenAbi, functionName: "eip712Domain" }),
    client.readContract({ address: token, abi: remunerationTokenAbi, functionName: "nonces", args: [owner] }),
  ]);
  return {
    domain: { name, version, chainId: Number(chainId), verifyingContract },
    types: permitTypes,
    primaryType: "Permit",
    message: { owner, spender, value, nonce, deadline },
  } as const;
}
