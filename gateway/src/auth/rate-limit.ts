/**
 * Request rate limits, in memory (per gateway process): a token bucket per key — a signed-in
 * address, or a client IP for unauthenticated requests — that holds `perMinute` requests and
 * refills continuously. The number of keys is bounded: the least recently used are dropped.
 * (Relayed transactions, which cost gas, are limited in the database instead: relay/limits.ts.)
 */

export interface RateLimitResult {
  ok: boolean;
  /** Seconds until a request would pass again (when refused). */
  retryAfterSeconds: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  readonly perMinute: number;
  readonly #maxKeys: number;
  readonly #now: () => number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: { perMinute: number; maxKeys?: number; now?: () => number }) {
    if (!Number.isInteger(options.perMinute) || options.perMinute < 1) throw new RangeError("perMinute must be >= 1");
    this.perMinute = options.perMinute;
    this.#maxKeys = options.maxKeys ?? 100_000;
    this.#now = options.now ?? Date.now;
  }

  /** Whether `key`'s bucket holds a request now (takes nothing). */
  available(key: string): boolean {
    const bucket = this.#buckets.get(key);
    if (!bucket) return true;
    return bucket.tokens + (this.#now() - bucket.at) * (this.perMinute / 60_000) >= 1;
  }

  /** Takes one request from `key`'s bucket. */
  take(key: string): RateLimitResult {
    const now = this.#now();
    const rate = this.perMinute / 60_000; // tokens per ms
    let bucket = this.#buckets.get(key);
    if (bucket) {
      this.#buckets.delete(key); // re-inserted below: Map order is recency
      bucket.tokens = Math.min(this.perMinute, bucket.tokens + (now - bucket.at) * rate);
      bucket.at = now;
    } else {
      bucket = { tokens: this.perMinute, at: now };
      if (this.#buckets.size >= this.#maxKeys) {
        const oldest = this.#buckets.keys().next();
        if (!oldest.done) this.#buckets.delete(oldest.value);
      }
    }
    this.#buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { ok: true, retryAfterSeconds: 0 };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / rate / 1000)) };
  }
}

/**
 * The key a client's address is limited under: an IPv4 address as it is (IPv4-mapped IPv6 too),
 * an IPv6 address by its /64 (one subscriber usually holds a whole /64, so single addresses would
 * be a free supply of fresh buckets).
 */
export function clientKey(ip: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (!ip.includes(":")) return ip;
  const [head = "", tail = ""] = ip.split("%")[0]!.toLowerCase().split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === "" ? [] : tail.split(":");
  const groups = ip.includes("::")
    ? [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}
