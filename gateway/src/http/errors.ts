/**
 * Every error leaves as a FHIR OperationOutcome: thrown OperationOutcomeErrors with their status;
 * chain failures as 422 (the contract's error in words) or 503; Fastify's own client errors (bad
 * JSON, wrong Content-Type, body too large, schema, unknown route) as the matching 4xx; what Node's
 * HTTP parser refuses before any route (431, 408, 400) likewise; anything else as a generic 500
 * whose detail goes to the log only.
 */
import type { FastifyInstance, FastifyServerOptions } from "fastify";
import { STATUS_CODES } from "node:http";

import { FHIR_JSON } from "../fhir/capability.ts";
import {
  OperationOutcomeError,
  asOperationOutcomeError,
  badRequest,
  notFound,
  outcome,
  outcomeText,
  payloadTooLarge,
  serverError,
  unsupportedMediaType,
} from "../fhir/outcomes.ts";
import { chainOutcome } from "../routes/context.ts";
import { MAX_HEADER_BYTES } from "./hooks.ts";

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

/** 5xx outcomes we raise on purpose (e.g. 503) are safe to show; a generic 500 hides the rest. */
function isExposable(err: OperationOutcomeError): boolean {
  return err.status !== 500;
}

/**
 * Fastify's `clientErrorHandler`: what Node's HTTP parser refuses before any route (headers or URL
 * over its limit: 431; too slow: 408; anything else malformed: 400) is answered like every other
 * error, an OperationOutcome with the security headers, then the connection is closed.
 */
export function clientErrorHandler(
  securityHeaders: Record<string, string>,
): NonNullable<FastifyServerOptions["clientErrorHandler"]> {
  return (err, socket) => {
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
  };
}

/** The error and not-found handlers: OperationOutcomes, logged by severity. */
export function installErrorHandlers(app: FastifyInstance, bodyLimitBytes: number): void {
  app.setErrorHandler((err, request, reply) => {
    let ooe = asOperationOutcomeError(err) ?? chainOutcome(err) ?? fastifyClientError(err, bodyLimitBytes);
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
}
