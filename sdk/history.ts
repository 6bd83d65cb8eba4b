/**
 * History readers over the indexer (indexer/: Ponder, SQL over HTTP with `@ponder/client`): the
 * same shapes as the chain readers of sdk/ledger.ts, answered from tables instead of log scans, so
 * their cost follows what one patient did, not the chain's whole history.
 *
 * Lists only. Decisions never read the indexer (it is always a little behind): `verifyConsent`,
 * the gateway's access decision and the escrow's checks read the chain at the latest block.
 * Every answer carries the block the indexer had reached (`blockNumber`, `timestamp`), so a list
 * can say how far behind it is.
 *
 * Server code only: it imports Ponder (about 59 kB gzip in a browser bundle). Not exported from
 * the sdk's index for that reason; import `#sdk/history.ts`.
 */
import { and, asc, count, desc, eq, sql } from "ponder";
import type { Address, Hex } from "viem";

import {
  type IndexerClient,
  type RawRow,
  checkpointStatus,
  indexedCheckpoint,
  indexerClient,
  rawRows,
  rowDecoder,
  schema,
} from "../indexer/client.ts";
// The indexer keeps addresses in lower case; the chain readers give them checksummed.
import { eip55 as checksummed } from "./eip55.ts";
import { EMERGENCY_REASON_ON_CHAIN, KINDS, type KindName } from "./codes.ts";
import type { StudyActivity, StudyListing } from "./escrow.ts";
import {
  type CurrentGrant,
  type DelegateEntry,
  type EmergencyEntry,
  type EmergencyLogEntry,
  type GrantChange,
  type LedgerGrant,
  type MemberEntry,
  type MembershipOfferEntry,
  type Organization,
  type PatientGrants,
  earlierGrants,
} from "./ledger.ts";

export { type IndexerClient, indexerClient };

const hex = (a: string) => a.toLowerCase() as Hex;

/** Where the indexer stands: the block it has indexed to and that block's time. */
export async function indexedAt(indexer: IndexerClient): Promise<{ blockNumber: bigint; timestamp: number }> {
  const status = await indexer.status();
  return { blockNumber: BigInt(Math.max(status.block, 0)), timestamp: status.timestamp };
}

/** How many blocks the indexer is behind the chain's `latest` block (0 when it has caught up). */
export async function blocksBehind(indexer: IndexerClient, latest: bigint): Promise<number> {
  const { blockNumber } = await indexedAt(indexer);
  return latest > blockNumber ? Number(latest - blockNumber) : 0;
}

type GrantRow = typeof schema.consentGrant.$inferSelect;

type ChangeRow = typeof schema.grantChange.$inferSelect;

function toGrantChange(row: ChangeRow): GrantChange {
  return {
    change: row.change as GrantChange["change"],
    grantId: row.grantId,
    blockNumber: row.blockNumber,
    logIndex: row.logIndex,
    timestamp: Number(row.timestamp),
    actor: checksummed(row.actor),
    ...(row.purpose !== null ? { purpose: row.purpose } : {}),
    ...(row.categories !== null ? { categories: row.categories } : {}),
    ...(row.validFrom !== null ? { validFrom: Number(row.validFrom) } : {}),
    ...(row.expiresAt !== null ? { expiresAt: Number(row.expiresAt) } : {}),
  };
}

/** A grant's row as it stands (no history: see toLedgerGrant). */
function toCurrentGrant(row: GrantRow, granteeName?: string | null): CurrentGrant {
  return {
    ...(granteeName ? { granteeName } : {}),
    grantId: row.grantId,
    patient: checksummed(row.patient),
    grantee: checksummed(row.grantee),
    scope: row.scope,
    studyKey: row.studyKey,
    purpose: row.purpose,
    categories: row.categories,
    validFrom: Number(row.validFrom),
    expiresAt: Number(row.expiresAt),
    grantedBy: checksummed(row.grantedBy),
    grantedAtBlock: row.grantedAtBlock,
    revoked:
      row.revokedAtBlock === null
        ? null
        : { by: checksummed(row.revokedBy!), all: row.revokedAll === true, atBlock: row.revokedAtBlock },
  };
}

