/**
 * Indexing functions: every event of every Consentry contract. Each is kept in `chainEvent`; the
 * ones the product lists also update the tables shaped for its questions (ponder.schema.ts).
 */
import { ponder } from "ponder:registry";
import schema from "ponder:schema";
import { and, count, eq, gt, isNull, sql } from "ponder";
import { decodeFunctionData } from "viem";

import { researchFundAbi } from "../../sdk/generated/fund-abis.ts";

type Hex = `0x${string}`;
const lower = (a: string) => a.toLowerCase() as Hex;

interface AnyEvent {
  id: string;
  args: unknown;
  block: { number: bigint; timestamp: bigint };
  log: { logIndex: number };
  transaction: { hash: Hex };
}

const plain = (value: unknown): unknown =>
  typeof value === "bigint"
    ? value.toString()
    : Array.isArray(value)
      ? value.map(plain)
      : value && typeof value === "object"
        ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]))
        : value;

const seconds = (event: AnyEvent) => event.block.timestamp;

/** Keeps the event in `chainEvent`. */
async function keep(
  /** "Contract:Event" */
  source: string,
  event: AnyEvent,
  db: { insert: (t: typeof schema.chainEvent) => { values: (v: typeof schema.chainEvent.$inferInsert) => unknown } },
) {
  await db.insert(schema.chainEvent).values({
    id: event.id,
    contract: source.split(":")[0]!,
    name: source.split(":")[1]!,
    args: plain(event.args ?? {}),
    blockNumber: event.block.number,
    logIndex: event.log.logIndex,
    timestamp: seconds(event),
    transactionHash: event.transaction.hash,
  });
}

/** A study grant's scope is its study key; a direct grant's is its purpose without flags. */
const studyKeyOf = (scope: Hex, purpose: bigint): Hex | null =>
  BigInt(scope) !== (purpose & 0xffffffff00ffn) ? scope : null;

// ------------------------------------------------------------------ ConsentRegistry: consents

ponder.on("ConsentRegistry:ConsentGranted", async ({ event, context }) => {
  const { db } = context;
  await keep("ConsentRegistry:ConsentGranted", event, db);
  const a = event.args;
  const studyKey = studyKeyOf(a.scope, a.purpose);
  const ended = studyKey ? await db.find(schema.studyEnd, { studyKey }) : null;
  const expiresAt = ended && ended.endedAt < BigInt(a.expiresAt) ? ended.endedAt : BigInt(a.expiresAt);
  const values = {
    patient: lower(a.patient),
    grantee: lower(a.grantee),
    scope: a.scope,
    studyKey,
    purpose: a.purpose,
    categories: a.categories,
    validFrom: BigInt(a.validFrom),
    expiresAt,
    grantedBy: lower(a.actor),
    grantedAtBlock: event.block.number,
    grantedAt: seconds(event),
    revokedBy: null,
    revokedAll: null,
    revokedAtBlock: null,
  };
  await db
    .insert(schema.consentGrant)
    .values({ grantId: a.grantId, ...values })
    .onConflictDoUpdate(values);
  await db.insert(schema.grantChange).values({
    id: event.id,
    grantId: a.grantId,
    patient: lower(a.patient),
    grantee: lower(a.grantee),
    change: "granted",
    scope: a.scope,
    purpose: a.purpose,
    categories: a.categories,
    validFrom: BigInt(a.validFrom),
    expiresAt: BigInt(a.expiresAt),
    actor: lower(a.actor),
    blockNumber: event.block.number,
    logIndex: event.log.logIndex,
    timestamp: seconds(event),
    transactionHash: event.transaction.hash,
  });
});

ponder.on("ConsentRegistry:ConsentRevoked", async ({ event, context }) => {
  const { db } = context;
  await keep("ConsentRegistry:ConsentRevoked", event, db);
  const a = event.args;
  // The event names no scope (the grant id commits to it): the grant's own row has it.
  const granted = await db.find(schema.consentGrant, { grantId: a.grantId });
  await db
    .update(schema.consentGrant, { grantId: a.grantId })
    .set({ revokedBy: lower(a.actor), revokedAll: false, revokedAtBlock: event.block.number });
  await db.insert(schema.grantChange).values({
    id: event.id,
    grantId: a.grantId,
    patient: lower(a.patient),
    grantee: lower(a.grantee),
    change: "revoked",
    scope: granted?.scope ?? null,
    actor: lower(a.actor),
    blockNumber: event.block.number,
    logIndex: event.log.logIndex,
    timestamp: seconds(event),
    transactionHash: event.transaction.hash,
  });
});

ponder.on("ConsentRegistry:AllConsentsRevoked", async ({ event, context }) => {
  const { db } = context;
  await keep("ConsentRegistry:AllConsentsRevoked", event, db);
  const a = event.args;
  const patient = lower(a.patient);
  await db
    .insert(schema.patient)
    .values({ address: patient, epoch: a.epoch, cancelledNonce: 0n })
    .onConflictDoUpdate({ epoch: a.epoch });
  // Every grant of the patient that lives is void from now on (its epoch is older).
  await db.sql
    .update(schema.consentGrant)
    .set({ revokedBy: lower(a.actor), revokedAll: true, revokedAtBlock: event.block.number })
    .where(and(eq(schema.consentGrant.patient, patient), isNull(schema.consentGrant.revokedAtBlock)));
  // A revoke-all also ends every delegate's appointment and every open break-glass access (the
  // registry keys them by epoch too).
  await db.sql.delete(schema.delegate).where(eq(schema.delegate.patient, patient));
  await db.sql
    .update(schema.emergencyOpening)
    .set({ revokedAllAtBlock: event.block.number })
    .where(
      and(
        eq(schema.emergencyOpening.patient, patient),
        isNull(schema.emergencyOpening.revokedAllAtBlock),
        gt(schema.emergencyOpening.expiresAt, event.block.timestamp),
      ),
    );
  await db.insert(schema.grantChange).values({
    id: event.id,
    grantId: null,
    patient,
    change: "revoked-all",
    epoch: a.epoch,
    actor: lower(a.actor),
    blockNumber: event.block.number,
    logIndex: event.log.logIndex,
    timestamp: seconds(event),
    transactionHash: event.transaction.hash,
  });
});

