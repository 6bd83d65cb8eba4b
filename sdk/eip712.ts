/**
 * EIP-712 typed data for every signed consent action, ready for viem's `signTypedData` (wallet)
 * and `verifyTypedData`. The type strings match the typehashes in ConsentRegistry.sol.
 */
import type { Address, Hex } from "viem";

export const CONSENT_REGISTRY_DOMAIN_NAME = "Consentry ConsentRegistry";
export const CONSENT_REGISTRY_DOMAIN_VERSION = "1";

export const consentTypes = {
  Grant: [
    { name: "patient", type: "address" },
    { name: "grantee", type: "address" },
    { name: "categories", type: "uint32" },
    { name: "purpose", type: "uint64" },
    { name: "validFrom", type: "uint40" },
    { name: "expiresAt", type: "uint40" },
    { name: "nonce", type: "uint64" },
    { name: "deadline", type: "uint256" },
  ],
  Revoke: [
    { name: "patient", type: "address" },
    { name: "grantee", type: "address" },
    { name: "scope", type: "bytes32" },
    { name: "nonce", type: "uint64" },
    { name: "deadline", type: "uint256" },
  ],
  RevokeAll: [
    { name: "patient", type: "address" },
    { name: "nonce", type: "uint64" },
    { name: "deadline", type: "uint256" },
  ],
  CancelSignatures: [
    { name: "patient", type: "address" },
    { name: "nonce", type: "uint64" },
    { name: "deadline", type: "uint256" },
  ],
} as const;

export interface RegistryDomainInput {
  chainId: number;
  registry: Address;
}

export function consentRegistryDomain({ chainId, registry }: RegistryDomainInput) {
  return {
    name: CONSENT_REGISTRY_DOMAIN_NAME,
    version: CONSENT_REGISTRY_DOMAIN_VERSION,
    chainId,
    verifyingContract: registry,
  } as const;
}

interface Signed {
  patient: Address;
  nonce: bigint;
  deadline: bigint;
}

export interface GrantMessage extends Signed {
  grantee: Address;
  categories: number;
  purpose: bigint;
  /** Unix seconds; 0 means "from when it is mined". */
  validFrom: number;
  expiresAt: number;
}

/** ConsentRegistry.GRANT_SIGNATURE_LIFETIME: a Grant signature is usable only in this last stretch before its deadline. */
export const GRANT_SIGNATURE_LIFETIME_SECONDS = 24 * 60 * 60;

/**
 * The deadline of a new Grant signature. The registry takes a Grant signature as made no earlier
 * than `deadline - GRANT_SIGNATURE_LIFETIME` (it is usable only from then) and refuses it for a
 * consent revoked at or after that moment, since it may predate the revocation. So the window must
 * open after the chain's latest block (every revocation the patient has seen is in it or before):
 * the later of that block's time + 1 s and the clock (a minute of leeway for a clock ahead of the
 * chain's), plus the lifetime. `latestBlockTimestamp` is the latest block's time, unix seconds.
 */
export function grantSignatureDeadline(latestBlockTimestamp: bigint | number, clockSeconds?: number): bigint {
  const clock = BigInt(Math.floor(clockSeconds ?? Date.now() / 1000) - 60);
  const afterBlock = BigInt(latestBlockTimestamp) + 1n;
  return (afterBlock > clock ? afterBlock : clock) + BigInt(GRANT_SIGNATURE_LIFETIME_SECONDS);
}

export function grantTypedData(domain: RegistryDomainInput, message: GrantMessage) {
  return { domain: consentRegistryDomain(domain), types: consentTypes, primaryType: "Grant", message } as const;
}

export function revokeTypedData(domain: RegistryDomainInput, message: Signed & { grantee: Address; scope: Hex }) {
  return { domain: consentRegistryDomain(domain), types: consentTypes, primaryType: "Revoke", message } as const;
}

export function revokeAllTypedData(domain: RegistryDomainInput, message: Signed) {
  return { domain: consentRegistryDomain(domain), types: consentTypes, primaryType: "RevokeAll", message } as const;
}

export function cancelSignaturesTypedData(domain: RegistryDomainInput, message: Signed) {
  return {
    domain: consentRegistryDomain(domain),
    types: consentTypes,
    primaryType: "CancelSignatures",
    message,
  } as const;
}

/** The member's acceptance of an organization's membership offer (OrganizationRegistry.ACCEPT_MEMBERSHIP_TYPEHASH). */
export const membershipTypes = {
  AcceptMembership: [
    { name: "member", type: "address" },
    { name: "organization", type: "address" },
    { name: "role", type: "uint8" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
} as const;

export interface AcceptMembershipMessage {
  member: Address;
  organization: Address;
  role: number;
  /** `membershipNonce(member)` on the registry. */
  nonce: bigint;
  deadline: bigint;
}

export function acceptMembershipTypedData(domain: RegistryDomainInput, message: AcceptMembershipMessage) {
  return {
    domain: consentRegistryDomain(domain),
    types: membershipTypes,
    primaryType: "AcceptMembership",
    message,
  } as const;
}

type TypedFields = Record<string, { name: string; type: string }[]>;

/**
 * An `eth_signTypedData_v4` request's JSON as viem signs it: without the `EIP712Domain` type (viem
 * derives it from the domain) and with every integer a bigint (JSON carries them as strings or
 * numbers). Shared by the app's development wallet and the browser tests' wallet.
 */
export function typedDataFromJson(json: string): {
  domain: Record<string, unknown>;
  types: TypedFields;
  primaryType: string;
  message: Record<string, unknown>;
} {
  const typed = JSON.parse(json) as {
    domain: Record<string, unknown>;
    types: TypedFields;
    primaryType: string;
    message: Record<string, unknown>;
  };
  const { EIP712Domain: _domain, ...types } = typed.types;
  return {
    domain: typed.domain,
    types,
    primaryType: typed.primaryType,
    message: typedValues(types, typed.primaryType, typed.message),
  };
}

function typedValues(types: TypedFields, type: string, value: Record<string, unknown>): Record<string, unknown> {
  const one = (fieldType: string, v: unknown): unknown =>
    /^u?int\d*$/.test(fieldType)
      ? BigInt(v as string | number)
      : types[fieldType]
        ? typedValues(types, fieldType, v as Record<string, unknown>)
        : v;
  const out: Record<string, unknown> = {};
  for (const field of types[type] ?? []) {
    const v = value[field.name];
    out[field.name] = field.type.endsWith("[]")
      ? (v as unknown[]).map((x) => one(field.type.slice(0, -2), x))
      : one(field.type, v);
  }
  return out;
}
