/** Words the consoles share: sentences, grants' states in words and order, short addresses. */
import { describeScope } from "#sdk/codes.ts";
import type { GrantState } from "#sdk/fhir.ts";
import { type LedgerGrant, grantState } from "#sdk/ledger.ts";
import { formatDate } from "./dates.ts";

export { shortAddress } from "#sdk/words.ts";

/** "Lab results" from "lab results". */
export const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** "Lab results and vital signs, for treatment, until 3 March 2027". */
export function grantSentence(grant: Pick<LedgerGrant, "categories" | "purpose" | "expiresAt">): string {
  return `${describeScope(grant.categories, grant.purpose)}, until ${formatDate(grant.expiresAt)}`;
}

/** A grant's state on its badge. */
export const GRANT_STATE_WORDS: Record<GrantState, string> = {
  active: "Active",
  "not-yet-valid": "Starts later",
  expired: "Expired",
  revoked: "Revoked",
};
const ORDER: GrantState[] = ["active", "not-yet-valid", "expired", "revoked"];

/** The grants, active first, then those that start later, the expired and the revoked (a new array). */
export function byGrantState<G extends LedgerGrant>(grants: readonly G[], now: number): G[] {
  return [...grants].sort((a, b) => ORDER.indexOf(grantState(a, now)) - ORDER.indexOf(grantState(b, now)));
}
