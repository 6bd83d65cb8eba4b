/**
 * gzip for the answers worth it, when the client accepts it. A patient's Consent listing of 100
 * grants is 190 kB of JSON and 9 kB gzipped: on a phone that is the difference that shows, and for
 * the gateway a write of 9 kB costs less than one of 190 kB (bench:indexer measured the write at
 * about 2 ms of the listing's time, the compression at about 1 ms, done off the event loop).
 *
 * Not BREACH-prone: that attack needs a victim's browser to send credentials it adds by itself
 * (cookies) with requests the attacker chooses; the gateway's credential is a bearer token the
 * client adds to each request, which a cross-site page cannot make it add.
 */
import { promisify } from "node:util";
import { gzip } from "node:zlib";

import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

/** Smaller bodies are sent as they are (gzip's header and a round of work for a few bytes). */
export const COMPRESS_MIN_BYTES = 1024;
/** zlib's fastest level: 190 kB of FHIR JSON to 8.8 kB in about 1 ms (level 6: 7.7 kB, 1.7 ms). */
const GZIP_LEVEL = 1;

const gzipAsync = promisify(gzip);

/**
 * Whether `acceptEncoding` (an Accept-Encoding header) accepts gzip: `gzip` (or `x-gzip`) with a
 * weight above 0, or else `*` with a weight above 0 (RFC 9110 §12.5.3).
 */
export function acceptsGzip(acceptEncoding: string | undefined): boolean {
  if (acceptEncoding === undefined) return false;
  let star: boolean | undefined;
  for (const part of acceptEncoding.split(",")) {
    const [token = "", ...params] = part.split(";").map((s) => s.trim().toLowerCase());
    const q = params.find((p) => p.startsWith("q="));
    const weight = q === undefined ? 1 : Number(q.slice(2));
    const accepted = Number.isFinite(weight) && weight > 0;
    if (token === "gzip" || token === "x-gzip") return accepted;
    if (token === "*") star = accepted;
  }
  return star === true;
}

function addVary(reply: FastifyReply, name: string): void {
  const current = reply.getHeader("vary");
  const values =
    current === undefined
      ? []
      : String(current)
          .split(",")
          .map((v) => v.trim());
  if (!values.some((v) => v.toLowerCase() === name.toLowerCase() || v === "*")) {
    reply.header("vary", [...values.filter(Boolean), name].join(", "));
  }
}

async function compressed(request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
  if (typeof payload !== "string" && !Buffer.isBuffer(payload)) return payload; // streams, empty bodies
  const bytes = typeof payload === "string" ? Buffer.byteLength(payload) : payload.length;
  if (bytes < COMPRESS_MIN_BYTES || reply.hasHeader("content-encoding")) return payload;
  addVary(reply, "Accept-Encoding");
  if (!acceptsGzip(request.headers["accept-encoding"])) return payload;
  const body = await gzipAsync(payload, { level: GZIP_LEVEL });
  reply.header("content-encoding", "gzip");
  reply.removeHeader("content-length");
  return body;
}

/** Adds the onSend hook (after the ones that read the body as JSON, which are added before it). */
export function installCompression(app: FastifyInstance): void {
  app.addHook("onSend", compressed);
}
