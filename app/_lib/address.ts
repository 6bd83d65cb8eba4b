import { type Address, getAddress, isAddress } from "viem";

/** What to say of a missing address and of one whose capitals do not match its checksum. */
export interface AddressWords {
  empty: string;
  typo?: string;
}

const TYPO = "That address has a typo: its capital letters do not match its checksum.";

/**
 * An address typed or pasted by a person: the address (checksummed), or what is wrong with it in
 * words. `words` is what the field asks for ("the patient's address") or the sentences to say.
 * An all-lowercase address carries no checksum; a mixed-case one must match it (EIP-55).
 */
export function parseAddressInput(
  value: string,
  words: string | AddressWords = "the address",
): Address | { error: string } {
  const { empty, typo = TYPO } =
    typeof words === "string" ? { empty: `Enter ${words} (0x followed by 40 characters).` } : words;
  const trimmed = value.trim();
  if (!trimmed) return { error: empty };
  if (!isAddress(trimmed, { strict: false })) return { error: "That is not a valid address." };
  if (trimmed !== trimmed.toLowerCase() && !isAddress(trimmed, { strict: true })) return { error: typo };
  return getAddress(trimmed);
}
