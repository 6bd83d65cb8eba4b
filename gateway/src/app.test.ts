import type { Bundle, CapabilityStatement, OperationOutcome, Patient } from "@medplum/fhirtypes";
import { expect } from "chai";
import { sql } from "drizzle-orm";
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from "fastify";
import { Writable } from "node:stream";
import { buildApp } from "./app.ts";
import { verifyChain, listAudit } from "./audit/log.ts";
import { generateSyntheticData, syntheticTransactionBundle } from "./dev/synthetic.ts";
import { assertValidFhir } from "./fhir/validation.ts";
import { rawRows } from "./store/database.ts";
import type { Store } from "./store/store.ts";
import { freshStore, testAppConfig, testDatabase, TEST_ADMIN_TOKEN } from "./testing/fixtures.ts";

const FHIR = "application/fhir+json";
const AUTH = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };

const patient: Patient = {
  resourceType: "Patient",
  name: [{ family: "Okonkwo-Lindqvist", given: ["Adaeze"] }],
  gender: "female",
  birthDate: "1979-02-03",
};

async function counts(): Promise<{ resources: number; keys: number }> {
  const db = (await testDatabase()).db;
  const [r] = await rawRows<{ n: string | number }>(db, sql`SELECT count(*) AS n FROM resources`);
  const [k] = await rawRows<{ n: string | number }>(db, sql`SELECT count(*) AS n FROM patient_keys`);
  return { resources: Number(r?.n), keys: Number(k?.n) };
}

function outcomeOf(res: LightMyRequestResponse): OperationOutcome {
  expect(res.headers["content-type"]).to.match(/^application\/fhir\+json/);
  const body = res.json() as OperationOutcome;
  expect(body.resourceType).to.equal("OperationOutcome");
  expect(body.issue?.length).to.be.greaterThan(0);
  return body;
}

