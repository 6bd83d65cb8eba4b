/**
 * The chain reads the sdk's readers make. Any viem `PublicClient` has them; the web app passes a
 * client with only these (app/_lib/ledger.ts), so that the rest of viem's public actions (ENS,
 * multicall, signature checks with their elliptic-curve code, …) stay out of every page it serves.
 */
import type { PublicClient } from "viem";

export type ChainReader = Pick<PublicClient, "readContract" | "getContractEvents" | "getBlock" | "getBlockNumber">;
