/**
 * Research export: `GET /research/studies/{studyId}/dataset` gives a study's researcher (the
 * organization or its ADMIN or ANALYST member, signed in with Ethereum) the de-identified records
 * of the study's participants held here, as a FHIR collection Bundle, after reporting each new
 * delivery to the StudyEscrow (see research/export.ts). The request is audited, and so is each
 * participant's release, in that patient's own access log.
 */
import type { FastifyInstance } from "fastify";
import { decodePurpose } from "../../../sdk/codes.ts";
import { badRequest } from "../fhir/outcomes.ts";
import { ResearchExport } from "../research/export.ts";
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
        // Without a StudyEscrow, constructing the exporter throws the 501 that says what is missing.
        const out = await (exporter ?? new ResearchExport(ctx.store, ctx.chain)).export(BigInt(raw), requester.address);
        audit.details = [
          { type: "block", value: out.block.number.toString() },
          ...out.transactions.map((tx) => ({ type: "transaction", value: tx })),
        ];
        audit.note = `${out.releasedPatients.length} participant(s) released de-identified; ${out.newlyPaid} new delivery(ies) paid`;
        audit.alsoFor = out.releasedPatients;
        const purpose = decodePurpose(out.purpose);
        if (purpose) audit.purposeOfUse = purpose.purpose;
        return out;
      });
      return reply
        .header("content-type", "application/fhir+json; charset=utf-8")
        .header("content-disposition", `attachment; filename="study-${result.studyId}-deidentified.json"`)
        .header("cache-control", "no-store")
        .send(JSON.stringify(result.bundle));
    },
  );
}
