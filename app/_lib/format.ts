/** Dates and addresses in plain words, one format across the app. */
import { describeScope } from "#sdk/codes.ts";
import { type LedgerGrant, NO_END } from "#sdk/ledger.ts";

// In the browser's language (written out: "4 December 2026" in British English, "December 4, 2026" in
// American), never numeric: "04/12/2026" means different days in different countries.
const dateFormat = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "long", year: "numeric" });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  day: "numeric",
  month: "long",
  year: "numeric",
  hour: "2-digit",
  minute: "2-digit",
});

/** "3 March 2027". */
export function formatDate(seconds: number): string {
  return dateFormat.format(new Date(seconds * 1000));
}

/** "3 March 2027 at 14:05". */
export function formatDateTime(seconds: number): string {
  return dateTimeFormat.format(new Date(seconds * 1000));
}

/** "until 3 March 2027", or "with no end date" for a term appointed without one. */
export function untilWords(seconds: number): string {
  return seconds >= NO_END ? "with no end date" : `until ${formatDate(seconds)}`;
}

export { shortAddress } from "#sdk/errors.ts";

export const nowSeconds = () => Math.floor(Date.now() / 1000);

/** "Lab results and vital signs, for treatment, until 3 March 2027". */
export function grantSentence(grant: Pick<LedgerGrant, "categories" | "purpose" | "expiresAt">): string {
  return `${describeScope(grant.categories, grant.purpose)}, until ${formatDate(grant.expiresAt)}`;
}