/** `changes`: the patient's rows of grant_change, for the time of a revocation and the earlier versions. */
function toLedgerGrant(row: GrantRow, changes: readonly ChangeRow[] = [], granteeName?: string | null): LedgerGrant {
  const grant = toCurrentGrant(row, granteeName);
  if (grant.revoked === null) return { ...grant, revoked: null };
  const revokedAt = changes.find((c) => c.blockNumber === row.revokedAtBlock)?.timestamp;
  return { ...grant, revoked: { ...grant.revoked, at: revokedAt === undefined ? 0 : Number(revokedAt) } };
}

const grantRow = rowDecoder(schema.consentGrant, "grantId");
const changeRow = rowDecoder(schema.grantChange, "id");

/**
 * The patient's grants with their grantees' names and the indexer's block, newest first: one
 * query, the checkpoint's one row joined to the patient's grants (a row even when there is none),
 * so the block is the one the grants were read at. Decoded here (see rawRows).
 */
async function patientGrantRows(
  indexer: IndexerClient,
  patient: Address,
): Promise<{ block: number; timestamp: number; rows: { grant: GrantRow; granteeName: string | null }[] }> {
  const indexed = indexedCheckpoint(indexer.db);
  const raw = await rawRows(
    indexer.db,
    indexer.db
      // Column names: the checkpoint, the grant's, and the organization's `name` (none of the grant's).
      .select({ checkpoint: indexed.checkpoint, grant: schema.consentGrant, granteeName: schema.organization.name })
      .from(indexed)
      .leftJoin(schema.consentGrant, eq(schema.consentGrant.patient, hex(patient)))
      .leftJoin(schema.organization, eq(schema.organization.address, schema.consentGrant.grantee))
      .orderBy(desc(schema.consentGrant.grantedAtBlock)),
  );
  const { block, timestamp } = checkpointStatus((raw[0]?.["checkpoint"] as string | null | undefined) ?? null);
  const rows: { grant: GrantRow; granteeName: string | null }[] = [];
  for (const r of raw) {
    const grant = grantRow(r);
    if (grant !== null) rows.push({ grant, granteeName: (r["name"] as string | null) ?? null });
  }
  return { block, timestamp, rows };
}

/**
 * Every grant the patient ever had, as the indexer has it, newest first (as `readPatientGrants`).
 * Two queries, sent together: the grants with their grantees' names and the indexer's block, and
 * the grants' changes (the time of each revocation, the earlier versions of each grant).
 */
export async function historyPatientGrants(indexer: IndexerClient, patient: Address): Promise<PatientGrants> {
  const [{ block, timestamp, rows }, rawChanges] = await Promise.all([
    patientGrantRows(indexer, patient),
    rawRows(
      indexer.db,
      indexer.db
        .select()
        .from(schema.grantChange)
        .where(eq(schema.grantChange.patient, hex(patient))),
    ),
  ]);
  const changes = rawChanges.map((r: RawRow) => changeRow(r)!);
  const earlier = earlierGrants(changes.map(toGrantChange));
  const grants: PatientGrants["grants"] = rows.map(({ grant, granteeName }) => ({
    ...toLedgerGrant(grant, changes, granteeName),
    earlier: earlier.get(grant.grantId) ?? [],
  }));
  return { blockNumber: BigInt(Math.max(block, 0)), timestamp, grants };
}

/**
 * Every grant the patient ever had as it stands now, without its history (no revocation times, no
 * earlier versions), newest first: one query instead of historyPatientGrants's two, for a list
 * that shows grants as they are (the gateway's FHIR Consents).
 */
export async function historyPatientCurrentGrants(
  indexer: IndexerClient,
  patient: Address,
): Promise<{ blockNumber: bigint; timestamp: number; grants: CurrentGrant[] }> {
  const { block, timestamp, rows } = await patientGrantRows(indexer, patient);
  const grants = rows.map(({ grant, granteeName }) => toCurrentGrant(grant, granteeName));
  return { blockNumber: BigInt(Math.max(block, 0)), timestamp, grants };
}

