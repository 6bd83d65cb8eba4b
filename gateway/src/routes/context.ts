/**
 * What the route modules share: the store, the chain, the access decision, authentication
 * (bearer tokens after SIWE, the custodian's admin token), rate limits and the audit recorder.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Address } from "viem";
import type { RateLimiter } from "../auth/rate-limit.ts";
import type { SiweVerifier } from "../auth/siwe.ts";
import type { TokenRevocations } from "../auth/revocations.ts";
import type { TokenIssuer } from "../auth/tokens.ts";
import type { AuditInput } from "../audit/events.ts";
import type { GatewayChain } from "../chain/chain.ts";
import { ChainError } from "../chain/revert.ts";
import type { GatewayConfig } from "../config/config.ts";
import type { AccessControl } from "../consent/access.ts";
import {
  type OperationOutcomeError,
  asOperationOutcomeError,
  serviceUnavailable,
  unprocessable,
} from "../fhir/outcomes.ts";
import type { Store } from "../store/store.ts";

/** The signed-in wallet behind a request's bearer token. */
export interface Requester {
  address: Address;
  /** did:pkh:eip155:{chainId}:{address} */
  did: string;
  tokenId: string;
  /** When the bearer token expires. */
  expiresAt: Date;
}

declare module "fastify" {
  interface FastifyRequest {
    requester: Requester | null;
  }
}

export type AppConfig = Pick<
  GatewayConfig,
  | "publicUrl"
  | "adminToken"
  | "linkCodeToken"
  | "bodyLimitBytes"
  | "custodianName"
  | "custodianAddress"
  | "chainId"
  | "logLevel"
  | "tokenSecret"
  | "tokenTtlSeconds"
  | "rateLimits"
  | "relayLimits"
  | "relayWithdrawFee"
  | "corsOrigins"
  | "trustedProxies"
>;

/** What an audited handler fills in as it learns it. */
export interface AuditContext {
  interaction: AuditInput["interaction"];
  operation?: AuditInput["operation"];
  patientId?: string | undefined;
  resource?: AuditInput["resource"];
  query?: string | undefined;
  purposeOfUse?: AuditInput["purposeOfUse"];
  emergency?: boolean | undefined;
  details?: Array<{ type: string; value: string }>;
  /** A note on a success (e.g. what was withheld). */
  note?: string | undefined;
  /**
   * Set when the request was refused although it answers 200 (e.g. an empty searchset for a
   * caller with no relation to the patient, as for a patient not held here): the AuditEvent
   * records the refusal (minorFailure) with this text.
   */
  refused?: string | undefined;
  /**
   * On success, one more AuditEvent per patient listed (same request, that patient's id): a
   * request that released several patients' data shows in each one's access log.
   */
  alsoFor?: readonly string[] | undefined;
  /** Who acted, when not the signed-in requester or the custodian (e.g. the signer of a relayed action). */
  agent?: AuditInput["agent"] | undefined;
}

export interface RouteContext {
  config: AppConfig;
  store: Store;
  chain: GatewayChain;
  access: AccessControl;
  tokens: TokenIssuer;
  /** Tokens ended by sign-out. */
  revocations: TokenRevocations;
  siwe: SiweVerifier;
  /** onRequest hook: a valid bearer token of this gateway (sets request.requester), rate-limited per address. */
  requireReader(request: FastifyRequest): Promise<void>;
  /** onRequest hook: the custodian's admin token. */
  requireCustodian(request: FastifyRequest): Promise<void>;
  /** The link-code issuer's static token (POST /admin/link-codes); failed attempts throttled per IP. */
  requireLinkCodeIssuer(request: FastifyRequest): Promise<void>;
  /** onRequest hook: rate limit per client IP (unauthenticated routes). */
  limitByIp(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  /**
   * Runs `fn` and writes one AuditEvent for the request whatever happens: success before the
   * response leaves (committed while the answer is serialized; if that write fails, nothing is
   * sent), failure with its outcome.
   */
  audited<T>(request: FastifyRequest, audit: AuditContext, fn: () => Promise<T>): Promise<T>;
  limiters: { address: RateLimiter; ip: RateLimiter; unrelated: RateLimiter };
  /**
   * Counts a request answered as for a patient not held here against the client address's
   * allowance of such answers (per-IP limit, IPv6 per /64), and remembers the requester: once the
   * allowance is spent, its requests are refused (429) before any work (requireReader). Throws
   * that 429 when it is spent now.
   */
  chargeUnrelated(request: FastifyRequest): void;
}

/** A ChainError as the OperationOutcome a client sees (422 for a revert, 503 when unreachable). */
export function chainOutcome(err: unknown): OperationOutcomeError | undefined {
  if (!(err instanceof ChainError)) return undefined;
  if (err.kind === "revert") {
    const name = err.decoded?.errorName;
    return unprocessable(
      err.message,
      name ? `${name}(${(err.decoded?.args ?? []).map(String).join(", ")})` : undefined,
    );
  }
  const unavailable = serviceUnavailable("The chain is unavailable; try again shortly");
  unavailable.retryAfterSeconds = 5;
  return unavailable;
}

/** Any error as an OperationOutcomeError when it is one we can state (else undefined: a 500). */
export function knownOutcome(err: unknown): OperationOutcomeError | undefined {
  return asOperationOutcomeError(err) ?? chainOutcome(err);
}
