/**
 * The EIP-55 checksummed form of an address given in lower case, remembered per process.
 *
 * Lists and did:pkh identifiers checksum the same few hundred addresses again and again (a
 * 100-Consent listing checksums its patient and grantees a few hundred times). viem's getAddress
 * hashes each one, remembering 8,192 in an LRU map whose every hit deletes and re-inserts its key;
 * in a gateway that has seen more addresses than that, those hits took about 3 ms of a 100-grant
 * list (bench:indexer). A plain Map answers in a lookup; it is emptied all at once when full.
 */
import { type Address, getAddress } from "viem";

/** At most this many addresses are kept (then forgotten all at once). */
const KEPT_MAX = 100_000;
const kept = new Map<string, Address>();

/** `lowercase`: a 0x-prefixed 40-digit address in lower case (the caller has checked its form). */
export function eip55(lowercase: string): Address {
  let found = kept.get(lowercase);
  if (found === undefined) {
    if (kept.size >= KEPT_MAX) kept.clear();
    found = getAddress(lowercase);
    kept.set(lowercase, found);
  }
  return found;
}
