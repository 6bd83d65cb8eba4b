import type { Observation } from "@medplum/fhirtypes";
import { expect } from "chai";
import { OperationOutcomeError } from "./outcomes.ts";
import { getPatientId, parsePatientReference, SUPPORTED_RESOURCE_TYPES } from "./resources.ts";
import { generateSyntheticData } from "../dev/synthetic.ts";
import { loadFhirDefinitions, validateIncomingResource } from "./validation.ts";

function rejection(value: unknown, options = {}): { status: number; text: string; expression: string[] } {
  try {
    validateIncomingResource(value, options);
  } catch (err) {
    expect(err).to.be.instanceOf(OperationOutcomeError);
    const e = err as OperationOutcomeError;
    const issue = e.outcome.issue?.[0];
    return { status: e.status, text: issue?.details?.text ?? "", expression: issue?.expression ?? [] };
  }
  throw new Error("expected a rejection");
}

const observation: Observation = {
  resourceType: "Observation",
  status: "final",
  code: { coding: [{ system: "http://loinc.org", code: "2339-0" }] },
  subject: { reference: "Patient/p1" },
  valueQuantity: { value: 92, unit: "mg/dL", system: "http://unitsofmeasure.org", code: "mg/dL" },
};

describe("FHIR validation", function () {
  this.timeout(90_000);
  before(() => loadFhirDefinitions());

  it("accepts every resource of the synthetic data sets", () => {
    for (const custodian of ["Riverside General Hospital", "Lakeside Family Clinic"]) {
      const data = generateSyntheticData({ seed: "validation", custodian, patients: 6 });
      const types = new Set(data.resources.map((r) => r.resourceType));
      expect(types.size).to.be.greaterThanOrEqual(8);
      for (const resource of data.resources) expect(validateIncomingResource(resource)).to.equal(resource);
    }
  });

  it("rejects structurally invalid resources with 400 and the element at fault", () => {
    const { status: _s, ...noStatus } = observation;
    expect(rejection(noStatus)).to.deep.include({ status: 400, expression: ["Observation.status"] });
    expect(rejection({ ...observation, status: "finished-ish" }).status).to.equal(400);
    expect(rejection({ ...observation, effectiveDateTime: "2024-13-45" }).expression).to.deep.equal([
      "Observation.effective[x]",
    ]);
    expect(rejection({ ...observation, unknownField: 1 }).text).to.match(/Invalid additional property/);
    expect(rejection({ resourceType: "Patient", birthDate: "yesterday" }).expression).to.deep.equal([
      "Patient.birthDate",
    ]);
    expect(rejection({ resourceType: "Patient", gender: 7 }).status).to.equal(400);
  });

  it("checks codes against their required value sets", () => {
    const status = rejection({ ...observation, status: "finished-ish" });
    expect(status).to.deep.include({ status: 400, expression: ["Observation.status"] });
    expect(status.text).to.match(/not in the required value set http:\/\/hl7.org\/fhir\/ValueSet\/observation-status/);
    expect(rejection({ resourceType: "Patient", gender: "robot" }).expression).to.deep.equal(["Patient.gender"]);
    expect(
      rejection({
        resourceType: "Patient",
        telecom: [
          { system: "phone", value: "1" },
          { system: "telegram", value: "2" },
        ],
      }).expression,
    ).to.deep.equal(["Patient.telecom[1].system"]);
    const allergy = {
      resourceType: "AllergyIntolerance",
      patient: { reference: "Patient/p1" },
      clinicalStatus: {
        coding: [{ system: "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", code: "maybe" }],
      },
    };
    expect(rejection(allergy).expression).to.deep.equal(["AllergyIntolerance.clinicalStatus"]);
    allergy.clinicalStatus.coding[0]!.code = "active";
    expect(() => validateIncomingResource(allergy)).not.to.throw();
    // Value sets that cannot be enumerated offline (here: BCP-47 languages) are not checked.
    expect(() => validateIncomingResource({ resourceType: "Patient", language: "en-US" })).not.to.throw();
  });

  it("rejects what is not a resource, unsupported types and type mismatches", () => {
    expect(rejection([]).text).to.match(/JSON object/);
    expect(rejection("Patient").text).to.match(/JSON object/);
    expect(rejection({ name: "x" }).text).to.match(/resourceType/);
    expect(rejection({ resourceType: "Practitioner" }).text).to.match(/not supported/);
    expect(rejection({ resourceType: "__proto__" }).text).to.match(/not supported/);
    expect(rejection({ resourceType: "Patient" }, { expectedType: "Observation" }).text).to.match(
      /Expected a Observation/,
    );
  });

  it("rejects ids that are not FHIR ids (e.g. SQL-injection-looking ones)", () => {
    for (const id of ["1'; DROP TABLE resources; --", "a b", "x".repeat(65), "", "../etc/passwd", "ok\u0000"]) {
      const r = rejection({ resourceType: "Patient", id });
      expect(r.status).to.equal(400);
      expect(r.expression).to.deep.equal(["Patient.id"]);
    }
  });

  it("requires every non-Patient resource to reference its patient", () => {
    const { subject: _s, ...noSubject } = observation;
    expect(rejection(noSubject)).to.deep.include({ status: 400, expression: ["Observation.subject"] });
    expect(rejection({ ...observation, subject: { reference: "Group/g" } }).text).to.match(/Patient\/\{id\}/);
    expect(rejection({ ...observation, subject: { reference: "Patient/bad id" } }).status).to.equal(400);
    expect(
      rejection(
        { ...observation, subject: { reference: "Patient/p1" }, status: undefined },
        { path: "Bundle.entry[2].resource" },
      ).expression,
    ).to.deep.equal(["Bundle.entry[2].resource.status"]);
  });

  it("extracts the patient a resource belongs to", () => {
    expect(getPatientId({ resourceType: "Patient", id: "p9" })).to.equal("p9");
    expect(getPatientId({ ...observation, subject: { reference: "Patient/p2/_history/3" } })).to.equal("p2");
    expect(
      getPatientId({
        resourceType: "Immunization",
        status: "completed",
        vaccineCode: {},
        patient: { reference: "Patient/p3" },
        occurrenceDateTime: "2024-01-01",
      }),
    ).to.equal("p3");
    expect(getPatientId({ ...observation, subject: { reference: "https://other.example/fhir/Patient/p2" } })).to.equal(
      undefined,
    );
    expect(parsePatientReference("Patient/")).to.equal(undefined);
    expect(SUPPORTED_RESOURCE_TYPES).to.have.length(10);
  });
});
