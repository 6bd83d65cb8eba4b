/**
 * Prevention confirmations, run by the custodian (admin token), e.g. from cron through
 * `npm run prevention:confirm`:
 *
 *   POST /prevention/programmes/{programmeId}/confirmations   [body: { "period": n }]
 *
 * runs the confirmation job (prevention/confirm.ts) for the programme's current period, or the
 * period given, and answers a JSON summary: how many patients were confirmed (paid), skipped by the
 * contract or did not meet the criterion, and the transactions. No record leaves the gateway: the
 * payer learns only that the criterion was met. The run is audited, and so is each patient
 * reported, in that patient's own access log. 503 when PREVENTION_REWARDS_ADDRESS is not set.
 */
import type { FastifyInstance } from "fastify";
import { decodePurpose } from "#sdk/codes.ts";
import { badRequest, serviceUnavailable } from "../fhir/outcomes.ts";
import { PreventionConfirmations } from "../prevention/confirm.ts";
import type { AuditContext, RouteContext } from "./context.ts";

/** A programme id: a decimal uint256 without leading zeros. */
const PROGRAMME_ID = /^(0|[1-9][0-9]{0,77})$/;
/** A period: a uint32 (IPreventionRewards). */
const MAX_PERIOD = 2 ** 32 - 1;

/** What a run answers (amounts and ids as decimal strings). */
export interface ConfirmationSummary {
  programmeId: string;
  period: number;
  /** The block the programme, enrolments and consents were read at. */
  block: string;
  /** Patients confirmed and paid by the contract in this run. */
  confirmed: number;
  /** Patients whose criterion was met but who were not paid, by reason (e.g. BudgetExhausted). */
  skipped: number;
  skippedReasons: Record<string, number>;
  /** Opted-in patients linked here whose records do not meet the criterion in the period. */
  notMet: number;
  /** The `reportConfirmations` transactions sent, when any were (no empty arrays, as in FHIR JSON). */
  transactions?: string[];
}

function periodOf(body: unknown): number | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body !== "object" || Array.isArray(body)) {
    throw badRequest('The body must be a JSON object: {} or { "period": n }');
  }
  const extra = Object.keys(body).filter((k) => k !== "period");
  if (extra.length > 0) throw badRequest(`Unknown field "${extra[0]!.slice(0, 40)}": only "period" is accepted`);
  const period = (body as { period?: unknown }).period;
  if (period === undefined) return undefined;
  if (typeof period !== "number" || !Number.isInteger(period) || period < 0 || period > MAX_PERIOD) {
    throw badRequest(`period: must be an integer from 0 to ${MAX_PERIOD}`, "period");
  }
  return period;
}

export function registerPreventionRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const rewards = ctx.chain.preventionRewards;
  const job = rewards === undefined ? undefined : new PreventionConfirmations(ctx.store, ctx.chain, rewards);

  app.post<{ Params: { programmeId: string } }>(
    "/prevention/programmes/:programmeId/confirmations",
    { onRequest: ctx.requireCustodian, bodyLimit: 1024 },
    async (request, reply) => {
      const raw = request.params.programmeId;
      const audit: AuditContext = {
        interaction: "operation",
        operation: "prevention-confirm",
        query: `programme=${raw.slice(0, 80)}`,
      };
      const summary = await ctx.audited(request, audit, async (): Promise<ConfirmationSummary> => {
        if (!PROGRAMME_ID.test(raw) || BigInt(raw) >= 2n ** 256n) {
          throw badRequest(
            `programmeId: "${raw.slice(0, 80)}" is not a programme id (a decimal number)`,
            "programmeId",
          );
        }
        const requested = periodOf(request.body);
        if (job === undefined) {
          throw serviceUnavailable(
            "Prevention confirmations need the PreventionRewards: PREVENTION_REWARDS_ADDRESS is not configured",
          );
        }
        const out = await job.confirm(BigInt(raw), requested);
        const skippedReasons: Record<string, number> = {};
        for (const s of out.skipped) skippedReasons[s.reason] = (skippedReasons[s.reason] ?? 0) + 1;
        audit.query = `programme=${raw}&period=${out.period}`;
        audit.details = [
          { type: "block", value: out.block.number.toString() },
          {
            type: "released",
            value: "none: no record left the gateway; the payer learns only that the criterion was met",
          },
          ...out.transactions.map((tx) => ({ type: "transaction", value: tx })),
        ];
        audit.note =
          `${out.reported.length} patient(s) reported to PreventionRewards as meeting the criterion ` +
          `(${out.paid.length} paid, ${out.skipped.length} skipped), ${out.notMet} not meeting it; ` +
          "no record left the gateway: the payer learns only that the criterion was met";
        audit.alsoFor = out.reported.map((r) => r.patientId);
        const purpose = decodePurpose(out.purpose);
        if (purpose) audit.purposeOfUse = purpose.purpose;
        return {
          programmeId: raw,
          period: out.period,
          block: out.block.number.toString(),
          confirmed: out.paid.length,
          skipped: out.skipped.length,
          skippedReasons,
          notMet: out.notMet,
          ...(out.transactions.length > 0 ? { transactions: out.transactions } : {}),
        };
      });
      return reply.type("application/json").header("cache-control", "no-store").send(summary);
    },
  );
}
