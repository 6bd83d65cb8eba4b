/**
 * Short-lived bearer tokens issued after Sign-In with Ethereum: a compact JWT (RFC 7519, HS256)
 * bound to the signed-in address, the chain and this gateway (`aud` = its public URL). The HMAC
 * key is derived (HKDF-SHA256) from GATEWAY_TOKEN_SECRET, so that the secret itself signs nothing.
 *
 * A token is refused when its signature, algorithm, audience, issuer, chain or lifetime is not
 * exactly what this gateway issues: a token of another gateway (another secret or another
 * audience) never passes.
 */
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from "node:crypto";
import type { Address } from "viem";
import { getAddress, isAddress } from "viem/utils";
import { formatDidPkh } from "#sdk/did-pkh.ts";
import { unauthorized } from "../fhir/outcomes.ts";

export interface TokenClaims {
  /** Issuer and audience: the gateway's public URL. */
  iss: string;
  aud: string;
  /** The signed-in wallet, did:pkh:eip155:{chainId}:{address}. */
  sub: string;
  /** The address (EIP-55) and chain id of `sub`. */
  addr: Address;
  chain: number;
  /** Unix seconds. */
  iat: number;
  exp: number;
  /** Unique token id (for logs). */
  jti: string;
}

export interface TokenIssuerOptions {
  secret: Buffer;
  /** The gateway's public URL: audience and issuer. */
  audience: string;
  chainId: number;
  ttlSeconds: number;
  now?: () => Date;
}

/** Tolerated clock difference for `iat` (seconds). */
const CLOCK_SKEW_SECONDS = 60;
const MAX_TOKEN_LENGTH = 2048;
const HEADER = { alg: "HS256", typ: "JWT" } as const;
const HEADER_B64 = Buffer.from(JSON.stringify(HEADER)).toString("base64url");

function b64json(value: unknown): string {
  return Buffer.from(JSON.stringify(value), "utf8").toString("base64url");
}

function parseB64Json(part: string): unknown {
  if (!/^[A-Za-z0-9_-]+$/.test(part)) throw new Error("not base64url");
  return JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as unknown;
}

/** The signed-in wallet's did:pkh (sdk/did-pkh.ts, the one spelling: EIP-55 address). */
export function didPkhOf(chainId: number, address: Address): string {
  return formatDidPkh(chainId, address);
}

export class TokenIssuer {
  readonly #key: Buffer;
  readonly #audience: string;
  readonly #chainId: number;
  readonly #ttl: number;
  readonly #now: () => Date;

  constructor(options: TokenIssuerOptions) {
    if (options.secret.length < 32) throw new RangeError("token secret must be at least 32 bytes");
    this.#key = Buffer.from(
      hkdfSync("sha256", options.secret, "consentry-gateway", "bearer-token-hs256-v1", 32) as ArrayBuffer,
    );
    this.#audience = options.audience;
    this.#chainId = options.chainId;
    this.#ttl = options.ttlSeconds;
    this.#now = options.now ?? (() => new Date());
  }

  get ttlSeconds(): number {
    return this.#ttl;
  }

  #sign(input: string): Buffer {
    return createHmac("sha256", this.#key).update(input, "ascii").digest();
  }

  /** A token for `address`, valid for the configured lifetime or until `notAfter` if sooner. */
  issue(address: Address, options: { notAfter?: Date | undefined } = {}): { token: string; claims: TokenClaims } {
    const now = Math.floor(this.#now().getTime() / 1000);
    let exp = now + this.#ttl;
    if (options.notAfter) exp = Math.min(exp, Math.floor(options.notAfter.getTime() / 1000));
    const addr = getAddress(address);
    const claims: TokenClaims = {
      iss: this.#audience,
      aud: this.#audience,
      sub: didPkhOf(this.#chainId, addr),
      addr,
      chain: this.#chainId,
      iat: now,
      exp,
      jti: randomBytes(12).toString("base64url"),
    };
    const input = `${HEADER_B64}.${b64json(claims)}`;
    return { token: `${input}.${this.#sign(input).toString("base64url")}`, claims };
  }

  /** The claims of a token this gateway issued and that is still valid; 401 otherwise. */
  verify(token: string): TokenClaims {
    if (token.length > MAX_TOKEN_LENGTH) throw unauthorized("Malformed bearer token");
    const parts = token.split(".");
    if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]+$/.test(p))) {
      throw unauthorized("Malformed bearer token");
    }
    const [h, p, s] = parts as [string, string, string];
    let header: unknown;
    let payload: unknown;
    try {
      header = parseB64Json(h);
      payload = parseB64Json(p);
    } catch {
      throw unauthorized("Malformed bearer token");
    }
    const hdr = header as Record<string, unknown> | null;
    if (
      typeof hdr !== "object" ||
      hdr === null ||
      hdr["alg"] !== "HS256" ||
      Object.keys(hdr).some((k) => !["alg", "typ"].includes(k))
    ) {
      throw unauthorized("Unsupported bearer token algorithm");
    }
    const expected = this.#sign(`${h}.${p}`);
    const given = Buffer.from(s, "base64url");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw unauthorized("Invalid bearer token signature (not issued by this gateway)");
    }
    const c = payload as Partial<TokenClaims> | null;
    if (
      typeof c !== "object" ||
      c === null ||
      typeof c.iss !== "string" ||
      typeof c.aud !== "string" ||
      typeof c.sub !== "string" ||
      typeof c.addr !== "string" ||
      typeof c.chain !== "number" ||
      typeof c.iat !== "number" ||
      typeof c.exp !== "number" ||
      typeof c.jti !== "string"
    ) {
      throw unauthorized("Malformed bearer token claims");
    }
    if (c.aud !== this.#audience || c.iss !== this.#audience) throw unauthorized("Bearer token is for another gateway");
    if (c.chain !== this.#chainId) throw unauthorized("Bearer token is for another chain");
    if (!isAddress(c.addr, { strict: true }) || c.sub !== didPkhOf(this.#chainId, c.addr)) {
      throw unauthorized("Malformed bearer token claims");
    }
    const now = this.#now().getTime() / 1000;
    if (c.exp <= now) throw unauthorized("Bearer token expired: sign in again");
    if (c.iat > now + CLOCK_SKEW_SECONDS || c.exp - c.iat > this.#ttl) throw unauthorized("Bearer token not valid yet");
    return c as TokenClaims;
  }
}
