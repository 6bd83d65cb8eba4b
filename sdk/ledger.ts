/**
 * A patient's consent ledger read back from the chain: grants (with their live state), delegates,
 * open emergency access and the accredited organizations. Everything is read at one block, from
 * the registry's events (filtered by the indexed patient or delegate) and its views, so a wallet
 * app, a gateway's `GET /fhir/Consent?patient=…` and a provider's backend see the same thing.
 *
 * These readers scan logs from block 0 (or `fromBlock`): lists shown to people come from the indexer
 * instead (sdk/history.ts, same shapes; the app through its server). They remain the reference the
 * indexer test compares with, and the gateway's Consent listing without INDEXER_URL
 * (docs/architecture.md, "Reads and decisions").
 */
import { type Address, type Hex, isAddressEqual } from "viem";

import type { ChainReader } from "./chain-reader.ts";
import { EMERGENCY_REASON_ON_CHAIN, KINDS, ORGANIZATION_STATUS, type KindName } from "./codes.ts";
import { type GrantRecord, type GrantState, toFhirConsent } from "./fhir.ts";
import { consentRegistryAbi } from "./generated/abis.ts";

/** `appointDelegate(…, 0)` stores this: a delegate without an end date. */
export const NO_END = 2 ** 40 - 1;

export interface LedgerQuery {
  registry: Address;
  /** Read at this block; default: the latest block, fetched uncached. */
  blockNumber?: bigint;
  /** Scan events from this block (default 0). */
  fromBlock?: bigint;
}

export interface Organization {
  address: Address;
  name: string;
  kind: KindName | null;
  active: boolean;
  gatewayUrl: string;
  /** Governance's record of its uses (`useProfile`): commercial, for profit (both unless recorded). */
  commercial: boolean;
  forProfit: boolean;
}

export interface LedgerGrant {
  grantId: Hex;
  patient: Address;
  grantee: Address;
  /**
   * The key of the grant: for a direct grant its purpose without flags (`grantScope`: the code,
   * and for DS the disease), for a study grant the study key.
   */
  scope: Hex;
  /** Set for a study grant. */
  studyKey: Hex | null;
  /** As last granted (the stored values while the grant lives). */
  purpose: bigint;
  categories: number;
  validFrom: number;
  /** For a study grant of a cancelled study: when the study manager ended it, if that is earlier. */
  expiresAt: number;
  /** Who made the last grant or update: the patient, a delegate, a relayer or the study manager. */
  grantedBy: Address;
  /** The grantee's name in the registry, when the reader has it at hand (the indexer's readers do). */
  granteeName?: string;
  grantedAtBlock: bigint;
  /** Null while the grant lives. `all`: voided by a revoke-all. `at`: its block's time (unix seconds). */
  revoked: { by: Address; all: boolean; atBlock: bigint; at: number } | null;
  /**
   * The earlier consents to the same organization for the same purpose (the same grant id) that a
   * later grant replaced, oldest first, each with how and when it ended. Absent when a reader
   * does not say.
   */
  earlier?: EarlierGrant[];
}

/**
 * A grant as it stands, without its history: what a list of current consents needs (its state,
 * scope and grantee), not when a revocation happened or what the grant replaced. Every
 * {@link LedgerGrant} is one.
 */
export type CurrentGrant = Omit<LedgerGrant, "revoked" | "earlier"> & {
  /** Null while the grant lives. `all`: voided by a revoke-all. */
  revoked: Omit<NonNullable<LedgerGrant["revoked"]>, "at"> | null;
};

/** An earlier consent under a grant id, before a later grant replaced it. */
export interface EarlierGrant {
  purpose: bigint;
  categories: number;
  validFrom: number;
  expiresAt: number;
  grantedBy: Address;
  grantedAtBlock: bigint;
  /** When it ended (unix seconds): revoked (alone or by a revoke-all), expired, or replaced by the next grant. */
  ended: { at: number; how: "revoked" | "expired" | "replaced" };
}

/** One change of a patient's grants (ConsentGranted, ConsentRevoked, AllConsentsRevoked), for `earlierGrants`. */
export interface GrantChange {
  change: "granted" | "revoked" | "revoked-all";
  /** Null for a revoke-all. */
  grantId: Hex | null;
  blockNumber: bigint;
  logIndex: number;
  /** The block's time (unix seconds). */
  timestamp: number;
  actor: Address;
  /** A grant's terms (change "granted"). */
  purpose?: bigint;
  categories?: number;
  validFrom?: number;
  expiresAt?: number;
}