describe("app", function () {
  this.timeout(90_000);
  let store: Store;
  let app: FastifyInstance;
  const logLines: string[] = [];

  before(async () => {
    store = await freshStore();
    const logStream = new Writable({
      write(chunk: Buffer, _enc, done) {
        logLines.push(chunk.toString());
        done();
      },
    });
    app = buildApp({ config: testAppConfig(), store, logger: { level: "info", stream: logStream } });
    // A route that fails unexpectedly, to check the generic 500.
    app.get("/test/boom", async () => {
      throw new Error("database password is hunter2");
    });
    await app.ready();
  });

  after(async () => {
    await app.close();
  });

  beforeEach(async () => {
    store = await freshStore();
  });

  // The app holds the store built in `before`; re-opening on the emptied database keeps the same
  // key, so it stays valid across tests.

  it("serves a valid CapabilityStatement at /fhir/metadata", async () => {
    const res = await app.inject({ method: "GET", url: "/fhir/metadata" });
    expect(res.statusCode).to.equal(200);
    expect(res.headers["content-type"]).to.match(/^application\/fhir\+json/);
    expect(res.headers["cache-control"]).to.equal("no-store");
    const cs = res.json() as CapabilityStatement;
    assertValidFhir(cs);
    const types = cs.rest?.[0]?.resource?.map((r) => r.type);
    expect(types).to.deep.equal([
      "Patient",
      "Observation",
      "Condition",
      "MedicationRequest",
      "AllergyIntolerance",
      "Immunization",
      "Procedure",
      "DiagnosticReport",
      "DocumentReference",
      "Encounter",
    ]);
    const obs = cs.rest?.[0]?.resource?.find((r) => r.type === "Observation");
    expect(obs?.searchParam?.map((p) => p.name)).to.include("patient");
    expect(cs.rest?.[0]?.interaction?.[0]?.code).to.equal("transaction");
  });

  it("reports health", async () => {
    const res = await app.inject({ method: "GET", url: "/healthz" });
    expect(res.statusCode).to.equal(200);
    expect(res.json()).to.deep.include({ status: "ok" });
  });

  it("creates a resource: 201, Location, ETag, stored encrypted, audited", async () => {
    const res = await app.inject({
      method: "POST",
      url: "/fhir/Patient",
      headers: { ...AUTH, "content-type": FHIR },
      payload: { ...patient, id: "client-id-ignored" },
    });
    expect(res.statusCode).to.equal(201);
    const created = res.json() as Patient;
    expect(created.id).to.not.equal("client-id-ignored");
    expect(created.meta?.versionId).to.equal("1");
    expect(res.headers["location"]).to.equal(`http://127.0.0.1:8080/fhir/Patient/${created.id}/_history/1`);
    expect(res.headers["etag"]).to.equal('W/"1"');
    expect(await store.getResource("Patient", created.id!)).to.deep.equal({ kind: "found", resource: created });

    const obs = await app.inject({
      method: "POST",
      url: "/fhir/Observation",
      headers: { ...AUTH, "content-type": "application/json; charset=utf-8" },
      payload: JSON.stringify({
        resourceType: "Observation",
        status: "final",
        code: { text: "Pulse" },
        subject: { reference: `Patient/${created.id}` },
      }),
    });
    expect(obs.statusCode).to.equal(201);

    const trail = await listAudit(store.db, created.id!);
    expect(trail.map((e) => [e.event.action, e.event.outcome, e.event.entity?.at(-1)?.what?.reference])).to.deep.equal([
      ["C", "0", `Patient/${created.id}`],
      ["C", "0", `Observation/${(obs.json() as Patient).id}`],
    ]);
    expect(trail[0]!.event.agent[0]?.who?.identifier?.value).to.match(/^did:pkh:eip155:31337:0x/);
    expect((await verifyChain(store.db)).ok).to.equal(true);
  });

  it("creates or updates with PUT at a client-chosen id", async () => {
    const put = (body: unknown) =>
      app.inject({
        method: "PUT",
        url: "/fhir/Patient/mrn-0042",
        headers: { ...AUTH, "content-type": FHIR },
        payload: body as object,
      });
    const first = await put({ ...patient, id: "mrn-0042" });
    expect(first.statusCode).to.equal(201);
    const second = await put({ ...patient, id: "mrn-0042", gender: "other" });
    expect(second.statusCode).to.equal(200);
    expect((second.json() as Patient).meta?.versionId).to.equal("2");
    expect((await put({ ...patient, id: "other" })).statusCode).to.equal(400);
    expect((await put(patient)).statusCode).to.equal(400);
  });

  it("ingests a synthetic data set as one transaction", async () => {
    const data = generateSyntheticData({ seed: "app", custodian: "Riverside General Hospital", patients: 3 });
    const res = await app.inject({
      method: "POST",
      url: "/fhir",
      headers: { ...AUTH, "content-type": FHIR },
      payload: syntheticTransactionBundle(data),
    });
    expect(res.statusCode, res.body).to.equal(200);
    const bundle = res.json() as Bundle;
    expect(bundle.type).to.equal("transaction-response");
    expect(bundle.entry).to.have.length(data.resources.length);
    expect(bundle.entry?.every((e) => e.response?.status === "201 Created")).to.equal(true);
    expect((await counts()).resources).to.equal(data.resources.length);
    const everything = await store.everything(data.patients[0]!.id!);
    expect(everything.kind === "ok" && everything.resources.length).to.be.greaterThan(10);
  });

  it("resolves urn:uuid references in a transaction", async () => {
    const res = await app.inject({
      method: "POST",
      url: "/fhir",
      headers: { ...AUTH, "content-type": FHIR },
      payload: {
        resourceType: "Bundle",
        type: "transaction",
        entry: [
          {
            fullUrl: "urn:uuid:3f1c6d1e-0000-4000-8000-000000000001",
            resource: {
              resourceType: "Observation",
              status: "final",
              code: { text: "Pulse" },
              subject: { reference: "urn:uuid:3f1c6d1e-0000-4000-8000-000000000002" },
            },
            request: { method: "POST", url: "Observation" },
          },
          {
            fullUrl: "urn:uuid:3f1c6d1e-0000-4000-8000-000000000002",
            resource: patient,
            request: { method: "POST", url: "Patient" },
          },
        ],
      },
    });
    expect(res.statusCode, res.body).to.equal(200);
    const [obsEntry, patEntry] = (res.json() as Bundle).entry!;
    const patientId = patEntry!.response!.location!.split("/")[1]!;
    const obsId = obsEntry!.response!.location!.split("/")[1]!;
    const obs = await store.getResource("Observation", obsId);
    expect(obs.kind === "found" && obs.resource.subject?.reference).to.equal(`Patient/${patientId}`);
  });

  it("rolls back the whole transaction when one entry fails", async () => {
    const data = generateSyntheticData({ seed: "rollback", custodian: "Riverside General Hospital", patients: 2 });
    const bundle = syntheticTransactionBundle(data);
    // The last entry references a patient that is neither stored nor in the bundle: it passes
    // validation and fails inside the database transaction, after the others were written.
    bundle.entry!.push({
      resource: {
        resourceType: "Observation",
        id: "orphan",
        status: "final",
        code: { text: "x" },
        subject: { reference: "Patient/not-held" },
      },
      request: { method: "PUT", url: "Observation/orphan" },
    });
    const res = await app.inject({
      method: "POST",
      url: "/fhir",
      headers: { ...AUTH, "content-type": FHIR },
      payload: bundle,
    });
    expect(res.statusCode).to.equal(400);
    expect(JSON.stringify(outcomeOf(res))).to.contain("Patient/not-held");
    expect(await counts()).to.deep.equal({ resources: 0, keys: 0 });
    // The failed attempt itself is audited, outside the rolled-back transaction.
    const db = store.db;
    const [row] = await rawRows<{ n: string | number }>(
      db,
      sql`SELECT count(*) AS n FROM audit_events WHERE event->>'outcome' = '4'`,
    );
    expect(Number(row?.n)).to.equal(1);
    expect((await verifyChain(db)).ok).to.equal(true);
  });

  it("answers 410 Gone for writes to an erased patient", async () => {
    await store.putResource({ ...patient, id: "erased-1" });
    await store.erasePatient("erased-1");
    const res = await app.inject({
      method: "POST",
      url: "/fhir/Observation",
      headers: { ...AUTH, "content-type": FHIR },
      payload: {
        resourceType: "Observation",
        status: "final",
        code: { text: "x" },
        subject: { reference: "Patient/erased-1" },
      },
    });
    expect(res.statusCode).to.equal(410);
    expect(JSON.stringify(outcomeOf(res))).to.contain("erased");
  });

  describe("bad input: 4xx OperationOutcome, nothing written", () => {
    const cases: Array<{ name: string; status: number; request: InjectOptions; text?: RegExp }> = [
      {
        name: "missing token",
        status: 401,
        request: {
          method: "POST",
          url: "/fhir/Patient",
          headers: { "content-type": FHIR },
          payload: JSON.stringify(patient),
        },
      },
      {
        name: "wrong token",
        status: 401,
        request: {
          method: "POST",
          url: "/fhir/Patient",
          headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}x`, "content-type": FHIR },
          payload: JSON.stringify(patient),
        },
      },
      {
        name: "token of another scheme",
        status: 401,
        request: {
          method: "POST",
          url: "/fhir/Patient",
          headers: {
            authorization: `Basic ${Buffer.from(`a:${TEST_ADMIN_TOKEN}`).toString("base64")}`,
            "content-type": FHIR,
          },
          payload: JSON.stringify(patient),
        },
      },
      {
        name: "token on a transaction missing",
        status: 401,
        request: { method: "POST", url: "/fhir", headers: { "content-type": FHIR }, payload: "{}" },
      },
      {
        name: "malformed JSON",
        status: 400,
        text: /not valid JSON/,
        request: {
          method: "POST",
          url: "/fhir/Patient",
          headers: { ...AUTH, "content-type": FHIR },
          payload: '{"resourceType": "Patient",',
        },
      },
      {
        name: "empty body",
        status: 400,
        text: /empty/,
        request: { method: "POST", url: "/fhir/Patient", headers: { ...AUTH, "content-type": FHIR }, payload: "" },
      },
      {
        name: "prototype poisoning",
        status: 400,
        request: {
          method: "POST",
          url: "/fhir/Patient",
          headers: { ...AUTH, "content-type": FHIR },
          payload: '{"resourceType":"Patient","__proto__":{"admin":true}}',
        },
      },
      {
        name: "JSON array",
        status: 400,
        request: { method: "POST", url: "/fhir/Patient", headers: { ...AUTH, "content-type": FHIR }, payload: "[]" },
      },
      {
        name: "wrong content type",
        status: 415,
        text: /Content-Type/,
        request: {
          method: "POST",
          url: "/fhir/Patient",
          headers: { ...AUTH, "content-type": "text/plain" },
          payload: JSON.stringify(patient),
        },
      },
      {
        name: "form content type",
        status: 415,
        request: {
          method: "POST",
          url: "/fhir/Patient",
          headers: { ...AUTH, "content-type": "application/x-www-form-urlencoded" },
          payload: "resourceType=Patient",
        },
      },
      {
        name: "no content type",
        status: 415,
        request: {
          method: "POST",
          url: "/fhir/Patient",
          headers: { ...AUTH },
          payload: Buffer.from(JSON.stringify(patient)),
        },
      },
      {
        name: "oversized body",
        status: 413,
        text: /exceeds/,
        request: {
          method: "POST",
          url: "/fhir/Patient",
          headers: { ...AUTH, "content-type": FHIR },
          payload: JSON.stringify({
            ...patient,
            text: {
              status: "generated",
              div: `<div xmlns="http://www.w3.org/1999/xhtml">${"x".repeat(1024 * 1024)}</div>`,
            },
          }),
        },
      },
      {
        name: "unknown type",
        status: 404,
        text: /not supported/,
        request: {
          method: "POST",
          url: "/fhir/Spaceship",
          headers: { ...AUTH, "content-type": FHIR },
          payload: JSON.stringify({ resourceType: "Spaceship" }),
        },
      },
      {
        name: "unsupported FHIR type",
        status: 404,
        request: {
          method: "POST",
          url: "/fhir/Practitioner",
          headers: { ...AUTH, "content-type": FHIR },
          payload: JSON.stringify({ resourceType: "Practitioner" }),
        },
      },
      {
        name: "type mismatch",
        status: 400,
        request: {
          method: "POST",
          url: "/fhir/Observation",
          headers: { ...AUTH, "content-type": FHIR },
          payload: JSON.stringify(patient),
        },
      },
      {
        name: "invalid FHIR",
        status: 400,
        text: /birthDate/,
        request: {
          method: "POST",
          url: "/fhir/Patient",
          headers: { ...AUTH, "content-type": FHIR },
          payload: JSON.stringify({ ...patient, birthDate: "03/02/1979" }),
        },
      },
      {
        name: "unknown element",
        status: 400,
        request: {
          method: "POST",
          url: "/fhir/Patient",
          headers: { ...AUTH, "content-type": FHIR },
          payload: JSON.stringify({ ...patient, ssn: "078-05-1120" }),
        },
      },
      {
        name: "bad code",
        status: 400,
        text: /required value set/,
        request: {
          method: "POST",
          url: "/fhir/Patient",
          headers: { ...AUTH, "content-type": FHIR },
          payload: JSON.stringify({ ...patient, gender: "F" }),
        },
      },
      {
        name: "observation of no held patient",
        status: 400,
        request: {
          method: "POST",
          url: "/fhir/Observation",
          headers: { ...AUTH, "content-type": FHIR },
          payload: JSON.stringify({
            resourceType: "Observation",
            status: "final",
            code: { text: "x" },
            subject: { reference: "Patient/nobody" },
          }),
        },
      },
      {
        name: "SQL-injection id in body",
        status: 400,
        text: /Invalid resource id/,
        request: {
          method: "POST",
          url: "/fhir/Patient",
          headers: { ...AUTH, "content-type": FHIR },
          payload: JSON.stringify({ ...patient, id: "1'); DROP TABLE resources; --" }),
        },
      },
      {
        name: "SQL-injection id in URL",
        status: 400,
        request: {
          method: "PUT",
          url: `/fhir/Patient/${encodeURIComponent("1' OR '1'='1")}`,
          headers: { ...AUTH, "content-type": FHIR },
          payload: JSON.stringify({ ...patient, id: "1' OR '1'='1" }),
        },
      },
      {
        name: "SQL-injection type in URL",
        status: 404,
        request: {
          method: "POST",
          url: `/fhir/${encodeURIComponent("Patient; DELETE FROM resources")}`,
          headers: { ...AUTH, "content-type": FHIR },
          payload: JSON.stringify(patient),
        },
      },
      {
        name: "SQL-injection reference",
        status: 400,
        request: {
          method: "POST",
          url: "/fhir/Observation",
          headers: { ...AUTH, "content-type": FHIR },
          payload: JSON.stringify({
            resourceType: "Observation",
            status: "final",
            code: { text: "x" },
            subject: { reference: "Patient/x' OR 1=1 --" },
          }),
        },
      },
      {
        name: "batch bundle",
        status: 400,
        text: /Only transaction/,
        request: {
          method: "POST",
          url: "/fhir",
          headers: { ...AUTH, "content-type": FHIR },
          payload: JSON.stringify({ resourceType: "Bundle", type: "batch", entry: [] }),
        },
      },
      {
        name: "bundle with DELETE",
        status: 400,
        request: {
          method: "POST",
          url: "/fhir",
          headers: { ...AUTH, "content-type": FHIR },
          payload: JSON.stringify({
            resourceType: "Bundle",
            type: "transaction",
            entry: [{ resource: patient, request: { method: "DELETE", url: "Patient/1" } }],
          }),
        },
      },
      { name: "unknown route", status: 404, text: /No route/, request: { method: "GET", url: "/admin/../etc/passwd" } },
      { name: "wrong method", status: 404, request: { method: "DELETE", url: "/fhir/Patient/1", headers: AUTH } },
    ];

    for (const c of cases) {
      it(`${c.name} → ${c.status}`, async () => {
        const before = await counts();
        const res = await app.inject(c.request);
        expect(res.statusCode, res.body.slice(0, 500)).to.equal(c.status);
        const body = outcomeOf(res);
        if (c.text) expect(JSON.stringify(body)).to.match(c.text);
        if (c.status === 401) expect(res.headers["www-authenticate"]).to.match(/^Bearer/);
        expect(await counts()).to.deep.equal(before);
      });
    }
  });

  it("answers any unexpected error with a generic 500 OperationOutcome, detail only in the log", async () => {
    const res = await app.inject({ method: "GET", url: "/test/boom" });
    expect(res.statusCode).to.equal(500);
    const body = outcomeOf(res);
    expect(JSON.stringify(body)).not.to.contain("hunter2");
    expect(body.issue?.[0]?.details?.text).to.equal("Internal server error");
    expect(logLines.join("")).to.contain("hunter2");
  });

  it("never logs the bearer token or the request body", async () => {
    await app.inject({
      method: "POST",
      url: "/fhir/Patient",
      headers: { ...AUTH, "content-type": FHIR },
      payload: patient,
    });
    const log = logLines.join("");
    expect(log).not.to.contain(TEST_ADMIN_TOKEN);
    expect(log).not.to.contain("Okonkwo-Lindqvist");
  });
});
