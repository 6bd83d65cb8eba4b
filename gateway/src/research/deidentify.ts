/**
 * De-identification for research exports, after HIPAA's Safe Harbor method (45 CFR
 * 164.514(b)(2)): what could identify the patient, a relative, an employer or a household member
 * is removed, and what is left is reduced until it cannot.
 *
 * - Removed everywhere: names, telecom, identifiers, photos, contacts, links, contained
 *   resources, narratives and every free text (`text`, `note`, `comment`, `description`,
 *   `patientInstruction`, string and markdown values, CodeableConcept.text, a Reference's
 *   display; codes stay, with their code system's display), attachments, URIs and identifiers
 *   given as values, lot numbers, `meta`, the instants a record was issued, and the references
 *   to people and places (performer, recorder, asserter, requester, participant, location,
 *   service provider, managing organization, practitioner).
 * - Addresses keep only the state, the country and the first three digits of the ZIP code
 *   ("000" for the three-digit areas of 20,000 people or fewer, the Census list Safe Harbor names).
 * - Every date, dateTime and instant, in extensions too, is reduced to its year.
 * - Ages over 89 are grouped: a patient aged 90 or more (at the export, or at death) loses even
 *   the birth year and gets the age group "90 or older"; an age given as an Observation value
 *   above 89 becomes ">= 90".
 * - Resource ids and every remaining reference become per-study pseudonyms: HMAC-SHA256 of
 *   "Type/id" under a random key that the gateway keeps for the study. The same patient has the
 *   same pseudonym in every export of one study, and unrelated ones in two studies.
 *
 * DocumentReference is never exported: a document is free text or an attachment by nature.
 */
import type { Resource } from "@medplum/fhirtypes";
import { createHmac } from "node:crypto";
import type { CategoryName } from "../../../sdk/codes.ts";

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

/** Elements removed wherever they occur. */
const REMOVED = new Set([
  "text",
  "note",
  "comment",
  "description",
  "patientInstruction",
  "identifier",
  "name",
  "telecom",
  "photo",
  "contact",
  "link",
  "contained",
  "meta",
  "implicitRules",
  "lotNumber",
  "performer",
  "recorder",
  "asserter",
  "requester",
  "participant",
  "location",
  "serviceProvider",
  "managingOrganization",
  "generalPractitioner",
  "hospitalization",
  "presentedForm",
  "content",
  "attachment",
  "valueString",
  "valueMarkdown",
  "valueAttachment",
  "valueUri",
  "valueUrl",
  "valueCanonical",
  "valueOid",
  "valueUuid",
  "valueIdentifier",
  "valueHumanName",
  "valueContactPoint",
  "valueSignature",
  "issued",
]);

/** Primitive elements kept as they are (codes and URLs of definitions, not data about the patient). */
const KEPT_VERBATIM = new Set(["system", "code", "url", "unit", "version", "profile"]);

/** Elements that hold an address (reduced, not removed). */
const ADDRESS_ELEMENTS = new Set(["address", "valueAddress"]);

/** LOINC codes of an age as an Observation value. */
const AGE_CODES = new Set(["30525-0", "21612-7", "29553-5"]);
/** UCUM units of an age in years. */
const YEAR_UNITS = new Set(["a", "yr", "year", "years"]);