/**
 * The earlier versions of each grant id: every grant but the last, with how it ended. A version
 * ends when it is revoked (or voided by a revoke-all while it runs), when it expires, or else
 * when the next grant under the same id replaces it.
 */
export function earlierGrants(changes: readonly GrantChange[]): Map<Hex, EarlierGrant[]> {
  type Version = Omit<EarlierGrant, "ended"> & { ended?: EarlierGrant["ended"] };
  const current = new Map<Hex, Version>();
  const out = new Map<Hex, EarlierGrant[]>();
  for (const c of [...changes].sort(order)) {
    if (c.change === "granted" && c.grantId) {
      const previous = current.get(c.grantId);
      if (previous) {
        const ended =
          previous.ended ??
          (previous.expiresAt <= c.timestamp
            ? { at: previous.expiresAt, how: "expired" as const }
            : { at: c.timestamp, how: "replaced" as const });
        out.set(c.grantId, [...(out.get(c.grantId) ?? []), { ...previous, ended }]);
      }
      current.set(c.grantId, {
        purpose: c.purpose ?? 0n,
        categories: c.categories ?? 0,
        validFrom: c.validFrom ?? 0,
        expiresAt: c.expiresAt ?? 0,
        grantedBy: c.actor,
        grantedAtBlock: c.blockNumber,
      });
    } else if (c.change === "revoked" && c.grantId) {
      const version = current.get(c.grantId);
      if (version && !version.ended) version.ended = { at: c.timestamp, how: "revoked" };
    } else if (c.change === "revoked-all") {
      for (const version of current.values()) {
        if (!version.ended && version.expiresAt > c.timestamp) version.ended = { at: c.timestamp, how: "revoked" };
      }
    }
  }
  return out;
}

export interface DelegateEntry {
  patient: Address;
  delegate: Address;
  /** Unix seconds; `NO_END` when appointed without an end date. 0 never appears (removed ones are left out). */
  expiresAt: number;
}

export interface EmergencyEntry {
  patient: Address;
  organization: Address;
  clinician: Address;
  /**
   * The commitment to the reason (sdk `emergencyReasonCommitment`): the reason itself is not on the
   * chain; the clinician's console gives it, with its salt, to the custodians' gateways, which check
   * it against this and write it into the patient's access log.
   */
  reasonCommitment: Hex;
  /** What the chain tells of the reason, in plain words (`EMERGENCY_REASON_ON_CHAIN`). */
  reason: string;
  expiresAt: number;
  openedAtBlock: bigint;
}

async function pin(client: ChainReader, query: LedgerQuery) {
  const blockNumber = query.blockNumber ?? (await client.getBlockNumber({ cacheTime: 0 }));
  const fromBlock = query.fromBlock ?? 0n;
  /** The registry's events from `fromBlock` up to the pinned block, for getContractEvents. */
  const events = {
    address: query.registry,
    abi: consentRegistryAbi,
    fromBlock,
    toBlock: blockNumber,
    strict: true,
  } as const;
  return { blockNumber, events };
}

const order = (a: { blockNumber: bigint; logIndex: number }, b: { blockNumber: bigint; logIndex: number }) =>
  a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1;

export interface PatientGrants {
  /** The block everything was read at, and its time (unix seconds): the chain's "now" for states. */
  blockNumber: bigint;
  timestamp: number;
  /** One entry per grant id, newest first. */
  grants: LedgerGrant[];
}

