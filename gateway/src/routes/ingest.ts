/**
 * Ingestion: the custodian's own systems write FHIR resources (create, update-as-create, and
 * transaction Bundles) with the admin token. Every resource is validated first; resources and
 * their AuditEvents are written in one database transaction; a failed attempt is audited too.
 */
import type { Bundle, BundleEntry } from "@medplum/fhirtypes";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

import { appendAudit } from "../audit/log.ts";
import { buildAuditEvent } from "../audit/events.ts";
import type { AuditRecorder } from "../audit/recorder.ts";
import { prepareTransaction } from "../fhir/bundle.ts";
import { FHIR_JSON } from "../fhir/capability.ts";
import { badRequest } from "../fhir/outcomes.ts";
import { assertSupportedType, assertValidId, getPatientId, type SupportedResource } from "../fhir/resources.ts";
import { validateIncomingResource } from "../fhir/validation.ts";
import type { Store, StoreTransaction } from "../store/store.ts";
import type { AppConfig, RouteContext } from "./context.ts";

export interface IngestContext {
  config: Pick<AppConfig, "publicUrl">;
  store: Store;
  recorder: AuditRecorder;
  requireCustodian: RouteContext["requireCustodian"];
}

function httpDate(iso: string | undefined): string {
  return new Date(iso ?? Date.now()).toUTCString();
}

export function registerIngestRoutes(app: FastifyInstance, ctx: IngestContext): void {
  const { config, store, recorder, requireCustodian } = ctx;

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
          recorder.ingestion(request, {
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

  /** create: the server assigns the id (a client-sent id is checked, then ignored, per FHIR). */
  app.post<{ Params: { type: string } }>("/fhir/:type", { onRequest: requireCustodian }, async (request, reply) => {
    const type = assertSupportedType(request.params.type);
    try {
      const resource = validateIncomingResource(request.body, { expectedType: type });
      const { id: _ignored, ...withoutId } = resource;
      const [saved] = await store.transaction((tx) => writeAudited(tx, request, [withoutId as SupportedResource]));
      return sendStored(reply, saved!);
    } catch (err) {
      await recorder.ingestionFailure(request, "create", err, type);
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
        await recorder.ingestionFailure(request, "update", err, type);
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
      await recorder.ingestionFailure(request, "transaction", err);
      throw err;
    }
  });
}
