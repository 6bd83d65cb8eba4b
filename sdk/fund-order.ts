/**
 * The order the research funds are listed in, and who stands behind each (browser-safe).
 *
 * Anyone may create a fund, and a cause is only words: a fund called "St. Example Hospital's
 * cancer research" may be anyone's. So a list does not bury the funds somebody answers for under a
 * run of new ones, and it says who created each: an accredited organization by its name (its own
 * account, as the registry knows it), anyone else as an account no organization answers for.
 */
import { type Address, isAddressEqual } from "viem";

import type { FundListing } from "./funds.ts";
import { type Organization, findOrganization } from "./ledger.ts";

/** Who created a fund, as its reader should know it. */
export type FundCreator =
  { kind: "you" } | { kind: "organization"; name: string; active: boolean } | { kind: "account"; address: Address };

export function fundCreator(
  fund: Pick<FundListing, "creator">,
  reader: Address | undefined,
  organizations: readonly Organization[],
): FundCreator {
  if (reader && isAddressEqual(fund.creator, reader)) return { kind: "you" };
  const organization = findOrganization(organizations, fund.creator);
  if (organization) return { kind: "organization", name: organization.name, active: organization.active };
  return { kind: "account", address: fund.creator };
}

/**
 * `funds` (newest first, as the indexer lists them) in the order a reader sees them: the ones it
 * created or took part in (`mine`: the funds it contributed to, left or not), then those created by
 * an accredited organization whose accreditation is active, then the rest, each group in the order
 * given.
 */
export function orderFunds<F extends Pick<FundListing, "address" | "creator">>(
  funds: readonly F[],
  reader: Address | undefined,
  mine: readonly Address[],
  organizations: readonly Organization[],
): F[] {
  const rank = (fund: F): number => {
    if (mine.some((a) => isAddressEqual(a, fund.address))) return 0;
    const creator = fundCreator(fund, reader, organizations);
    if (creator.kind === "you") return 0;
    return creator.kind === "organization" && creator.active ? 1 : 2;
  };
  return funds
    .map((fund, i) => ({ fund, i, rank: rank(fund) }))
    .sort((a, b) => a.rank - b.rank || a.i - b.i)
    .map((r) => r.fund);
}
