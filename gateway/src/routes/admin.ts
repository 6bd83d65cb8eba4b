/**
 * The custodian's administration of patients (admin token):
 *
 *   POST /admin/patients/{id}/$erase   erases the patient (Store.erasePatient): its data key is
 *                                      destroyed and every tie between it and a wallet outside the
 *                                      audit log removed; idempotent; 404 for a patient never held
 */
import type { FastifyInstance } from "fastify";
import { assertValidId } from "../fhir/resources.ts";
import type { AuditContext, RouteContext } from "./context.ts";

export function registerAdminRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.post<{ Params: { id: string } }>(
    "/admin/patients/:id/$erase",
    { onRequest: ctx.requireCustodian, bodyLimit: 1024 },
    async (request, reply) => {
      const audit: AuditContext = {
        interaction: "operation",
        operation: "erase-patient",
        resource: { type: "Patient" },
      };
      const result = await ctx.audited(request, audit, async () => {
        const id = assertValidId(request.params.id, "id");
        audit.patientId = id;
        audit.resource = { type: "Patient", id };
        const erased = await ctx.store.erasePatient(id);
        const u = erased.unlinked;
        audit.note = `${erased.alreadyErased ? "already erased; " : ""}unlinked: ${u.wallets} wallet(s), ${u.deliveries} research delivery(ies), ${u.relays} relay(s), ${u.nonces} sign-in nonce(s)`;
        return erased;
      });
      return reply.type("application/json").header("cache-control", "no-store").send(result);
    },
  );
}
