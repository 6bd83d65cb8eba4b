import type { Bundle, BundleEntry } from "@medplum/fhirtypes";
import { expect } from "chai";

import { bundleStream, jsonBytes } from "./stream.ts";

const consent = (i: number): BundleEntry => ({
  fullUrl: `https://gw.example/fhir/Consent/${i}`,
  resource: {
    resourceType: "Consent",
    id: String(i),
    status: "active",
    scope: { text: 'größer als — \u2028 \ud83d\ude00 "q"' },
    category: [{ text: "Patient Consent" }],
  },
  search: { mode: "match" },
});

describe("FHIR JSON bytes", () => {
  it("writes a Bundle entry by entry as the same bytes JSON.stringify gives", () => {
    const bundle = {
      resourceType: "Bundle",
      type: "searchset",
      total: 3,
      link: [{ relation: "self", url: "https://gw.example/fhir/Consent?patient=p" }],
      entry: [consent(1), consent(2), consent(3)],
    } satisfies Bundle;
    expect(jsonBytes(bundle).equals(Buffer.from(JSON.stringify(bundle)))).to.equal(true);
  });

  it("keeps the members that follow the entries, and a text that looks like the entries' key", () => {
    const bundle = {
      resourceType: "Bundle",
      id: '"entry":[]',
      type: "collection",
      entry: [consent(1)],
      signature: { type: [{ code: "1.2.840.10065.1.12.1.1" }], when: "2026-12-05T10:00:00Z", data: '"entry":[' },
    };
    expect(jsonBytes(bundle).toString("utf8")).to.equal(JSON.stringify(bundle));
  });

  it("writes any other resource, and a Bundle without entries, as JSON.stringify does", () => {
    for (const resource of [
      { resourceType: "Bundle", type: "searchset", total: 0 },
      { resourceType: "Bundle", type: "searchset", entry: [] },
      { resourceType: "Patient", id: "p", name: [{ family: "Ünal" }] },
    ]) {
      expect(jsonBytes(resource).toString("utf8")).to.equal(JSON.stringify(resource));
    }
  });

  it("streams a Bundle as the same JSON", async () => {
    const { entry, ...head } = {
      resourceType: "Bundle",
      type: "searchset",
      entry: [consent(1), consent(2)],
    } satisfies Bundle;
    let text = "";
    for await (const chunk of bundleStream(head, entry)) text += String(chunk);
    expect(JSON.parse(text)).to.deep.equal({ ...head, entry });
  });
});
