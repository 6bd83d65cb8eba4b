import { getDataType, tryGetDataType, type ElementType, type InternalSchemaElement } from "@medplum/core";
import type { Condition, DiagnosticReport, Observation, Patient, Resource } from "@medplum/fhirtypes";
import { expect } from "chai";
import { valueSetCodes } from "../fhir/terminology.ts";
import { generateSyntheticData } from "../dev/synthetic.ts";
import { assertValidFhir } from "../fhir/validation.ts";
import {
  AGE_GROUP_EXTENSION_URL,
  EXPORTABLE_TYPES,
  NotExportableError,
  PSEUDONYMIZED,
  ageInYears,
  deidentify,
  pseudonym,
  reduceAddress,
} from "./deidentify.ts";

const KEY = new Uint8Array(32).fill(7);
const OTHER_KEY = new Uint8Array(32).fill(9);
const NOW = new Date("2026-11-29T00:00:00Z");

/** Every string anywhere in a JSON value. */
function strings(value: unknown, out: string[] = []): string[] {
  if (typeof value === "string") out.push(value);
  else if (Array.isArray(value)) for (const v of value) strings(v, out);
  else if (value && typeof value === "object") for (const v of Object.values(value)) strings(v, out);
  return out;
}

/** Every key anywhere in a JSON value. */
function keys(value: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) keys(v, out);
  else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      out.add(k);
      keys(v, out);
    }
  }
  return out;
}

const FULL_DATE = /\d{4}-\d{2}/;

/** FHIR types whose values are text (strings, and the string-like uri, id, base64… types). */
const TEXT_TYPES = new Set([
  "string",
  "markdown",
  "xhtml",
  "uri",
  "url",
  "canonical",
  "oid",
  "uuid",
  "id",
  "base64Binary",
  "code",
  "http://hl7.org/fhirpath/System.String",
]);

/**
 * A resource of `type` generated from the FHIR R4 structure definitions: every element the
 * definitions allow, every choice of every choice element, down to `depth` levels of complex
 * types, with a unique marker in every string-typed element (codes without a value set the
 * definitions enumerate too) and every Identifier, full dates and instants in every date, and
 * an age of 95 in every Age. Codes with an enumerable required binding, Codings and units get
 * real codes, so that the resource itself can leave. Not valid FHIR (every choice at once), but
 * every element a custodian could fill in is filled.
 */
function generated(type: string): { resource: Record<string, unknown>; markers: string[] } {
  const markers: string[] = [];
  const marker = () => {
    const m = `MK${markers.length.toString().padStart(5, "0")}QZ`;
    markers.push(m);
    return m;
  };
  const value = (t: ElementType, element: InternalSchemaElement, depth: number): unknown => {
    switch (t.code) {
      case "boolean":
        return true;
      case "integer":
      case "positiveInt":
      case "unsignedInt":
      case "integer64":
        return 95;
      case "decimal":
        return 95.5;
      case "date":
        return "2019-03-04";
      case "dateTime":
      case "instant":
        return "2019-03-04T10:11:12Z";
      case "time":
        return "10:11:12";
      case "code": {
        const codes = element.binding?.strength === "required" ? valueSetCodes(element.binding.valueSet ?? "") : null;
        const first = codes ? [...codes.values()].find((set) => set.size > 0) : undefined;
        return first ? [...first][0] : marker();
      }
      case "Coding":
        return { id: marker(), system: "http://loinc.org", version: marker(), code: "8480-6", display: marker() };
      case "CodeableConcept":
        return { coding: [value({ code: "Coding" }, element, depth)], text: marker() };
      case "Reference":
        return {
          reference: `Patient/${marker()}`,
          type: marker(),
          display: marker(),
          identifier: object("Identifier", depth - 1),
        };
      case "Quantity":
      case "Age":
      case "Duration":
      case "Distance":
      case "Count":
        return { value: 95, comparator: "<", unit: marker(), system: "http://unitsofmeasure.org", code: "a" };
      case "Extension":
        return { url: `http://example.org/${marker()}`, valueString: marker() };
      case "Resource":
        return { resourceType: "Patient", id: marker(), name: [{ family: marker() }] };
      default:
        if (TEXT_TYPES.has(t.code)) return marker();
        return depth > 0 ? object(t.code, depth - 1) : undefined;
    }
  };
  const object = (typeName: string, depth: number): Record<string, unknown> | undefined => {
    if (depth < 0 || tryGetDataType(typeName) === undefined) return undefined;
    const out: Record<string, unknown> = {};
    for (const [key, element] of Object.entries(getDataType(typeName).elements)) {
      // Both withhold the whole resource (their own test): not generated here.
      if (key === "modifierExtension" || key === "implicitRules") continue;
      const choices = key.endsWith("[x]")
        ? element.type.map((t) => [key.slice(0, -3) + t.code[0]!.toUpperCase() + t.code.slice(1), t] as const)
        : ([[key, element.type[0]!]] as const);
      for (const [name, t] of choices) {
        const v = value(t, element, depth);
        if (v !== undefined) out[name] = element.isArray || element.max > 1 ? [v] : v;
      }
    }
    return out;
  };
  const resource = object(type, 4)!;
  resource["resourceType"] = type;
  return { resource, markers };
}

