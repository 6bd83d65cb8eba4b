/**
 * The indexer's tables, shaped for the questions the product asks: a patient's grants (as they
 * stand, and every change), delegates, break-glass openings, an organization's members and offers,
 * studies with their custodians, enrolments, deliveries, funding, balances and withdrawals,
 * prevention programmes with their opt-ins, confirmations, reward balances and badges, and audit
 * anchors. `chainEvent` keeps every event of every contract (the governance logs).
 *
 * Addresses are stored lowercase (Ponder's hex columns); blocks, amounts and times (unix seconds,
 * uint40 on chain) as bigint. Served over SQL over HTTP (`/sql`, `@ponder/client`) and GraphQL (`/graphql`).
 * Server code only: importing this file into browser code pulls Ponder into the bundle.
 */
import { index, onchainTable, primaryKey } from "ponder";

export const organization = onchainTable("organization", (t) => ({
  address: t.hex().primaryKey(),
  kind: t.integer().notNull(),
  name: t.text().notNull(),
  gatewayUrl: t.text().notNull(),
  licenceHash: t.hex().notNull(),
  /** "active" | "suspended" */
  status: t.text().notNull(),
  /** Governance's record of its uses (`useProfile`): commercial, for profit (both until recorded). */
  commercial: t.boolean().notNull(),
  forProfit: t.boolean().notNull(),
  /** Accreditation order (0, 1, …): the registry's `organizationAt` order. */
  ordinal: t.integer().notNull(),
  accreditedAtBlock: t.bigint().notNull(),
  updatedAtBlock: t.bigint().notNull(),
}));

export const member = onchainTable(
  "member",
  (t) => ({
    organization: t.hex().notNull(),
    member: t.hex().notNull(),
    role: t.integer().notNull(),
    addedAtBlock: t.bigint().notNull(),
  }),
  (table) => ({ pk: primaryKey({ columns: [table.organization, table.member] }), byMember: index().on(table.member) }),
);

export const membershipOffer = onchainTable(
  "membership_offer",
  (t) => ({
    organization: t.hex().notNull(),
    member: t.hex().notNull(),
    role: t.integer().notNull(),
    offeredAtBlock: t.bigint().notNull(),
  }),
  (table) => ({ pk: primaryKey({ columns: [table.organization, table.member] }), byMember: index().on(table.member) }),
);

/** Per patient: the revoke-all epoch and the last cancelled signature nonce. */
export const patient = onchainTable("patient", (t) => ({
  address: t.hex().primaryKey(),
  epoch: t.integer().notNull(),
  cancelledNonce: t.bigint().notNull(),
}));

/** Every grant id as it stands: the last grant or update, and how it ended if it did. */
export const consentGrant = onchainTable(
  "consent_grant",
  (t) => ({
    grantId: t.hex().primaryKey(),
    patient: t.hex().notNull(),
    grantee: t.hex().notNull(),
    scope: t.hex().notNull(),
    /** Set for a study grant (the study key). */
    studyKey: t.hex(),
    purpose: t.bigint().notNull(),
    categories: t.integer().notNull(),
    validFrom: t.bigint().notNull(),
    /** Capped at the study's end when its manager ended a study's consents earlier. */
    expiresAt: t.bigint().notNull(),
    grantedBy: t.hex().notNull(),
    grantedAtBlock: t.bigint().notNull(),
    grantedAt: t.bigint().notNull(),
    /** Null while the grant lives. */
    revokedBy: t.hex(),
    revokedAll: t.boolean(),
    revokedAtBlock: t.bigint(),
  }),
  (table) => ({
    byPatient: index().on(table.patient, table.grantedAtBlock),
    byGrantee: index().on(table.grantee),
    byScope: index().on(table.scope),
  }),
);

/** Every change of a grant: granted (or updated), revoked, voided by a revoke-all, study ended. */
export const grantChange = onchainTable(
  "grant_change",
  (t) => ({
    id: t.text().primaryKey(),
    /** Null for a revoke-all (it voids every grant of the patient at once). */
    grantId: t.hex(),
    patient: t.hex().notNull(),
    grantee: t.hex(),
    /** "granted" | "revoked" | "revoked-all" */
    change: t.text().notNull(),
    scope: t.hex(),
    purpose: t.bigint(),
    categories: t.integer(),
    validFrom: t.bigint(),
    expiresAt: t.bigint(),
    epoch: t.integer(),
    actor: t.hex().notNull(),
    blockNumber: t.bigint().notNull(),
    logIndex: t.integer().notNull(),
    timestamp: t.bigint().notNull(),
    transactionHash: t.hex().notNull(),
  }),
  (table) => ({ byPatient: index().on(table.patient, table.blockNumber), byGrant: index().on(table.grantId) }),
);