/** The patient of a grant (its ConsentGranted), or null when the indexer has no such grant. */
export async function historyGrantPatient(indexer: IndexerClient, grantId: Hex): Promise<Address | null> {
  const rows = await indexer.db
    .select({ patient: schema.consentGrant.patient })
    .from(schema.consentGrant)
    .where(eq(schema.consentGrant.grantId, hex(grantId)));
  return rows[0] ? checksummed(rows[0].patient) : null;
}

const toDelegate = (row: typeof schema.delegate.$inferSelect): DelegateEntry => ({
  patient: checksummed(row.patient),
  delegate: checksummed(row.delegate),
  expiresAt: Number(row.expiresAt),
});

/** The patient's delegates (expired terms included, removed ones not), as `readDelegates`. */
export async function historyDelegates(indexer: IndexerClient, patient: Address): Promise<DelegateEntry[]> {
  const rows = await indexer.db
    .select()
    .from(schema.delegate)
    .where(eq(schema.delegate.patient, hex(patient)))
    .orderBy(asc(schema.delegate.appointedAtBlock));
  return rows.map(toDelegate);
}

/** The patients who appointed `delegate` and have not removed it, as `readPatientsActedFor`. */
export async function historyPatientsActedFor(indexer: IndexerClient, delegate: Address): Promise<DelegateEntry[]> {
  const rows = await indexer.db
    .select()
    .from(schema.delegate)
    .where(eq(schema.delegate.delegate, hex(delegate)))
    .orderBy(asc(schema.delegate.appointedAtBlock));
  return rows.map(toDelegate);
}

type OpeningRow = typeof schema.emergencyOpening.$inferSelect;

function toEmergency(row: OpeningRow): EmergencyEntry {
  return {
    patient: checksummed(row.patient),
    organization: checksummed(row.organization),
    clinician: checksummed(row.clinician),
    reasonCommitment: row.reasonCommitment as Hex,
    reason: EMERGENCY_REASON_ON_CHAIN,
    expiresAt: Number(row.expiresAt),
    openedAtBlock: row.openedAtBlock,
  };
}

/** Break-glass openings of the patient's data that are open at `now` (unix seconds). */
export async function historyOpenEmergencies(
  indexer: IndexerClient,
  patient: Address,
  now: number,
): Promise<EmergencyEntry[]> {
  const rows = await indexer.db
    .select()
    .from(schema.emergencyOpening)
    .where(and(eq(schema.emergencyOpening.patient, hex(patient)), eq(schema.emergencyOpening.replaced, false)))
    .orderBy(asc(schema.emergencyOpening.openedAtBlock));
  return rows
    .filter((r) => r.closedAtBlock === null && r.revokedAllAtBlock === null && Number(r.expiresAt) > now)
    .map(toEmergency);
}

/** Every break-glass opening (all patients), newest first, with how it stands at `now`. */
export async function historyEmergencyLog(indexer: IndexerClient, now: number): Promise<EmergencyLogEntry[]> {
  const rows = await indexer.db
    .select()
    .from(schema.emergencyOpening)
    .orderBy(desc(schema.emergencyOpening.openedAtBlock));
  return rows.map((row): EmergencyLogEntry => {
    const closedAt = row.closedAt === null ? null : Number(row.closedAt);
    const endedEarly = closedAt !== null && closedAt < Number(row.expiresAt);
    return {
      ...toEmergency(row),
      openedAt: Number(row.openedAt),
      closed: endedEarly ? { by: checksummed(row.closedBy!), atBlock: row.closedAtBlock!, at: closedAt } : null,
      state: endedEarly ? "closed" : now >= Number(row.expiresAt) || row.replaced ? "expired" : "open",
    };
  });
}

/** Every organization ever accredited, in accreditation order, as `readOrganizations`. */
export async function historyOrganizations(indexer: IndexerClient): Promise<Organization[]> {
  const rows = await indexer.db.select().from(schema.organization).orderBy(asc(schema.organization.ordinal));
  const kindName = (kind: number) => (Object.keys(KINDS) as KindName[]).find((k) => KINDS[k] === kind) ?? null;
  return rows.map((o) => ({
    address: checksummed(o.address),
    name: o.name,
    kind: kindName(o.kind),
    commercial: o.commercial,
    forProfit: o.forProfit,
    active: o.status === "active",
    gatewayUrl: o.gatewayUrl,
  }));
}