/** Every grant the patient ever had, as it stands at one block. */
export async function readPatientGrants(
  client: ChainReader,
  query: LedgerQuery & { patient: Address },
): Promise<PatientGrants> {
  const { blockNumber, events: base } = await pin(client, query);
  const [block, granted, revoked, revokedAll, [epoch]] = await Promise.all([
    client.getBlock({ blockNumber }),
    client.getContractEvents({ ...base, eventName: "ConsentGranted", args: { patient: query.patient } }),
    client.getContractEvents({ ...base, eventName: "ConsentRevoked", args: { patient: query.patient } }),
    client.getContractEvents({ ...base, eventName: "AllConsentsRevoked", args: { patient: query.patient } }),
    client.readContract({
      address: query.registry,
      abi: consentRegistryAbi,
      functionName: "patientState",
      args: [query.patient],
      blockNumber,
    }),
  ]);
  const latest = new Map<Hex, (typeof granted)[number]>();
  for (const log of [...granted].sort(order)) latest.set(log.args.grantId, log);
  const entries = [...latest.values()];
  const isStudy = (log: (typeof entries)[number]) => BigInt(log.args.scope) !== (log.args.purpose & 0xffffffff00ffn);
  const [stored, studyEnds] = await Promise.all([
    Promise.all(
      entries.map((log) =>
        client.readContract({
          address: query.registry,
          abi: consentRegistryAbi,
          functionName: "getGrant",
          args: [log.args.grantId],
          blockNumber,
        }),
      ),
    ),
    // A cancelled study's grants end when its manager ended them (`scopeStatus` says Expired).
    Promise.all(
      entries.map((log) =>
        isStudy(log)
          ? client.readContract({
              address: query.registry,
              abi: consentRegistryAbi,
              functionName: "studyEndedAt",
              args: [log.args.scope],
              blockNumber,
            })
          : Promise.resolve(0),
      ),
    ),
  ]);
  // Block times: of every revocation, and of every grant of an id granted more than once (its
  // earlier versions, and how each ended).
  const versions = new Map<Hex, number>();
  for (const log of granted) versions.set(log.args.grantId, (versions.get(log.args.grantId) ?? 0) + 1);
  const regranted = granted.filter((log) => (versions.get(log.args.grantId) ?? 0) > 1);
  const times = new Map<bigint, number>([[blockNumber, Number(block.timestamp)]]);
  await Promise.all(
    [...new Set([...regranted, ...revoked, ...revokedAll].map((l) => l.blockNumber))]
      .filter((n) => !times.has(n))
      .map(async (n) => times.set(n, Number((await client.getBlock({ blockNumber: n })).timestamp))),
  );
  const timeOf = (n: bigint) => times.get(n) ?? Number(block.timestamp);
  const earlier = earlierGrants([
    ...regranted.map((l): GrantChange => ({
      change: "granted",
      grantId: l.args.grantId,
      blockNumber: l.blockNumber,
      logIndex: l.logIndex,
      timestamp: timeOf(l.blockNumber),
      actor: l.args.actor,
      purpose: l.args.purpose,
      categories: l.args.categories,
      validFrom: l.args.validFrom,
      expiresAt: l.args.expiresAt,
    })),
    ...revoked.map((l): GrantChange => ({
      change: "revoked",
      grantId: l.args.grantId,
      blockNumber: l.blockNumber,
      logIndex: l.logIndex,
      timestamp: timeOf(l.blockNumber),
      actor: l.args.actor,
    })),
    ...revokedAll.map((l): GrantChange => ({
      change: "revoked-all",
      grantId: null,
      blockNumber: l.blockNumber,
      logIndex: l.logIndex,
      timestamp: timeOf(l.blockNumber),
      actor: l.args.actor,
    })),
  ]);
  const grants = entries.map((log, i): LedgerGrant => {
    const slot = stored[i]!;
    const { args } = log;
    let revokedInfo: LedgerGrant["revoked"] = null;
    if (slot.expiresAt === 0) {
      const last = revoked
        .filter((r) => r.args.grantId === args.grantId)
        .sort(order)
        .at(-1);
      const atBlock = last?.blockNumber ?? blockNumber;
      revokedInfo = { by: last?.args.actor ?? args.patient, all: false, atBlock, at: timeOf(atBlock) };
    } else if (slot.epoch !== epoch) {
      const bump = revokedAll.filter((r) => r.args.epoch > slot.epoch).sort(order)[0];
      const atBlock = bump?.blockNumber ?? blockNumber;
      revokedInfo = { by: bump?.args.actor ?? args.patient, all: true, atBlock, at: timeOf(atBlock) };
    }
    const live = revokedInfo === null;
    const studyKey = isStudy(log) ? args.scope : null;
    const endedAt = studyEnds[i] ?? 0;
    const expiresAt = live ? slot.expiresAt : args.expiresAt;
    return {
      grantId: args.grantId,
      patient: args.patient,
      grantee: args.grantee,
      scope: args.scope,
      studyKey,
      purpose: live ? slot.purpose : args.purpose,
      categories: live ? slot.categories : args.categories,
      validFrom: live ? slot.validFrom : args.validFrom,
      expiresAt: endedAt !== 0 && endedAt < expiresAt ? endedAt : expiresAt,
      grantedBy: args.actor,
      grantedAtBlock: log.blockNumber,
      revoked: revokedInfo,
      earlier: earlier.get(args.grantId) ?? [],
    };
  });
  grants.sort((a, b) => (a.grantedAtBlock === b.grantedAtBlock ? 0 : a.grantedAtBlock > b.grantedAtBlock ? -1 : 1));
  return { blockNumber, timestamp: Number(block.timestamp), grants };
}

