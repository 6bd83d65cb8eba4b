/**
 * The audit recorder: one AuditEvent for every request that touches a patient or the custodian's
 * data, whatever happens. Success is committed before the response leaves (if that write fails,
 * nothing is sent); a failure is recorded with its outcome; a reader's repeated refusals on one
 * patient fold into one AuditEvent with a count (./fold.ts).
 *
 * A success's events commit while the answer is serialized and compressed: the answer is held at
 * the end of its onSend hooks ({@link AuditRecorder.gate}) until the COMMIT has returned, and if it
 * failed, the answer is dropped (its body and every header it set) for the error handler's 500.
 */
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from "fastify";

import { formatDidPkh } from "#sdk/did-pkh.ts";
import { asOperationOutcomeError, outcomeText } from "../fhir/outcomes.ts";
import { type AppConfig, type AuditContext, knownOutcome } from "../routes/context.ts";
import type { Store } from "../store/store.ts";
import { type AuditInput, buildAuditEvent } from "./events.ts";
import { RefusalFolder } from "./fold.ts";
import { appendAudit, appendAudits } from "./log.ts";

declare module "fastify" {
  interface FastifyRequest {
    /** The request's success AuditEvents being committed; its answer leaves once they are (AuditRecorder.gate). */
    auditCommit: Promise<unknown> | null;
  }
}

/** Headers an answer dropped for a failed audit keeps (CORS, so that the 500 is readable; Vary). */
const KEPT_ON_AUDIT_FAILURE = /^(access-control-|vary$)/;

export class AuditRecorder {
  readonly #store: Store;
  readonly #custodianName: string;
  readonly #custodianDid: string;
  readonly #observer: string;
  readonly #refusals: RefusalFolder;

  constructor(
    store: Store,
    config: Pick<AppConfig, "custodianName" | "custodianAddress" | "chainId" | "publicUrl">,
    log: FastifyBaseLogger,
  ) {
    this.#store = store;
    this.#custodianName = config.custodianName;
    this.#custodianDid = formatDidPkh(config.chainId, config.custodianAddress);
    this.#observer = `${config.custodianName} gateway (${config.publicUrl})`;
    this.#refusals = new RefusalFolder(store.db, {
      onError: (err) => log.error({ err }, "could not write the AuditEvent of folded refused attempts"),
    });
  }

  /** Ends every open window of folded refusals now (tests, shutdown). */
  flush(): Promise<void> {
    return this.#refusals.flush();
  }

  /** An ingestion request's AuditEvent input: the custodian's own data collector acted. */
  ingestion(request: FastifyRequest, input: Omit<AuditInput, "agent" | "source" | "recorded">): AuditInput {
    return {
      ...input,
      recorded: this.#store.now(),
      agent: {
        kind: "dataCollector",
        did: this.#custodianDid,
        display: `${this.#custodianName} ingestion`,
        address: request.ip,
      },
      source: { observer: this.#observer },
    };
  }

  /** Records a failed ingestion attempt (after authentication); never masks the original error. */
  async ingestionFailure(
    request: FastifyRequest,
    interaction: "create" | "update" | "transaction",
    err: unknown,
    type?: string,
  ): Promise<void> {
    const ooe = asOperationOutcomeError(err);
    try {
      await appendAudit(
        this.#store.db,
        buildAuditEvent(
          this.ingestion(request, {
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
   * Runs `fn` and writes one AuditEvent for the request whatever happens: success before the
   * response leaves (committed while the answer is serialized and compressed, held by the gate;
   * if that write fails, nothing is sent), failure with its outcome.
   */
  readonly audited = async <T>(request: FastifyRequest, audit: AuditContext, fn: () => Promise<T>): Promise<T> => {
    let result: T;
    try {
      result = await fn();
    } catch (err) {
      const ooe = knownOutcome(err);
      try {
        const event = buildAuditEvent(
          this.#input(
            request,
            audit,
            ooe && ooe.status < 500 ? "minorFailure" : "seriousFailure",
            (audit.refused ?? (ooe ? outcomeText(ooe.outcome) : "internal error")).slice(0, 1000),
          ),
        );
        // A reader's repeated refusals on one patient: one AuditEvent with a count (./fold.ts).
        if (ooe && ooe.status < 500 && request.requester && audit.patientId !== undefined) {
          await this.#refusals.record(request.requester.did, audit.patientId, event);
        } else {
          await appendAudit(this.#store.db, event);
        }
      } catch (auditErr) {
        request.log.error({ err: auditErr }, "could not write the audit event of a failed request");
      }
      throw err;
    }
    // Committed before the response leaves (the gate holds it): no record is released without its
    // AuditEvent. The request's events (one more per `alsoFor` patient) are group-committed with
    // other requests' (./log.ts), all of them or none.
    const note = (audit.refused ?? audit.note)?.slice(0, 1000);
    const outcome = audit.refused !== undefined ? "minorFailure" : "success";
    if (audit.refused !== undefined && request.requester && audit.patientId !== undefined && !audit.alsoFor) {
      await this.#refusals.record(
        request.requester.did,
        audit.patientId,
        buildAuditEvent(this.#input(request, audit, outcome, note)),
      );
      return result;
    }
    const committing = appendAudits(this.#store.db, [
      buildAuditEvent(this.#input(request, audit, outcome, note)),
      ...(audit.alsoFor ?? []).map((patientId) =>
        buildAuditEvent(this.#input(request, { ...audit, patientId }, outcome, note)),
      ),
    ]);
    // Awaited by the gate, before anything is sent (this only keeps an unsent one from being unhandled).
    committing.catch(() => undefined);
    request.auditCommit = request.auditCommit === null ? committing : Promise.all([request.auditCommit, committing]);
    return result;
  };

  /**
   * The last onSend hook (after compression): holds the answer until the request's success
   * AuditEvents are committed. If that failed, nothing of the answer leaves: its headers are
   * removed (an ETag, a Location, its Content-Encoding) and the error goes to the error handler,
   * which answers 500 (unknown errors: a generic body).
   */
  readonly gate = async (request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> => {
    const commit = request.auditCommit;
    if (commit === null) return payload;
    request.auditCommit = null;
    try {
      await commit;
    } catch (err) {
      for (const name of Object.keys(reply.getHeaders())) {
        if (!KEPT_ON_AUDIT_FAILURE.test(name)) reply.removeHeader(name);
      }
      throw err;
    }
    return payload;
  };

  #agent(request: FastifyRequest, audit: AuditContext): AuditInput["agent"] {
    if (audit.agent) return { ...audit.agent, address: request.ip };
    if (request.requester) return { kind: "humanUser", did: request.requester.did, address: request.ip };
    return {
      kind: "application",
      did: this.#custodianDid,
      display: `${this.#custodianName} administration`,
      address: request.ip,
    };
  }

  #input(
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
      recorded: this.#store.now(),
      agent: this.#agent(request, audit),
      purposeOfUse: audit.purposeOfUse,
      patientId: audit.patientId,
      resource: audit.resource,
      query: audit.query,
      emergency: audit.emergency,
      details: audit.details,
      source: { observer: this.#observer },
    };
  }
}
