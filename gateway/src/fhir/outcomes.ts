/**
 * Errors are FHIR data. Code throws an {@link OperationOutcomeError} (status + OperationOutcome);
 * the app's one error handler sends it. The helpers below *return* the error, so call sites read
 * `throw badRequest("…")`.
 */
import { OperationOutcomeError as MedplumOperationOutcomeError, getStatus, isOperationOutcome } from "@medplum/core";
import type { OperationOutcome, OperationOutcomeIssue } from "@medplum/fhirtypes";

export type IssueSeverity = OperationOutcomeIssue["severity"];
export type IssueCode = OperationOutcomeIssue["code"];

/**
 * An error that carries its HTTP status and FHIR OperationOutcome. Extends medplum's class, so
 * `instanceof` medplum's OperationOutcomeError holds too (medplum's validator throws those).
 */
export class OperationOutcomeError extends MedplumOperationOutcomeError {
  readonly status: number;
  /** For 429 and 503: seconds after which a retry may succeed (the Retry-After header). */
  retryAfterSeconds: number | undefined;
  constructor(status: number, outcome: OperationOutcome, options?: ErrorOptions) {
    super(outcome, options);
    this.name = "OperationOutcomeError";
    this.status = status;
  }
}

export function outcome(
  severity: IssueSeverity,
  code: IssueCode,
  text: string,
  expression?: string | string[],
): OperationOutcome {
  const issue: OperationOutcomeIssue = { severity, code, details: { text } };
  if (expression !== undefined) issue.expression = Array.isArray(expression) ? expression : [expression];
  return { resourceType: "OperationOutcome", issue: [issue] };
}

function error(status: number, code: IssueCode, text: string, expression?: string | string[]): OperationOutcomeError {
  return new OperationOutcomeError(status, outcome("error", code, text, expression));
}

/** 400: the request is malformed or the resource is invalid. */
export function badRequest(message: string, expression?: string | string[]): OperationOutcomeError {
  return error(400, "invalid", message, expression);
}

/** 401: no or invalid credentials. */
export function unauthorized(message = "Unauthorized"): OperationOutcomeError {
  return error(401, "login", message);
}

/** 403: authenticated, but not allowed. */
export function forbidden(message: string): OperationOutcomeError {
  return error(403, "forbidden", message);
}

/** 404: no such resource, resource type or route. */
export function notFound(message = "Not found"): OperationOutcomeError {
  return error(404, "not-found", message);
}

/** 405: the route exists but not for this method. */
export function methodNotAllowed(message = "Method not allowed"): OperationOutcomeError {
  return error(405, "not-supported", message);
}

/** 406: the client accepts no format (or FHIR version) this server serves. */
export function notAcceptable(message: string, expression?: string): OperationOutcomeError {
  return error(406, "not-supported", message, expression);
}

/** 409: a concurrent change won; retry. */
export function conflict(message: string): OperationOutcomeError {
  return error(409, "conflict", message);
}

/** 410: the data existed and is gone for good (e.g. a patient's erasure). */
export function gone(message = "Gone"): OperationOutcomeError {
  return error(410, "deleted", message);
}

/** 413: the request body exceeds the limit. */
export function payloadTooLarge(message = "Request body too large"): OperationOutcomeError {
  return error(413, "too-costly", message);
}

/** 415: wrong Content-Type. */
export function unsupportedMediaType(message: string): OperationOutcomeError {
  return error(415, "not-supported", message);
}

/** 429: slow down (and, when known, when to retry). */
export function tooManyRequests(message = "Too many requests", retryAfterSeconds?: number): OperationOutcomeError {
  const err = error(429, "throttled", message);
  err.retryAfterSeconds = retryAfterSeconds;
  return err;
}

/** 422: well-formed, but the contract (or a business rule) refuses it. */
export function unprocessable(message: string, diagnostics?: string): OperationOutcomeError {
  const err = error(422, "business-rule", message);
  if (diagnostics !== undefined) err.outcome.issue![0]!.diagnostics = diagnostics;
  return err;
}

/** 501: a feature this deployment does not have. */
export function notImplemented(message: string): OperationOutcomeError {
  return error(501, "not-supported", message);
}

/** 500 with a generic body; the detail belongs in the log only. */
export function serverError(): OperationOutcomeError {
  return error(500, "exception", "Internal server error");
}

/** 503: a dependency (database, chain) is unavailable. */
export function serviceUnavailable(message = "Service unavailable"): OperationOutcomeError {
  return error(503, "transient", message);
}

/**
 * Normalizes any OperationOutcome-bearing error to ours: medplum's validator and helpers throw
 * medplum's class (status derived with medplum's getStatus). Anything else returns undefined.
 */
export function asOperationOutcomeError(err: unknown): OperationOutcomeError | undefined {
  if (err instanceof OperationOutcomeError) return err;
  if (err instanceof MedplumOperationOutcomeError && isOperationOutcome(err.outcome)) {
    return new OperationOutcomeError(getStatus(err.outcome), err.outcome, { cause: err });
  }
  return undefined;
}

/** The first issue's text, for logs and messages. */
export function outcomeText(o: OperationOutcome): string {
  return (o.issue ?? [])
    .map((i) => [i.details?.text ?? i.diagnostics ?? i.code, i.expression?.join(", ")].filter(Boolean).join(" at "))
    .join("; ");
}