ponder.on("ConsentRegistry:StudyConsentsEnded", async ({ event, context }) => {
  const { db } = context;
  await keep("ConsentRegistry:StudyConsentsEnded", event, db);
  const endedAt = seconds(event);
  await db.insert(schema.studyEnd).values({
    studyKey: event.args.studyKey,
    endedAt,
    actor: lower(event.args.actor),
    blockNumber: event.block.number,
  });
  await db.sql
    .update(schema.consentGrant)
    .set({ expiresAt: sql`least(${schema.consentGrant.expiresAt}, ${endedAt})` })
    .where(eq(schema.consentGrant.studyKey, event.args.studyKey));
});

ponder.on("ConsentRegistry:SignaturesCancelled", async ({ event, context }) => {
  const { db } = context;
  await keep("ConsentRegistry:SignaturesCancelled", event, db);
  await db
    .insert(schema.patient)
    .values({ address: lower(event.args.patient), epoch: 0, cancelledNonce: event.args.nonce })
    .onConflictDoUpdate({ cancelledNonce: event.args.nonce });
});

// ------------------------------------------------------------------ ConsentRegistry: delegates

ponder.on("ConsentRegistry:DelegateAppointed", async ({ event, context }) => {
  const { db } = context;
  await keep("ConsentRegistry:DelegateAppointed", event, db);
  const key = { patient: lower(event.args.patient), delegate: lower(event.args.delegate) };
  await db
    .insert(schema.delegate)
    .values({ ...key, expiresAt: BigInt(event.args.expiresAt), appointedAtBlock: event.block.number })
    .onConflictDoUpdate({ expiresAt: BigInt(event.args.expiresAt), appointedAtBlock: event.block.number });
});

ponder.on("ConsentRegistry:DelegateRemoved", async ({ event, context }) => {
  const { db } = context;
  await keep("ConsentRegistry:DelegateRemoved", event, db);
  await db.delete(schema.delegate, { patient: lower(event.args.patient), delegate: lower(event.args.delegate) });
});

// ------------------------------------------------------------------ ConsentRegistry: break-glass

const openingOf = (patient: Hex, organization: Hex) =>
  and(
    eq(schema.emergencyOpening.patient, patient),
    eq(schema.emergencyOpening.organization, organization),
    eq(schema.emergencyOpening.replaced, false),
    isNull(schema.emergencyOpening.closedAtBlock),
  );

ponder.on("ConsentRegistry:EmergencyAccessOpened", async ({ event, context }) => {
  const { db } = context;
  await keep("ConsentRegistry:EmergencyAccessOpened", event, db);
  const a = event.args;
  const patient = lower(a.patient);
  const organization = lower(a.organization);
  await db.sql.update(schema.emergencyOpening).set({ replaced: true }).where(openingOf(patient, organization));
  await db.insert(schema.emergencyOpening).values({
    id: event.id,
    patient,
    organization,
    clinician: lower(a.clinician),
    reasonCommitment: a.reasonCommitment,
    expiresAt: BigInt(a.expiresAt),
    openedAtBlock: event.block.number,
    openedAt: seconds(event),
    replaced: false,
  });
});

ponder.on("ConsentRegistry:EmergencyAccessClosed", async ({ event, context }) => {
  const { db } = context;
  await keep("ConsentRegistry:EmergencyAccessClosed", event, db);
  const a = event.args;
  await db.sql
    .update(schema.emergencyOpening)
    .set({ closedBy: lower(a.actor), closedAtBlock: event.block.number, closedAt: seconds(event) })
    .where(openingOf(lower(a.patient), lower(a.organization)));
});

ponder.on("ConsentRegistry:EmergencyPolicyChanged", async ({ event, context }) => {
  await keep("ConsentRegistry:EmergencyPolicyChanged", event, context.db);
});

// ------------------------------------------------------------------ ConsentRegistry: organizations

ponder.on("ConsentRegistry:OrganizationAccredited", async ({ event, context }) => {
  const { db } = context;
  await keep("ConsentRegistry:OrganizationAccredited", event, db);
  const a = event.args;
  const [row] = await db.sql.select({ n: count() }).from(schema.organization);
  const values = {
    kind: a.kind,
    name: a.name,
    gatewayUrl: a.gatewayUrl,
    licenceHash: a.licenceHash,
    status: "active",
    // no record of its uses yet (an accreditation clears it): commercial and for-profit
    commercial: true,
    forProfit: true,
    updatedAtBlock: event.block.number,
  };
  await db
    .insert(schema.organization)
    .values({
      address: lower(a.organization),
      ...values,
      ordinal: row?.n ?? 0,
      accreditedAtBlock: event.block.number,
    })
    .onConflictDoUpdate(values);
});

