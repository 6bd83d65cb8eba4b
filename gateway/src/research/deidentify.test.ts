import type { Observation, Patient, Resource } from "@medplum/fhirtypes";
import { expect } from "chai";
import { generateSyntheticData } from "../fhir/synthetic.ts";
import { assertValidFhir } from "../fhir/validation.ts";
import {
  AGE_GROUP_EXTENSION_URL,
  EXPORTABLE_TYPES,
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

  it("reduces dates to the year everywhere, extensions included", () => {
    const p: Patient = {
      resourceType: "Patient",
      id: "p1",
      birthDate: "1980-06-15",
      extension: [
        { url: "http://example.org/fhir/first-visit", valueDateTime: "2019-03-04T10:00:00Z" },
        { url: "http://example.org/fhir/period", valuePeriod: { start: "2020-01-02", end: "2021-02-03" } },
        { url: "http://example.org/fhir/free-text", valueString: "lives with her daughter Anna" },
      ],
    };
    const out = deidentify(p, { key: KEY, now: NOW });
    assertValidFhir(out);
    expect(out.birthDate).to.equal("1980");
    expect(out.extension).to.deep.equal([
      { url: "http://example.org/fhir/first-visit", valueDateTime: "2019" },
      { url: "http://example.org/fhir/period", valuePeriod: { start: "2020", end: "2021" } },
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
