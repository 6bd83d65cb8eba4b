/**
 * `GET /fhir/Consent` through a real indexer (indexer/: Ponder over PGlite) of the gateway's test
 * chain (the tests' shared one, testing/indexer.ts: the in-process EDR network served to it over
 * a loopback JSON-RPC bridge): the list comes from the indexer's tables, matches the chain, and
 * shows a grant once the indexer has its block. Without an indexer, or with one that does not
 * answer, the list fails (503) instead of scanning logs.
 */
import type { Bundle, Consent, OperationOutcome } from "@medplum/fhirtypes";
import { expect } from "chai";
import type { LocalAccount } from "viem/accounts";

import { categoriesToMask, encodePurpose, purposeScope } from "#sdk/codes.ts";
import { consentRegistryAbi } from "#sdk/generated/abis.ts";
import { indexerClient } from "#sdk/history.ts";
import { grantState, readPatientGrants } from "#sdk/ledger.ts";
import { NO_INDEXER } from "./consents.ts";
import { testGateway, type TestGateway } from "../testing/gateway.ts";
import { testIndexer, type TestIndexer } from "../testing/indexer.ts";

describe("GET /fhir/Consent through the indexer (a real Ponder over the test chain)", function () {
  this.timeout(400_000);
  let indexer: TestIndexer;
  let gw: TestGateway;
  let patient: LocalAccount;
  let patientId: string;
  let token: string;

  const indexedTo = async () => (await indexer.client.status()).block;
  const caughtUp = (block: bigint) => indexer.caughtUp(block);
  const consents = async () => {
    // Not gw.read: it would wait for the indexer to catch up; this measures when a grant shows.
    const res = await gw.app.inject({
      method: "GET",
      url: `/fhir/Consent?patient=${patientId}`,
      headers: { authorization: `Bearer ${token}`, accept: "application/fhir+json", "x-purpose-of-use": "TREAT" },
    });
    expect(res.statusCode, res.body.slice(0, 300)).to.equal(200);
    return ((res.json() as Bundle).entry ?? []).map((e) => e.resource as Consent);
  };

  before(async () => {
    indexer = await testIndexer();
    gw = await testGateway({ custodian: "lab" });
    const { patients } = await gw.ingest({ seed: "indexer-listing", patients: 1 });
    patientId = patients[0]!.id!;
    patient = await gw.t.newAccount();
    await gw.link(patientId, patient);
    token = await gw.signIn(patient);
  });
  after(async () => {
    await gw?.close();
  });

  it("lists the grants the chain has, with their states, and a new grant as soon as the indexer has its block", async () => {
    const t = gw.t;
    const hospital = t.actors.hospital.address;
    const now = Number((await t.client.getBlock()).timestamp);
    const obs = categoriesToMask(["Observation"]);
    await t.write(patient, t.registry, consentRegistryAbi, "grant", [
      hospital,
      obs,
      encodePurpose("TREAT"),
      0,
      now + 86_400,
    ]);
    await t.write(patient, t.registry, consentRegistryAbi, "grant", [
      hospital,
      obs,
      encodePurpose("HOPERAT"),
      0,
      now + 86_400,
    ]);
    const last = await t.write(patient, t.registry, consentRegistryAbi, "revoke", [hospital, purposeScope("HOPERAT")]);
    await caughtUp(last.blockNumber);

    const listed = await consents();
    const onChain = await readPatientGrants(t.client, { registry: t.registry, patient: patient.address });
    expect(listed.map((c) => [c.id, c.status])).to.deep.equal(
      onChain.grants.map((g) => [
        g.grantId.slice(2),
        grantState(g, Math.max(onChain.timestamp, Math.floor(Date.now() / 1000))) === "active" ? "active" : "inactive",
      ]),
    );

    // A grant just mined shows once the indexer has its block (polling every 100 ms here).
    const mined = await t.write(patient, t.registry, consentRegistryAbi, "grant", [
      hospital,
      obs,
      encodePurpose("ETREAT"),
      0,
      now + 86_400,
    ]);
    const minedAt = Date.now();
    let seenAfter = -1;
    while (Date.now() - minedAt < 10_000) {
      if ((await consents()).length === onChain.grants.length + 1) {
        seenAfter = Date.now() - minedAt;
        break;
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(seenAfter, "ms from mined to listed").to.be.within(0, 2_000);
    console.log(`      (listed ${seenAfter} ms after its receipt)`);
    expect(await indexedTo()).to.be.at.least(Number(mined.blockNumber));

    // Single reads resolve the grant's patient through the indexer too.
    const one = await gw.read(token, `/fhir/Consent/${listed[0]!.id}`);
    expect(one.statusCode).to.equal(200);
  });

  it("does not fall back to scanning the chain's logs: without an indexer, or with one that does not answer, the list fails", async () => {
    for (const indexerUrl of [null, "http://127.0.0.1:9"] as const) {
      const other = await testGateway({
        custodian: "lab",
        keepDatabase: gw.store,
        indexer: indexerUrl === null ? null : indexerClient(indexerUrl),
      });
      try {
        const otherToken = await other.signIn(patient);
        const res = await other.read(otherToken, `/fhir/Consent?patient=${patientId}`);
        expect(res.statusCode, `${indexerUrl}: ${res.body.slice(0, 300)}`).to.equal(503);
        const outcome = res.json() as OperationOutcome;
        expect(outcome.resourceType).to.equal("OperationOutcome");
        if (indexerUrl === null)
          expect(outcome.issue?.[0]?.diagnostics ?? outcome.issue?.[0]?.details?.text).to.equal(NO_INDEXER);
      } finally {
        await other.close();
      }
    }
  });
});
