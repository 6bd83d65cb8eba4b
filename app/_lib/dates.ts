/**
 * Dates in plain words, one format across the app, and the dates people pick in a date field.
 * In the browser's language (written out: "4 December 2026" in British English, "December 4, 2026"
 * in American), never numeric: "04/12/2026" means different days in different countries.
 */
import { NO_END } from "#sdk/ledger.ts";

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

/** The day of a time in the browser's time zone, as a key ("2026-11-3": not for people). */
export function localDay(iso: string): string {
  const d = new Date(iso);
  return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
}

/** "today", "yesterday" or "on 3 December 2026" (the browser's language and time zone). */
export function dayWords(iso: string): string {
  if (!iso) return "";
  const day = localDay(iso);
  const now = new Date();
  if (day === localDay(now.toISOString())) return "today";
  const yesterday = new Date(now.getFullYear(), now.getMonth(), now.getDate() - 1, 12);
  if (day === localDay(yesterday.toISOString())) return "yesterday";
  return `on ${formatDate(Date.parse(iso) / 1000)}`;
}

/** The value of a date field `daysFromNow` days from now ("2027-03-03"), in the browser's time zone. */
export function dateFieldValue(daysFromNow: number): string {
  const d = new Date(Date.now() + daysFromNow * 86_400_000);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

/** A date field's "2027-03-03" at a time of that day in the browser's time zone, unix seconds; null if not a date. */
function dateFieldAt(value: string, hours: number, minutes: number, seconds: number): number | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!match) return null;
  const day = new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]), hours, minutes, seconds);
  if (Number.isNaN(day.getTime()) || day.getFullYear() > 9999) return null;
  return Math.floor(day.getTime() / 1000);
}

/** A date field's "2027-03-03" → the start of that day in the browser's time zone, unix seconds; null if not a date. */
export function startOfDay(value: string): number | null {
  return dateFieldAt(value, 0, 0, 0);
}

/** A date field's "2027-03-03" → the end of that day in the browser's time zone, unix seconds; null if not a date. */
export function endOfDay(value: string): number | null {
  return dateFieldAt(value, 23, 59, 59);
}

/** An end date picked in a date field: the end of that day (unix seconds), or what is wrong with it in words. */
export function parseEndDate(value: string, nowMs = Date.now()): number | { error: string } {
  const end = endOfDay(value);
  if (end === null) return { error: "That date is not valid." };
  if (end * 1000 <= nowMs + 60_000) return { error: "The end date must be after today." };
  return end;
}