ponder.on("ConsentRegistry:OrganizationUpdated", async ({ event, context }) => {
  const { db } = context;
  await keep("ConsentRegistry:OrganizationUpdated", event, db);
  const a = event.args;
  await db.update(schema.organization, { address: lower(a.organization) }).set({
    name: a.name,
    gatewayUrl: a.gatewayUrl,
    licenceHash: a.licenceHash,
    updatedAtBlock: event.block.number,
  });
});

ponder.on("ConsentRegistry:OrganizationUseProfileSet", async ({ event, context }) => {
  const { db } = context;
  await keep("ConsentRegistry:OrganizationUseProfileSet", event, db);
  const a = event.args;
  await db
    .update(schema.organization, { address: lower(a.organization) })
    .set({ commercial: a.commercial, forProfit: a.forProfit, updatedAtBlock: event.block.number });
});

ponder.on("ConsentRegistry:OrganizationSuspended", async ({ event, context }) => {
  const { db } = context;
  await keep("ConsentRegistry:OrganizationSuspended", event, db);
  await db
    .update(schema.organization, { address: lower(event.args.organization) })
    .set({ status: "suspended", updatedAtBlock: event.block.number });
});

ponder.on("ConsentRegistry:OrganizationReinstated", async ({ event, context }) => {
  const { db } = context;
  await keep("ConsentRegistry:OrganizationReinstated", event, db);
  await db
    .update(schema.organization, { address: lower(event.args.organization) })
    .set({ status: "active", updatedAtBlock: event.block.number });
});

ponder.on("ConsentRegistry:MembershipOffered", async ({ event, context }) => {
  const { db } = context;
  await keep("ConsentRegistry:MembershipOffered", event, db);
  const key = { organization: lower(event.args.organization), member: lower(event.args.member) };
  await db
    .insert(schema.membershipOffer)
    .values({ ...key, role: event.args.role, offeredAtBlock: event.block.number })
    .onConflictDoUpdate({ role: event.args.role, offeredAtBlock: event.block.number });
});

ponder.on("ConsentRegistry:MembershipOfferWithdrawn", async ({ event, context }) => {
  const { db } = context;
  await keep("ConsentRegistry:MembershipOfferWithdrawn", event, db);
  await db.delete(schema.membershipOffer, {
    organization: lower(event.args.organization),
    member: lower(event.args.member),
  });
});

ponder.on("ConsentRegistry:MemberAdded", async ({ event, context }) => {
  const { db } = context;
  await keep("ConsentRegistry:MemberAdded", event, db);
  const key = { organization: lower(event.args.organization), member: lower(event.args.member) };
  await db.delete(schema.membershipOffer, key);
  await db
    .insert(schema.member)
    .values({ ...key, role: event.args.role, addedAtBlock: event.block.number })
    .onConflictDoUpdate({ role: event.args.role, addedAtBlock: event.block.number });
});

ponder.on("ConsentRegistry:MemberRemoved", async ({ event, context }) => {
  const { db } = context;
  await keep("ConsentRegistry:MemberRemoved", event, db);
  await db.delete(schema.member, { organization: lower(event.args.organization), member: lower(event.args.member) });
});

ponder.on("ConsentRegistry:EIP712DomainChanged", async ({ event, context }) => {
  await keep("ConsentRegistry:EIP712DomainChanged", event, context.db);
});
ponder.on("ConsentRegistry:RoleAdminChanged", async ({ event, context }) => {
  await keep("ConsentRegistry:RoleAdminChanged", event, context.db);
});
ponder.on("ConsentRegistry:RoleGranted", async ({ event, context }) => {
  await keep("ConsentRegistry:RoleGranted", event, context.db);
});
ponder.on("ConsentRegistry:RoleRevoked", async ({ event, context }) => {
  await keep("ConsentRegistry:RoleRevoked", event, context.db);
});

// ------------------------------------------------------------------ StudyEscrow

ponder.on("StudyEscrow:StudyCreated", async ({ event, context }) => {
  const { db } = context;
  await keep("StudyEscrow:StudyCreated", event, db);
  const a = event.args;
  await db.insert(schema.study).values({
    studyId: a.studyId,
    researcher: lower(a.researcher),
    currency: lower(a.currency),
    studyKey: a.studyKey,
    purpose: a.purpose,
    categories: a.categories,
    price: a.price,
    maxParticipants: a.maxParticipants,
    enrolmentDeadline: BigInt(a.enrolmentDeadline),
    endTime: BigInt(a.endTime),
    protocolHash: a.protocolHash,
    creator: lower(a.creator),
    createdAtBlock: event.block.number,
    createdAt: seconds(event),
    budget: 0n,
    funded: 0n,
    paid: 0n,
    reclaimed: 0n,
    participants: 0,
    attestedEnrolment: false,
  });
});

ponder.on("StudyEscrow:StudyRequiresAttestation", async ({ event, context }) => {
  const { db } = context;
  await keep("StudyEscrow:StudyRequiresAttestation", event, db);
  await db.update(schema.study, { studyId: event.args.studyId }).set({ attestedEnrolment: true });
});

ponder.on("StudyEscrow:StudyCustodianAllowed", async ({ event, context }) => {
  const { db } = context;
  await keep("StudyEscrow:StudyCustodianAllowed", event, db);
  const a = event.args;
  await db
    .insert(schema.studyCustodian)
    .values({ studyId: a.studyId, custodian: lower(a.custodian), slot: a.slot, shareBps: a.shareBps })
    .onConflictDoUpdate({ slot: a.slot, shareBps: a.shareBps });
});

