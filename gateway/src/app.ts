/**
 * The gateway's HTTP app (Fastify 5). `buildApp` only builds it: server.ts listens, tests inject.
 *
 * Every error leaves as a FHIR OperationOutcome: thrown OperationOutcomeErrors with their
 * status; chain failures as 422 (the contract's error in words) or 503; Fastify's own client
 * errors (bad JSON, wrong Content-Type, body too large, schema, unknown route) as the matching
 * 4xx; anything else as a generic 500 whose detail goes to the log only.
 *
 * Without a chain (`options.chain`), only ingestion, metadata and health are served; with one,
 * Sign-In with Ethereum, consent-checked reads, linking and relaying too (routes/).
 */
import type { Bundle, BundleEntry } from "@medplum/fhirtypes";
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from "fastify";
import { createHash, timingSafeEqual } from "node:crypto";
import { STATUS_CODES } from "node:http";
import type { Address } from "viem";
import { formatDidPkh } from "../../sdk/did-pkh.ts";
import { RateLimiter, clientKey } from "./auth/rate-limit.ts";
import { SiweVerifier } from "./auth/siwe.ts";
import { TokenIssuer } from "./auth/tokens.ts";
import { buildAuditEvent, type AuditInput } from "./audit/events.ts";
import { RefusalFolder } from "./audit/fold.ts";
import { appendAudit, appendAudits } from "./audit/log.ts";
import type { GatewayChain } from "./chain/chain.ts";
import { AccessControl } from "./consent/access.ts";
import { PURPOSE_HEADER_NAME } from "./consent/purpose.ts";
import { prepareTransaction } from "./fhir/bundle.ts";
import { FHIR_JSON, buildCapabilityStatement } from "./fhir/capability.ts";
import { negotiateFormat } from "./fhir/negotiation.ts";
import {
  OperationOutcomeError,
  asOperationOutcomeError,
  badRequest,
  notFound,
  outcome,
  outcomeText,
  payloadTooLarge,
  serverError,
  serviceUnavailable,
  tooManyRequests,
  unauthorized,
  unsupportedMediaType,
} from "./fhir/outcomes.ts";
import { assertSupportedType, assertValidId, getPatientId, type SupportedResource } from "./fhir/resources.ts";
import { loadFhirDefinitions, validateIncomingResource } from "./fhir/validation.ts";
import { TokenRevocations } from "./auth/revocations.ts";
import { registerAdminRoutes } from "./routes/admin.ts";
import { registerAuthRoutes } from "./routes/auth.ts";
import { chainOutcome, knownOutcome, type AppConfig, type AuditContext, type RouteContext } from "./routes/context.ts";
import { registerReadRoutes } from "./routes/fhir-read.ts";
import { registerRelayRoutes } from "./routes/relay.ts";
import { registerResearchRoutes } from "./routes/research.ts";
import { relaySpend } from "./relay/limits.ts";
import type { Store, StoreTransaction } from "./store/store.ts";

/** Failed attempts with a static token (admin, link-code) per client IP and minute before 429s. */

/** Node's limit on the request line and headers (its default, 16 KiB): beyond it, a 431. */
export const MAX_HEADER_BYTES = 16 * 1024;
/** The longest URL served: beyond it, a 414. */
export const MAX_URL_BYTES = 8 * 1024;

/**
 * The security headers of every response: nothing cached (health data), nothing sniffed, framed
 * or rendered as a page (`default-src 'none'`: the gateway serves data, never documents), no
 * referrer; HSTS when the public URL is https.
 */
export function securityHeadersFor(publicUrl: string): Record<string, string> {
  return {
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    ...(publicUrl.startsWith("https:") ? { "strict-transport-security": "max-age=63072000; includeSubDomains" } : {}),
  };
}
export const STATIC_TOKEN_FAILURES_PER_MINUTE = 10;
export type { AppConfig } from "./routes/context.ts";

declare module "fastify" {
  interface FastifyInstance {
    /** The audit's folded refused attempts: `flush()` ends every open window now (tests, shutdown). */
    audit: { flush(): Promise<void> };
  }
}

export interface BuildAppOptions {
  config: AppConfig;
  store: Store;
  /** Fastify logger options; default: pino at config.logLevel. */
  logger?: FastifyServerOptions["logger"];
  /** The chain (consent checks, SIWE for contract wallets, relaying). Without it: ingestion only. */
  chain?: GatewayChain | undefined;
  /**
   * The access decision of reads (consent/access.ts); default `new AccessControl(store, chain)`.
   * A seam for the gateway benchmark only (scripts/bench/gateway-bench.ts), which passes one
   * that skips the chain check to measure the same read path without it. server.ts never passes
   * one and no configuration reaches it: a running gateway always checks consent on-chain.
   */
  access?: AccessControl | undefined;
}