/** The end of a study's consents (StudyConsentsEnded), by study key. */
export const studyEnd = onchainTable("study_end", (t) => ({
  studyKey: t.hex().primaryKey(),
  endedAt: t.bigint().notNull(),
  actor: t.hex().notNull(),
  blockNumber: t.bigint().notNull(),
}));

/** Appointed delegates (expired terms included; removed ones deleted). */
export const delegate = onchainTable(
  "delegate",
  (t) => ({
    patient: t.hex().notNull(),
    delegate: t.hex().notNull(),
    expiresAt: t.bigint().notNull(),
    appointedAtBlock: t.bigint().notNull(),
  }),
  (table) => ({ pk: primaryKey({ columns: [table.patient, table.delegate] }), byDelegate: index().on(table.delegate) }),
);

/** Every break-glass opening, with how it ended if it was closed. */
export const emergencyOpening = onchainTable(
  "emergency_opening",
  (t) => ({
    id: t.text().primaryKey(),
    patient: t.hex().notNull(),
    organization: t.hex().notNull(),
    clinician: t.hex().notNull(),
    /** The commitment to the reason: the reason itself is held by the custodians, not on the chain. */
    reasonCommitment: t.hex().notNull(),
    expiresAt: t.bigint().notNull(),
    openedAtBlock: t.bigint().notNull(),
    openedAt: t.bigint().notNull(),
    /** Set when a later opening of the same patient and organization replaced this one. */
    replaced: t.boolean().notNull(),
    closedBy: t.hex(),
    closedAtBlock: t.bigint(),
    closedAt: t.bigint(),
    /** Set when the patient's revoke-all ended it while it was open (the registry keys it by epoch). */
    revokedAllAtBlock: t.bigint(),
  }),
  (table) => ({
    byPatient: index().on(table.patient, table.organization),
    byBlock: index().on(table.openedAtBlock),
  }),
);

export const study = onchainTable(
  "study",
  (t) => ({
    studyId: t.bigint().primaryKey(),
    researcher: t.hex().notNull(),
    currency: t.hex().notNull(),
    studyKey: t.hex().notNull(),
    purpose: t.bigint().notNull(),
    categories: t.integer().notNull(),
    price: t.bigint().notNull(),
    maxParticipants: t.integer().notNull(),
    enrolmentDeadline: t.bigint().notNull(),
    /** Both as the escrow has them now: a cancellation brings them forward to its time. */
    endTime: t.bigint().notNull(),
    protocolHash: t.hex().notNull(),
    creator: t.hex().notNull(),
    createdAtBlock: t.bigint().notNull(),
    createdAt: t.bigint().notNull(),
    /** As of the last StudyFunded (the escrow's budget then), less payments and reclaims since. */
    budget: t.bigint().notNull(),
    funded: t.bigint().notNull(),
    paid: t.bigint().notNull(),
    reclaimed: t.bigint().notNull(),
    participants: t.integer().notNull(),
    /** Joins need a custodian's attestation (StudyRequiresAttestation). */
    attestedEnrolment: t.boolean().notNull(),
    /** Cancelling ends a study: `endTime` becomes the cancellation's time, as the escrow stores it. */
    cancelledAtBlock: t.bigint(),
    cancelledBy: t.hex(),
  }),
  (table) => ({ byResearcher: index().on(table.researcher), byKey: index().on(table.studyKey) }),
);

export const studyCustodian = onchainTable(
  "study_custodian",
  (t) => ({
    studyId: t.bigint().notNull(),
    custodian: t.hex().notNull(),
    slot: t.integer().notNull(),
    shareBps: t.integer().notNull(),
  }),
  (table) => ({ pk: primaryKey({ columns: [table.studyId, table.custodian] }) }),
);

/** A patient's enrolment in a study: joined, and left if it did. */
export const enrolment = onchainTable(
  "enrolment",
  (t) => ({
    studyId: t.bigint().notNull(),
    patient: t.hex().notNull(),
    active: t.boolean().notNull(),
    joinedBy: t.hex().notNull(),
    joinedAtBlock: t.bigint().notNull(),
    leftBy: t.hex(),
    leftAtBlock: t.bigint(),
  }),
  (table) => ({ pk: primaryKey({ columns: [table.studyId, table.patient] }), byPatient: index().on(table.patient) }),
);

