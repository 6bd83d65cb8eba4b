/**
 * Sign-In with Ethereum (EIP-4361). `GET /auth/nonce` stores a random nonce with an expiry;
 * `POST /auth/siwe` accepts a message for this gateway only — domain = its public host, URI on
 * its public origin, chain = CHAIN_ID, a nonce it issued, unused and unexpired, a fresh issuedAt,
 * within expirationTime / notBefore — with a valid signature: an EOA's, or a contract wallet's
 * through ERC-1271 / ERC-6492 (viem's verifySiweMessage, which asks the chain). The nonce is
 * consumed atomically after the signature checks out, so a message signs in once.
 */
import { and, eq, gt, isNull, lt } from "drizzle-orm";
import { randomBytes } from "node:crypto";
import type { Address, Hex, PublicClient } from "viem";
import { getAddress, isAddress } from "viem/utils";
import { parseSiweMessage, verifySiweMessage } from "viem/siwe";
import { toChainError } from "../chain/revert.ts";
import { serviceUnavailable, unauthorized, badRequest } from "../fhir/outcomes.ts";
import type { GatewayDb } from "../store/database.ts";
import { siweNonces } from "../store/schema.ts";

export const NONCE_TTL_SECONDS = 10 * 60;
export const MAX_MESSAGE_LENGTH = 4096;
/** Longest accepted signature, hex characters (ERC-6492 wraps deployment data). */
export const MAX_SIGNATURE_LENGTH = 16_384;
const CLOCK_SKEW_MS = 60_000;
const NONCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

/**
 * An EIP-4361 message, line by line (ABNF of the EIP): nothing before, between or after.
 * viem's parser finds the fields; this makes sure there is nothing else.
 */
const STRICT_MESSAGE = new RegExp(
  [
    "^(?:[a-zA-Z][a-zA-Z0-9+\\-.]*://)?[^\\s/?#]+ wants you to sign in with your Ethereum account:\\n",
    "0x[0-9a-fA-F]{40}\\n\\n",
    "(?:[^\\n]+\\n)?",
    "\\nURI: [^\\n]+\\n",
    "Version: 1\\n",
    "Chain ID: [0-9]+\\n",
    "Nonce: [a-zA-Z0-9]+\\n",
    "Issued At: [^\\n]+",
    "(?:\\nExpiration Time: [^\\n]+)?",
    "(?:\\nNot Before: [^\\n]+)?",
    "(?:\\nRequest ID: [^\\n]*)?",
    "(?:\\nResources:(?:\\n- [^\\n]+)+)?$",
  ].join(""),
);

export interface SiweOptions {
  db: GatewayDb;
  client: PublicClient;
  /** The gateway's public URL: its host is the SIWE domain, its origin the URI's. */
  publicUrl: string;
  chainId: number;
  now: () => Date;
  nonceTtlSeconds?: number;
}

export interface SignedIn {
  address: Address;
  /** The message's own expiration time, if it set one (the token never outlives it). */
  expirationTime: Date | undefined;
}

/** Any control character but the line feed (EIP-4361 messages are lines of text). */
function hasControlCharacters(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 0x0a) || c === 0x7f) return true;
  }
  return false;
}

export function generateNonce(): string {
  const bytes = randomBytes(24);
  let out = "";
  for (const b of bytes) out += NONCE_ALPHABET[b % NONCE_ALPHABET.length];
  return out;
}

export class SiweVerifier {
  readonly #db: GatewayDb;
  readonly #client: PublicClient;
  readonly #domain: string;
  readonly #origin: string;
  readonly #scheme: string;
  readonly #chainId: number;
  readonly #now: () => Date;
  readonly #ttl: number;

  constructor(options: SiweOptions) {
    const url = new URL(options.publicUrl);
    this.#db = options.db;
    this.#client = options.client;
    this.#domain = url.host;
    this.#origin = url.origin;
    this.#scheme = url.protocol.replace(/:$/, "");
    this.#chainId = options.chainId;
    this.#now = options.now;
    this.#ttl = options.nonceTtlSeconds ?? NONCE_TTL_SECONDS;
  }

  /** What a client needs to build the message. */
  get domain(): string {
    return this.#domain;
  }
  get uri(): string {
    return this.#origin;
  }

