/**
 * FHIR search parameters, strictly: each supported parameter at most once and non-empty, any
 * other parameter a 400 naming it (a server that silently ignores a filter returns more than
 * was asked for). Values are validated here, so nothing unchecked reaches the store.
 */
import type { Bundle, BundleEntry, BundleLink, Resource } from "@medplum/fhirtypes";
import { checkFormatParam } from "./negotiation.ts";
import { badRequest } from "./outcomes.ts";
import { isValidId, truncate } from "./resources.ts";

/** The raw query string of a request URL ("" when none). */
export function rawQuery(url: string): string {
  const i = url.indexOf("?");
  return i < 0 ? "" : url.slice(i + 1);
}

/**
 * The parameters of a query string, each named in `supported` at most once; `_format` (JSON
 * only, else 406: see negotiation.ts) is accepted everywhere and dropped. Throws 400 naming the
 * first offending parameter.
 */
export function parseParams(query: string, supported: readonly string[]): Map<string, string> {
  let params: URLSearchParams;
  try {
    params = new URLSearchParams(query);
  } catch {
    throw badRequest("The query string cannot be parsed");
  }
  const out = new Map<string, string>();
  for (const [name, value] of params) {
    if (name === "_format") {
      checkFormatParam(value);
      continue;
    }
    if (!supported.includes(name)) {
      throw badRequest(
        `Unsupported search parameter "${truncate(name)}" (supported: ${supported.join(", ")})`,
        truncate(name),
      );
    }
    if (out.has(name)) throw badRequest(`Search parameter "${name}" given more than once`, name);
    if (value === "") throw badRequest(`Search parameter "${name}" is empty`, name);
    out.set(name, value);
  }
  return out;
}

/** A patient given as `Patient/{id}` or `{id}`; 400 naming the parameter otherwise. */
export function patientParam(name: string, value: string | undefined): string {
  if (value === undefined) throw badRequest(`Search parameter "${name}" is required: searches are per patient`, name);
  const id = value.startsWith("Patient/") ? value.slice("Patient/".length) : value;
  if (!isValidId(id)) {
    throw badRequest(`${name} must be Patient/{id} or {id} with a FHIR id (1-64 of A-Z a-z 0-9 - .)`, name);
  }
  return id;
}

/** An integer parameter within bounds (the default when absent); 400 naming it otherwise. */
export function intParam(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!/^[0-9]{1,9}$/.test(value) || Number(value) < min || Number(value) > max) {
    throw badRequest(`${name} must be an integer from ${min} to ${max}`, name);
  }
  return Number(value);
}

export function searchUrl(base: string, params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return s ? `${base}?${s}` : base;
}

export interface SearchsetInput {
  self: string;
  next?: string | undefined;
  total?: number | undefined;
  entries: Array<{ fullUrl: string; resource: Resource; mode?: "match" | "include" | "outcome" }>;
}

/** A searchset Bundle with self/next links. */
export function searchset(input: SearchsetInput): Bundle {
  const link: BundleLink[] = [{ relation: "self", url: input.self }];
  if (input.next) link.push({ relation: "next", url: input.next });
  const entry: BundleEntry[] = input.entries.map((e) => ({
    fullUrl: e.fullUrl,
    resource: e.resource,
    search: { mode: e.mode ?? "match" },
  }));
  return {
    resourceType: "Bundle",
    type: "searchset",
    ...(input.total !== undefined ? { total: input.total } : {}),
    link,
    // FHIR JSON has no empty arrays: an empty searchset has no `entry`.
    ...(entry.length > 0 ? { entry } : {}),
  };
}