/** The current members of an organization, as `readMembers`. */
export async function historyMembers(indexer: IndexerClient, organization: Address): Promise<MemberEntry[]> {
  const rows = await indexer.db
    .select()
    .from(schema.member)
    .where(eq(schema.member.organization, hex(organization)))
    .orderBy(asc(schema.member.addedAtBlock));
  return rows.map((m) => ({ member: checksummed(m.member), role: m.role, addedAtBlock: m.addedAtBlock }));
}

/** The open membership offers of an organization or to a member, as `readMembershipOffers`. */
export async function historyMembershipOffers(
  indexer: IndexerClient,
  query: { organization: Address; member?: Address } | { organization?: Address; member: Address },
): Promise<MembershipOfferEntry[]> {
  const filters = [
    query.organization ? eq(schema.membershipOffer.organization, hex(query.organization)) : undefined,
    query.member ? eq(schema.membershipOffer.member, hex(query.member)) : undefined,
  ];
  const rows = await indexer.db
    .select()
    .from(schema.membershipOffer)
    .where(and(...filters))
    .orderBy(asc(schema.membershipOffer.offeredAtBlock));
  return rows.map((o) => ({
    organization: checksummed(o.organization),
    member: checksummed(o.member),
    role: o.role,
    offeredAtBlock: o.offeredAtBlock,
  }));
}

/** Every patient that ever joined the study (left or not), in order of their first join. */
export async function historyStudyParticipants(indexer: IndexerClient, studyId: bigint): Promise<Address[]> {
  const rows = await indexer.db
    .select({ patient: schema.enrolment.patient })
    .from(schema.enrolment)
    .where(eq(schema.enrolment.studyId, studyId))
    .orderBy(asc(schema.enrolment.joinedAtBlock));
  return rows.map((r) => checksummed(r.patient));
}

/** Every study of the escrow as it stands at the indexed block (as `readStudies` of sdk/escrow.ts). */
export async function historyStudies(
  indexer: IndexerClient,
): Promise<{ blockNumber: bigint; timestamp: number; studies: StudyListing[] }> {
  const [at, rows, custodians] = await Promise.all([
    indexedAt(indexer),
    indexer.db.select().from(schema.study).orderBy(asc(schema.study.studyId)),
    indexer.db
      .select()
      .from(schema.studyCustodian)
      .orderBy(asc(schema.studyCustodian.studyId), asc(schema.studyCustodian.slot)),
  ]);
  const now = at.timestamp;
  const byStudy = new Map<bigint, StudyListing["custodians"]>();
  for (const c of custodians) {
    const list = byStudy.get(c.studyId) ?? [];
    list.push({ custodian: checksummed(c.custodian), shareBps: c.shareBps });
    byStudy.set(c.studyId, list);
  }
  return {
    ...at,
    studies: rows.map((s): StudyListing => {
      const cancelled = s.cancelledAtBlock !== null;
      return {
        id: s.studyId,
        researcher: checksummed(s.researcher),
        purpose: s.purpose,
        categories: s.categories,
        currency: checksummed(s.currency),
        enrolmentDeadline: Number(s.enrolmentDeadline),
        endTime: Number(s.endTime),
        statusName: cancelled ? "Cancelled" : "Open",
        price: s.price,
        budget: s.budget,
        maxParticipants: s.maxParticipants,
        participants: s.participants,
        protocolHash: s.protocolHash,
        custodians: byStudy.get(s.studyId) ?? [],
        attestedEnrolment: s.attestedEnrolment,
        enrolling: !cancelled && now < Number(s.enrolmentDeadline),
        over: now >= Number(s.endTime),
      };
    }),
  };
}