  /** A fresh single-use nonce, stored with its expiry (expired ones are swept on the way). */
  async issueNonce(): Promise<{ nonce: string; expiresAt: Date }> {
    const now = this.#now();
    const nonce = generateNonce();
    const expiresAt = new Date(now.getTime() + this.#ttl * 1000);
    await this.#db.transaction(async (tx) => {
      await tx.delete(siweNonces).where(lt(siweNonces.expiresAt, new Date(now.getTime() - 3600_000)));
      await tx.insert(siweNonces).values({ nonce, createdAt: now, expiresAt });
    });
    return { nonce, expiresAt };
  }

  /** Verifies a signed message for this gateway and consumes its nonce; 401 on any mismatch. */
  async verify(message: unknown, signature: unknown): Promise<SignedIn> {
    if (typeof message !== "string" || message.length === 0)
      throw badRequest("message must be a SIWE message string", "message");
    if (
      typeof signature !== "string" ||
      !/^0x(?:[0-9a-fA-F]{2})+$/.test(signature) ||
      signature.length > MAX_SIGNATURE_LENGTH
    ) {
      throw badRequest("signature must be 0x-prefixed hex", "signature");
    }
    if (message.length > MAX_MESSAGE_LENGTH || hasControlCharacters(message) || !STRICT_MESSAGE.test(message)) {
      throw unauthorized("Not a well-formed Sign-In with Ethereum (EIP-4361) message");
    }
    const fields = parseSiweMessage(message);
    const now = this.#now();
    if (fields.domain !== this.#domain) throw unauthorized(`The message is for another domain than ${this.#domain}`);
    if (fields.scheme !== undefined && fields.scheme !== this.#scheme)
      throw unauthorized("The message is for another scheme");
    // Exactly the URI /auth/nonce gives, not any URI on the origin: a message signed for another
    // resource of this host (a path, a query) does not sign in here.
    if (fields.uri !== this.uri) throw unauthorized(`The message URI is not ${this.uri}`);
    if (fields.version !== "1") throw unauthorized("Unsupported SIWE version");
    if (fields.chainId !== this.#chainId) throw unauthorized(`The message is for another chain than ${this.#chainId}`);
    const address = fields.address;
    if (!address || !isAddress(address, { strict: true }) || getAddress(address) !== address) {
      throw unauthorized("The message address must be EIP-55 checksummed");
    }
    const issuedAt = fields.issuedAt;
    if (!issuedAt || Number.isNaN(issuedAt.getTime())) throw unauthorized("The message has no valid Issued At");
    if (issuedAt.getTime() > now.getTime() + CLOCK_SKEW_MS) throw unauthorized("The message is issued in the future");
    if (issuedAt.getTime() < now.getTime() - this.#ttl * 1000)
      throw unauthorized("The message is too old: sign in again");
    if (fields.expirationTime !== undefined) {
      if (Number.isNaN(fields.expirationTime.getTime()))
        throw unauthorized("The message has an invalid Expiration Time");
      if (fields.expirationTime.getTime() <= now.getTime()) throw unauthorized("The message has expired");
    }
    if (fields.notBefore !== undefined) {
      if (Number.isNaN(fields.notBefore.getTime())) throw unauthorized("The message has an invalid Not Before");
      if (fields.notBefore.getTime() > now.getTime() + CLOCK_SKEW_MS)
        throw unauthorized("The message is not valid yet");
    }
    const nonce = fields.nonce ?? "";
    const [stored] = await this.#db
      .select({ usedAt: siweNonces.usedAt, expiresAt: siweNonces.expiresAt })
      .from(siweNonces)
      .where(eq(siweNonces.nonce, nonce));
    if (!stored || stored.usedAt !== null || stored.expiresAt.getTime() <= now.getTime()) {
      throw unauthorized("Unknown, used or expired nonce: get a new one from /auth/nonce");
    }
    let valid: boolean;
    try {
      valid = await verifySiweMessage(this.#client, {
        message,
        signature: signature as Hex,
        domain: this.#domain,
        nonce,
        time: now,
      });
    } catch (err) {
      const chainError = toChainError(err);
      if (chainError.kind === "unavailable")
        throw serviceUnavailable("The chain is unavailable: cannot check the signature");
      valid = false;
    }
    if (!valid) throw unauthorized("The signature does not match the message and its address");
    const [consumed] = await this.#db
      .update(siweNonces)
      .set({ usedAt: now, usedBy: address.toLowerCase() })
      .where(and(eq(siweNonces.nonce, nonce), isNull(siweNonces.usedAt), gt(siweNonces.expiresAt, now)))
      .returning({ nonce: siweNonces.nonce });
    if (!consumed) throw unauthorized("Unknown, used or expired nonce: get a new one from /auth/nonce");
    return { address: getAddress(address), expirationTime: fields.expirationTime };
  }
}