/** One delivery of a patient's data to a study: paid, or skipped with the reason. */
export const delivery = onchainTable(
  "delivery",
  (t) => ({
    id: t.text().primaryKey(),
    studyId: t.bigint().notNull(),
    patient: t.hex().notNull(),
    custodian: t.hex().notNull(),
    paid: t.boolean().notNull(),
    patientAmount: t.bigint().notNull(),
    custodianAmount: t.bigint().notNull(),
    /** For a skipped delivery: the escrow's and the registry's reason codes. */
    reason: t.integer(),
    consentReason: t.integer(),
    blockNumber: t.bigint().notNull(),
    timestamp: t.bigint().notNull(),
  }),
  (table) => ({ byStudy: index().on(table.studyId), byPatient: index().on(table.patient) }),
);

/** One custodian's report of deliveries (a batch). */
export const deliveryReport = onchainTable("delivery_report", (t) => ({
  id: t.text().primaryKey(),
  studyId: t.bigint().notNull(),
  custodian: t.hex().notNull(),
  gateway: t.hex().notNull(),
  paid: t.bigint().notNull(),
  skipped: t.bigint().notNull(),
  custodianAmount: t.bigint().notNull(),
  blockNumber: t.bigint().notNull(),
  timestamp: t.bigint().notNull(),
}));

/** Money into and out of a study's budget: "funded" or "reclaimed". */
export const studyFunding = onchainTable(
  "study_funding",
  (t) => ({
    id: t.text().primaryKey(),
    studyId: t.bigint().notNull(),
    kind: t.text().notNull(),
    account: t.hex().notNull(),
    amount: t.bigint().notNull(),
    blockNumber: t.bigint().notNull(),
    timestamp: t.bigint().notNull(),
  }),
  (table) => ({ byStudy: index().on(table.studyId) }),
);

/** What the escrow owes an account in a token: credited by deliveries, emptied by a withdrawal. */
export const balance = onchainTable(
  "balance",
  (t) => ({
    account: t.hex().notNull(),
    token: t.hex().notNull(),
    amount: t.bigint().notNull(),
    earned: t.bigint().notNull(),
    withdrawn: t.bigint().notNull(),
  }),
  (table) => ({ pk: primaryKey({ columns: [table.account, table.token] }) }),
);

export const withdrawal = onchainTable(
  "withdrawal",
  (t) => ({
    id: t.text().primaryKey(),
    account: t.hex().notNull(),
    token: t.hex().notNull(),
    amount: t.bigint().notNull(),
    /** For a signed withdrawal (withdrawBySig): who sent it and the fee it took of `amount`. */
    relayer: t.hex(),
    fee: t.bigint(),
    blockNumber: t.bigint().notNull(),
    timestamp: t.bigint().notNull(),
    transactionHash: t.hex().notNull(),
  }),
  (table) => ({ byAccount: index().on(table.account) }),
);

/** A prevention programme (PreventionRewards) as it stands at the indexed block. */
export const programme = onchainTable(
  "programme",
  (t) => ({
    programmeId: t.bigint().primaryKey(),
    payer: t.hex().notNull(),
    currency: t.hex().notNull(),
    programmeKey: t.hex().notNull(),
    purpose: t.bigint().notNull(),
    category: t.integer().notNull(),
    codeSystem: t.hex().notNull(),
    code: t.hex().notNull(),
    firstPeriodStart: t.bigint().notNull(),
    periodLength: t.bigint().notNull(),
    reward: t.bigint().notNull(),
    /** As the contract has it now: a cancellation brings it forward to its time. */
    endTime: t.bigint().notNull(),
    creator: t.hex().notNull(),
    createdAtBlock: t.bigint().notNull(),
    /** As of the last ProgrammeFunded (the contract's budget then), less payments and reclaims since. */
    budget: t.bigint().notNull(),
    funded: t.bigint().notNull(),
    paid: t.bigint().notNull(),
    reclaimed: t.bigint().notNull(),
    /** Patients opted in now. */
    participants: t.integer().notNull(),
    confirmations: t.integer().notNull(),
    cancelledAtBlock: t.bigint(),
  }),
  (table) => ({ byPayer: index().on(table.payer) }),
);

export const programmeCustodian = onchainTable(
  "programme_custodian",
  (t) => ({
    programmeId: t.bigint().notNull(),
    custodian: t.hex().notNull(),
  }),
  (table) => ({ pk: primaryKey({ columns: [table.programmeId, table.custodian] }) }),
);

