/**
 * The gateway's HTTP app (Fastify 5). `buildApp` only builds it: server.ts listens, tests inject.
 *
 * Every error leaves as a FHIR OperationOutcome: thrown OperationOutcomeErrors with their
 * status; Fastify's own client errors (bad JSON, wrong Content-Type, body too large, unknown
 * route) as the matching 4xx; anything else as a generic 500 whose detail goes to the log only.
 */
import type { Bundle, BundleEntry } from "@medplum/fhirtypes";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from "fastify";
import { createHash, timingSafeEqual } from "node:crypto";
import { buildAuditEvent, type AuditInput } from "./audit/events.ts";
import { appendAudit } from "./audit/log.ts";
import type { GatewayConfig } from "./config/config.ts";
import { prepareTransaction } from "./fhir/bundle.ts";
import { FHIR_JSON, buildCapabilityStatement } from "./fhir/capability.ts";
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
  unauthorized,
  unsupportedMediaType,
} from "./fhir/outcomes.ts";
import { assertSupportedType, assertValidId, getPatientId, type SupportedResource } from "./fhir/resources.ts";
import { loadFhirDefinitions, validateIncomingResource } from "./fhir/validation.ts";
import type { Store, StoreTransaction } from "./store/store.ts";

export type AppConfig = Pick<
  GatewayConfig,
  "publicUrl" | "adminToken" | "bodyLimitBytes" | "custodianName" | "custodianAddress" | "chainId" | "logLevel"
>;

export interface BuildAppOptions {
  config: AppConfig;
  store: Store;
  /** Fastify logger options; default: pino at config.logLevel. */
  logger?: FastifyServerOptions["logger"];
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
    // Never trust X-Forwarded-* unless configured (a later option); req.ip is the peer.
    trustProxy: false,
    return503OnClosing: true,
  });

  const startedAt = store.now().toISOString();
  const adminTokenHash = sha256(config.adminToken.reveal());
  const custodianDid = `did:pkh:eip155:${config.chainId}:${config.custodianAddress}`;
  const observer = `${config.custodianName} gateway (${config.publicUrl})`;

  // ------------------------------------------------------------------ parsing and errors
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(JSON_TYPES, { parseAs: "string" }, app.getDefaultJsonParser("error", "error"));

  app.setErrorHandler((err, request, reply) => {
    let ooe = asOperationOutcomeError(err) ?? fastifyClientError(err, config.bodyLimitBytes);
    if (ooe && ooe.status >= 500) {
      request.log.error({ err }, "request failed");
    } else if (ooe) {
      request.log.info({ status: ooe.status, issue: outcomeText(ooe.outcome) }, "request rejected");
    } else {
      request.log.error({ err }, "unexpected error");
      ooe = serverError();
    }
    if (ooe.status === 401) reply.header("www-authenticate", 'Bearer realm="consentry-gateway"');
    return reply.code(ooe.status).type(FHIR_JSON).send(ooe.status >= 500 && !isExposable(ooe) ? serverError().outcome : ooe.outcome);
  });

  app.setNotFoundHandler((request, reply) => {
    const route = `${request.method} ${request.url.split("?")[0] ?? ""}`;
    reply.code(404).type(FHIR_JSON).send(notFound(`No route ${route.slice(0, 200)}`).outcome);
  });

  app.addHook("onSend", async (_request, reply, payload) => {
    // Responses may carry health data: never cache them, never sniff them.
    reply.header("cache-control", "no-store");
    reply.header("x-content-type-options", "nosniff");
    return payload;
  });

  // ------------------------------------------------------------------ authentication
  /** The custodian's ingestion clients: a static bearer token, compared in constant time. */
  async function requireCustodian(request: FastifyRequest): Promise<void> {
    const header = request.headers.authorization;
    if (header === undefined) throw unauthorized("Missing bearer token");
    const m = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
    if (!m) throw unauthorized("Malformed Authorization header: expected Bearer token");
    if (!timingSafeEqual(sha256(m[1]!), adminTokenHash)) throw unauthorized("Invalid bearer token");
  }

  // ------------------------------------------------------------------ audit
  function ingestionAudit(request: FastifyRequest, input: Omit<AuditInput, "agent" | "source" | "recorded">): AuditInput {
    return {
      ...input,
      recorded: store.now(),
      agent: { kind: "dataCollector", did: custodianDid, display: `${config.custodianName} ingestion`, address: request.ip },
      source: { observer },
    };
  }

  /** Records a failed ingestion attempt (after authentication); never masks the original error. */
  async function auditFailure(request: FastifyRequest, interaction: "create" | "update" | "transaction", err: unknown, type?: string): Promise<void> {
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

  async function writeAudited(
    tx: StoreTransaction,
    request: FastifyRequest,
    resource: SupportedResource,
  ): Promise<SupportedResource> {
    const saved = await tx.putResource(resource);
    await appendAudit(
      tx.db,
      buildAuditEvent(
        ingestionAudit(request, {
          interaction: saved.meta?.versionId === "1" ? "create" : "update",
          outcome: "success",
          patientId: getPatientId(saved),
          resource: { type: saved.resourceType, id: saved.id },
        }),
      ),
    );
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

  // ------------------------------------------------------------------ routes
  app.get("/healthz", async (request, reply) => {
    try {
      await store.database.ping();
    } catch (err) {
      request.log.error({ err }, "health check: database unreachable");
      throw serviceUnavailable("Database unavailable");
    }
    return reply.type("application/json").send({ status: "ok", database: store.database.kind });
  });

  app.get("/fhir/metadata", async (_request, reply) => {
    const capability = buildCapabilityStatement({
      publicUrl: config.publicUrl,
      custodianName: config.custodianName,
      date: startedAt,
      interactions: ["create", "update"],
      transaction: true,
    });
    return reply.type(FHIR_JSON).send(capability);
  });

  /** create: the server assigns the id (a client-sent id is checked, then ignored, per FHIR). */
  app.post<{ Params: { type: string } }>("/fhir/:type", { onRequest: requireCustodian }, async (request, reply) => {
    const type = assertSupportedType(request.params.type);
    try {
      const resource = validateIncomingResource(request.body, { expectedType: type });
      const { id: _ignored, ...withoutId } = resource;
      const saved = await store.transaction((tx) => writeAudited(tx, request, withoutId as SupportedResource));
      return sendStored(reply, saved);
    } catch (err) {
      await auditFailure(request, "create", err, type);
      throw err;
    }
  });

  /** update-as-create: the client chooses the id (the custodian's own identifiers). */
  app.put<{ Params: { type: string; id: string } }>("/fhir/:type/:id", { onRequest: requireCustodian }, async (request, reply) => {
    const type = assertSupportedType(request.params.type);
    try {
      const id = assertValidId(request.params.id);
      const resource = validateIncomingResource(request.body, { expectedType: type });
      if (resource.id !== id) throw badRequest(`The resource id must equal the id in the URL (${id})`, `${type}.id`);
      const saved = await store.transaction((tx) => writeAudited(tx, request, resource));
      return sendStored(reply, saved);
    } catch (err) {
      await auditFailure(request, "update", err, type);
      throw err;
    }
  });

  /** transaction: every entry is validated first, then all are written in one DB transaction. */
  app.post("/fhir", { onRequest: requireCustodian }, async (request, reply) => {
    try {
      const prepared = prepareTransaction(request.body);
      const saved = await store.transaction(async (tx) => {
        const out: Array<SupportedResource | undefined> = [];
        for (const entry of prepared) out[entry.index] = await writeAudited(tx, request, entry.resource);
        return out;
      });
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

