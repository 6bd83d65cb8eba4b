/**
 * verifyConsent(): the consent check any provider's backend (and every Consentry gateway) runs
 * before a record leaves it. It reads ConsentRegistry at one block, the chain's latest unless
 * told otherwise, and returns the decision with its reason.
 */
import type { Address, Hash } from "viem";

import type { ChainReader } from "./chain-reader.ts";
import { consentRegistryAbi } from "./generated/abis.ts";
import {
  CONSENT_REASONS,
  type CategoryName,
  type ConsentReasonName,
  type PurposeName,
  type PurposeSpec,
  categoryIndex,
  encodePurpose,
} from "./codes.ts";

export interface ConsentQuery {
  registry: Address;
  patient: Address;
  /** The reader: an organization's own address or a member's. */
  grantee: Address;
  category: CategoryName;
  /**
   * The purpose of the use. Its use flags (commercial, for-profit) are not the requester's to
   * state: they are dropped here, and the registry derives them from governance's record of the
   * grantee's organization (`useProfile`; no record: commercial and for-profit).
   */
  purpose: PurposeName | PurposeSpec | bigint;
  /** Read at this block; default: the latest block, fetched uncached. */
  blockNumber?: bigint;
  /**
   * Read at the block with this hash (EIP-1898), which must be the block `blockNumber` names: a
   * block reorganised away since is an error, never an answer from the block now at that height.
   */
  blockHash?: Hash;
}

export interface ConsentDecision {
  allowed: boolean;
  /** Allowed through break-glass emergency access. */
  emergency: boolean;
  reason: ConsentReasonName;
  /** The reason in plain words. */
  explanation: string;
  /** Until when the access lasts (unix seconds), when allowed. */
  expiresAt: number | null;
  /** The organization the grantee acts for (zero address when unknown). */
  organization: Address;
  /** The block the decision was read at. */
  blockNumber: bigint;
}

/** The latest block number, never from viem's cache (a cached number could serve a stale read). */
export async function latestBlockNumber(client: ChainReader): Promise<bigint> {
  return client.getBlockNumber({ cacheTime: 0 });
}

/** Bits 8-15 of a purpose: the use flags, which the registry takes from its own record. */
const USE_FLAGS_MASK = 0xff00n;

export async function verifyConsent(client: ChainReader, query: ConsentQuery): Promise<ConsentDecision> {
  const blockNumber = query.blockNumber ?? (await latestBlockNumber(client));
  const stated = typeof query.purpose === "bigint" ? query.purpose : encodePurpose(query.purpose);
  const purpose = stated & ~USE_FLAGS_MASK;
  const [reasonIndex, expiresAt, organization] = await client.readContract({
    address: query.registry,
    abi: consentRegistryAbi,
    functionName: "consentStatus",
    args: [query.patient, query.grantee, categoryIndex(query.category), purpose],
    ...(query.blockHash !== undefined ? { blockHash: query.blockHash } : { blockNumber }),
  });
  const reason = CONSENT_REASONS[reasonIndex];
  if (!reason) throw new Error(`ConsentRegistry returned an unknown reason ${reasonIndex}`);
  const allowed = reasonIndex <= 1;
  return {
    allowed,
    emergency: reasonIndex === 1,
    reason: reason.name,
    explanation: reason.text,
    expiresAt: allowed ? Number(expiresAt) : null,
    organization,
    blockNumber,
  };
}
