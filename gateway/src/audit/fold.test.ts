/**
 * Fresh wallets are free: an unrelated reader must not flood a patient's access log, nor make the
 * gateway do unbounded work per client address.
 */
import type { AuditEvent, Bundle } from "@medplum/fhirtypes";
import { expect } from "chai";
import { listAudit, verifyChain } from "./log.ts";
import { testGateway, type TestGateway } from "../testing/gateway.ts";

describe("refused attempts: folded in the audit, bounded per client", function () {
  this.timeout(180_000);
  let gw: TestGateway;
  let patientId: string;
  let patientToken: string;

  before(async () => {
    gw = await testGateway({ custodian: "lab" });
    const { patients } = await gw.ingest({ seed: "fold", patients: 1 });
    patientId = patients[0]!.id!;
    const patient = await gw.t.newAccount();
    await gw.link(patientId, patient);
    patientToken = await gw.signIn(patient);
  });
  after(() => gw.close());

  const attempts = (e: AuditEvent) =>
    Number(e.entity?.[0]?.detail?.find((d) => d.type === "attempts")?.valueString ?? "1");

  it("folds one reader's repeated refused attempts on one patient into one AuditEvent with a count", async () => {
    const before = (await listAudit(gw.store.db, patientId, { limit: 1000 })).length;
    const stranger = await gw.signIn(gw.t.unfundedAccount());
    for (let i = 0; i < 40; i++) {
      const res = await gw.read(stranger, `/fhir/Observation?patient=${patientId}`);
      expect(res.statusCode).to.equal(200);
      expect((res.json() as Bundle).total).to.equal(0);
    }
    // Ends the window now (as its timer would), then reads the patient's access log.
    await gw.app.audit.flush();
    const added = (await listAudit(gw.store.db, patientId, { limit: 1000 })).slice(before).map((e) => e.event);
    expect(added.length, "AuditEvents written for 40 attempts").to.be.at.most(2);
    expect(
      added.reduce((n, e) => n + attempts(e), 0),
      "attempts shown",
    ).to.equal(40);
    const log = (await gw.read(patientToken, `/fhir/AuditEvent?patient=${patientId}&_count=2`)).json() as Bundle;
    const folded = log.entry?.map((e) => e.resource as AuditEvent).find((e) => attempts(e) > 1);
    expect(folded?.outcomeDesc).to.match(/39 more refused attempts/);
    expect(folded?.period?.start).to.be.a("string");
    expect((await verifyChain(gw.store.db)).ok).to.equal(true);
  });

  it("bounds what unrelated wallets can make the gateway do from one client address", async () => {
    const capped = await testGateway({
      custodian: "lab",
      keepDatabase: gw.store,
      config: { rateLimits: { perAddressPerMinute: 600, perIpPerMinute: 30 } },
    });
    try {
      // Wallets signed in elsewhere (their tokens are the gateway's own): each gets a full
      // per-address allowance; from one address, together they get the per-IP one.
      const wallets = await Promise.all(Array.from({ length: 4 }, () => gw.signIn(gw.t.unfundedAccount())));
      const statuses: number[] = [];
      for (const token of wallets) {
        for (let i = 0; i < 20; i++) {
          const res = await capped.read(token, `/fhir/Observation?patient=${patientId}`, "TREAT", {
            remoteAddress: "198.51.100.9",
          });
          statuses.push(res.statusCode);
        }
      }
      const served = statuses.filter((s) => s === 200).length;
      expect(served, "answered").to.be.at.most(30 + wallets.length);
      expect(statuses.filter((s) => s === 429).length).to.be.greaterThan(0);
      // Another client address is not affected; nor is the patient itself.
      const elsewhere = await capped.read(wallets[0]!, `/fhir/Observation?patient=${patientId}`, "TREAT", {
        remoteAddress: "198.51.100.10",
      });
      expect(elsewhere.statusCode).to.equal(200);
      const own = await capped.read(patientToken, `/fhir/Observation?patient=${patientId}`, "TREAT", {
        remoteAddress: "198.51.100.9",
      });
      expect(own.statusCode).to.equal(200);
    } finally {
      await capped.close();
    }
  });
});
