/**
 * Content negotiation. The gateway serves FHIR R4 (4.0) as JSON only: a request whose `Accept`
 * admits no JSON type, or only a FHIR version other than 4.0 (`application/fhir+json;
 * fhirVersion=3.0`), or whose `_format` names anything but JSON (`xml`, `application/fhir+xml`,
 * `ttl`, …) gets 406 with an OperationOutcome — on every route, before authentication. `_format`
 * overrides `Accept`, as FHIR says, and is checked the same way everywhere.
 */
import type { FastifyRequest } from "fastify";
import { notAcceptable } from "./outcomes.ts";
import { truncate } from "./resources.ts";

/** The media types served (all the same FHIR JSON), the first one in Content-Type. */
export const JSON_MEDIA_TYPES = ["application/fhir+json", "application/json", "application/json+fhir"] as const;

/** The `_format` values accepted: the FHIR short form and the JSON media types. */
export const JSON_FORMATS = ["json", ...JSON_MEDIA_TYPES] as const;

/** The FHIR version served, as the `fhirVersion` media-type parameter names it. */
export const FHIR_VERSION = "4.0";

interface MediaRange {
  type: string;
  params: Map<string, string>;
}

function parseMediaRange(text: string): MediaRange {
  const [type = "", ...rest] = text.split(";");
  const params = new Map<string, string>();
  for (const p of rest) {
    const eq = p.indexOf("=");
    if (eq < 0) continue;
    params.set(
      p.slice(0, eq).trim().toLowerCase(),
      p
        .slice(eq + 1)
        .trim()
        .replace(/^"(.*)"$/, "$1"),
    );
  }
  return { type: type.trim().toLowerCase(), params };
}

/** Whether a fhirVersion parameter (absent: any) admits the version served (4.0, or 4.0.x). */
function versionServed(range: MediaRange): boolean {
  const version = range.params.get("fhirversion");
  return version === undefined || /^4\.0(\.[0-9]+)?$/.test(version);
}

/** Whether one media range (of Accept, or a `_format` value) admits what is served. */
function admitsJson(range: MediaRange, wildcards: boolean): boolean {
  const q = range.params.get("q");
  if (q !== undefined && !(Number(q) > 0)) return false;
  const json =
    (JSON_FORMATS as readonly string[]).includes(range.type) ||
    (wildcards && (range.type === "*/*" || range.type === "application/*"));
  return json && versionServed(range);
}

const SERVED = `this server serves FHIR ${FHIR_VERSION} as JSON only (${JSON_MEDIA_TYPES[0]})`;

/** Throws 406 when a `_format` value names anything but FHIR JSON of the version served. */
export function checkFormatParam(value: string): void {
  if (!admitsJson(parseMediaRange(value), false)) {
    throw notAcceptable(`_format "${truncate(value)}" is not served: ${SERVED}`, "_format");
  }
}

/** Throws 406 when an Accept header admits no FHIR JSON of the version served (absent: anything). */
export function checkAccept(accept: string | undefined): void {
  if (accept === undefined || accept.trim() === "") return;
  const ranges = accept.split(",").filter((r) => r.trim() !== "");
  if (ranges.length === 0 || ranges.some((r) => admitsJson(parseMediaRange(r), true))) return;
  throw notAcceptable(`Accept "${truncate(accept, 120)}" admits nothing served: ${SERVED}`);
}

/** onRequest hook (every route): `_format` when given (it overrides Accept), otherwise Accept. */
export async function negotiateFormat(request: FastifyRequest): Promise<void> {
  const q = request.url.indexOf("?");
  const formats = q < 0 ? [] : new URLSearchParams(request.url.slice(q + 1)).getAll("_format");
  if (formats.length > 0) {
    for (const f of formats) checkFormatParam(f);
    return;
  }
  checkAccept(request.headers.accept);
}
