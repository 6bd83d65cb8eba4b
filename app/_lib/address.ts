import { type Address, getAddress, isAddress } from "viem";

/** An address typed or pasted by a person: the address, or what is wrong with it in words.
 * An all-lowercase address carries no checksum; a mixed-case one must match it (EIP-55). */
export function parseAddressInput(value: string, what = "the address"): Address | { error: string } {
  const trimmed = value.trim();
  if (!trimmed) return { error: `Enter ${what} (0x followed by 40 characters).` };
  if (!isAddress(trimmed, { strict: false })) return { error: "That is not a valid address." };
  if (trimmed !== trimmed.toLowerCase() && !isAddress(trimmed, { strict: true }))
    return { error: "That address has a typo: its capital letters do not match its checksum." };
  return getAddress(trimmed.toLowerCase());
}
