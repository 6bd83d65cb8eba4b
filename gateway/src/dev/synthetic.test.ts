import type { Condition, Observation, Patient } from "@medplum/fhirtypes";
import { expect } from "chai";
import { getPatientId } from "../fhir/resources.ts";
import { generateSyntheticData, syntheticTransactionBundle, SYSTEMS } from "./synthetic.ts";

const A = "Riverside General Hospital";
const B = "Lakeside Family Clinic";

function codes(resources: readonly unknown[], system: string): Set<string> {
  const out = new Set<string>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object") {
      const o = v as Record<string, unknown>;
      if (o["system"] === system && typeof o["code"] === "string") out.add(o["code"]);
      Object.values(o).forEach(walk);
    }
  };
  walk(resources);
  return out;
}

describe("synthetic data", () => {
  it("is byte-identical for the same seed and custodian", () => {
    const one = JSON.stringify(generateSyntheticData({ seed: 7, custodian: A }));
    const two = JSON.stringify(generateSyntheticData({ seed: 7, custodian: A }));
    expect(one).to.equal(two);
    expect(JSON.stringify(generateSyntheticData({ seed: 8, custodian: A }))).not.to.equal(one);
  });

  it("gives two custodians the same people with different records", () => {
    const a = generateSyntheticData({ seed: "demo", custodian: A });
    const b = generateSyntheticData({ seed: "demo", custodian: B });
    const person = (p: Patient) =>
      `${p.name?.[0]?.given?.join(" ")} ${p.name?.[0]?.family} ${p.birthDate} ${p.gender} ${p.address?.[0]?.postalCode}`;
    expect(a.patients.map(person)).to.deep.equal(b.patients.map(person));
    expect(a.patients[0]!.id).not.to.equal(b.patients[0]!.id);
    expect(a.patients[0]!.identifier?.[0]?.system).to.contain("riverside-general-hospital");
    expect(b.patients[0]!.identifier?.[0]?.system).to.contain("lakeside-family-clinic");
    const ids = new Set(a.resources.map((r) => r.id));
    expect(b.resources.some((r) => ids.has(r.id))).to.equal(false);
    const values = (d: typeof a) =>
      d.resources.filter((r): r is Observation => r.resourceType === "Observation").map((o) => o.valueQuantity?.value);
    expect(values(a)).not.to.deep.equal(values(b));
    // Both custodians diagnose from the same person: some diagnoses of a patient appear at both.
    const conditionCodes = (d: typeof a, i: number) =>
      new Set(
        d.resources
          .filter((r): r is Condition => r.resourceType === "Condition" && getPatientId(r) === d.patients[i]!.id)
          .map((c) => c.code?.coding?.[0]?.code),
      );
    const shared = a.patients.flatMap((_, i) => [...conditionCodes(a, i)].filter((c) => conditionCodes(b, i).has(c)));
    expect(shared.length).to.be.greaterThan(0);
  });

  it("uses real code systems: LOINC with UCUM units and ranges, SNOMED CT, RxNorm, CVX", () => {
    const data = generateSyntheticData({ seed: "codes", custodian: A, patients: 12 });
    const loinc = codes(data.resources, SYSTEMS.loinc);
    for (const code of ["4548-4", "2339-0", "8480-6", "8462-4", "718-7", "2093-3", "85354-9", "29463-7", "39156-5"]) {
      expect(loinc, `LOINC ${code}`).to.include(code);
    }
    expect(codes(data.resources, SYSTEMS.snomed)).to.include.members(["44054006", "38341003"]);
    expect(codes(data.resources, SYSTEMS.rxnorm)).to.include("860975");
    expect(codes(data.resources, SYSTEMS.cvx).size).to.be.greaterThan(0);
    const hba1c = data.resources.find(
      (r): r is Observation => r.resourceType === "Observation" && r.code.coding?.[0]?.code === "4548-4",
    )!;
    expect(hba1c.valueQuantity).to.include({ unit: "%", system: "http://unitsofmeasure.org", code: "%" });
    expect(hba1c.referenceRange?.[0]?.high?.value).to.equal(5.6);
    expect(hba1c.interpretation?.[0]?.coding?.[0]?.code).to.be.oneOf(["L", "N", "H"]);
  });

  it("keeps every reference inside the data set and every record in a patient's compartment", () => {
    const data = generateSyntheticData({ seed: "refs", custodian: B, patients: 8 });
    const keys = new Set(data.resources.map((r) => `${r.resourceType}/${r.id}`));
    const patientIds = new Set(data.patients.map((p) => p.id));
    for (const r of data.resources) {
      expect(patientIds.has(getPatientId(r))).to.equal(true);
      JSON.stringify(r, (k, v: unknown) => {
        if (k === "reference") expect(keys.has(v as string), `${r.resourceType}/${r.id} → ${String(v)}`).to.equal(true);
        return v;
      });
    }
    const dates = data.resources.flatMap((r) => JSON.stringify(r).match(/\d{4}-\d{2}-\d{2}T[\d:]+Z/g) ?? []);
    for (const d of dates) expect(d < "2025-06-30T23:59:59Z").to.equal(true);
  });

  it("packs the data set into a transaction bundle of PUT entries", () => {
    const data = generateSyntheticData({ seed: 1, custodian: A, patients: 2 });
    const bundle = syntheticTransactionBundle(data);
    expect(bundle.type).to.equal("transaction");
    expect(bundle.entry).to.have.length(data.resources.length);
    expect(bundle.entry?.[0]?.request).to.deep.equal({ method: "PUT", url: `Patient/${data.patients[0]!.id}` });
  });

  it("validates its options", () => {
    expect(() => generateSyntheticData({ seed: 1, custodian: " " })).to.throw(/custodian/);
    expect(() => generateSyntheticData({ seed: 1, custodian: A, patients: 0 })).to.throw(/patients/);
    expect(() => generateSyntheticData({ seed: 1, custodian: A, asOf: "2025-13-01" })).to.throw(/asOf/);
  });
});
