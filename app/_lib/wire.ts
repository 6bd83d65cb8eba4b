/**
 * The JSON of the app's own server answers (app/api/history/…): bigints travel as
 * `{ "$bigint": "123" }` and come back as bigints, so amounts, purposes and block numbers keep
 * their precision. Shared by the route handlers and the browser; nothing else in it.
 */

/** JSON text of `value`, bigints included. */
export function toWire(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? { $bigint: v.toString() } : v));
}

/** The value of `toWire`'s text, bigints restored. */
export function fromWire<T>(text: string): T {
  return JSON.parse(text, (_key, v: unknown) => {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      const keys = Object.keys(v);
      const raw = (v as { $bigint?: unknown }).$bigint;
      if (keys.length === 1 && typeof raw === "string" && /^-?[0-9]+$/.test(raw)) return BigInt(raw);
    }
    return v;
  }) as T;
}

/** Where the indexer stood when it answered, beside the list. */
export interface Indexed {
  chainId: number;
  /** The last block it has indexed (-1 before the first) and that block's time (unix seconds). */
  blockNumber: number;
  timestamp: number;
}

/** The body of a history answer. */
export interface HistoryAnswer<T> {
  indexed: Indexed;
  data: T;
}

/** The body of a refused or failed history request: a sentence. */
export interface HistoryError {
  error: string;
}