const JSON_TYPES = ["application/fhir+json", "application/json", "application/json+fhir"];

/** Fastify's client errors, turned into OperationOutcomes with safe, fixed messages. */
function fastifyClientError(err: unknown, bodyLimit: number): OperationOutcomeError | undefined {
  const e = err as { code?: unknown; statusCode?: unknown };
  if (typeof e.code !== "string" || !e.code.startsWith("FST_")) return undefined;
  switch (e.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return payloadTooLarge(`Request body exceeds ${bodyLimit} bytes`);
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return unsupportedMediaType(`Unsupported Content-Type: send ${FHIR_JSON}`);
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return badRequest("Request body is empty");
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return badRequest("Request body is not valid JSON");
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return badRequest("Request body size does not match Content-Length");
    case "FST_ERR_VALIDATION": {
      // Schema messages name the field and the rule ("body/patient must match pattern …"), never data.
      const message = String((err as { message?: unknown }).message ?? "Invalid request").slice(0, 300);
      return badRequest(`Invalid request: ${message}`);
    }
    default: {
      const status = typeof e.statusCode === "number" ? e.statusCode : 500;
      if (status >= 400 && status < 500) {
        return new OperationOutcomeError(status, outcome("error", "invalid", "Bad request"));
      }
      return undefined;
    }
  }
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

function httpDate(iso: string | undefined): string {
  return new Date(iso ?? Date.now()).toUTCString();
}

export function buildApp(options: BuildAppOptions): FastifyInstance {
  const { config, store } = options;
  loadFhirDefinitions();
  const app = Fastify({
    logger: options.logger ?? { level: config.logLevel },
    bodyLimit: config.bodyLimitBytes,
    // X-Forwarded-For is believed from the configured proxies only (GATEWAY_TRUSTED_PROXIES): then
    // req.ip is the nearest hop they did not add; otherwise it is the peer.
    trustProxy: config.trustedProxies.length > 0 ? [...config.trustedProxies] : false,
    return503OnClosing: true,
    // What Node's HTTP parser refuses before any route (headers or URL over its limit: 431; anything
    // else malformed: 400) is answered like every other error: an OperationOutcome with the
    // security headers, then the connection is closed.
    clientErrorHandler: (err, socket) => {
      if (socket.destroyed || !socket.writable) return;
      const code = (err as { code?: string }).code;
      const status = code === "HPE_HEADER_OVERFLOW" ? 431 : code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : 400;
      const text =
        status === 431
          ? `Request headers (the URL included) larger than ${Math.floor(MAX_HEADER_BYTES / 1024)} KiB`
          : status === 408
            ? "Request not received in time"
            : "Malformed HTTP request";
      const body = JSON.stringify(outcome("error", status === 408 ? "timeout" : "too-long", text));
      const headers = [
        `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Error"}`,
        `content-type: ${FHIR_JSON}; charset=utf-8`,
        `content-length: ${Buffer.byteLength(body)}`,
        ...Object.entries(securityHeaders).map(([k, v]) => `${k}: ${v}`),
        "connection: close",
      ];
      socket.end(`${headers.join("\r\n")}\r\n\r\n${body}`);
    },
    // Request schemas reject what they do not describe, and never coerce types.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false } },
  });
  app.decorateRequest("requester", null);
  /** Sent with every response (see the onSend hook and the client-error handler). */
  const securityHeaders = securityHeadersFor(config.publicUrl);

  const startedAt = store.now().toISOString();
  const refusals = new RefusalFolder(store.db, {
    onError: (err) => app.log.error({ err }, "could not write the AuditEvent of folded refused attempts"),
  });
  app.decorate("audit", { flush: () => refusals.flush() });
  app.addHook("onClose", async () => refusals.flush());
  const adminTokenHash = sha256(config.adminToken.reveal());
  const linkCodeTokenHash = sha256(config.linkCodeToken.reveal());
  /** Failed static-token attempts per client IP: past the limit, every such request from it is a 429. */
  const staticTokenFailures = new RateLimiter({ perMinute: STATIC_TOKEN_FAILURES_PER_MINUTE });
  const staticTokenBlocked = new Map<string, number>();
  const revocations = new TokenRevocations(store.db, () => store.now());
  const custodianDid = formatDidPkh(config.chainId, config.custodianAddress);
  const observer = `${config.custodianName} gateway (${config.publicUrl})`;

  // ------------------------------------------------------------------ parsing and errors
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(JSON_TYPES, { parseAs: "string" }, app.getDefaultJsonParser("error", "error"));

  app.setErrorHandler((err, request, reply) => {
    let ooe = asOperationOutcomeError(err) ?? chainOutcome(err) ?? fastifyClientError(err, config.bodyLimitBytes);
    if (ooe && ooe.status >= 500) {
      request.log.error({ err }, "request failed");
    } else if (ooe) {
      request.log.info({ status: ooe.status, issue: outcomeText(ooe.outcome) }, "request rejected");
    } else {
      request.log.error({ err }, "unexpected error");
      ooe = serverError();
    }
    if (ooe.status === 401) reply.header("www-authenticate", 'Bearer realm="consentry-gateway"');
    if (ooe.retryAfterSeconds !== undefined) reply.header("retry-after", String(ooe.retryAfterSeconds));
    return reply
      .code(ooe.status)
      .type(FHIR_JSON)
      .send(ooe.status >= 500 && !isExposable(ooe) ? serverError().outcome : ooe.outcome);
  });

  app.setNotFoundHandler((request, reply) => {
    const route = `${request.method} ${request.url.split("?")[0] ?? ""}`;
    reply
      .code(404)
      .type(FHIR_JSON)
      .send(notFound(`No route ${route.slice(0, 200)}`).outcome);
  });

  app.addHook("onSend", async (_request, reply, payload) => {
    // Responses may carry health data: never cache them, never sniff them, never frame them.
    for (const [name, value] of Object.entries(securityHeaders)) reply.header(name, value);
    return payload;
  });

  // A URL longer than MAX_URL_BYTES (but within the parser's header limit): 414, as an OperationOutcome.
  app.addHook("onRequest", async (request) => {
    if (request.url.length > MAX_URL_BYTES) {
      throw new OperationOutcomeError(
        414,
        outcome("error", "too-long", `Request URL longer than ${MAX_URL_BYTES} characters`),
      );
    }
  });

  // ------------------------------------------------------------------ CORS (configured origins only)
  const corsOrigins = new Set(config.corsOrigins);
  if (corsOrigins.size > 0) {
    app.addHook("onRequest", async (request, reply) => {
      const origin = request.headers.origin;
      if (origin === undefined || !corsOrigins.has(origin)) return;
      reply.header("access-control-allow-origin", origin);
      reply.header("vary", "Origin");
      reply.header("access-control-expose-headers", "ETag, Last-Modified, Location, Retry-After, WWW-Authenticate");
    });
    app.options("/*", async (request, reply) => {
      const origin = request.headers.origin;
      if (origin === undefined || !corsOrigins.has(origin)) return reply.code(204).send();
      return reply
        .code(204)
        .header("access-control-allow-methods", "GET, POST, PUT, OPTIONS")
        .header("access-control-allow-headers", `Authorization, Content-Type, ${PURPOSE_HEADER_NAME}`)
        .header("access-control-max-age", "600")
        .send();
    });
  }

  // Only FHIR JSON is served: another format (Accept, _format) or FHIR version is a 406, on every route.
  app.addHook("onRequest", negotiateFormat);

  // ------------------------------------------------------------------ authentication
  /** The custodian's ingestion clients: a static bearer token, compared in constant time. */
  async function requireCustodian(request: FastifyRequest): Promise<void> {
    requireStaticToken(request, adminTokenHash);
  }

  /** The registration desk's link-code token: never the admin token (a leaked one moves no patient). */
  async function requireLinkCodeIssuer(request: FastifyRequest): Promise<void> {
    requireStaticToken(request, linkCodeTokenHash);
  }

  /**
   * A static bearer token, compared in constant time. Failed attempts count per client IP: after
   * STATIC_TOKEN_FAILURES_PER_MINUTE of them, the IP gets 429 for every static-token request
   * (even with the right token) until its bucket refills.
   */
  function requireStaticToken(request: FastifyRequest, expected: Buffer): void {
    const blockedUntil = staticTokenBlocked.get(request.ip);
    const nowMs = Date.now();
    if (blockedUntil !== undefined && blockedUntil > nowMs) {
      throw tooManyRequests(
        "Too many failed attempts with an administrative token from this address",
        Math.ceil((blockedUntil - nowMs) / 1000),
      );
    }
    const fail = (text: string): never => {
      const take = staticTokenFailures.take(request.ip);
      if (!take.ok) {
        if (staticTokenBlocked.size > 10_000) staticTokenBlocked.clear();
        staticTokenBlocked.set(request.ip, nowMs + take.retryAfterSeconds * 1000);
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

  // ------------------------------------------------------------------ audit
  function ingestionAudit(
    request: FastifyRequest,
    input: Omit<AuditInput, "agent" | "source" | "recorded">,
  ): AuditInput {
    return {
      ...input,
      recorded: store.now(),
      agent: {
        kind: "dataCollector",
        did: custodianDid,
        display: `${config.custodianName} ingestion`,
        address: request.ip,
      },
      source: { observer },
    };
  }

  /** Records a failed ingestion attempt (after authentication); never masks the original error. */
  async function auditFailure(
    request: FastifyRequest,
    interaction: "create" | "update" | "transaction",
    err: unknown,
    type?: string,
  ): Promise<void> {
    const ooe = asOperationOutcomeError(err);
    try {
      await appendAudit(
        store.db,
        buildAuditEvent(
          ingestionAudit(request, {
            interaction,
            outcome: ooe && ooe.status < 500 ? "minorFailure" : "seriousFailure",
            outcomeDesc: ooe ? outcomeText(ooe.outcome).slice(0, 500) : "internal error",
            ...(type !== undefined ? { resource: { type } } : {}),
          }),
        ),
      );
    } catch (auditErr) {
      request.log.error({ err: auditErr }, "could not write the audit event of a failed request");
    }
  }

  /**
   * Writes resources and their AuditEvents in the caller's transaction. All resource rows are
   * written (and locked) before the audit log's table lock is taken, so a transaction holding
   * that lock never waits for a row: concurrent ingestions cannot deadlock on it.
   */
  async function writeAudited(
    tx: StoreTransaction,
    request: FastifyRequest,
    resources: readonly SupportedResource[],
  ): Promise<SupportedResource[]> {
    const saved: SupportedResource[] = [];
    for (const resource of resources) saved.push(await tx.putResource(resource));
    for (const r of saved) {
      await appendAudit(
        tx.db,
        buildAuditEvent(
          ingestionAudit(request, {
            interaction: r.meta?.versionId === "1" ? "create" : "update",
            outcome: "success",
            patientId: getPatientId(r),
            resource: { type: r.resourceType, id: r.id },
          }),
        ),
      );
    }
    return saved;
  }

  function sendStored(reply: FastifyReply, saved: SupportedResource): FastifyReply {
    const vid = saved.meta?.versionId ?? "1";
    return reply
      .code(vid === "1" ? 201 : 200)
      .header("location", `${config.publicUrl}/fhir/${saved.resourceType}/${saved.id}/_history/${vid}`)
      .header("etag", `W/"${vid}"`)
      .header("last-modified", httpDate(saved.meta?.lastUpdated))
      .type(FHIR_JSON)
      .send(saved);
  }

  // ------------------------------------------------------------------ audit of patient-touching requests
  function agentOf(request: FastifyRequest, audit: AuditContext): AuditInput["agent"] {
    if (audit.agent) return { ...audit.agent, address: request.ip };
    if (request.requester) return { kind: "humanUser", did: request.requester.did, address: request.ip };
    return {
      kind: "application",
      did: custodianDid,
      display: `${config.custodianName} administration`,
      address: request.ip,
    };
  }

  function auditInput(
    request: FastifyRequest,
    audit: AuditContext,
    outcome: AuditInput["outcome"],
    outcomeDesc: string | undefined,
  ): AuditInput {
    return {
      interaction: audit.interaction,
      operation: audit.operation,
      outcome,
      outcomeDesc,
      recorded: store.now(),
      agent: agentOf(request, audit),
      purposeOfUse: audit.purposeOfUse,
      patientId: audit.patientId,
      resource: audit.resource,
      query: audit.query,
      emergency: audit.emergency,
      details: audit.details,
      source: { observer },
    };
  }

  async function audited<T>(request: FastifyRequest, audit: AuditContext, fn: () => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await fn();
    } catch (err) {
      const ooe = knownOutcome(err);
      try {
        const event = buildAuditEvent(
          auditInput(
            request,
            audit,
            ooe && ooe.status < 500 ? "minorFailure" : "seriousFailure",
            (audit.refused ?? (ooe ? outcomeText(ooe.outcome) : "internal error")).slice(0, 1000),
          ),
        );
        // A reader's repeated refusals on one patient: one AuditEvent with a count (audit/fold.ts).
        if (ooe && ooe.status < 500 && request.requester && audit.patientId !== undefined) {
          await refusals.record(request.requester.did, audit.patientId, event);
        } else {
          await appendAudit(store.db, event);
        }
      } catch (auditErr) {
        request.log.error({ err: auditErr }, "could not write the audit event of a failed request");
      }
      throw err;
    }
    // Committed before the response leaves: no record is released without its AuditEvent. The
    // request's events (one more per `alsoFor` patient) are group-committed with other requests'
    // (audit/log.ts), all of them or none.
    const note = (audit.refused ?? audit.note)?.slice(0, 1000);
    const outcome = audit.refused !== undefined ? "minorFailure" : "success";
    if (audit.refused !== undefined && request.requester && audit.patientId !== undefined && !audit.alsoFor) {
      await refusals.record(
        request.requester.did,
        audit.patientId,
        buildAuditEvent(auditInput(request, audit, outcome, note)),
      );
      return result;
    }
    await appendAudits(store.db, [
      buildAuditEvent(auditInput(request, audit, outcome, note)),
      ...(audit.alsoFor ?? []).map((patientId) =>
        buildAuditEvent(auditInput(request, { ...audit, patientId }, outcome, note)),
      ),
    ]);
    return result;
  }

  // ------------------------------------------------------------------ routes
  app.get("/healthz", async (request, reply) => {
    try {
      await store.database.ping();
    } catch (err) {
      request.log.error({ err }, "health check: database unreachable");
      throw serviceUnavailable("Database unavailable");
    }
    // Without the chain no consent can be checked: the gateway is not able to serve reads.
    let block: string | undefined;
    if (options.chain) {
      try {
        block = (await options.chain.latestBlock()).number.toString();
      } catch (err) {
        request.log.error({ err }, "health check: chain unreachable");
        throw serviceUnavailable("Chain unavailable: consent cannot be checked");
      }
    }
    return reply.type("application/json").send({
      status: "ok",
      database: store.database.kind,
      ...(block !== undefined ? { chainId: config.chainId, block } : {}),
    });
  });

  app.get("/fhir/metadata", async (_request, reply) => {
    const capability = buildCapabilityStatement({
      publicUrl: config.publicUrl,
      custodianName: config.custodianName,
      date: startedAt,
      interactions: options.chain ? ["read", "search-type", "create", "update"] : ["create", "update"],
      transaction: true,
      reads: options.chain !== undefined,
      cors: corsOrigins.size > 0,
    });
    return reply.type(FHIR_JSON).send(capability);
  });

  if (options.chain) {
    const chain = options.chain;
    const limiters = {
      address: new RateLimiter({ perMinute: config.rateLimits.perAddressPerMinute }),
      ip: new RateLimiter({ perMinute: config.rateLimits.perIpPerMinute }),
      // Answers "as for a patient not held here" per client address: what fresh, unrelated wallets
      // (each with a full per-address allowance) can make the gateway do from one address.
      unrelated: new RateLimiter({ perMinute: config.rateLimits.perIpPerMinute }),
    };
    /** Requesters answered as unrelated lately (bounded: the oldest are forgotten). */
    const unrelatedReaders = new Map<string, true>();
    const tokens = new TokenIssuer({
      secret: config.tokenSecret.reveal(),
      audience: config.publicUrl,
      chainId: config.chainId,
      ttlSeconds: config.tokenTtlSeconds,
      now: () => store.now(),
    });
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
    const context: RouteContext = {
      config,
      store,
      chain,
      access: options.access ?? new AccessControl(store, chain),
      tokens,
      revocations,
      siwe: new SiweVerifier({
        db: store.db,
        client: chain.client,
        publicUrl: config.publicUrl,
        chainId: config.chainId,
        now: () => store.now(),
      }),
      limiters,
      limitByIp,
      requireCustodian,
      requireLinkCodeIssuer,
      audited,
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
    // The custodian's relay spend (Prometheus text format), for its monitoring: admin token.
    app.get("/metrics", { onRequest: requireCustodian }, async (_request, reply) => {
      const spend = await relaySpend(store.db, store.now());
      const { weiPerHour, revocationWeiPerHour } = config.relayLimits;
      const lines = [
        "# HELP consentry_relay_budget_wei_per_hour The most the custodian spends on relayed transactions per hour.",
        "# TYPE consentry_relay_budget_wei_per_hour gauge",
        `consentry_relay_budget_wei_per_hour ${weiPerHour}`,
        "# HELP consentry_relay_revocation_budget_wei_per_hour The part of it kept for revocations (served first).",
        "# TYPE consentry_relay_revocation_budget_wei_per_hour gauge",
        `consentry_relay_revocation_budget_wei_per_hour ${revocationWeiPerHour}`,
        "# HELP consentry_relay_spent_wei Wei charged for relays in the last hour (mined: cost; pending: most possible).",
        "# TYPE consentry_relay_spent_wei gauge",
        `consentry_relay_spent_wei{budget="revocation"} ${spend.revocation}`,
        `consentry_relay_spent_wei{budget="shared"} ${spend.shared}`,
        "# HELP consentry_relay_transactions Relays in the last hour.",
        "# TYPE consentry_relay_transactions gauge",
        `consentry_relay_transactions{budget="revocation"} ${spend.revocations}`,
        `consentry_relay_transactions{budget="shared"} ${spend.others}`,
      ];
      return reply.type("text/plain; version=0.0.4; charset=utf-8").send(`${lines.join("\n")}\n`);
    });
    registerAuthRoutes(app, context);
    registerAdminRoutes(app, context);
    registerReadRoutes(app, context);
    registerRelayRoutes(app, context);
    registerResearchRoutes(app, context);
  }

  /** create: the server assigns the id (a client-sent id is checked, then ignored, per FHIR). */
  app.post<{ Params: { type: string } }>("/fhir/:type", { onRequest: requireCustodian }, async (request, reply) => {
    const type = assertSupportedType(request.params.type);
    try {
      const resource = validateIncomingResource(request.body, { expectedType: type });
      const { id: _ignored, ...withoutId } = resource;
      const [saved] = await store.transaction((tx) => writeAudited(tx, request, [withoutId as SupportedResource]));
      return sendStored(reply, saved!);
    } catch (err) {
      await auditFailure(request, "create", err, type);
      throw err;
    }
  });

  /** update-as-create: the client chooses the id (the custodian's own identifiers). */
  app.put<{ Params: { type: string; id: string } }>(
    "/fhir/:type/:id",
    { onRequest: requireCustodian },
    async (request, reply) => {
      const type = assertSupportedType(request.params.type);
      try {
        const id = assertValidId(request.params.id);
        const resource = validateIncomingResource(request.body, { expectedType: type });
        if (resource.id !== id) throw badRequest(`The resource id must equal the id in the URL (${id})`, `${type}.id`);
        const [saved] = await store.transaction((tx) => writeAudited(tx, request, [resource]));
        return sendStored(reply, saved!);
      } catch (err) {
        await auditFailure(request, "update", err, type);
        throw err;
      }
    },
  );

  /** transaction: every entry is validated first, then all are written in one DB transaction. */
  app.post("/fhir", { onRequest: requireCustodian }, async (request, reply) => {
    try {
      const prepared = prepareTransaction(request.body);
      const written = await store.transaction((tx) =>
        writeAudited(
          tx,
          request,
          prepared.map((e) => e.resource),
        ),
      );
      // Responses in the order of the submitted entries.
      const saved: SupportedResource[] = [];
      prepared.forEach((e, i) => (saved[e.index] = written[i]!));
      const entry: BundleEntry[] = saved.map((r) => {
        const vid = r!.meta?.versionId ?? "1";
        return {
          fullUrl: `${config.publicUrl}/fhir/${r!.resourceType}/${r!.id}`,
          response: {
            status: vid === "1" ? "201 Created" : "200 OK",
            location: `${r!.resourceType}/${r!.id}/_history/${vid}`,
            etag: `W/"${vid}"`,
            lastModified: r!.meta?.lastUpdated,
          },
        };
      });
      const response: Bundle = { resourceType: "Bundle", type: "transaction-response", entry };
      return reply.code(200).type(FHIR_JSON).send(response);
    } catch (err) {
      await auditFailure(request, "transaction", err);
      throw err;
    }
  });

  return app;
}

/** 5xx outcomes we raise on purpose (e.g. 503) are safe to show; a generic 500 hides the rest. */
function isExposable(err: OperationOutcomeError): boolean {
  return err.status !== 500;
}
