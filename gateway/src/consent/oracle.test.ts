/**
 * No patient-existence oracle: a caller that holds no current consent of a patient, no
 * break-glass opening, and is neither the patient nor a delegate gets exactly what it would get
 * for a patient that does not exist — the same status, body (but for the id it asked about) and
 * headers — whether the patient is linked, unlinked or erased. A reader that holds some consent of
 * the patient still gets the 403 saying which consent is missing, and no refusal names a patient.
 */
import type { OperationOutcome } from "@medplum/fhirtypes";
import { expect } from "chai";
import type { LightMyRequestResponse } from "fastify";
import type { LocalAccount } from "viem/accounts";
import { custom } from "viem";
import { categoriesToMask, encodePurpose, purposeScope } from "#sdk/codes.ts";
import { buildApp } from "../app.ts";
import { GatewayChain } from "../chain/chain.ts";
import { testGateway, type TestGateway } from "../testing/gateway.ts";

/** Status, headers (but Date) and body with `ids` replaced by placeholders. */
function shape(res: LightMyRequestResponse, ids: Record<string, string>) {
  let body = res.body;
  for (const [id, placeholder] of Object.entries(ids)) body = body.split(id).join(placeholder);
  const headers = { ...res.headers };
  delete headers["date"];
  delete headers["content-length"]; // the ids differ in length only where they are the caller's own input
  return { status: res.statusCode, headers, body: body.replace(/urn:uuid:[0-9a-f-]{36}/g, "urn:uuid:…") };
}

/** Another id of the same length and alphabet, held by nobody. */
const unknownLike = (id: string) => id.replace(/[0-9a-f]/g, (c) => (c === "0" ? "1" : "0"));