ponder.on("StudyEscrow:StudyFunded", async ({ event, context }) => {
  const { db } = context;
  await keep("StudyEscrow:StudyFunded", event, db);
  const a = event.args;
  await db
    .update(schema.study, { studyId: a.studyId })
    .set((row) => ({ budget: a.budget, funded: row.funded + a.amount }));
  await db.insert(schema.studyFunding).values({
    id: event.id,
    studyId: a.studyId,
    kind: "funded",
    account: lower(a.funder),
    amount: a.amount,
    blockNumber: event.block.number,
    timestamp: seconds(event),
  });
});

ponder.on("StudyEscrow:BudgetReclaimed", async ({ event, context }) => {
  const { db } = context;
  await keep("StudyEscrow:BudgetReclaimed", event, db);
  const a = event.args;
  await db
    .update(schema.study, { studyId: a.studyId })
    .set((row) => ({ budget: row.budget - a.amount, reclaimed: row.reclaimed + a.amount }));
  await db.insert(schema.studyFunding).values({
    id: event.id,
    studyId: a.studyId,
    kind: "reclaimed",
    account: lower(a.to),
    amount: a.amount,
    blockNumber: event.block.number,
    timestamp: seconds(event),
  });
});

ponder.on("StudyEscrow:StudyCancelled", async ({ event, context }) => {
  const { db } = context;
  await keep("StudyEscrow:StudyCancelled", event, db);
  // As the escrow does: the study ends now, and so does its enrolment if it was still open.
  const now = seconds(event);
  await db.update(schema.study, { studyId: event.args.studyId }).set((row) => ({
    cancelledAtBlock: event.block.number,
    cancelledBy: lower(event.args.actor),
    endTime: now,
    enrolmentDeadline: row.enrolmentDeadline > now ? now : row.enrolmentDeadline,
  }));
});

ponder.on("StudyEscrow:StudyJoined", async ({ event, context }) => {
  const { db } = context;
  await keep("StudyEscrow:StudyJoined", event, db);
  const a = event.args;
  const joined = {
    active: true,
    joinedBy: lower(a.actor),
    joinedAtBlock: event.block.number,
    leftBy: null,
    leftAtBlock: null,
  };
  await db
    .insert(schema.enrolment)
    .values({ studyId: a.studyId, patient: lower(a.patient), ...joined })
    .onConflictDoUpdate(joined);
  await db.update(schema.study, { studyId: a.studyId }).set((row) => ({ participants: row.participants + 1 }));
});

ponder.on("StudyEscrow:StudyLeft", async ({ event, context }) => {
  const { db } = context;
  await keep("StudyEscrow:StudyLeft", event, db);
  const a = event.args;
  await db
    .update(schema.enrolment, { studyId: a.studyId, patient: lower(a.patient) })
    .set({ active: false, leftBy: lower(a.actor), leftAtBlock: event.block.number });
  await db.update(schema.study, { studyId: a.studyId }).set((row) => ({ participants: row.participants - 1 }));
});

async function credit(
  db: Parameters<Parameters<typeof ponder.on<"StudyEscrow:DeliveryPaid">>[1]>[0]["context"]["db"],
  account: Hex,
  token: Hex,
  amount: bigint,
) {
  await db
    .insert(schema.balance)
    .values({ account, token, amount, earned: amount, withdrawn: 0n })
    .onConflictDoUpdate((row) => ({ amount: row.amount + amount, earned: row.earned + amount }));
}

ponder.on("StudyEscrow:DeliveryPaid", async ({ event, context }) => {
  const { db } = context;
  await keep("StudyEscrow:DeliveryPaid", event, db);
  const a = event.args;
  await db.insert(schema.delivery).values({
    id: event.id,
    studyId: a.studyId,
    patient: lower(a.patient),
    custodian: lower(a.custodian),
    paid: true,
    patientAmount: a.patientAmount,
    custodianAmount: a.custodianAmount,
    blockNumber: event.block.number,
    timestamp: seconds(event),
  });
  const found = await db.find(schema.study, { studyId: a.studyId });
  if (!found) return;
  const spent = a.patientAmount + a.custodianAmount;
  await db
    .update(schema.study, { studyId: a.studyId })
    .set((row) => ({ budget: row.budget - spent, paid: row.paid + spent }));
  // The patient's part is credited per delivery; the custodian's once per report (DeliveriesReported).
  if (a.patientAmount > 0n) await credit(db, lower(a.patient), found.currency, a.patientAmount);
});

ponder.on("StudyEscrow:DeliverySkipped", async ({ event, context }) => {
  const { db } = context;
  await keep("StudyEscrow:DeliverySkipped", event, db);
  const a = event.args;
  await db.insert(schema.delivery).values({
    id: event.id,
    studyId: a.studyId,
    patient: lower(a.patient),
    custodian: lower(a.custodian),
    paid: false,
    patientAmount: 0n,
    custodianAmount: 0n,
    reason: a.reason,
    consentReason: a.consentReason,
    blockNumber: event.block.number,
    timestamp: seconds(event),
  });
});

ponder.on("StudyEscrow:DeliveriesReported", async ({ event, context }) => {
  const { db } = context;
  await keep("StudyEscrow:DeliveriesReported", event, db);
  const a = event.args;
  await db.insert(schema.deliveryReport).values({
    id: event.id,
    studyId: a.studyId,
    custodian: lower(a.custodian),
    gateway: lower(a.gateway),
    paid: a.paid,
    skipped: a.skipped,
    custodianAmount: a.custodianAmount,
    blockNumber: event.block.number,
    timestamp: seconds(event),
  });
  const found = await db.find(schema.study, { studyId: a.studyId });
  if (found && a.custodianAmount > 0n) await credit(db, lower(a.custodian), found.currency, a.custodianAmount);
});