/** A FHIR date, dateTime or instant with more than a year in it. */
const DATE_PATTERN =
  /^(\d{4})-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01])(T[0-2]\d:[0-5]\d(:[0-6]\d(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?$/;

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
  if (typeof a["state"] === "string" && a["state"].trim() !== "") out["state"] = a["state"].trim();
  if (typeof a["country"] === "string" && a["country"].trim() !== "") out["country"] = a["country"].trim();
  if (typeof a["postalCode"] === "string") {
    const digits = a["postalCode"].replace(/\D/g, "");
    if (digits.length >= 3) {
      const zip3 = digits.slice(0, 3);
      out["postalCode"] = RESTRICTED_ZIP3.has(zip3) ? "000" : zip3;
    }
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** A reference "Type/id" as its pseudonym; anything else (URLs, URNs, fragments) is dropped. */
function pseudonymousReference(reference: string, key: Uint8Array): string | undefined {
  const m = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/.exec(reference);
  if (!m) return undefined;
  return `${m[1]}/${pseudonym(key, m[1]!, m[2]!)}`;
}

function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === "object") return Object.keys(value).length === 0;
  return false;
}

function scrub(value: unknown, key: Uint8Array, element: string): unknown {
  if (Array.isArray(value)) {
    const out = value.map((v) => scrub(v, key, element)).filter((v) => !isEmpty(v));
    return out;
  }
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    const coding = "code" in value || "system" in value;
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (REMOVED.has(k) || k.startsWith("_")) continue; // _x: primitive extensions may hold free text
      // A code's display comes from its code system; any other display (a Reference's) is a name.
      if (k === "display" && !coding) continue;
      if (ADDRESS_ELEMENTS.has(k)) {
        const reduced = Array.isArray(v) ? v.map(reduceAddress).filter((a) => a !== undefined) : reduceAddress(v);
        if (!isEmpty(reduced)) out[k] = reduced;
        continue;
      }
      if (k === "reference" && typeof v === "string") {
        const ref = pseudonymousReference(v, key);
        if (ref !== undefined) out[k] = ref;
        continue;
      }
      const scrubbed = KEPT_VERBATIM.has(k) && typeof v === "string" ? v : scrub(v, key, k);
      if (!isEmpty(scrubbed)) out[k] = scrubbed;
    }
    // An extension whose value was removed says nothing (and would be invalid): dropped.
    if ((element === "extension" || element === "modifierExtension") && Object.keys(out).every((k) => k === "url")) {
      return {};
    }
    return out;
  }
  if (typeof value === "string" && element !== "id") {
    const date = DATE_PATTERN.exec(value);
    if (date) return date[1];
  }
  return value;
}

/** An age above 89 given as an Observation value: ">= 90" years. */
function groupAgeValues(resource: Record<string, unknown>): void {
  if (resource["resourceType"] !== "Observation") return;
  const codes = ((resource["code"] as { coding?: Array<{ system?: string; code?: string }> } | undefined)?.coding ??
    []) as Array<{ system?: string; code?: string }>;
  if (!codes.some((c) => c.system === "http://loinc.org" && c.code !== undefined && AGE_CODES.has(c.code))) return;
  const q = resource["valueQuantity"] as
    { value?: number; unit?: string; code?: string; comparator?: string } | undefined;
  if (!q || typeof q.value !== "number") return;
  const unit = (q.code ?? q.unit ?? "").toLowerCase();
  if (!YEAR_UNITS.has(unit)) return;
  if (q.value > 89) {
    q.value = 90;
    q.comparator = ">=";
  }
}

/**
 * The de-identified copy of `resource` (the input is not changed). The copy keeps its resource
 * type and is still valid FHIR R4 for the types in {@link EXPORTABLE_TYPES}.
 */
export function deidentify<T extends Resource>(resource: T, options: DeidentifyOptions): T {
  const type = resource.resourceType;
  if (!(EXPORTABLE_TYPES as readonly string[]).includes(type)) {
    throw new TypeError(`deidentify: ${type} is not exported for research`);
  }
  const original = resource as unknown as Record<string, unknown>;
  let ninetyOrOlder = false;
  if (type === "Patient") {
    const birthDate = original["birthDate"];
    const deceased = original["deceasedDateTime"];
    const at = typeof deceased === "string" && !Number.isNaN(Date.parse(deceased)) ? new Date(deceased) : options.now;
    const age = typeof birthDate === "string" ? ageInYears(birthDate, at) : null;
    ninetyOrOlder = age !== null && age > 89;
  }
  const out = scrub(original, options.key, "") as Record<string, unknown>;
  if (typeof original["id"] === "string") out["id"] = pseudonym(options.key, type, original["id"]);
  groupAgeValues(out);
  if (ninetyOrOlder) {
    // The birth year (and a year of death) would show an age over 89: grouped instead.
    delete out["birthDate"];
    if (typeof out["deceasedDateTime"] === "string") out["deceasedBoolean"] = true;
    delete out["deceasedDateTime"];
    const extensions = Array.isArray(out["extension"]) ? (out["extension"] as unknown[]) : [];
    out["extension"] = [...extensions, { url: AGE_GROUP_EXTENSION_URL, valueCode: "90+" }];
  }
  out["meta"] = { security: [{ ...PSEUDONYMIZED }] };
  return out as unknown as T;
}
