/**
 * Bearer tokens ended before their expiry (sign-out). The revocation is written to the database,
 * so every gateway instance on it refuses the token; each instance keeps the revoked `jti`s in
 * memory and asks the database for new ones at most every {@link REVOCATION_REFRESH_MS}, so the
 * read path pays no query per request. The instance that signed the token out refuses it at
 * once; another instance within the refresh period.
 */
import { gt, lt } from "drizzle-orm";
import type { GatewayDb } from "../store/database.ts";
import { revokedTokens } from "../store/schema.ts";

export const REVOCATION_REFRESH_MS = 2_000;

export class TokenRevocations {
  readonly #db: GatewayDb;
  readonly #now: () => Date;
  /** jti → expiry (ms). */
  readonly #revoked = new Map<string, number>();
  #syncedAt = -Infinity;
  #seenUntil = new Date(0);
  #syncing: Promise<void> | undefined;

  constructor(db: GatewayDb, now: () => Date = () => new Date()) {
    this.#db = db;
    this.#now = now;
  }

  /** Ends a token: refused from now on, by this instance at once. */
  async revoke(jti: string, expiresAt: Date): Promise<void> {
    const now = this.#now();
    this.#revoked.set(jti, expiresAt.getTime());
    await this.#db
      .insert(revokedTokens)
      .values({ jti, expiresAt, revokedAt: now })
      .onConflictDoNothing({ target: revokedTokens.jti });
    // Rows of tokens that have expired anyway are no longer needed.
    await this.#db.delete(revokedTokens).where(lt(revokedTokens.expiresAt, now));
  }

  /** Whether the token was signed out; reads the other instances' sign-outs when the last read is old. */
  async isRevoked(jti: string): Promise<boolean> {
    if (performance.now() - this.#syncedAt > REVOCATION_REFRESH_MS) await this.#sync();
    return this.#revoked.has(jti);
  }

  #sync(): Promise<void> {
    this.#syncing ??= (async () => {
      try {
        const since = this.#seenUntil;
        const rows = await this.#db
          .select()
          .from(revokedTokens)
          .where(gt(revokedTokens.revokedAt, new Date(since.getTime() - REVOCATION_REFRESH_MS)));
        for (const row of rows) {
          this.#revoked.set(row.jti, row.expiresAt.getTime());
          if (row.revokedAt > this.#seenUntil) this.#seenUntil = row.revokedAt;
        }
        const now = this.#now().getTime();
        for (const [jti, expires] of this.#revoked) if (expires < now) this.#revoked.delete(jti);
        this.#syncedAt = performance.now();
      } finally {
        this.#syncing = undefined;
      }
    })();
    return this.#syncing;
  }
}