describe("research de-identification (Safe Harbor)", function () {
  this.timeout(60_000);
  const data = generateSyntheticData({ seed: "deid", patients: 6, custodian: "Riverside Clinical Lab" });
  const resources = data.resources.filter((r) => EXPORTABLE_TYPES.includes(r.resourceType as never)) as Resource[];

  it("keeps every exported resource valid FHIR R4, with no date finer than a year and no identifying element", () => {
    expect(resources.length).to.be.greaterThan(50);
    const types = new Set<string>();
    for (const r of resources) {
      const out = deidentify(r, { key: KEY, now: NOW });
      types.add(out.resourceType);
      assertValidFhir(out);
      const all = strings(out);
      const dated = all.filter((s) => FULL_DATE.test(s) && !/^\d{4,6}-\d$/.test(s)); // LOINC codes look like 1234-5
      expect(dated, `${r.resourceType}: ${JSON.stringify(out)}`).to.deep.equal([]);
      const present = keys(out);
      for (const removed of [
        "name",
        "telecom",
        "identifier",
        "text",
        "note",
        "photo",
        "contact",
        "lotNumber",
        "issued",
        "performer",
        "recorder",
        "requester",
        "participant",
        "line",
        "city",
        "district",
      ]) {
        expect(present.has(removed), `${r.resourceType} still has ${removed}`).to.equal(false);
      }
      expect(out.meta?.security?.[0]?.code).to.equal("PSEUDED");
    }
    expect([...types].sort()).to.include.members(["Condition", "Encounter", "Observation", "Patient"]);
  });

  it("removes every name, phone, e-mail, street, city, MRN and wallet of the source", () => {
    for (const r of resources) {
      const source = strings(r);
      const out = new Set(strings(deidentify(r, { key: KEY, now: NOW })));
      if (r.resourceType === "Patient") {
        const p = r as Patient;
        const identifying = [
          ...(p.name ?? []).flatMap((n) => [n.family ?? "", ...(n.given ?? [])]),
          ...(p.telecom ?? []).map((t) => t.value ?? ""),
          ...(p.identifier ?? []).map((i) => i.value ?? ""),
          ...(p.address ?? []).flatMap((a) => [...(a.line ?? []), a.city ?? "", a.postalCode ?? ""]),
          p.id!,
        ].filter((s) => s !== "");
        expect(identifying.length).to.be.greaterThan(4);
        for (const s of identifying) expect(out.has(s), `Patient still says ${s}`).to.equal(false);
      }
      // No free text survives: a string of the output is a code, a year, a pseudonym or a known value of the source.
      for (const s of out) {
        if (/^[0-9a-f]{32}$/.test(s) || /^[A-Z][A-Za-z]+\/[0-9a-f]{32}$/.test(s)) continue;
        if ((Object.values(PSEUDONYMIZED) as string[]).includes(s) || s === AGE_GROUP_EXTENSION_URL || s === "90+")
          continue;
        expect(
          source.some((x) => x === s || x.startsWith(s)),
          `${r.resourceType}: "${s}" came from nowhere`,
        ).to.equal(true);
      }
    }
  });

  it("lets no marker and no full date out of any element the definitions allow, for every exportable type", () => {
    for (const type of EXPORTABLE_TYPES) {
      const { resource, markers } = generated(type);
      const source = JSON.stringify(resource);
      // The generator reached the elements the old name list missed.
      const missed: Record<string, string[]> = {
        DiagnosticReport: ["conclusion"],
        Condition: ["onsetString", "abatementString", "onsetAge"],
        Procedure: ["performedString", "performedAge"],
        Immunization: ["occurrenceString", "series"],
        MedicationRequest: ["groupIdentifier"],
        AllergyIntolerance: ["onsetString", "onsetAge"],
      };
      for (const name of missed[type] ?? [])
        expect(source, `${type} generated without ${name}`).to.include(`"${name}"`);
      expect(markers.length, type).to.be.greaterThan(100);
      const out = deidentify(resource as unknown as Resource, { key: KEY, now: NOW });
      const text = JSON.stringify(out);
      const leaked = markers.filter((m) => text.includes(m));
      expect(leaked, `${type} leaks ${leaked.length} marker(s): ${text.slice(0, 2000)}`).to.deep.equal([]);
      const dated = strings(out).filter((s) => FULL_DATE.test(s) && !/^\d{4,6}-\d$/.test(s));
      expect(dated, `${type}: ${text.slice(0, 2000)}`).to.deep.equal([]);
      // Every age of 95 (a Quantity in years) is grouped; only the age group 90 leaves.
      const ages: number[] = [];
      JSON.stringify(out, (k, v: unknown) => {
        if (v && typeof v === "object" && (v as { code?: unknown }).code === "a")
          ages.push((v as { value: number }).value);
        return v;
      });
      expect(
        ages.every((a) => a === 90),
        `${type} ages ${ages.join(", ")}`,
      ).to.equal(true);
      // What may leave still does: the resource itself, its coded values, its year.
      expect(out.resourceType).to.equal(type);
      expect(out.id).to.match(/^[0-9a-f]{32}$/);
      expect(text).to.include('"2019"');
      expect(text).to.include("8480-6");
    }
  });

  it("lets no free text out of a conclusion, a string onset or a vaccine series, and groups a string-free age of 93", () => {
    const conclusion = "John Q. Smith (MRN 4417, SSN 078-05-1120) seen 2025-03-14 at 12 Elm St";
    const report: DiagnosticReport = {
      resourceType: "DiagnosticReport",
      id: "r1",
      status: "final",
      code: { coding: [{ system: "http://loinc.org", code: "11502-2" }] },
      subject: { reference: "Patient/p1" },
      conclusion,
    };
    const out = deidentify(report, { key: KEY, now: NOW });
    assertValidFhir(out);
    expect(JSON.stringify(out)).to.not.match(/Smith|4417|078-05|Elm/);
    const condition: Condition = {
      resourceType: "Condition",
      id: "c1",
      subject: { reference: "Patient/p1" },
      code: { coding: [{ system: "http://snomed.info/sct", code: "44054006" }] },
      onsetAge: { value: 93, unit: "a", system: "http://unitsofmeasure.org", code: "a" },
      abatementString: "after her husband Tom died in Elm Street",
    };
    const c = deidentify(condition, { key: KEY, now: NOW });
    assertValidFhir(c);
    expect(c.onsetAge).to.deep.equal({
      value: 90,
      comparator: ">=",
      unit: "a",
      system: "http://unitsofmeasure.org",
      code: "a",
    });
    expect(c.abatementString).to.equal(undefined);
    const months = deidentify(
      { ...condition, onsetAge: { value: 1100, unit: "mo", system: "http://unitsofmeasure.org", code: "mo" } },
      { key: KEY, now: NOW },
    );
    expect(months.onsetAge).to.deep.include({ value: 90, comparator: ">=" });
    const young = deidentify(
      { ...condition, onsetAge: { value: 40, unit: "a", system: "http://unitsofmeasure.org", code: "a" } },
      { key: KEY, now: NOW },
    );
    expect(young.onsetAge).to.deep.include({ value: 40 });
    const range = deidentify(
      {
        ...condition,
        onsetAge: undefined,
        onsetRange: {
          low: { value: 91, system: "http://unitsofmeasure.org", code: "a" },
          high: { value: 95, system: "http://unitsofmeasure.org", code: "a" },
        },
      } as Condition,
      { key: KEY, now: NOW },
    );
    assertValidFhir(range);
    expect(range.onsetRange).to.deep.equal({
      low: { value: 90, unit: "a", system: "http://unitsofmeasure.org", code: "a" },
    });
  });

  it("withholds a resource whose meaning would change (modifier extension) or whose required element cannot leave", () => {
    const observation: Observation = {
      resourceType: "Observation",
      id: "o1",
      status: "final",
      code: { coding: [{ system: "http://loinc.org", code: "8480-6" }] },
      subject: { reference: "Patient/p1" },
    };
    expect(() =>
      deidentify(
        { ...observation, modifierExtension: [{ url: "http://example.org/negated", valueBoolean: true }] },
        { key: KEY, now: NOW },
      ),
    ).to.throw(NotExportableError);
    // A code known only as free text: nothing of the required Observation.code can leave.
    expect(() =>
      deidentify({ ...observation, code: { text: "John's special test" } }, { key: KEY, now: NOW }),
    ).to.throw(NotExportableError);
  });

  it("replaces ids and references by per-study pseudonyms, stable within a study and unrelated across studies", () => {
    const observation = resources.find((r) => r.resourceType === "Observation") as Observation;
    const patientId = observation.subject!.reference!.split("/")[1]!;
    const a = deidentify(observation, { key: KEY, now: NOW });
    const again = deidentify(observation, { key: KEY, now: NOW });
    const b = deidentify(observation, { key: OTHER_KEY, now: NOW });
    expect(a.id).to.match(/^[0-9a-f]{32}$/);
    expect(a.id).to.equal(again.id);
    expect(a.id).to.not.equal(b.id);
    expect(a.subject!.reference).to.equal(`Patient/${pseudonym(KEY, "Patient", patientId)}`);
    expect(b.subject!.reference).to.not.equal(a.subject!.reference);
    expect(a.subject!.display).to.equal(undefined);
    const patient = resources.find((r) => r.resourceType === "Patient" && r.id === patientId)!;
    expect(deidentify(patient, { key: KEY, now: NOW }).id).to.equal(pseudonym(KEY, "Patient", patientId));
    // A reference that is not Type/id (a URL, a URN) would escape the pseudonyms: dropped.
    const withUrl = { ...observation, subject: { reference: "https://lab.example.org/fhir/Patient/1" } };
    expect(deidentify(withUrl, { key: KEY, now: NOW }).subject).to.equal(undefined);
  });

  it("reduces dates to the year everywhere (periods and timings too) and lets no extension out", () => {
    const p: Patient = {
      resourceType: "Patient",
      id: "p1",
      birthDate: "1980-06-15",
      deceasedDateTime: "2024-02-03T04:05:06Z",
      extension: [
        { url: "http://example.org/fhir/first-visit", valueDateTime: "2019-03-04T10:00:00Z" },
        { url: "http://example.org/fhir/free-text", valueString: "lives with her daughter Anna" },
      ],
    };
    const out = deidentify(p, { key: KEY, now: NOW });
    assertValidFhir(out);
    expect(out.birthDate).to.equal("1980");
    expect(out.deceasedDateTime).to.equal("2024");
    expect(out.extension).to.equal(undefined);
    const request = deidentify(
      {
        resourceType: "MedicationRequest",
        id: "m1",
        status: "active",
        intent: "order",
        subject: { reference: "Patient/p1" },
        medicationCodeableConcept: {
          coding: [{ system: "http://www.nlm.nih.gov/research/umls/rxnorm", code: "860975" }],
        },
        authoredOn: "2023-03-06T08:56:00Z",
        dosageInstruction: [
          { timing: { event: ["2023-03-07T08:00:00Z"], repeat: { boundsPeriod: { start: "2023-03-07" } } } },
        ],
      },
      { key: KEY, now: NOW },
    );
    assertValidFhir(request);
    expect(request.authoredOn).to.equal("2023");
    expect(request.dosageInstruction).to.deep.equal([
      { timing: { event: ["2023"], repeat: { boundsPeriod: { start: "2023" } } } },
    ]);
  });

  it("groups ages over 89: no birth year, the age group instead; an age value of 90+ becomes >= 90", () => {
    const old: Patient = { resourceType: "Patient", id: "old", birthDate: "1935-12-30", gender: "female" };
    const out = deidentify(old, { key: KEY, now: NOW });
    expect(out.birthDate).to.equal(undefined);
    expect(out.extension).to.deep.equal([{ url: AGE_GROUP_EXTENSION_URL, valueCode: "90+" }]);
    assertValidFhir(out);
    // 89 years old until the day before the 90th birthday: the birth year stays; from that day on, grouped.
    expect(deidentify({ ...old, birthDate: "1936-11-30" }, { key: KEY, now: NOW }).birthDate).to.equal("1936");
    expect(deidentify({ ...old, birthDate: "1936-11-29" }, { key: KEY, now: NOW }).birthDate).to.equal(undefined);
    // Died aged 95: grouped, and the year of death (which would show the age) goes too.
    const dead = deidentify(
      { ...old, birthDate: "1900-01-01", deceasedDateTime: "1995-05-05" },
      { key: KEY, now: NOW },
    );
    expect(dead).to.include({ deceasedBoolean: true });
    expect(dead.birthDate).to.equal(undefined);
    const age: Observation = {
      resourceType: "Observation",
      id: "age",
      status: "final",
      code: { coding: [{ system: "http://loinc.org", code: "30525-0" }] },
      valueQuantity: { value: 93, unit: "a", system: "http://unitsofmeasure.org", code: "a" },
    };
    expect(deidentify(age, { key: KEY, now: NOW }).valueQuantity).to.deep.include({ value: 90, comparator: ">=" });
    // The same age in days (an Observation of an age: any unit of time).
    const days = {
      ...age,
      valueQuantity: { value: 34_000, unit: "d", system: "http://unitsofmeasure.org", code: "d" },
    };
    expect(deidentify(days, { key: KEY, now: NOW }).valueQuantity).to.deep.include({ value: 90, comparator: ">=" });
    const integer = { ...age, valueQuantity: undefined, valueInteger: 97 } as Observation;
    const grouped = deidentify(integer, { key: KEY, now: NOW });
    expect(grouped.valueInteger).to.equal(undefined);
    expect(grouped.valueQuantity).to.deep.include({ value: 90, comparator: ">=" });
    expect(ageInYears("1937-11-29", NOW)).to.equal(89);
    expect(ageInYears("1937-11-30", NOW)).to.equal(88);
    expect(ageInYears("1936", NOW)).to.equal(90);
  });

  it("keeps only the state, the country and three ZIP digits of an address (000 for sparse areas)", () => {
    expect(
      reduceAddress({ line: ["1 Main St"], city: "Duluth", state: "MN", postalCode: "55802-1234", country: "US" }),
    ).to.deep.equal({ state: "MN", country: "US", postalCode: "558" });
    expect(reduceAddress({ city: "Somewhere", state: "WY", postalCode: "82301" })).to.deep.equal({
      state: "WY",
      postalCode: "000",
    });
    expect(reduceAddress({ line: ["only a street"] })).to.equal(undefined);
  });

  it("refuses to export documents", () => {
    expect(() =>
      deidentify(
        { resourceType: "DocumentReference", status: "current", content: [{ attachment: { data: "aGk=" } }] },
        { key: KEY, now: NOW },
      ),
    ).to.throw(/DocumentReference is not exported/);
  });
});
