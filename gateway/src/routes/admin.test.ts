import type { AuditEvent } from "@medplum/fhirtypes";
import { expect } from "chai";
import { sql } from "drizzle-orm";
import { listAudit } from "../audit/log.ts";
import { rawRows } from "../store/database.ts";
import { ADMIN, testGateway, type TestGateway } from "../testing/gateway.ts";

describe("erasure: POST /admin/patients/{id}/$erase", function () {
  this.timeout(120_000);
  let gw: TestGateway;
  after(() => gw?.close());

  /** Every row of the tables that could tie a wallet to a patient, as text. */
  async function ties(): Promise<string> {
    const out: unknown[] = [];
    for (const table of ["patient_wallets", "link_codes", "research_deliveries", "relay_usage", "siwe_nonces"]) {
      out.push(await rawRows(gw.store.db, sql.raw(`SELECT * FROM ${table}`)));
    }
    return JSON.stringify(out).toLowerCase();
  }

  it("erases a patient and removes every tie between it and its wallets (links, deliveries, relays, sign-ins)", async () => {
    gw = await testGateway({ custodian: "lab" });
    const { patients } = await gw.ingest({ seed: "erasure", patients: 2 });
    const patientId = patients[0]!.id!;
    const wallet = await gw.t.newAccount();
    await gw.link(patientId, wallet); // a link code redeemed after a SIWE sign-in
    await gw.signIn(wallet);
    const address = wallet.address.toLowerCase();
    // What a relay and a research export of this patient leave behind.
    await gw.store.db.execute(
      sql`INSERT INTO relay_usage (patient, action, created_at, tx_hash) VALUES (${address}, 'revoke', now(), ${`0x${"ab".repeat(32)}`})`,
    );
    const study = `${gw.t.studyEscrow.toLowerCase()}:77`;
    await gw.store.studyPseudonymKey(study);
    await gw.store.db.execute(
      sql`INSERT INTO research_deliveries (study, patient, patient_id, status, updated_at) VALUES (${study}, ${address}, ${patientId}, 'paid', now())`,
    );
    const before = await ties();
    expect(before).to.include(address);
    expect(before).to.include(patientId.toLowerCase());

    const res = await gw.app.inject({ method: "POST", url: `/admin/patients/${patientId}/$erase`, headers: ADMIN });
    expect(res.statusCode, res.body).to.equal(200);
    const body = res.json() as { alreadyErased: boolean; unlinked: Record<string, number> };
    expect(body.alreadyErased).to.equal(false);
    expect(body.unlinked).to.deep.include({ wallets: 1, deliveries: 1, relays: 1 });
    expect(body.unlinked["nonces"]).to.be.at.least(2);
    const after = await ties();
    expect(after).to.not.include(address);
    expect(after).to.not.include(patientId.toLowerCase());
    // The relay still counts towards the global limit, as nobody's.
    const [relays] = await rawRows<{ n: number }>(
      gw.store.db,
      sql`SELECT count(*)::int AS n FROM relay_usage WHERE patient = '0x0000000000000000000000000000000000000000'`,
    );
    expect(relays?.n).to.equal(1);
    // The wallet signs in as nobody's; the records are unreadable; the erasure is in the access log.
    expect(await gw.store.findPatientByWallet(`did:pkh:eip155:${gw.t.chainId}:${wallet.address}`)).to.equal(undefined);
    expect((await gw.store.getResource("Patient", patientId)).kind).to.equal("erased");
    const log = await listAudit(gw.store.db, patientId);
    const erased = log
      .map((e) => e.event as AuditEvent)
      .find((e) => e.subtype?.some((s) => s.code === "erase-patient"));
    expect(erased?.outcome).to.equal("0");
    // Again: idempotent.
    const again = await gw.app.inject({ method: "POST", url: `/admin/patients/${patientId}/$erase`, headers: ADMIN });
    expect(again.statusCode).to.equal(200);
    expect((again.json() as { alreadyErased: boolean }).alreadyErased).to.equal(true);
    // The other patient is untouched.
    expect((await gw.store.getResource("Patient", patients[1]!.id!)).kind).to.equal("found");
  });

  it("needs the admin token and a patient held here", async () => {
    const url = (id: string) => `/admin/patients/${id}/$erase`;
    const post = (id: string, headers: Record<string, string> = ADMIN) =>
      gw.app.inject({ method: "POST", url: url(id), headers });
    expect((await post("nobody-here")).statusCode).to.equal(404);
    expect((await post("bad$id")).statusCode).to.equal(400);
    expect((await post("nobody-here", {})).statusCode).to.equal(401);
    const reader = await gw.signIn(gw.t.actors.clinician);
    const refused = await post("nobody-here", { authorization: `Bearer ${reader}` });
    expect(refused.statusCode).to.equal(401);
    expect(refused.json()).to.include({ resourceType: "OperationOutcome" });
  });
});
