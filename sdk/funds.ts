/**
 * Research funds (a DAO per cause) over the indexer (indexer/: Ponder, SQL over HTTP): the funds,
 * their members, money in and out, proposals with their tallies, votes, and which fund sponsored
 * a study. Lists only, from tables (never a log scan), each answer at the indexed block; decisions
 * (may I vote, redeem, what is my share) read the chain: the fund's `previewShare`, the Governor's
 * `state` and `pendingForVote`.
 *
 * Server code only: it imports Ponder. Import `#sdk/funds.ts`.
 */
import { asc, desc, eq, inArray } from "ponder";
import { type Address, type Hex, getAddress } from "viem";

import { type IndexerClient, schema } from "../indexer/client.ts";

const hex = (a: string) => a.toLowerCase() as Hex;

export interface FundListing {
  address: Address;
  creator: Address;
  currency: Address;
  governor: Address;
  timelock: Address;
  cause: string;
  goal: bigint;
  /** Unix seconds. */
  end: number;
  quorumPercent: number;
  votingPeriod: number;
  timelockDelay: number;
  raised: bigint;
  /** Shares now (contributions less ragequits and redemptions). */
  shares: bigint;
  sponsored: bigint;
  settled: bigint;
  closed: boolean;
  /** Before its end and not closed, at the indexed block's time. */
  open: boolean;
}

export interface FundMemberEntry {
  fund: Address;
  member: Address;
  shares: bigint;
  contributed: bigint;
  withdrawn: bigint;
}

export interface FundMovementEntry {
  fund: Address;
  member: Address;
  kind: "contributed" | "ragequit" | "redeemed";
  shares: bigint;
  amount: bigint;
  blockNumber: bigint;
  timestamp: number;
}

export interface FundProposalEntry {
  proposalId: bigint;
  governor: Address;
  proposer: Address;
  action: "sponsorStudy" | "close";
  studyId: bigint | null;
  amount: bigint | null;
  protocolHash: Hex | null;
  description: string;
  voteStart: number;
  voteEnd: number;
  forVotes: bigint;
  againstVotes: bigint;
  abstainVotes: bigint;
  /** The timelock's ETA once queued (unix seconds). */
  eta: number | null;
  executed: boolean;
  canceled: boolean;
}

export interface FundVoteEntry {
  proposalId: bigint;
  voter: Address;
  /** 0 Against, 1 For, 2 Abstain */
  support: number;
  weight: bigint;
  reason: string;
}

/** A study a fund paid for by a passed proposal, and what the fund took back when settling it. */
export interface FundStudyEntry {
  fund: Address;
  studyId: bigint;
  /** Sent in all. */
  amount: bigint;
  /** Taken back by `settleStudy` (null: not settled yet; the fund's members redeem only after). */
  settledAmount: bigint | null;
}

/** A third party's funding of a study, with the fund's cause when the sponsor is a known fund. */
export interface StudySponsorEntry {
  studyId: bigint;
  sponsor: Address;
  amount: bigint;
  /** The sponsoring fund's cause (null: the sponsor is not an indexed fund). */
  cause: string | null;
  timestamp: number;
}

type FundRow = typeof schema.researchFund.$inferSelect;

function toFund(row: FundRow, now: number): FundListing {
  const closed = row.closedAtBlock !== null;
  return {
    address: getAddress(row.address),
    creator: getAddress(row.creator),
    currency: getAddress(row.currency),
    governor: getAddress(row.governor),
    timelock: getAddress(row.timelock),
    cause: row.cause,
    goal: row.goal,
    end: Number(row.end),
    quorumPercent: row.quorumPercent,
    votingPeriod: row.votingPeriod,
    timelockDelay: row.timelockDelay,
    raised: row.raised,
    shares: row.shares,
    sponsored: row.sponsored,
    settled: row.settled,
    closed,
    open: !closed && now < Number(row.end),
  };
}

/** Every fund anyone created through the deployment's ResearchFundFactory, newest first. */
export async function historyFunds(indexer: IndexerClient): Promise<FundListing[]> {
  const [status, rows] = await Promise.all([
    indexer.status(),
    indexer.db.select().from(schema.researchFund).orderBy(desc(schema.researchFund.createdAtBlock)),
  ]);
  return rows.map((row) => toFund(row, status.timestamp));
}

/** The funds `member` holds (or held) shares of, with its position in each. */
export async function historyMemberFunds(
  indexer: IndexerClient,
  member: Address,
): Promise<{ fund: FundListing; position: FundMemberEntry }[]> {
  const positions = await indexer.db
    .select()
    .from(schema.fundMember)
    .where(eq(schema.fundMember.member, hex(member)))
    .orderBy(asc(schema.fundMember.fund));
  if (positions.length === 0) return [];
  const [status, funds] = await Promise.all([
    indexer.status(),
    indexer.db
      .select()
      .from(schema.researchFund)
      .where(
        inArray(
          schema.researchFund.address,
          positions.map((p) => p.fund),
        ),
      ),
  ]);
  const byAddress = new Map(funds.map((f) => [f.address, toFund(f, status.timestamp)]));
  return positions.flatMap((p) => {
    const fund = byAddress.get(p.fund);
    return fund ? [{ fund, position: toMember(p) }] : [];
  });
}

