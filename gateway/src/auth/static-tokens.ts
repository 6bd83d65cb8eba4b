/**
 * The custodian's static bearer tokens: the admin token (ingestion, administration) and the
 * registration desk's link-code token, each compared in constant time. Failed attempts count per
 * client IP: after STATIC_TOKEN_FAILURES_PER_MINUTE of them, the IP gets 429 for every
 * static-token request (even with the right token) until its bucket refills.
 */
import type { FastifyRequest } from "fastify";
import { createHash, timingSafeEqual } from "node:crypto";

import { tooManyRequests, unauthorized } from "../fhir/outcomes.ts";
import { RateLimiter } from "./rate-limit.ts";

/** Failed attempts with a static token (admin, link-code) per client IP and minute before 429s. */
export const STATIC_TOKEN_FAILURES_PER_MINUTE = 10;

function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

export class StaticTokenGuard {
  readonly #adminTokenHash: Buffer;
  readonly #linkCodeTokenHash: Buffer;
  readonly #failures = new RateLimiter({ perMinute: STATIC_TOKEN_FAILURES_PER_MINUTE });
  readonly #blocked = new Map<string, number>();

  constructor(tokens: { adminToken: string; linkCodeToken: string }) {
    this.#adminTokenHash = sha256(tokens.adminToken);
    this.#linkCodeTokenHash = sha256(tokens.linkCodeToken);
  }

  /** onRequest hook: the custodian's ingestion and administration clients (the admin token). */
  readonly requireCustodian = async (request: FastifyRequest): Promise<void> => {
    this.#require(request, this.#adminTokenHash);
  };

  /** onRequest hook: the registration desk's link-code token, never the admin token (a leaked one moves no patient). */
  readonly requireLinkCodeIssuer = async (request: FastifyRequest): Promise<void> => {
    this.#require(request, this.#linkCodeTokenHash);
  };

  #require(request: FastifyRequest, expected: Buffer): void {
    const blockedUntil = this.#blocked.get(request.ip);
    const nowMs = Date.now();
    if (blockedUntil !== undefined && blockedUntil > nowMs) {
      throw tooManyRequests(
        "Too many failed attempts with an administrative token from this address",
        Math.ceil((blockedUntil - nowMs) / 1000),
      );
    }
    const fail = (text: string): never => {
      const take = this.#failures.take(request.ip);
      if (!take.ok) {
        if (this.#blocked.size > 10_000) this.#blocked.clear();
        this.#blocked.set(request.ip, nowMs + take.retryAfterSeconds * 1000);
        throw tooManyRequests(
          "Too many failed attempts with an administrative token from this address",
          take.retryAfterSeconds,
        );
      }
      throw unauthorized(text);
    };
    const header = request.headers.authorization;
    if (header === undefined) fail("Missing bearer token");
    const m = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header!);
    if (!m) fail("Malformed Authorization header: expected Bearer token");
    if (!timingSafeEqual(sha256(m![1]!), expected)) fail("Invalid bearer token");
  }
}