/** A patient's opt-in to a programme, and its opt-out if it did. */
export const programmeOptIn = onchainTable(
  "programme_opt_in",
  (t) => ({
    programmeId: t.bigint().notNull(),
    patient: t.hex().notNull(),
    active: t.boolean().notNull(),
    optedInBy: t.hex().notNull(),
    optedInAtBlock: t.bigint().notNull(),
    optedOutBy: t.hex(),
    optedOutAtBlock: t.bigint(),
  }),
  (table) => ({
    pk: primaryKey({ columns: [table.programmeId, table.patient] }),
    byPatient: index().on(table.patient),
  }),
);

/** One reported confirmation: paid, or skipped with the reason. */
export const confirmation = onchainTable(
  "confirmation",
  (t) => ({
    id: t.text().primaryKey(),
    programmeId: t.bigint().notNull(),
    patient: t.hex().notNull(),
    custodian: t.hex().notNull(),
    period: t.integer().notNull(),
    paid: t.boolean().notNull(),
    amount: t.bigint().notNull(),
    /** For a skipped confirmation: the contract's and the registry's reason codes. */
    reason: t.integer(),
    consentReason: t.integer(),
    blockNumber: t.bigint().notNull(),
    timestamp: t.bigint().notNull(),
  }),
  (table) => ({ byProgramme: index().on(table.programmeId), byPatient: index().on(table.patient) }),
);

/** What PreventionRewards owes an account in a token (its own balances, apart from the study escrow's). */
export const rewardBalance = onchainTable(
  "reward_balance",
  (t) => ({
    account: t.hex().notNull(),
    token: t.hex().notNull(),
    amount: t.bigint().notNull(),
    earned: t.bigint().notNull(),
    withdrawn: t.bigint().notNull(),
  }),
  (table) => ({ pk: primaryKey({ columns: [table.account, table.token] }) }),
);

/** A claimed achievement badge (PreventionBadge), and its burning if the patient burnt it. */
export const badge = onchainTable(
  "badge",
  (t) => ({
    tokenId: t.bigint().primaryKey(),
    programmeId: t.bigint().notNull(),
    patient: t.hex().notNull(),
    period: t.integer().notNull(),
    claimedAtBlock: t.bigint().notNull(),
    burnt: t.boolean().notNull(),
  }),
  (table) => ({ byPatient: index().on(table.patient) }),
);

/** An anchored audit batch of a custodian, with its current root (a supersession replaces it). */
export const auditBatch = onchainTable(
  "audit_batch",
  (t) => ({
    custodian: t.hex().notNull(),
    batchIndex: t.bigint().notNull(),
    merkleRoot: t.hex().notNull(),
    firstSequence: t.bigint().notNull(),
    lastSequence: t.bigint().notNull(),
    gateway: t.hex().notNull(),
    anchoredAtBlock: t.bigint().notNull(),
    supersessions: t.integer().notNull(),
  }),
  (table) => ({ pk: primaryKey({ columns: [table.custodian, table.batchIndex] }) }),
);

export const auditSupersession = onchainTable("audit_supersession", (t) => ({
  id: t.text().primaryKey(),
  custodian: t.hex().notNull(),
  batchIndex: t.bigint().notNull(),
  previousRoot: t.hex().notNull(),
  merkleRoot: t.hex().notNull(),
  lastSequence: t.bigint().notNull(),
  actor: t.hex().notNull(),
  blockNumber: t.bigint().notNull(),
}));

/** Every event of every contract, decoded (bigints as decimal strings): the governance logs. */
// ------------------------------------------------------------------ research funds (a DAO per cause)

/** A research fund as it stands: its settings (FundCreated), what it raised, whether it closed. */
export const researchFund = onchainTable("research_fund", (t) => ({
  address: t.hex().primaryKey(),
  creator: t.hex().notNull(),
  currency: t.hex().notNull(),
  governor: t.hex().notNull(),
  timelock: t.hex().notNull(),
  cause: t.text().notNull(),
  goal: t.bigint().notNull(),
  end: t.bigint().notNull(),
  quorumPercent: t.integer().notNull(),
  votingPeriod: t.integer().notNull(),
  timelockDelay: t.integer().notNull(),
  /** Contributions in all (never lowered); shares now (contributions less ragequits and redemptions). */
  raised: t.bigint().notNull(),
  shares: t.bigint().notNull(),
  /** Sent to studies, and taken back from them (settlements). */
  sponsored: t.bigint().notNull(),
  settled: t.bigint().notNull(),
  closedAtBlock: t.bigint(),
  createdAtBlock: t.bigint().notNull(),
  createdAt: t.bigint().notNull(),
}));