function toMember(row: typeof schema.fundMember.$inferSelect): FundMemberEntry {
  return {
    fund: getAddress(row.fund),
    member: getAddress(row.member),
    shares: row.shares,
    contributed: row.contributed,
    withdrawn: row.withdrawn,
  };
}

/** A fund's members (every one that ever contributed), largest holding first. */
export async function historyFundMembers(indexer: IndexerClient, fund: Address): Promise<FundMemberEntry[]> {
  const rows = await indexer.db
    .select()
    .from(schema.fundMember)
    .where(eq(schema.fundMember.fund, hex(fund)))
    .orderBy(desc(schema.fundMember.shares), asc(schema.fundMember.member));
  return rows.map(toMember);
}

/** Money into and out of a fund, oldest first. */
export async function historyFundMovements(indexer: IndexerClient, fund: Address): Promise<FundMovementEntry[]> {
  const rows = await indexer.db
    .select()
    .from(schema.fundMovement)
    .where(eq(schema.fundMovement.fund, hex(fund)))
    .orderBy(asc(schema.fundMovement.blockNumber), asc(schema.fundMovement.id));
  return rows.map((r) => ({
    fund: getAddress(r.fund),
    member: getAddress(r.member),
    kind: r.kind as FundMovementEntry["kind"],
    shares: r.shares,
    amount: r.amount,
    blockNumber: r.blockNumber,
    timestamp: Number(r.timestamp),
  }));
}

/** The proposals of a fund's Governor, newest first, with their tallies. */
export async function historyFundProposals(indexer: IndexerClient, governor: Address): Promise<FundProposalEntry[]> {
  const rows = await indexer.db
    .select()
    .from(schema.fundProposal)
    .where(eq(schema.fundProposal.governor, hex(governor)))
    .orderBy(desc(schema.fundProposal.createdAtBlock));
  return rows.map((r) => ({
    proposalId: r.proposalId,
    governor: getAddress(r.governor),
    proposer: getAddress(r.proposer),
    action: r.action as FundProposalEntry["action"],
    studyId: r.studyId,
    amount: r.amount,
    protocolHash: r.protocolHash,
    description: r.description,
    voteStart: Number(r.voteStart),
    voteEnd: Number(r.voteEnd),
    forVotes: r.forVotes,
    againstVotes: r.againstVotes,
    abstainVotes: r.abstainVotes,
    eta: r.eta === null ? null : Number(r.eta),
    executed: r.executedAtBlock !== null,
    canceled: r.canceledAtBlock !== null,
  }));
}

/** The votes on a proposal, in the order they were cast. */
export async function historyProposalVotes(indexer: IndexerClient, proposalId: bigint): Promise<FundVoteEntry[]> {
  const rows = await indexer.db
    .select()
    .from(schema.fundVote)
    .where(eq(schema.fundVote.proposalId, proposalId))
    .orderBy(asc(schema.fundVote.blockNumber), asc(schema.fundVote.voter));
  return rows.map((r) => ({
    proposalId: r.proposalId,
    voter: getAddress(r.voter),
    support: r.support,
    weight: r.weight,
    reason: r.reason,
  }));
}

/** The studies a fund sponsored, in the order it first did. */
export async function historyFundStudies(indexer: IndexerClient, fund: Address): Promise<FundStudyEntry[]> {
  const rows = await indexer.db
    .select()
    .from(schema.fundStudy)
    .where(eq(schema.fundStudy.fund, hex(fund)))
    .orderBy(asc(schema.fundStudy.sponsoredAtBlock), asc(schema.fundStudy.studyId));
  return rows.map((r) => ({
    fund: getAddress(r.fund),
    studyId: r.studyId,
    amount: r.amount,
    settledAmount: r.settledAmount,
  }));
}

/** Who sponsored a study besides its researcher (for its participants: which fund paid for it). */
export async function historyStudySponsors(indexer: IndexerClient, studyId: bigint): Promise<StudySponsorEntry[]> {
  const rows = await indexer.db
    .select({
      sponsor: schema.studySponsorship.sponsor,
      amount: schema.studySponsorship.amount,
      timestamp: schema.studySponsorship.timestamp,
      cause: schema.researchFund.cause,
    })
    .from(schema.studySponsorship)
    .leftJoin(schema.researchFund, eq(schema.researchFund.address, schema.studySponsorship.sponsor))
    .where(eq(schema.studySponsorship.studyId, studyId))
    .orderBy(asc(schema.studySponsorship.blockNumber), asc(schema.studySponsorship.id));
  return rows.map((r) => ({
    studyId,
    sponsor: getAddress(r.sponsor),
    amount: r.amount,
    cause: r.cause ?? null,
    timestamp: Number(r.timestamp),
  }));
}