describe("no patient-existence oracle", function () {
  this.timeout(180_000);
  let gw: TestGateway;
  let patient: LocalAccount;
  let linked: string;
  let unlinked: string;
  let erased: string;
  let observation: string;

  before(async () => {
    gw = await testGateway({ custodian: "lab" });
    const { patients, resources } = await gw.ingest({ seed: "oracle", patients: 3 });
    [linked, unlinked, erased] = patients.map((p) => p.id!) as [string, string, string];
    observation = resources.find(
      (r) => r.resourceType === "Observation" && r.subject?.reference === `Patient/${linked}`,
    )!.id!;
    patient = await gw.t.newAccount();
    await gw.link(linked, patient);
    await gw.store.erasePatient(erased);
  });
  after(() => gw.close());

  const did = (address: string) => `did:pkh:eip155:${gw.t.chainId}:${address}`;

  /** The requests that name a patient, for patient `id` (and its wallet, when it has one). */
  const requests = (id: string, wallet?: string) => [
    `/fhir/Patient/${id}`,
    `/fhir/Patient?_id=${id}`,
    `/fhir/Observation?patient=${id}`,
    `/fhir/Condition?patient=Patient/${id}&_count=5`,
    `/fhir/Patient/${id}/$everything`,
    `/fhir/Consent?patient=${id}`,
    `/fhir/AuditEvent?patient=${id}`,
    ...(wallet ? [`/fhir/Patient?identifier=${encodeURIComponent(did(wallet))}`] : []),
  ];

  async function sameAsUnknown(token: string, who: string) {
    const nobody = gw.t.unfundedAccount().address;
    for (const [id, wallet] of [
      [linked, patient.address],
      [unlinked, undefined],
      [erased, undefined],
    ] as const) {
      const ghost = unknownLike(id);
      const real = requests(id, wallet);
      const fake = requests(ghost, wallet ? nobody : undefined);
      for (let i = 0; i < real.length; i++) {
        const a = await gw.read(token, real[i]!);
        const b = await gw.read(token, fake[i]!);
        expect(a.statusCode, `${who}: ${real[i]} ${a.body.slice(0, 300)}`).to.be.oneOf([200, 404]);
        expect(shape(a, { [id]: "ID", ...(wallet ? { [wallet]: "WALLET" } : {}) }), `${who}: ${real[i]}`).to.deep.equal(
          shape(b, { [ghost]: "ID", [nobody]: "WALLET" }),
        );
      }
      // A record of the patient, read by its own id, looks like an id nobody holds.
      if (id === linked) {
        const a = await gw.read(token, `/fhir/Observation/${observation}`);
        const b = await gw.read(token, `/fhir/Observation/${unknownLike(observation)}`);
        expect(shape(a, { [observation]: "ID" })).to.deep.equal(shape(b, { [unknownLike(observation)]: "ID" }));
        expect(a.statusCode).to.equal(404);
      }
    }
  }

  it("a fresh wallet gets for a linked, unlinked or erased patient what it gets for none", async () => {
    await sameAsUnknown(await gw.signIn(gw.t.unfundedAccount()), "fresh wallet");
  });

  it("so does an accredited reader that holds no consent of the patient", async () => {
    await sameAsUnknown(await gw.signIn(gw.t.actors.clinician), "clinician without consent");
  });

  it("GET /fhir/Consent decides who may list before asking the indexer, and never scans the event log", async () => {
    // The same app, its chain reads and its indexer queries counted.
    let logScans = 0;
    let listed = 0;
    const real = gw.chain.indexer!;
    const indexer = {
      url: real.url,
      status: () => real.status(),
      get db() {
        listed++;
        return real.db;
      },
    };
    const node = gw.t.transport({ chain: gw.t.chain });
    const counted = new GatewayChain({
      chainId: gw.t.chainId,
      transport: custom({
        request: (args: { method: string; params?: unknown }) => {
          if (args.method === "eth_getLogs") logScans++;
          return node.request(args as never);
        },
      }),
      consentRegistry: gw.t.registry,
      auditAnchor: gw.t.auditAnchor,
      studyEscrow: gw.t.studyEscrow,
      gatewayKey: gw.t.actors.labGateway.privateKey,
      custodian: gw.t.actors.lab.address,
      indexer,
    });
    const app = buildApp({ config: gw.config, store: gw.store, chain: counted });
    await app.ready();
    try {
      for (const account of [gw.t.unfundedAccount(), gw.t.actors.clinician, gw.t.actors.analyst]) {
        const token = await gw.signIn(account);
        const res = await app.inject({
          method: "GET",
          url: `/fhir/Consent?patient=${linked}`,
          headers: { authorization: `Bearer ${token}`, "x-purpose-of-use": "TREAT" },
        });
        expect(res.statusCode, res.body).to.equal(200);
        expect((res.json() as { total: number }).total).to.equal(0);
      }
      expect(listed, "indexer queries for callers that may list nothing").to.equal(0);
      const own = await app.inject({
        method: "GET",
        url: `/fhir/Consent?patient=${linked}`,
        headers: { authorization: `Bearer ${await gw.signIn(patient)}`, "x-purpose-of-use": "TREAT" },
      });
      expect(own.statusCode).to.equal(200);
      expect(listed, "the patient's own list comes from the indexer").to.be.greaterThan(0);
      expect(logScans, "event log scans").to.equal(0);
    } finally {
      await app.close();
    }
  });

  it("a reader holding some consent gets the 403 naming the missing consent, never the patient's id", async () => {
    const expiresAt = (await gw.t.now()) + 3600;
    await gw.t.registryWrite(patient, "grant", [
      gw.t.actors.hospital.address,
      categoriesToMask(["Observation"]),
      encodePurpose("TREAT"),
      0,
      expiresAt,
    ]);
    try {
      const clinician = await gw.signIn(gw.t.actors.clinician);
      const res = await gw.read(clinician, `/fhir/Patient/${linked}`, "TREAT");
      expect(res.statusCode, res.body).to.equal(403);
      expect(JSON.stringify((res.json() as OperationOutcome).issue)).to.match(/No consent for Patient/);
      // Another purpose than the one granted: still a reader with consent, still told what is missing.
      const other = await gw.read(clinician, `/fhir/Observation?patient=${linked}`, "HOPERAT");
      expect(other.statusCode, other.body).to.equal(403);
      const log = await gw.read(clinician, `/fhir/AuditEvent?patient=${linked}`);
      expect(log.statusCode, log.body).to.equal(403);
      for (const r of [res, other, log]) expect(r.body).not.to.include(linked);
    } finally {
      await gw.t.registryWrite(patient, "revoke", [gw.t.actors.hospital.address, purposeScope("TREAT")]);
    }
  });
});