/** A member of a fund: its shares now and what it put in and took out. */
export const fundMember = onchainTable(
  "fund_member",
  (t) => ({
    fund: t.hex().notNull(),
    member: t.hex().notNull(),
    shares: t.bigint().notNull(),
    contributed: t.bigint().notNull(),
    withdrawn: t.bigint().notNull(),
  }),
  (table) => ({ pk: primaryKey({ columns: [table.fund, table.member] }), byMember: index().on(table.member) }),
);

/** Money into and out of a fund: "contributed", "ragequit" or "redeemed" (shares burnt for `amount`). */
export const fundMovement = onchainTable(
  "fund_movement",
  (t) => ({
    id: t.text().primaryKey(),
    fund: t.hex().notNull(),
    member: t.hex().notNull(),
    kind: t.text().notNull(),
    shares: t.bigint().notNull(),
    amount: t.bigint().notNull(),
    blockNumber: t.bigint().notNull(),
    timestamp: t.bigint().notNull(),
  }),
  (table) => ({ byFund: index().on(table.fund), byMember: index().on(table.member) }),
);

/** A proposal of a fund's Governor, as it stands. `studyId`/`amount` for a sponsorship, null for a close. */
export const fundProposal = onchainTable(
  "fund_proposal",
  (t) => ({
    proposalId: t.bigint().primaryKey(),
    governor: t.hex().notNull(),
    proposer: t.hex().notNull(),
    /** "sponsorStudy" | "close" (a Governor takes nothing else). */
    action: t.text().notNull(),
    studyId: t.bigint(),
    amount: t.bigint(),
    protocolHash: t.hex(),
    description: t.text().notNull(),
    voteStart: t.bigint().notNull(),
    voteEnd: t.bigint().notNull(),
    forVotes: t.bigint().notNull(),
    againstVotes: t.bigint().notNull(),
    abstainVotes: t.bigint().notNull(),
    /** The timelock's ETA once queued. */
    eta: t.bigint(),
    executedAtBlock: t.bigint(),
    canceledAtBlock: t.bigint(),
    createdAtBlock: t.bigint().notNull(),
  }),
  (table) => ({ byGovernor: index().on(table.governor), byStudy: index().on(table.studyId) }),
);

export const fundVote = onchainTable(
  "fund_vote",
  (t) => ({
    proposalId: t.bigint().notNull(),
    voter: t.hex().notNull(),
    /** 0 Against, 1 For, 2 Abstain */
    support: t.integer().notNull(),
    weight: t.bigint().notNull(),
    reason: t.text().notNull(),
    blockNumber: t.bigint().notNull(),
  }),
  (table) => ({ pk: primaryKey({ columns: [table.proposalId, table.voter] }), byVoter: index().on(table.voter) }),
);

/** A study a fund sponsored (SponsoredStudy), and what it took back when settling it (SettledStudy). */
export const fundStudy = onchainTable(
  "fund_study",
  (t) => ({
    fund: t.hex().notNull(),
    studyId: t.bigint().notNull(),
    /** Sent in all by the fund's passed proposals. */
    amount: t.bigint().notNull(),
    /** Taken back when settled (null: not settled yet). */
    settledAmount: t.bigint(),
    settledAtBlock: t.bigint(),
    sponsoredAtBlock: t.bigint().notNull(),
  }),
  (table) => ({ pk: primaryKey({ columns: [table.fund, table.studyId] }), byStudy: index().on(table.studyId) }),
);

/** Third-party funding of a study (StudySponsored): which fund (or other sponsor) paid for it. */
export const studySponsorship = onchainTable(
  "study_sponsorship",
  (t) => ({
    id: t.text().primaryKey(),
    studyId: t.bigint().notNull(),
    sponsor: t.hex().notNull(),
    amount: t.bigint().notNull(),
    blockNumber: t.bigint().notNull(),
    timestamp: t.bigint().notNull(),
  }),
  (table) => ({ byStudy: index().on(table.studyId), bySponsor: index().on(table.sponsor) }),
);

export const chainEvent = onchainTable(
  "chain_event",
  (t) => ({
    id: t.text().primaryKey(),
    contract: t.text().notNull(),
    name: t.text().notNull(),
    args: t.json().notNull(),
    blockNumber: t.bigint().notNull(),
    logIndex: t.integer().notNull(),
    timestamp: t.bigint().notNull(),
    transactionHash: t.hex().notNull(),
  }),
  (table) => ({ byName: index().on(table.contract, table.name), byBlock: index().on(table.blockNumber) }),
);