ponder.on("StudyEscrow:Withdrawn", async ({ event, context }) => {
  const { db } = context;
  await keep("StudyEscrow:Withdrawn", event, db);
  const a = event.args;
  const key = { account: lower(a.account), token: lower(a.token) };
  await db
    .insert(schema.balance)
    .values({ ...key, amount: 0n, earned: 0n, withdrawn: a.amount })
    .onConflictDoUpdate((row) => ({ amount: 0n, withdrawn: row.withdrawn + a.amount }));
  await db.insert(schema.withdrawal).values({
    id: event.id,
    ...key,
    amount: a.amount,
    blockNumber: event.block.number,
    timestamp: seconds(event),
    transactionHash: event.transaction.hash,
  });
});

ponder.on("StudyEscrow:WithdrawalRelayed", async ({ event, context }) => {
  const { db } = context;
  await keep("StudyEscrow:WithdrawalRelayed", event, db);
  const a = event.args;
  // The same transaction's Withdrawn (emitted just before) is the withdrawal it relayed.
  await db.sql
    .update(schema.withdrawal)
    .set({ relayer: lower(a.relayer), fee: a.fee })
    .where(
      and(
        eq(schema.withdrawal.transactionHash, event.transaction.hash),
        eq(schema.withdrawal.account, lower(a.patient)),
        eq(schema.withdrawal.token, lower(a.token)),
      ),
    );
});

ponder.on("StudyEscrow:WithdrawFeeCapSet", async ({ event, context }) => {
  await keep("StudyEscrow:WithdrawFeeCapSet", event, context.db);
});

ponder.on("StudyEscrow:SignaturesCancelled", async ({ event, context }) => {
  await keep("StudyEscrow:SignaturesCancelled", event, context.db);
});
ponder.on("StudyEscrow:CurrencyAllowed", async ({ event, context }) => {
  await keep("StudyEscrow:CurrencyAllowed", event, context.db);
});
ponder.on("StudyEscrow:ExcessRecovered", async ({ event, context }) => {
  await keep("StudyEscrow:ExcessRecovered", event, context.db);
});
ponder.on("StudyEscrow:EIP712DomainChanged", async ({ event, context }) => {
  await keep("StudyEscrow:EIP712DomainChanged", event, context.db);
});
ponder.on("StudyEscrow:RoleAdminChanged", async ({ event, context }) => {
  await keep("StudyEscrow:RoleAdminChanged", event, context.db);
});
ponder.on("StudyEscrow:RoleGranted", async ({ event, context }) => {
  await keep("StudyEscrow:RoleGranted", event, context.db);
});
ponder.on("StudyEscrow:RoleRevoked", async ({ event, context }) => {
  await keep("StudyEscrow:RoleRevoked", event, context.db);
});

// ------------------------------------------------------------------ AuditAnchor

ponder.on("AuditAnchor:AuditBatchAnchored", async ({ event, context }) => {
  const { db } = context;
  await keep("AuditAnchor:AuditBatchAnchored", event, db);
  const a = event.args;
  await db.insert(schema.auditBatch).values({
    custodian: lower(a.custodian),
    batchIndex: a.batchIndex,
    merkleRoot: a.merkleRoot,
    firstSequence: a.firstSequence,
    lastSequence: a.lastSequence,
    gateway: lower(a.gateway),
    anchoredAtBlock: event.block.number,
    supersessions: 0,
  });
});

ponder.on("AuditAnchor:AuditBatchSuperseded", async ({ event, context }) => {
  const { db } = context;
  await keep("AuditAnchor:AuditBatchSuperseded", event, db);
  const a = event.args;
  await db
    .update(schema.auditBatch, { custodian: lower(a.custodian), batchIndex: a.batchIndex })
    .set((row) => ({ merkleRoot: a.merkleRoot, lastSequence: a.lastSequence, supersessions: row.supersessions + 1 }));
  await db.insert(schema.auditSupersession).values({
    id: event.id,
    custodian: lower(a.custodian),
    batchIndex: a.batchIndex,
    previousRoot: a.previousRoot,
    merkleRoot: a.merkleRoot,
    lastSequence: a.lastSequence,
    actor: lower(a.actor),
    blockNumber: event.block.number,
  });
});

// ------------------------------------------------------------------ RemunerationToken (local demo token)

for (const name of [
  "Transfer",
  "Approval",
  "FaucetDrawn",
  "EIP712DomainChanged",
  "RoleAdminChanged",
  "RoleGranted",
  "RoleRevoked",
] as const) {
  ponder.on(`RemunerationToken:${name}`, async ({ event, context }) => {
    await keep(`RemunerationToken:${name}`, event, context.db);
  });
}

// ------------------------------------------------------------------ PreventionRewards

ponder.on("PreventionRewards:ProgrammeCreated", async ({ event, context }) => {
  const { db } = context;
  await keep("PreventionRewards:ProgrammeCreated", event, db);
  const a = event.args;
  await db.insert(schema.programme).values({
    programmeId: a.programmeId,
    payer: lower(a.payer),
    currency: lower(a.currency),
    programmeKey: a.programmeKey,
    purpose: a.purpose,
    category: a.category,
    codeSystem: a.codeSystem,
    code: a.code,
    firstPeriodStart: BigInt(a.firstPeriodStart),
    periodLength: BigInt(a.periodLength),
    reward: a.reward,
    endTime: BigInt(a.endTime),
    creator: lower(a.creator),
    createdAtBlock: event.block.number,
    budget: 0n,
    funded: 0n,
    paid: 0n,
    reclaimed: 0n,
    participants: 0,
    confirmations: 0,
  });
});

