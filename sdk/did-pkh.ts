/**
 * did:pkh for EVM accounts, written once: `did:pkh:eip155:{chainId}:{address}`, the CAIP-10
 * account id of the account prefixed with `did:pkh:` (the did:pkh method).
 *
 * One spelling everywhere: the address in its EIP-55 mixed-case checksum form (CAIP-10's eip155
 * namespace is case-insensitive and its examples checksum; Sign-In with Ethereum, EIP-4361, signs
 * the checksummed address too), the chain id in decimal without leading zeros. What comes in
 * (a search, a link, a token) is normalized: an all-lowercase or all-uppercase address is
 * accepted and checksummed, a mixed-case address with a wrong checksum is refused (a typo).
 */
import { type Address, isAddress } from "viem";

import { eip55 } from "./eip55.ts";

export const DID_PKH_EIP155_PREFIX = "did:pkh:eip155:";

const DID_PKH_EIP155 = /^did:pkh:eip155:([1-9][0-9]{0,19}):(0x[0-9a-fA-F]{40})$/;

/** The EIP-55 form of an address given in one case (either), or mixed-case with a valid checksum; else null. */
function checksummed(address: string): Address | null {
  if (!/^0x[0-9a-fA-F]{40}$/.test(address)) return null;
  const hex = address.slice(2);
  const oneCase = hex === hex.toLowerCase() || hex === hex.toUpperCase();
  if (!oneCase && !isAddress(address, { strict: true })) return null;
  return eip55(`0x${hex.toLowerCase()}`);
}

export interface DidPkhAccount {
  chainId: number;
  /** EIP-55 checksummed. */
  address: Address;
}

/** The did:pkh of an account on an EVM chain (CAIP-10, address EIP-55 checksummed). */
export function formatDidPkh(chainId: number | bigint, address: string): string {
  if (typeof chainId === "number" ? !Number.isSafeInteger(chainId) || chainId < 1 : chainId < 1n) {
    throw new Error(`did:pkh: invalid chain id ${String(chainId)}`);
  }
  const account = checksummed(address);
  if (account === null) throw new Error("did:pkh: invalid EVM address (or EIP-55 checksum)");
  return `${DID_PKH_EIP155_PREFIX}${chainId.toString()}:${account}`;
}

/**
 * The chain and address of a `did:pkh:eip155:…`; throws an Error for anything else (another
 * namespace, a malformed id, a mixed-case address whose checksum is wrong).
 */
export function parseDidPkh(did: string): DidPkhAccount {
  const m = DID_PKH_EIP155.exec(did);
  const chainId = m ? Number(m[1]) : NaN;
  const address = m ? checksummed(m[2]!) : null;
  if (!m || !Number.isSafeInteger(chainId) || address === null) {
    throw new Error("Expected a wallet as did:pkh:eip155:{chainId}:{0x address} (EIP-55 checksum if mixed case)");
  }
  return { chainId, address };
}

/** A did:pkh in its one spelling (see the module comment); throws like {@link parseDidPkh}. */
export function normalizeDidPkh(did: string): string {
  const { chainId, address } = parseDidPkh(did);
  return formatDidPkh(chainId, address);
}

/** Whether `did` is a well-formed did:pkh of an EVM account (any accepted case). */
export function isDidPkh(did: string): boolean {
  try {
    parseDidPkh(did);
    return true;
  } catch {
    return false;
  }
}
