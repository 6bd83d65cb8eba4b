/**
 * Research export: `GET /research/studies/{studyId}/dataset` gives a study's researcher (the
 * organization or its ADMIN or ANALYST member, signed in with Ethereum) the de-identified records
 * of the study's participants held here, as a FHIR collection Bundle, after reporting each new
 * delivery to the StudyEscrow (see research/export.ts). The request is audited, and so is each
 * participant's release, in that patient's own access log.
 */
import type { FastifyInstance } from "fastify";
import { decodePurpose } from "#sdk/codes.ts";
import { badRequest } from "../fhir/outcomes.ts";
import { intParam, parseParams, rawQuery } from "../fhir/search.ts";
import { bundleStream } from "../fhir/stream.ts";
import { EXPORT_CURSOR, EXPORT_PAGE_SIZE, ResearchExport } from "../research/export.ts";
import { MAX_PAGE_SIZE } from "../store/store.ts";
import type { AuditContext, RouteContext } from "./context.ts";

/** A study id: a decimal uint256 without leading zeros. */
const STUDY_ID = /^(0|[1-9][0-9]{0,77})$/;

export function registerResearchRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const exporter = ctx.chain.studyEscrow === undefined ? undefined : new ResearchExport(ctx.store, ctx.chain);

  app.get<{ Params: { studyId: string } }>(
    "/research/studies/:studyId/dataset",
    { onRequest: ctx.requireReader },
    async (request, reply) => {
      const requester = request.requester!;
      const audit: AuditContext = {
        interaction: "operation",
        operation: "research-export",
        query: `study=${request.params.studyId.slice(0, 80)}`,
      };
      const result = await ctx.audited(request, audit, async () => {
        const raw = request.params.studyId;
        if (!STUDY_ID.test(raw) || BigInt(raw) >= 2n ** 256n) {
          throw badRequest(`studyId: "${raw.slice(0, 80)}" is not a study id (a decimal number)`, "studyId");
        }
        const params = parseParams(rawQuery(request.url), ["_count", "_cursor"]);
        const count = intParam("_count", params.get("_count"), EXPORT_PAGE_SIZE, 1, MAX_PAGE_SIZE);
        const cursor = params.get("_cursor");
        if (cursor !== undefined && !EXPORT_CURSOR.test(cursor)) {
          throw badRequest(`_cursor: "${cursor.slice(0, 80)}" is not a cursor of this export`, "_cursor");
        }
        const url = `${ctx.config.publicUrl}/research/studies/${raw}/dataset`;
        // Without a StudyEscrow, constructing the exporter throws the 501 that says what is missing.
        const out = await (exporter ?? new ResearchExport(ctx.store, ctx.chain)).export(
          BigInt(raw),
          requester.address,
          {
            count,
            cursor,
            url,
          },
        );
        audit.details = [
          { type: "block", value: out.block.number.toString() },
          ...out.transactions.map((tx) => ({ type: "transaction", value: tx })),
        ];
        audit.note = `${out.releasedPatients.length} participant(s) released de-identified on this page; ${out.newlyPaid} new delivery(ies) paid`;
        audit.alsoFor = out.releasedPatients;
        const purpose = decodePurpose(out.purpose);
        if (purpose) audit.purposeOfUse = purpose.purpose;
        return out;
      });
      return reply
        .header("content-type", "application/fhir+json; charset=utf-8")
        .header("content-disposition", `attachment; filename="study-${result.studyId}-deidentified.json"`)
        .header("cache-control", "no-store")
        .send(bundleStream(result.head, result.bundle()));
    },
  );
}