ponder.on("PreventionRewards:ProgrammeCustodianAllowed", async ({ event, context }) => {
  const { db } = context;
  await keep("PreventionRewards:ProgrammeCustodianAllowed", event, db);
  await db
    .insert(schema.programmeCustodian)
    .values({ programmeId: event.args.programmeId, custodian: lower(event.args.custodian) })
    .onConflictDoNothing();
});

ponder.on("PreventionRewards:ProgrammeFunded", async ({ event, context }) => {
  const { db } = context;
  await keep("PreventionRewards:ProgrammeFunded", event, db);
  const a = event.args;
  await db
    .update(schema.programme, { programmeId: a.programmeId })
    .set((row) => ({ budget: a.budget, funded: row.funded + a.amount }));
});

ponder.on("PreventionRewards:ProgrammeBudgetReclaimed", async ({ event, context }) => {
  const { db } = context;
  await keep("PreventionRewards:ProgrammeBudgetReclaimed", event, db);
  const a = event.args;
  await db
    .update(schema.programme, { programmeId: a.programmeId })
    .set((row) => ({ budget: row.budget - a.amount, reclaimed: row.reclaimed + a.amount }));
});

ponder.on("PreventionRewards:ProgrammeCancelled", async ({ event, context }) => {
  const { db } = context;
  await keep("PreventionRewards:ProgrammeCancelled", event, db);
  // As the contract does: the programme ends now.
  await db
    .update(schema.programme, { programmeId: event.args.programmeId })
    .set({ cancelledAtBlock: event.block.number, endTime: seconds(event) });
});

ponder.on("PreventionRewards:OptedIn", async ({ event, context }) => {
  const { db } = context;
  await keep("PreventionRewards:OptedIn", event, db);
  const a = event.args;
  const key = { programmeId: a.programmeId, patient: lower(a.patient) };
  const before = await db.find(schema.programmeOptIn, key);
  const optedIn = {
    active: true,
    optedInBy: lower(a.actor),
    optedInAtBlock: event.block.number,
    optedOutBy: null,
    optedOutAtBlock: null,
  };
  await db
    .insert(schema.programmeOptIn)
    .values({ ...key, ...optedIn })
    .onConflictDoUpdate(optedIn);
  // Opting in again while opted in renews the consent; it takes no second place.
  if (!before?.active) {
    await db
      .update(schema.programme, { programmeId: a.programmeId })
      .set((row) => ({ participants: row.participants + 1 }));
  }
});

ponder.on("PreventionRewards:OptedOut", async ({ event, context }) => {
  const { db } = context;
  await keep("PreventionRewards:OptedOut", event, db);
  const a = event.args;
  await db
    .update(schema.programmeOptIn, { programmeId: a.programmeId, patient: lower(a.patient) })
    .set({ active: false, optedOutBy: lower(a.actor), optedOutAtBlock: event.block.number });
  await db
    .update(schema.programme, { programmeId: a.programmeId })
    .set((row) => ({ participants: row.participants - 1 }));
});

ponder.on("PreventionRewards:ConfirmationPaid", async ({ event, context }) => {
  const { db } = context;
  await keep("PreventionRewards:ConfirmationPaid", event, db);
  const a = event.args;
  await db.insert(schema.confirmation).values({
    id: event.id,
    programmeId: a.programmeId,
    patient: lower(a.patient),
    custodian: lower(a.custodian),
    period: a.period,
    paid: true,
    amount: a.amount,
    blockNumber: event.block.number,
    timestamp: seconds(event),
  });
  const found = await db.find(schema.programme, { programmeId: a.programmeId });
  if (!found) return;
  await db.update(schema.programme, { programmeId: a.programmeId }).set((row) => ({
    budget: row.budget - a.amount,
    paid: row.paid + a.amount,
    confirmations: row.confirmations + 1,
  }));
  await db
    .insert(schema.rewardBalance)
    .values({ account: lower(a.patient), token: found.currency, amount: a.amount, earned: a.amount, withdrawn: 0n })
    .onConflictDoUpdate((row) => ({ amount: row.amount + a.amount, earned: row.earned + a.amount }));
});

ponder.on("PreventionRewards:ConfirmationSkipped", async ({ event, context }) => {
  const { db } = context;
  await keep("PreventionRewards:ConfirmationSkipped", event, db);
  const a = event.args;
  await db.insert(schema.confirmation).values({
    id: event.id,
    programmeId: a.programmeId,
    patient: lower(a.patient),
    custodian: lower(a.custodian),
    period: a.period,
    paid: false,
    amount: 0n,
    reason: a.reason,
    consentReason: a.consentReason,
    blockNumber: event.block.number,
    timestamp: seconds(event),
  });
});

ponder.on("PreventionRewards:Withdrawn", async ({ event, context }) => {
  const { db } = context;
  await keep("PreventionRewards:Withdrawn", event, db);
  const a = event.args;
  await db
    .insert(schema.rewardBalance)
    .values({ account: lower(a.account), token: lower(a.token), amount: 0n, earned: 0n, withdrawn: a.amount })
    .onConflictDoUpdate((row) => ({ amount: 0n, withdrawn: row.withdrawn + a.amount }));
});

