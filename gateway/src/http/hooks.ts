/**
 * What every request meets before a route: FHIR JSON bodies only, the security headers on every
 * response, a bounded URL, CORS for the configured origins only, FHIR format negotiation, and gzip
 * for large answers when the client accepts it.
 */
import type { FastifyInstance } from "fastify";

import { EMERGENCY_REASON_HEADER_NAME } from "#sdk/codes.ts";
import { PURPOSE_HEADER_NAME } from "../consent/purpose.ts";
import { OperationOutcomeError, outcome } from "../fhir/outcomes.ts";
import { installCompression } from "./compression.ts";
import { negotiateFormat } from "../fhir/negotiation.ts";

/** Node's limit on the request line and headers (its default, 16 KiB): beyond it, a 431. */
export const MAX_HEADER_BYTES = 16 * 1024;
/** The longest URL served: beyond it, a 414. */
export const MAX_URL_BYTES = 8 * 1024;

const JSON_TYPES = ["application/fhir+json", "application/json", "application/json+fhir"];

/**
 * The security headers of every response: nothing cached (health data), nothing sniffed, framed
 * or rendered as a page (`default-src 'none'`: the gateway serves data, never documents), no
 * referrer; HSTS when the public URL is https.
 */
export function securityHeadersFor(publicUrl: string): Record<string, string> {
  return {
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    ...(publicUrl.startsWith("https:") ? { "strict-transport-security": "max-age=63072000; includeSubDomains" } : {}),
  };
}

export function installHttpHooks(
  app: FastifyInstance,
  options: { securityHeaders: Record<string, string>; corsOrigins: readonly string[] },
): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(JSON_TYPES, { parseAs: "string" }, app.getDefaultJsonParser("error", "error"));

  app.addHook("onSend", async (_request, reply, payload) => {
    // Responses may carry health data: never cache them, never sniff them, never frame them.
    for (const [name, value] of Object.entries(options.securityHeaders)) reply.header(name, value);
    return payload;
  });

  // A URL longer than MAX_URL_BYTES (but within the parser's header limit): 414, as an OperationOutcome.
  app.addHook("onRequest", async (request) => {
    if (request.url.length > MAX_URL_BYTES) {
      throw new OperationOutcomeError(
        414,
        outcome("error", "too-long", `Request URL longer than ${MAX_URL_BYTES} characters`),
      );
    }
  });

  const corsOrigins = new Set(options.corsOrigins);
  if (corsOrigins.size > 0) {
    app.addHook("onRequest", async (request, reply) => {
      const origin = request.headers.origin;
      if (origin === undefined || !corsOrigins.has(origin)) return;
      reply.header("access-control-allow-origin", origin);
      reply.header("vary", "Origin");
      reply.header("access-control-expose-headers", "ETag, Last-Modified, Location, Retry-After, WWW-Authenticate");
    });
    app.options("/*", async (request, reply) => {
      const origin = request.headers.origin;
      if (origin === undefined || !corsOrigins.has(origin)) return reply.code(204).send();
      return reply
        .code(204)
        .header("access-control-allow-methods", "GET, POST, PUT, OPTIONS")
        .header(
          "access-control-allow-headers",
          `Authorization, Content-Type, ${PURPOSE_HEADER_NAME}, ${EMERGENCY_REASON_HEADER_NAME}`,
        )
        .header("access-control-max-age", "600")
        .send();
    });
  }

  // Only FHIR JSON is served: another format (Accept, _format) or FHIR version is a 406, on every route.
  app.addHook("onRequest", negotiateFormat);

  // Bodies of 1 kB and more gzipped for clients that accept it.
  installCompression(app);
}
