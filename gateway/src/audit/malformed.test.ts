/**
 * Every authenticated request is audited, however malformed: text the database cannot store in
 * JSON (a NUL byte, a lone surrogate) never leaves an attempt without its AuditEvent.
 */
import type { AuditEvent } from "@medplum/fhirtypes";
import { expect } from "chai";
import { sql } from "drizzle-orm";
import { lastAuditSeq, verifyChain } from "./log.ts";
import { rawRows } from "../store/database.ts";
import { testGateway, type TestGateway } from "../testing/gateway.ts";

describe("audit of malformed requests", function () {
  this.timeout(120_000);
  let gw: TestGateway;
  let token: string;

  before(async () => {
    gw = await testGateway({ custodian: "lab" });
    token = await gw.signIn(gw.t.actors.analyst);
  });
  after(() => gw.close());

  const lastEvent = async () =>
    (
      await rawRows<{ event: AuditEvent }>(gw.store.db, sql`SELECT event FROM audit_events ORDER BY seq DESC LIMIT 1`)
    )[0]!.event;

  for (const [what, url] of [
    ["a NUL byte in the research study id", "/research/studies/1%00/dataset"],
    ["a NUL byte in a search parameter", "/fhir/Observation?patient=a%00b"],
    ["a NUL byte in a resource id", "/fhir/Observation/a%00b"],
    ["a NUL byte in the purpose", "/fhir/Observation?patient=abc"],
  ] as const) {
    it(`audits ${what}`, async () => {
      const before = await lastAuditSeq(gw.store.db);
      const purpose = what.includes("purpose") ? "TRE\u0000AT" : "HMB";
      const res = await gw.read(token, url, purpose);
      expect(res.statusCode, res.body).to.equal(400);
      expect(await lastAuditSeq(gw.store.db), "an AuditEvent for the attempt").to.equal(before + 1);
      const event = await lastEvent();
      expect(event.outcome).to.equal("4");
      expect(event.agent[0]?.who?.identifier?.value).to.match(new RegExp(`${gw.t.actors.analyst.address}$`, "i"));
      expect(JSON.stringify(event)).not.to.include("\\u0000");
    });
  }

  it("keeps the chain verifiable", async () => {
    expect((await verifyChain(gw.store.db)).ok).to.equal(true);
  });
});