for (const name of [
  "ConfirmationsReported",
  "ProgrammeSignaturesCancelled",
  "WithdrawalRelayed",
  "WithdrawFeeCapSet",
  "CurrencyAllowed",
  "ExcessRecovered",
  "EIP712DomainChanged",
  "RoleAdminChanged",
  "RoleGranted",
  "RoleRevoked",
] as const) {
  ponder.on(`PreventionRewards:${name}`, async ({ event, context }) => {
    await keep(`PreventionRewards:${name}`, event, context.db);
  });
}

// ------------------------------------------------------------------ PreventionBadge

ponder.on("PreventionBadge:BadgeClaimed", async ({ event, context }) => {
  const { db } = context;
  await keep("PreventionBadge:BadgeClaimed", event, db);
  const a = event.args;
  const claimed = {
    programmeId: a.programmeId,
    patient: lower(a.patient),
    period: a.period,
    claimedAtBlock: event.block.number,
    burnt: false,
  };
  // A badge burnt and claimed again has the same id.
  await db
    .insert(schema.badge)
    .values({ tokenId: a.tokenId, ...claimed })
    .onConflictDoUpdate(claimed);
});

ponder.on("PreventionBadge:Transfer", async ({ event, context }) => {
  const { db } = context;
  await keep("PreventionBadge:Transfer", event, db);
  // Badges never move: a transfer to the zero address is the patient burning one.
  if (BigInt(event.args.to) === 0n) {
    await db.update(schema.badge, { tokenId: event.args.tokenId }).set({ burnt: true });
  }
});

for (const name of ["Locked", "Unlocked", "Approval", "ApprovalForAll"] as const) {
  ponder.on(`PreventionBadge:${name}`, async ({ event, context }) => {
    await keep(`PreventionBadge:${name}`, event, context.db);
  });
}

// ------------------------------------------------------------------ StudyEscrow: third-party sponsors

ponder.on("StudyEscrow:StudySponsored", async ({ event, context }) => {
  const { db } = context;
  await keep("StudyEscrow:StudySponsored", event, db);
  const a = event.args;
  await db.insert(schema.studySponsorship).values({
    id: event.id,
    studyId: a.studyId,
    sponsor: lower(a.sponsor),
    amount: a.amount,
    blockNumber: event.block.number,
    timestamp: seconds(event),
  });
});

// ------------------------------------------------------------------ ResearchFundFactory and its funds (a DAO per cause)

ponder.on("ResearchFundFactory:FundCreated", async ({ event, context }) => {
  const { db } = context;
  await keep("ResearchFundFactory:FundCreated", event, db);
  const a = event.args;
  await db.insert(schema.researchFund).values({
    address: lower(a.fund),
    creator: lower(a.creator),
    currency: lower(a.currency),
    governor: lower(a.governor),
    timelock: lower(a.timelock),
    cause: a.cause,
    goal: a.goal,
    end: BigInt(a.end),
    quorumPercent: a.quorumPercent,
    votingPeriod: a.votingPeriod,
    timelockDelay: a.timelockDelay,
    raised: 0n,
    shares: 0n,
    sponsored: 0n,
    settled: 0n,
    createdAtBlock: event.block.number,
    createdAt: seconds(event),
  });
});

/** A member's shares and money in or out of the fund that emitted `event`. */
async function fundMove(
  event: AnyEvent & { log: { address: Hex } },
  db: Parameters<Parameters<typeof ponder.on<"ResearchFund:Contributed">>[1]>[0]["context"]["db"],
  member: Hex,
  kind: "contributed" | "ragequit" | "redeemed",
  shares: bigint,
  amount: bigint,
) {
  const fund = lower(event.log.address);
  const into = kind === "contributed";
  await db
    .insert(schema.fundMember)
    .values({ fund, member: lower(member), shares, contributed: amount, withdrawn: 0n })
    .onConflictDoUpdate((row) =>
      into
        ? { shares: row.shares + shares, contributed: row.contributed + amount }
        : { shares: row.shares - shares, withdrawn: row.withdrawn + amount },
    );
  await db
    .update(schema.researchFund, { address: fund })
    .set((row) =>
      into ? { raised: row.raised + amount, shares: row.shares + shares } : { shares: row.shares - shares },
    );
  await db.insert(schema.fundMovement).values({
    id: event.id,
    fund,
    member: lower(member),
    kind,
    shares,
    amount,
    blockNumber: event.block.number,
    timestamp: seconds(event),
  });
}

ponder.on("ResearchFund:Contributed", async ({ event, context }) => {
  await keep("ResearchFund:Contributed", event, context.db);
  await fundMove(event, context.db, event.args.member, "contributed", event.args.amount, event.args.amount);
});

ponder.on("ResearchFund:RageQuit", async ({ event, context }) => {
  await keep("ResearchFund:RageQuit", event, context.db);
  await fundMove(event, context.db, event.args.member, "ragequit", event.args.shares, event.args.amount);
});

ponder.on("ResearchFund:Redeemed", async ({ event, context }) => {
  await keep("ResearchFund:Redeemed", event, context.db);
  await fundMove(event, context.db, event.args.member, "redeemed", event.args.shares, event.args.amount);
});

ponder.on("ResearchFund:SponsoredStudy", async ({ event, context }) => {
  await keep("ResearchFund:SponsoredStudy", event, context.db);
  const fund = lower(event.log.address);
  const { studyId, amount } = event.args;
  await context.db.update(schema.researchFund, { address: fund }).set((row) => ({ sponsored: row.sponsored + amount }));
  await context.db
    .insert(schema.fundStudy)
    .values({ fund, studyId, amount, sponsoredAtBlock: event.block.number })
    .onConflictDoUpdate((row) => ({ amount: row.amount + amount }));
});