/** A study's enrolment and spend (as `readStudyActivity` of sdk/escrow.ts). */
export async function historyStudyActivity(indexer: IndexerClient, studyId: bigint): Promise<StudyActivity> {
  const events = (name: string) =>
    indexer.db
      .select({ n: count() })
      .from(schema.chainEvent)
      .where(
        and(
          eq(schema.chainEvent.contract, "StudyEscrow"),
          eq(schema.chainEvent.name, name),
          eq(sql`${schema.chainEvent.args}->>'studyId'`, studyId.toString()),
        ),
      );
  const [study, enrolments, deliveries, joins, leaves] = await Promise.all([
    indexer.db.select().from(schema.study).where(eq(schema.study.studyId, studyId)),
    indexer.db
      .select()
      .from(schema.enrolment)
      .where(eq(schema.enrolment.studyId, studyId))
      .orderBy(asc(schema.enrolment.joinedAtBlock)),
    indexer.db
      .select({
        paid: schema.delivery.paid,
        patientAmount: schema.delivery.patientAmount,
        custodianAmount: schema.delivery.custodianAmount,
      })
      .from(schema.delivery)
      .where(eq(schema.delivery.studyId, studyId)),
    events("StudyJoined"),
    events("StudyLeft"),
  ]);
  const paid = deliveries.filter((d) => d.paid);
  const sum = (values: bigint[]) => values.reduce((a, b) => a + b, 0n);
  return {
    current: enrolments.filter((e) => e.active).map((e) => checksummed(e.patient)),
    left: enrolments.filter((e) => !e.active).map((e) => checksummed(e.patient)),
    joins: Number(joins[0]?.n ?? 0),
    leaves: Number(leaves[0]?.n ?? 0),
    funded: study[0]?.funded ?? 0n,
    deliveriesPaid: paid.length,
    deliveriesSkipped: deliveries.length - paid.length,
    paidToPatients: sum(paid.map((d) => d.patientAmount)),
    paidToCustodians: sum(paid.map((d) => d.custodianAmount)),
    reclaimed: study[0]?.reclaimed ?? 0n,
  };
}

/** A prevention programme as the indexer has it (PreventionRewards). */
export interface ProgrammeListing {
  id: bigint;
  payer: Address;
  currency: Address;
  programmeKey: Hex;
  purpose: bigint;
  /** The criterion's resource type (a ConsentCodes category), code system and code hashes. */
  category: number;
  codeSystem: Hex;
  code: Hex;
  firstPeriodStart: number;
  periodLength: number;
  reward: bigint;
  endTime: number;
  budget: bigint;
  funded: bigint;
  paid: bigint;
  reclaimed: bigint;
  participants: number;
  confirmations: number;
  custodians: Address[];
  cancelled: boolean;
  /** Whether it is past its end (or cancelled) at the indexed block. */
  over: boolean;
}

/** Every prevention programme as it stands at the indexed block (or one payer's). */
export async function historyProgrammes(
  indexer: IndexerClient,
  payer?: Address,
): Promise<{ blockNumber: bigint; timestamp: number; programmes: ProgrammeListing[] }> {
  const programmes = indexer.db.select().from(schema.programme);
  const [at, rows, custodians] = await Promise.all([
    indexedAt(indexer),
    (payer ? programmes.where(eq(schema.programme.payer, hex(payer))) : programmes).orderBy(
      asc(schema.programme.programmeId),
    ),
    indexer.db.select().from(schema.programmeCustodian),
  ]);
  const byProgramme = new Map<bigint, Address[]>();
  for (const c of custodians) {
    byProgramme.set(c.programmeId, [...(byProgramme.get(c.programmeId) ?? []), checksummed(c.custodian)]);
  }
  return {
    ...at,
    programmes: rows.map((p): ProgrammeListing => ({
      id: p.programmeId,
      payer: checksummed(p.payer),
      currency: checksummed(p.currency),
      programmeKey: p.programmeKey,
      purpose: p.purpose,
      category: p.category,
      codeSystem: p.codeSystem,
      code: p.code,
      firstPeriodStart: Number(p.firstPeriodStart),
      periodLength: Number(p.periodLength),
      reward: p.reward,
      endTime: Number(p.endTime),
      budget: p.budget,
      funded: p.funded,
      paid: p.paid,
      reclaimed: p.reclaimed,
      participants: p.participants,
      confirmations: p.confirmations,
      custodians: byProgramme.get(p.programmeId) ?? [],
      cancelled: p.cancelledAtBlock !== null,
      over: at.timestamp >= Number(p.endTime),
    })),
  };
}

