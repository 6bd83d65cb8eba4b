/**
 * A patient's grants as FHIR R4 Consent resources, read from the chain at one block: the
 * registry's ConsentGranted / ConsentRevoked / AllConsentsRevoked events of each of the patient's
 * wallets (indexed by patient), with getGrant and patientState for how each stands now, turned
 * into Consents by the sdk's toFhirConsent, with the Patient they are about as a reference.
 *
 * Log scans from GATEWAY_EVENTS_FROM_BLOCK suit a dev chain and small deployments; at scale the
 * same shapes come from an event indexer (ARCHITECTURE.md, "Scale path").
 */
import type { Consent } from "@medplum/fhirtypes";
import type { Address, Hex } from "viem";
import { toFhirConsent, type GrantState } from "../../../sdk/fhir.ts";
import { consentRegistryAbi } from "../../../sdk/generated/abis.ts";
import type { BlockRef, GatewayChain } from "../chain/chain.ts";

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

export interface LedgerGrant {
  grantId: Hex;
  patient: Address;
  grantee: Address;
  scope: Hex;
  /** Set for a study grant (its scope is the study key, not a purpose code). */
  studyKey: Hex | null;
  purpose: bigint;
  categories: number;
  validFrom: number;
  expiresAt: number;
  grantedAtBlock: bigint;
  revoked: boolean;
}

type Ordered = { blockNumber: bigint; logIndex: number };
const order = (a: Ordered, b: Ordered) =>
  a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1;

/** Every grant one wallet ever had (one per grant id), as it stands at the block. */
async function readWalletGrants(chain: GatewayChain, patient: Address, block: BlockRef): Promise<LedgerGrant[]> {
  const registry = chain.consentRegistry;
  const base = {
    address: registry,
    abi: consentRegistryAbi,
    fromBlock: chain.eventsFromBlock,
    toBlock: block.number,
    strict: true,
  } as const;
  const [granted, [epoch]] = await chain.read((c) =>
    Promise.all([
      c.getContractEvents({ ...base, eventName: "ConsentGranted", args: { patient } }),
      c.readContract({
        address: registry,
        abi: consentRegistryAbi,
        functionName: "patientState",
        args: [patient],
        blockNumber: block.number,
      }),
    ]),
  );
  const latest = new Map<Hex, (typeof granted)[number]>();
  for (const log of [...granted].sort(order)) latest.set(log.args.grantId, log);
  const logs = [...latest.values()];
  const stored = await chain.read((c) =>
    Promise.all(
      logs.map((log) =>
        c.readContract({
          address: registry,
          abi: consentRegistryAbi,
          functionName: "getGrant",
          args: [log.args.grantId],
          blockNumber: block.number,
        }),
      ),
    ),
  );
  return logs.map((log, i) => {
    const slot = stored[i]!;
    const { args } = log;
    // Revoked: the slot was cleared (ConsentRevoked), or a revoke-all bumped the epoch since.
    const revoked = slot.expiresAt === 0 || slot.epoch !== epoch;
    return {
      grantId: args.grantId,
      patient: args.patient,
      grantee: args.grantee,
      scope: args.scope,
      studyKey: BigInt(args.scope) > 255n ? args.scope : null,
      purpose: revoked ? args.purpose : slot.purpose,
      categories: revoked ? args.categories : slot.categories,
      validFrom: revoked ? args.validFrom : slot.validFrom,
      expiresAt: revoked ? args.expiresAt : slot.expiresAt,
      grantedAtBlock: log.blockNumber,
      revoked,
    };
  });
}

/** Every grant of the patient's wallets at the block, newest first. */
export async function readGrants(
  chain: GatewayChain,
  wallets: readonly Address[],
  block: BlockRef,
): Promise<LedgerGrant[]> {
  const all = await Promise.all(wallets.map((patient) => readWalletGrants(chain, patient, block)));
  return all
    .flat()
    .sort((a, b) => (a.grantedAtBlock === b.grantedAtBlock ? 0 : a.grantedAtBlock > b.grantedAtBlock ? -1 : 1));
}

/** How a grant stands at `now` (unix seconds), as the registry's check sees it. */
export function grantState(grant: LedgerGrant, now: number): GrantState {
  if (grant.revoked) return "revoked";
  if (now >= grant.expiresAt) return "expired";
  if (now < grant.validFrom) return "not-yet-valid";
  return "active";
}

/** Grants to `organization` only (what a grantee may see of a patient's consents). */
export function grantsTo(grants: readonly LedgerGrant[], organization: Address): LedgerGrant[] {
  return grants.filter((g) => same(g.grantee, organization));
}

/** The grants as Consent resources, with grantee names read at the block. */
export async function toConsents(
  chain: GatewayChain,
  grants: readonly LedgerGrant[],
  block: BlockRef,
  patientId: string,
  /** The gateway's clock (unix seconds). */
  nowSeconds: number,
): Promise<Consent[]> {
  const grantees = [...new Set(grants.map((g) => g.grantee.toLowerCase()))];
  const names = new Map<string, string>();
  await Promise.all(
    grantees.map(async (grantee) => {
      const org = await chain.read((c) =>
        c.readContract({
          address: chain.consentRegistry,
          abi: consentRegistryAbi,
          functionName: "getOrganization",
          args: [grantee as Address],
          blockNumber: block.number,
        }),
      );
      if (org.name) names.set(grantee, org.name);
    }),
  );
  // The later of the chain's and the gateway's clock: a quiet chain does not keep a grant alive.
  const now = Math.max(block.timestamp, nowSeconds);
  return grants.map((grant) => {
    const granteeName = names.get(grant.grantee.toLowerCase());
    const consent = toFhirConsent({
      grantId: grant.grantId,
      chainId: chain.chainId,
      registry: chain.consentRegistry,
      patient: grant.patient,
      grantee: grant.grantee,
      ...(granteeName ? { granteeName } : {}),
      purpose: grant.purpose,
      categories: grant.categories,
      validFrom: grant.validFrom,
      expiresAt: grant.expiresAt,
      state: grantState(grant, now),
      ...(grant.studyKey ? { studyKey: grant.studyKey } : {}),
    });
    consent.patient = { reference: `Patient/${patientId}`, identifier: consent.patient?.identifier };
    return consent;
  });
}

/** A name-based UUID (RFC 9562 version 8) from a grant id, for the entries' `urn:uuid:` full URLs. */
export function grantUuid(grantId: string): string {
  const hex = grantId.replace(/^0x/, "").slice(0, 32).split("");
  hex[12] = "8";
  hex[16] = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  const s = hex.join("");
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}
