/**
 * The gateway's HTTP app (Fastify 5). `buildApp` only wires it: server.ts listens, tests inject.
 * What each part does lives in its own module: errors as OperationOutcomes (http/errors.ts), the
 * hooks every request meets (http/hooks.ts), the static tokens (auth/static-tokens.ts) and signed-in
 * readers (auth/readers.ts), the audit recorder (audit/recorder.ts), and the routes (routes/).
 *
 * Without a chain (`options.chain`), only ingestion, metadata and health are served; with one,
 * Sign-In with Ethereum, consent-checked reads, linking, relaying and research exports too.
 */
import Fastify, { type FastifyInstance, type FastifyServerOptions } from "fastify";

import { readerAuth } from "./auth/readers.ts";
import { TokenRevocations } from "./auth/revocations.ts";
import { SiweVerifier } from "./auth/siwe.ts";
import { StaticTokenGuard } from "./auth/static-tokens.ts";
import { TokenIssuer } from "./auth/tokens.ts";
import { AuditRecorder } from "./audit/recorder.ts";
import type { GatewayChain } from "./chain/chain.ts";
import { AccessControl } from "./consent/access.ts";
import { loadFhirDefinitions } from "./fhir/validation.ts";
import { clientErrorHandler, installErrorHandlers } from "./http/errors.ts";
import { installHttpHooks, securityHeadersFor } from "./http/hooks.ts";
import { registerAdminRoutes } from "./routes/admin.ts";
import { registerAuthRoutes } from "./routes/auth.ts";
import type { AppConfig, RouteContext } from "./routes/context.ts";
import { registerReadRoutes } from "./routes/fhir-read.ts";
import { registerIngestRoutes } from "./routes/ingest.ts";
import { registerPreventionRoutes } from "./routes/prevention.ts";
import { registerRelayRoutes } from "./routes/relay.ts";
import { registerResearchRoutes } from "./routes/research.ts";
import { registerServiceRoutes } from "./routes/service.ts";
import type { Store } from "./store/store.ts";

export { MAX_HEADER_BYTES, MAX_URL_BYTES, securityHeadersFor } from "./http/hooks.ts";
export { STATIC_TOKEN_FAILURES_PER_MINUTE } from "./auth/static-tokens.ts";
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

export function buildApp(options: BuildAppOptions): FastifyInstance {
  const { config, store, chain } = options;
  loadFhirDefinitions();
  /** Sent with every response (the onSend hook and the client-error handler). */
  const securityHeaders = securityHeadersFor(config.publicUrl);
  const app = Fastify({
    logger: options.logger ?? { level: config.logLevel },
    bodyLimit: config.bodyLimitBytes,
    // X-Forwarded-For is believed from the configured proxies only (GATEWAY_TRUSTED_PROXIES): then
    // req.ip is the nearest hop they did not add; otherwise it is the peer.
    trustProxy: config.trustedProxies.length > 0 ? [...config.trustedProxies] : false,
    return503OnClosing: true,
    clientErrorHandler: clientErrorHandler(securityHeaders),
    // Request schemas reject what they do not describe, and never coerce types.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false } },
  });
  app.decorateRequest("requester", null);
  installErrorHandlers(app, config.bodyLimitBytes);
  installHttpHooks(app, { securityHeaders, corsOrigins: config.corsOrigins });

  const recorder = new AuditRecorder(store, config, app.log);
  // After every other onSend hook (compression included): an answer leaves once its AuditEvents are committed.
  app.decorateRequest("auditCommit", null);
  app.addHook("onSend", recorder.gate);
  app.decorate("audit", { flush: () => recorder.flush() });
  app.addHook("onClose", async () => recorder.flush());
  const guard = new StaticTokenGuard({
    adminToken: config.adminToken.reveal(),
    linkCodeToken: config.linkCodeToken.reveal(),
  });
  const { requireCustodian } = guard;

  registerServiceRoutes(app, { config, store, chain, startedAt: store.now().toISOString(), requireCustodian });
  registerIngestRoutes(app, { config, store, recorder, requireCustodian });
  if (!chain) return app;

  const tokens = new TokenIssuer({
    secret: config.tokenSecret.reveal(),
    audience: config.publicUrl,
    chainId: config.chainId,
    ttlSeconds: config.tokenTtlSeconds,
    now: () => store.now(),
  });
  const revocations = new TokenRevocations(store.db, () => store.now());
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
    ...readerAuth(config, tokens, revocations),
    requireCustodian,
    requireLinkCodeIssuer: guard.requireLinkCodeIssuer,
    audited: recorder.audited,
  };
  registerAuthRoutes(app, context);
  registerAdminRoutes(app, context);
  registerReadRoutes(app, context);
  registerRelayRoutes(app, context);
  registerResearchRoutes(app, context);
  registerPreventionRoutes(app, context);
  return app;
}