/** A patient's part in prevention programmes: opt-ins, paid confirmations, badges and earnings. */
export interface PatientPrevention {
  blockNumber: bigint;
  timestamp: number;
  optIns: { programmeId: bigint; active: boolean; optedInAtBlock: bigint; optedOutAtBlock: bigint | null }[];
  /** Paid confirmations, oldest first. */
  confirmations: { programmeId: bigint; period: number; custodian: Address; amount: bigint; timestamp: number }[];
  /** Badges held now (burnt ones left out). */
  badges: { tokenId: bigint; programmeId: bigint; period: number }[];
  /** What PreventionRewards owes the patient, and what it earned and withdrew, per token. */
  balances: { token: Address; amount: bigint; earned: bigint; withdrawn: bigint }[];
}

export async function historyPatientPrevention(indexer: IndexerClient, patient: Address): Promise<PatientPrevention> {
  const who = hex(patient);
  const [at, optIns, confirmations, badges, balances] = await Promise.all([
    indexedAt(indexer),
    indexer.db
      .select()
      .from(schema.programmeOptIn)
      .where(eq(schema.programmeOptIn.patient, who))
      .orderBy(asc(schema.programmeOptIn.programmeId)),
    indexer.db
      .select()
      .from(schema.confirmation)
      .where(and(eq(schema.confirmation.patient, who), eq(schema.confirmation.paid, true)))
      .orderBy(asc(schema.confirmation.blockNumber)),
    indexer.db
      .select()
      .from(schema.badge)
      .where(and(eq(schema.badge.patient, who), eq(schema.badge.burnt, false)))
      .orderBy(asc(schema.badge.programmeId), asc(schema.badge.period)),
    indexer.db.select().from(schema.rewardBalance).where(eq(schema.rewardBalance.account, who)),
  ]);
  return {
    ...at,
    optIns: optIns.map((o) => ({
      programmeId: o.programmeId,
      active: o.active,
      optedInAtBlock: o.optedInAtBlock,
      optedOutAtBlock: o.optedOutAtBlock,
    })),
    confirmations: confirmations.map((c) => ({
      programmeId: c.programmeId,
      period: c.period,
      custodian: checksummed(c.custodian),
      amount: c.amount,
      timestamp: Number(c.timestamp),
    })),
    badges: badges.map((b) => ({ tokenId: b.tokenId, programmeId: b.programmeId, period: b.period })),
    balances: balances.map((b) => ({
      token: checksummed(b.token),
      amount: b.amount,
      earned: b.earned,
      withdrawn: b.withdrawn,
    })),
  };
}

/** A programme's completions for its payer: per period, how many confirmations paid and skipped. */
export async function historyProgrammeCompletions(
  indexer: IndexerClient,
  programmeId: bigint,
): Promise<{ period: number; paid: number; skipped: number; amount: bigint }[]> {
  const rows = await indexer.db
    .select({
      period: schema.confirmation.period,
      paid: schema.confirmation.paid,
      n: count(),
      amount: sql<string>`sum(${schema.confirmation.amount})`,
    })
    .from(schema.confirmation)
    .where(eq(schema.confirmation.programmeId, programmeId))
    .groupBy(schema.confirmation.period, schema.confirmation.paid)
    .orderBy(asc(schema.confirmation.period));
  const byPeriod = new Map<number, { period: number; paid: number; skipped: number; amount: bigint }>();
  for (const r of rows) {
    const entry = byPeriod.get(r.period) ?? { period: r.period, paid: 0, skipped: 0, amount: 0n };
    if (r.paid) {
      entry.paid += Number(r.n);
      entry.amount += BigInt(r.amount ?? 0);
    } else entry.skipped += Number(r.n);
    byPeriod.set(r.period, entry);
  }
  return [...byPeriod.values()];
}
