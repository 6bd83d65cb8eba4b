/**
 * Merkle root over a batch of audit entry hashes, for the on-chain AuditAnchor.
 *
 * Construction (compatible with OpenZeppelin's MerkleProof.verify / processProof):
 * - leaf_i = keccak256(entryHash_i), entryHash_i being the 32-byte sha256 chain hash of the
 *   i-th entry of the batch, in sequence order. Hashing the leaf once more keeps leaves (hash of
 *   32 bytes) and inner nodes (hash of 64 bytes) apart, so an inner node cannot pass as a leaf.
 * - parent = keccak256(min(a, b) || max(a, b)) — sorted pairs, so a proof is just the siblings.
 * - An odd node at the end of a level is carried up unchanged.
 * - A single-entry batch's root is its leaf. An empty batch has no root.
 * Sorted pairs make sibling order irrelevant; the chain's hashes (not the tree) fix entry order.
 */
import type { Hex } from "viem";
import { concat, keccak256 } from "viem/utils";

const HASH = /^(0x)?[0-9a-fA-F]{64}$/;

function toHex32(hash: string): Hex {
  if (!HASH.test(hash)) throw new TypeError(`Expected a 32-byte hex hash, got "${hash.slice(0, 80)}"`);
  return (hash.startsWith("0x") ? hash.toLowerCase() : `0x${hash.toLowerCase()}`) as Hex;
}

export function merkleLeaf(entryHash: string): Hex {
  return keccak256(toHex32(entryHash));
}

function hashPair(a: Hex, b: Hex): Hex {
  return a.toLowerCase() < b.toLowerCase() ? keccak256(concat([a, b])) : keccak256(concat([b, a]));
}

function levels(entryHashes: readonly string[]): Hex[][] {
  if (entryHashes.length === 0) throw new RangeError("merkleRoot: empty batch");
  const out: Hex[][] = [entryHashes.map(merkleLeaf)];
  while (out[out.length - 1]!.length > 1) {
    const level = out[out.length - 1]!;
    const next: Hex[] = [];
    for (let i = 0; i < level.length; i += 2) {
      next.push(i + 1 < level.length ? hashPair(level[i]!, level[i + 1]!) : level[i]!);
    }
    out.push(next);
  }
  return out;
}

/** The root of a batch of entry hashes (hex, with or without 0x), as 0x-hex. */
export function merkleRoot(entryHashes: readonly string[]): Hex {
  const all = levels(entryHashes);
  return all[all.length - 1]![0]!;
}

/** The sibling hashes proving entry `index` of the batch, bottom-up. */
export function merkleProof(entryHashes: readonly string[], index: number): Hex[] {
  const all = levels(entryHashes);
  if (!Number.isInteger(index) || index < 0 || index >= entryHashes.length)
    throw new RangeError("merkleProof: bad index");
  const proof: Hex[] = [];
  let i = index;
  for (let l = 0; l < all.length - 1; l++) {
    const level = all[l]!;
    const sibling = i % 2 === 0 ? i + 1 : i - 1;
    if (sibling < level.length) proof.push(level[sibling]!);
    i = Math.floor(i / 2);
  }
  return proof;
}

/** What MerkleProof.verify(proof, root, keccak256(entryHash)) computes on-chain. */
export function verifyMerkleProof(entryHash: string, proof: readonly Hex[], root: Hex): boolean {
  let node = merkleLeaf(entryHash);
  for (const sibling of proof) node = hashPair(node, sibling);
  return node.toLowerCase() === root.toLowerCase();
}
