/**
 * Signed-in readers (a bearer token issued after Sign-In with Ethereum) and the limits on what a
 * client can make the gateway do: per signed-in address, per client IP for unauthenticated and
 * failed requests, and per client IP for answers "as for a patient not held here", which fresh,
 * unrelated wallets (each with a full per-address allowance) could otherwise multiply.
 */
import type { FastifyRequest } from "fastify";
import type { Address } from "viem";

import { tooManyRequests, unauthorized } from "../fhir/outcomes.ts";
import type { AppConfig, RouteContext } from "../routes/context.ts";
import { RateLimiter, clientKey } from "./rate-limit.ts";
import type { TokenRevocations } from "./revocations.ts";
import type { TokenIssuer } from "./tokens.ts";

export type ReaderAuth = Pick<RouteContext, "limiters" | "limitByIp" | "requireReader" | "chargeUnrelated">;

export function readerAuth(
  config: Pick<AppConfig, "rateLimits">,
  tokens: TokenIssuer,
  revocations: TokenRevocations,
): ReaderAuth {
  const limiters = {
    address: new RateLimiter({ perMinute: config.rateLimits.perAddressPerMinute }),
    ip: new RateLimiter({ perMinute: config.rateLimits.perIpPerMinute }),
    unrelated: new RateLimiter({ perMinute: config.rateLimits.perIpPerMinute }),
  };
  /** Requesters answered as unrelated lately (bounded: the oldest are forgotten). */
  const unrelatedReaders = new Map<string, true>();
  const throttle = (limiter: RateLimiter, key: string, what: string): void => {
    const taken = limiter.take(key);
    if (!taken.ok)
      throw tooManyRequests(
        `Too many requests ${what}: at most ${limiter.perMinute} per minute`,
        taken.retryAfterSeconds,
      );
  };
  const limitByIp = async (request: FastifyRequest): Promise<void> =>
    throttle(limiters.ip, clientKey(request.ip), "from this address");

  return {
    limiters,
    limitByIp,
    async requireReader(request) {
      const header = request.headers.authorization;
      const m = header === undefined ? null : /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
      if (!m) {
        await limitByIp(request);
        throw unauthorized(
          header === undefined
            ? "Missing bearer token: sign in with Ethereum (/auth/siwe)"
            : "Malformed Authorization header: expected Bearer token",
        );
      }
      let claims;
      try {
        claims = tokens.verify(m[1]!);
      } catch (err) {
        await limitByIp(request); // failed attempts count against the client's address
        throw err;
      }
      if (await revocations.isRevoked(claims.jti)) {
        await limitByIp(request);
        throw unauthorized("Bearer token ended by sign-out: sign in again");
      }
      throttle(limiters.address, claims.addr.toLowerCase(), `for ${claims.addr}`);
      if (unrelatedReaders.has(claims.addr.toLowerCase()) && !limiters.unrelated.available(clientKey(request.ip))) {
        throttle(limiters.unrelated, clientKey(request.ip), "from this address");
      }
      request.requester = {
        address: claims.addr as Address,
        did: claims.sub,
        tokenId: claims.jti,
        expiresAt: new Date(claims.exp * 1000),
      };
    },
    chargeUnrelated(request) {
      const reader = request.requester?.address.toLowerCase();
      if (reader !== undefined) {
        unrelatedReaders.delete(reader);
        unrelatedReaders.set(reader, true);
        if (unrelatedReaders.size > 100_000) unrelatedReaders.delete(unrelatedReaders.keys().next().value!);
      }
      throttle(limiters.unrelated, clientKey(request.ip), "from this address");
    },
  };
}
