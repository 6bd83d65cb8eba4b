/**
 * FHIR transaction Bundles: checks the envelope, assigns ids to POST entries, resolves
 * `urn:uuid:` references between entries, and validates every resource — before anything is
 * written. Only create (POST [type]) and create-or-update (PUT [type]/[id]) entries are accepted.
 */
import type { Bundle, BundleEntry } from "@medplum/fhirtypes";
import { randomUUID } from "node:crypto";
import { badRequest } from "./outcomes.ts";
import { isSupportedResourceType, isValidId, truncate, type SupportedResource } from "./resources.ts";
import { validateIncomingResource } from "./validation.ts";

export const MAX_TRANSACTION_ENTRIES = 5000;

export interface PreparedEntry {
  /** Position in the submitted Bundle (responses keep this order). */
  index: number;
  method: "POST" | "PUT";
  /** Validated, with its final id and references resolved. */
  resource: SupportedResource;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Calls `visit` on every `reference` string in a JSON value, with its path. */
function rewriteReferences(value: unknown, path: string, visit: (ref: string, path: string) => string): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => rewriteReferences(v, `${path}[${i}]`, visit));
    return;
  }
  if (!isObject(value)) return;
  for (const [key, v] of Object.entries(value)) {
    if (key === "reference" && typeof v === "string") value[key] = visit(v, `${path}.reference`);
    else rewriteReferences(v, `${path}.${key}`, visit);
  }
}

/**
 * Prepares a transaction Bundle for an all-or-nothing write. Throws a 400 OperationOutcomeError
 * (with the entry's path as expression) for the first problem found. Patients come first in the
 * result, so records can reference a Patient created in the same transaction.
 */
export function prepareTransaction(body: unknown, newId: () => string = randomUUID): PreparedEntry[] {
  if (!isObject(body) || body["resourceType"] !== "Bundle") {
    throw badRequest("Expected a Bundle of type transaction", "Bundle");
  }
  if (body["type"] !== "transaction") {
    throw badRequest(
      `Only transaction Bundles are accepted here (got type "${truncate(String(body["type"]))}")`,
      "Bundle.type",
    );
  }
  const bundle = structuredClone(body) as unknown as Bundle;
  const entries: unknown = bundle.entry ?? [];
  if (!Array.isArray(entries)) throw badRequest("Bundle.entry must be an array", "Bundle.entry");
  if (entries.length > MAX_TRANSACTION_ENTRIES) {
    throw badRequest(`A transaction may hold at most ${MAX_TRANSACTION_ENTRIES} entries`, "Bundle.entry");
  }

  const targets = new Map<string, string>(); // fullUrl → "Type/id"
  const seen = new Set<string>();
  const staged: Array<{ index: number; method: "POST" | "PUT"; resource: Record<string, unknown> }> = [];

  (entries as unknown[]).forEach((raw, index) => {
    const at = `Bundle.entry[${index}]`;
    if (!isObject(raw)) throw badRequest("Entry must be an object", at);
    const entry = raw as BundleEntry;
    const resource = entry.resource as unknown;
    if (!isObject(resource)) throw badRequest("Entry has no resource", `${at}.resource`);
    const type = resource["resourceType"];
    if (!isSupportedResourceType(type)) {
      throw badRequest(
        `Resource type "${truncate(String(type))}" is not supported by this gateway`,
        `${at}.resource.resourceType`,
      );
    }
    const request = entry.request;
    if (!isObject(request)) throw badRequest("Entry has no request", `${at}.request`);
    if (
      request.ifNoneExist !== undefined ||
      request.ifMatch !== undefined ||
      request.ifNoneMatch !== undefined ||
      request.ifModifiedSince !== undefined
    ) {
      throw badRequest("Conditional requests are not supported", `${at}.request`);
    }
    const url = typeof request.url === "string" ? request.url : "";
    let id: string;
    let method: "POST" | "PUT";
    if (request.method === "POST") {
      if (url !== type) throw badRequest(`POST entries must have url "${type}"`, `${at}.request.url`);
      if (resource["id"] !== undefined && !isValidId(resource["id"])) {
        throw badRequest(`Invalid resource id "${truncate(String(resource["id"]))}"`, `${at}.resource.id`);
      }
      id = newId();
      method = "POST";
    } else if (request.method === "PUT") {
      const m = /^([A-Za-z]+)\/([^/?#]+)$/.exec(url);
      if (!m || m[1] !== type) throw badRequest(`PUT entries must have url "${type}/{id}"`, `${at}.request.url`);
      if (!isValidId(m[2])) throw badRequest(`Invalid resource id "${truncate(m[2]!)}"`, `${at}.request.url`);
      id = m[2]!;
      if (resource["id"] !== undefined && resource["id"] !== id) {
        throw badRequest("Resource id does not match the request url", `${at}.resource.id`);
      }
      method = "PUT";
    } else {
      throw badRequest(
        `Method "${truncate(String(request.method))}" is not supported in transactions (POST or PUT only)`,
        `${at}.request.method`,
      );
    }
    const target = `${type}/${id}`;
    if (seen.has(target)) throw badRequest(`${target} appears twice in the transaction`, at);
    seen.add(target);
    if (typeof entry.fullUrl === "string" && /^urn:(uuid|oid):/.test(entry.fullUrl)) {
      if (targets.has(entry.fullUrl))
        throw badRequest(`fullUrl ${truncate(entry.fullUrl)} appears twice`, `${at}.fullUrl`);
      targets.set(entry.fullUrl, target);
    }
    resource["id"] = id;
    staged.push({ index, method, resource });
  });

  const prepared = staged.map(({ index, method, resource }): PreparedEntry => {
    const at = `Bundle.entry[${index}].resource`;
    rewriteReferences(resource, at, (ref, path) => {
      const resolved = targets.get(ref);
      if (resolved !== undefined) return resolved;
      if (/^urn:(uuid|oid):/.test(ref)) throw badRequest(`Reference ${truncate(ref)} matches no entry's fullUrl`, path);
      return ref;
    });
    return { index, method, resource: validateIncomingResource(resource, { path: at }) };
  });
  const rank = (e: PreparedEntry): number => (e.resource.resourceType === "Patient" ? 0 : 1);
  return prepared.sort((a, b) => rank(a) - rank(b) || a.index - b.index);
}