ponder.on("ResearchFund:SettledStudy", async ({ event, context }) => {
  await keep("ResearchFund:SettledStudy", event, context.db);
  const fund = lower(event.log.address);
  await context.db
    .update(schema.researchFund, { address: fund })
    .set((row) => ({ settled: row.settled + event.args.amount }));
  await context.db
    .update(schema.fundStudy, { fund, studyId: event.args.studyId })
    .set({ settledAmount: event.args.amount, settledAtBlock: event.block.number });
});

ponder.on("ResearchFund:Closed", async ({ event, context }) => {
  await keep("ResearchFund:Closed", event, context.db);
  await context.db
    .update(schema.researchFund, { address: lower(event.log.address) })
    .set({ closedAtBlock: event.block.number });
});

for (const name of [
  "Transfer",
  "Approval",
  "DelegateChanged",
  "DelegateVotesChanged",
  "EIP712DomainChanged",
] as const) {
  ponder.on(`ResearchFund:${name}`, async ({ event, context }) => {
    await keep(`ResearchFund:${name}`, event, context.db);
  });
}

// ------------------------------------------------------------------ ResearchFundGovernor

ponder.on("ResearchFundGovernor:ProposalCreated", async ({ event, context }) => {
  await keep("ResearchFundGovernor:ProposalCreated", event, context.db);
  const a = event.args;
  // A fund's Governor takes one call on the fund: sponsorStudy(studyId, amount, protocolHash) or close().
  const call = decodeFunctionData({ abi: researchFundAbi, data: a.calldatas[0]! });
  const sponsor = call.functionName === "sponsorStudy" ? (call.args as readonly [bigint, bigint, Hex]) : null;
  await context.db.insert(schema.fundProposal).values({
    proposalId: a.proposalId,
    governor: lower(event.log.address),
    proposer: lower(a.proposer),
    action: call.functionName,
    studyId: sponsor?.[0] ?? null,
    amount: sponsor?.[1] ?? null,
    protocolHash: sponsor?.[2] ?? null,
    description: a.description,
    voteStart: a.voteStart,
    voteEnd: a.voteEnd,
    forVotes: 0n,
    againstVotes: 0n,
    abstainVotes: 0n,
    createdAtBlock: event.block.number,
  });
});

/** A vote: its row and the proposal's tally. */
async function countVote(
  event: AnyEvent,
  db: Parameters<Parameters<typeof ponder.on<"ResearchFundGovernor:VoteCast">>[1]>[0]["context"]["db"],
  a: { voter: Hex; proposalId: bigint; support: number; weight: bigint; reason: string },
) {
  await db.insert(schema.fundVote).values({
    proposalId: a.proposalId,
    voter: lower(a.voter),
    support: a.support,
    weight: a.weight,
    reason: a.reason,
    blockNumber: event.block.number,
  });
  await db.update(schema.fundProposal, { proposalId: a.proposalId }).set((row) => ({
    forVotes: row.forVotes + (a.support === 1 ? a.weight : 0n),
    againstVotes: row.againstVotes + (a.support === 0 ? a.weight : 0n),
    abstainVotes: row.abstainVotes + (a.support === 2 ? a.weight : 0n),
  }));
}

ponder.on("ResearchFundGovernor:VoteCast", async ({ event, context }) => {
  await keep("ResearchFundGovernor:VoteCast", event, context.db);
  await countVote(event, context.db, event.args);
});

ponder.on("ResearchFundGovernor:VoteCastWithParams", async ({ event, context }) => {
  await keep("ResearchFundGovernor:VoteCastWithParams", event, context.db);
  await countVote(event, context.db, event.args);
});

ponder.on("ResearchFundGovernor:ProposalQueued", async ({ event, context }) => {
  await keep("ResearchFundGovernor:ProposalQueued", event, context.db);
  await context.db
    .update(schema.fundProposal, { proposalId: event.args.proposalId })
    .set({ eta: event.args.etaSeconds });
});

ponder.on("ResearchFundGovernor:ProposalExecuted", async ({ event, context }) => {
  await keep("ResearchFundGovernor:ProposalExecuted", event, context.db);
  await context.db
    .update(schema.fundProposal, { proposalId: event.args.proposalId })
    .set({ executedAtBlock: event.block.number });
});

ponder.on("ResearchFundGovernor:ProposalCanceled", async ({ event, context }) => {
  await keep("ResearchFundGovernor:ProposalCanceled", event, context.db);
  await context.db
    .update(schema.fundProposal, { proposalId: event.args.proposalId })
    .set({ canceledAtBlock: event.block.number });
});

for (const name of ["TimelockChange", "EIP712DomainChanged"] as const) {
  ponder.on(`ResearchFundGovernor:${name}`, async ({ event, context }) => {
    await keep(`ResearchFundGovernor:${name}`, event, context.db);
  });
}

// ------------------------------------------------------------------ ResearchFundTimelock (kept only: the proposals say it all)

for (const name of [
  "CallScheduled",
  "CallExecuted",
  "CallSalt",
  "Cancelled",
  "MinDelayChange",
  "RoleAdminChanged",
  "RoleGranted",
  "RoleRevoked",
] as const) {
  ponder.on(`ResearchFundTimelock:${name}`, async ({ event, context }) => {
    await keep(`ResearchFundTimelock:${name}`, event, context.db);
  });
}