/** How a grant stands at `now` (unix seconds), as the contract's check would see it. A clock may lag
 * the chain: pass the later of the two (e.g. `Math.max(clock, PatientGrants.timestamp)`). */
export function grantState(grant: Pick<CurrentGrant, "revoked" | "validFrom" | "expiresAt">, now: number): GrantState {
  if (grant.revoked) return "revoked";
  if (now >= grant.expiresAt) return "expired";
  if (now < grant.validFrom) return "not-yet-valid";
  return "active";
}

/** A ledger grant as the sdk's `GrantRecord`, ready for `toFhirConsent`. */
export function toGrantRecord(
  grant: CurrentGrant,
  context: { chainId: number; registry: Address; now: number; granteeName?: string },
): GrantRecord {
  return {
    grantId: grant.grantId,
    chainId: context.chainId,
    registry: context.registry,
    patient: grant.patient,
    grantee: grant.grantee,
    ...(context.granteeName ? { granteeName: context.granteeName } : {}),
    purpose: grant.purpose,
    categories: grant.categories,
    validFrom: grant.validFrom,
    expiresAt: grant.expiresAt,
    state: grantState(grant, context.now),
    ...(grant.studyKey ? { studyKey: grant.studyKey } : {}),
  };
}

/** A name-based UUID (RFC 9562 version 8) from a grant id (32 bytes), for `urn:uuid:` full URLs. */
export function grantUuid(id: Hex): string {
  const hex = id.slice(2, 34).split("");
  hex[12] = "8";
  hex[16] = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  const s = hex.join("");
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

/** Grants as a FHIR R4 `collection` Bundle of Consent resources (for a patient's export). */
export function toConsentBundle(records: readonly GrantRecord[], timestamp = new Date()) {
  return {
    resourceType: "Bundle" as const,
    type: "collection" as const,
    timestamp: timestamp.toISOString(),
    entry: records.map((record) => ({
      fullUrl: `urn:uuid:${grantUuid(record.grantId)}`,
      resource: toFhirConsent(record),
    })),
  };
}

/** The patient's delegates that are still appointed (expired ones included, removed ones not). */
export function readDelegates(
  client: ChainReader,
  query: LedgerQuery & { patient: Address },
): Promise<DelegateEntry[]> {
  return readAppointments(client, query, { patient: query.patient });
}

/** The patients who appointed `delegate` and have not removed it (expired terms included). */
export function readPatientsActedFor(
  client: ChainReader,
  query: LedgerQuery & { delegate: Address },
): Promise<DelegateEntry[]> {
  return readAppointments(client, query, { delegate: query.delegate });
}

/** The (patient, delegate) pairs of DelegateAppointed events matching `args`, with their current expiry. */
async function readAppointments(
  client: ChainReader,
  query: LedgerQuery,
  args: { patient: Address } | { delegate: Address },
): Promise<DelegateEntry[]> {
  const { blockNumber, events } = await pin(client, query);
  const logs = await client.getContractEvents({ ...events, eventName: "DelegateAppointed", args });
  const pairs = new Map<string, { patient: Address; delegate: Address }>();
  for (const { args: a } of logs) {
    const key = `${a.patient}:${a.delegate}`.toLowerCase();
    if (!pairs.has(key)) pairs.set(key, { patient: a.patient, delegate: a.delegate });
  }
  return withExpiry(client, query.registry, blockNumber, [...pairs.values()]);
}

async function withExpiry(
  client: ChainReader,
  registry: Address,
  blockNumber: bigint,
  pairs: { patient: Address; delegate: Address }[],
): Promise<DelegateEntry[]> {
  const expiries = await Promise.all(
    pairs.map((p) =>
      client.readContract({
        address: registry,
        abi: consentRegistryAbi,
        functionName: "delegateExpiry",
        args: [p.patient, p.delegate],
        blockNumber,
      }),
    ),
  );
  return pairs.map((p, i) => ({ ...p, expiresAt: expiries[i]! })).filter((d) => d.expiresAt !== 0);
}

/** Emergency (break-glass) access to the patient's data that is open at the block. */
export async function readOpenEmergencies(
  client: ChainReader,
  query: LedgerQuery & { patient: Address },
): Promise<EmergencyEntry[]> {
  const { blockNumber, events } = await pin(client, query);
  const logs = await client.getContractEvents({
    ...events,
    eventName: "EmergencyAccessOpened",
    args: { patient: query.patient },
  });
  const lastByOrganization = new Map<string, (typeof logs)[number]>();
  for (const log of [...logs].sort(order)) lastByOrganization.set(log.args.organization.toLowerCase(), log);
  const opened = [...lastByOrganization.values()];
  const states = await Promise.all(
    opened.map((log) =>
      client.readContract({
        address: query.registry,
        abi: consentRegistryAbi,
        functionName: "emergencyAccess",
        args: [query.patient, log.args.organization],
        blockNumber,
      }),
    ),
  );
  const open: EmergencyEntry[] = [];
  opened.forEach((log, i) => {
    const [expiresAt, clinician, reasonCommitment] = states[i]!;
    if (expiresAt === 0) return;
    open.push({
      patient: query.patient,
      organization: log.args.organization,
      clinician,
      reasonCommitment,
      reason: EMERGENCY_REASON_ON_CHAIN,
      expiresAt,
      openedAtBlock: log.blockNumber,
    });
  });
  return open;
}

/** Every organization ever accredited, in accreditation order, with its current status. */
export async function readOrganizations(client: ChainReader, query: LedgerQuery): Promise<Organization[]> {
  const { blockNumber } = await pin(client, query);
  const read = { address: query.registry, abi: consentRegistryAbi, blockNumber } as const;
  const count = await client.readContract({ ...read, functionName: "organizationCount" });
  const addresses = await Promise.all(
    Array.from({ length: Number(count) }, (_, i) =>
      client.readContract({ ...read, functionName: "organizationAt", args: [BigInt(i)] }),
    ),
  );
  const [records, profiles] = await Promise.all([
    Promise.all(
      addresses.map((address) => client.readContract({ ...read, functionName: "getOrganization", args: [address] })),
    ),
    Promise.all(
      addresses.map((address) => client.readContract({ ...read, functionName: "useProfile", args: [address] })),
    ),
  ]);
  const kindName = (kind: number) => (Object.keys(KINDS) as KindName[]).find((k) => KINDS[k] === kind) ?? null;
  return addresses.map((address, i) => {
    const org = records[i]!;
    return {
      address,
      name: org.name,
      kind: kindName(org.kind),
      active: org.status === ORGANIZATION_STATUS.Active,
      gatewayUrl: org.gatewayUrl,
      commercial: profiles[i]![0],
      forProfit: profiles[i]![1],
    };
  });
}

/** The organization at `address` in a list, by case-insensitive address. */
export function findOrganization(organizations: readonly Organization[], address: Address): Organization | undefined {
  return organizations.find((o) => isAddressEqual(o.address, address));
}

/** One break-glass opening, from its event, with how it stands at the block read. */
export interface EmergencyLogEntry extends EmergencyEntry {
  openedAt: number;
  /** How it ended, if it did: closed early (by whom, when) or expired. */
  closed: { by: Address; atBlock: bigint; at: number } | null;
  state: "open" | "closed" | "expired";
}

/** Every break-glass opening ever (all patients), newest first: for governance oversight. */
export async function readEmergencyLog(client: ChainReader, query: LedgerQuery): Promise<EmergencyLogEntry[]> {
  const { blockNumber, events: base } = await pin(client, query);
  const [opened, closed, block] = await Promise.all([
    client.getContractEvents({ ...base, eventName: "EmergencyAccessOpened" }),
    client.getContractEvents({ ...base, eventName: "EmergencyAccessClosed" }),
    client.getBlock({ blockNumber }),
  ]);
  const blocks = new Map<bigint, number>();
  await Promise.all(
    [...new Set([...opened, ...closed].map((l) => l.blockNumber))].map(async (n) =>
      blocks.set(n, Number((await client.getBlock({ blockNumber: n })).timestamp)),
    ),
  );
  const now = Number(block.timestamp);
  const sorted = [...opened].sort(order);
  const entries = sorted.map((log, i): EmergencyLogEntry => {
    const { patient, organization, clinician, reasonCommitment, expiresAt } = log.args;
    const pair = (l: { args: { patient: Address; organization: Address } }) =>
      isAddressEqual(l.args.patient, patient) && isAddressEqual(l.args.organization, organization);
    const next = sorted.slice(i + 1).find(pair);
    const closing = closed
      .filter(pair)
      .sort(order)
      .find((c) => order(c, log) > 0 && (!next || order(c, next) < 0));
    const closedAt = closing ? (blocks.get(closing.blockNumber) ?? 0) : 0;
    const endedEarly = closing !== undefined && closedAt < expiresAt;
    return {
      patient,
      organization,
      clinician,
      reasonCommitment,
      reason: EMERGENCY_REASON_ON_CHAIN,
      expiresAt,
      openedAtBlock: log.blockNumber,
      openedAt: blocks.get(log.blockNumber) ?? 0,
      closed: endedEarly ? { by: closing.args.actor, atBlock: closing.blockNumber, at: closedAt } : null,
      state: endedEarly ? "closed" : now >= expiresAt || next !== undefined ? "expired" : "open",
    };
  });
  return entries.reverse();
}

export interface MemberEntry {
  member: Address;
  role: number;
  addedAtBlock: bigint;
}

export interface MembershipOfferEntry {
  organization: Address;
  member: Address;
  role: number;
  offeredAtBlock: bigint;
}

/** The open membership offers (offered, neither accepted nor withdrawn since) of an organization,
 * or to a member, from the MembershipOffered / MembershipOfferWithdrawn / MemberAdded events. An
 * offer binds the member to nothing until it accepts it. */
export async function readMembershipOffers(
  client: ChainReader,
  query: LedgerQuery & ({ organization: Address; member?: Address } | { organization?: Address; member: Address }),
): Promise<MembershipOfferEntry[]> {
  const { events: base } = await pin(client, query);
  const args = { organization: query.organization, member: query.member };
  const [offered, withdrawn, accepted] = await Promise.all([
    client.getContractEvents({ ...base, eventName: "MembershipOffered", args }),
    client.getContractEvents({ ...base, eventName: "MembershipOfferWithdrawn", args }),
    client.getContractEvents({ ...base, eventName: "MemberAdded", args }),
  ]);
  const events = [
    ...offered.map((l) => ({ l, role: l.args.role as number | null })),
    ...withdrawn.map((l) => ({ l, role: null })),
    ...accepted.map((l) => ({ l, role: null })),
  ].sort((a, b) => order(a.l, b.l));
  const offers = new Map<string, MembershipOfferEntry>();
  for (const { l, role } of events) {
    const { organization, member } = l.args as { organization: Address; member: Address };
    const key = `${organization.toLowerCase()}:${member.toLowerCase()}`;
    if (role === null) offers.delete(key);
    else offers.set(key, { organization, member, role, offeredAtBlock: l.blockNumber });
  }
  return [...offers.values()];
}

/** The current members of an organization, from its MemberAdded / MemberRemoved events. */
export async function readMembers(
  client: ChainReader,
  query: LedgerQuery & { organization: Address },
): Promise<MemberEntry[]> {
  const { events: base } = await pin(client, query);
  const args = { organization: query.organization };
  const [added, removed] = await Promise.all([
    client.getContractEvents({ ...base, eventName: "MemberAdded", args }),
    client.getContractEvents({ ...base, eventName: "MemberRemoved", args }),
  ]);
  const events = [
    ...added.map((l) => ({ l, member: l.args.member, role: l.args.role as number | null })),
    ...removed.map((l) => ({ l, member: l.args.member, role: null })),
  ].sort((a, b) => order(a.l, b.l));
  const members = new Map<string, MemberEntry>();
  for (const e of events) {
    if (e.role === null) members.delete(e.member.toLowerCase());
    else members.set(e.member.toLowerCase(), { member: e.member, role: e.role, addedAtBlock: e.l.blockNumber });
  }
  return [...members.values()];
}
