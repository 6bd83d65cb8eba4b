import type { AuditEvent } from "@medplum/fhirtypes";
import { expect } from "chai";
import { sql } from "drizzle-orm";
import { auditAnchorAbi } from "#sdk/generated/abis.ts";
import { runAuditVerify } from "../cli/audit-verify.ts";
import { rawRows, type Database, type GatewayDb } from "../store/database.ts";
import { testChain } from "../testing/chain.ts";
import { testDatabase } from "../testing/fixtures.ts";
import { testGateway, type TestGateway } from "../testing/gateway.ts";
import { ANCHOR_MAX_BATCH_SIZE, AuditAnchorer, AuditIntegrityError } from "./anchor.ts";
import { auditRange, entryHash, lastAuditSeq, verifyChain } from "./log.ts";
import { merkleRoot } from "./merkle.ts";

/** Runs raw SQL with the append-only trigger lifted: what a database owner could do. */
async function tamper(db: GatewayDb, statement: ReturnType<typeof sql>): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.execute(sql`ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_delete`);
    await tx.execute(statement);
    await tx.execute(sql`ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update_delete`);
  });
}

/** Rewrites entry `seq` and re-hashes every later entry: a self-consistent forged chain. */
async function rewriteFrom(db: GatewayDb, seq: number, edit: (e: AuditEvent) => AuditEvent): Promise<void> {
  const rows = await rawRows<{ seq: string | number; prev_hash: string; event: AuditEvent }>(
    db,
    sql`SELECT seq, prev_hash, event FROM audit_events WHERE seq >= ${seq} ORDER BY seq`,
  );
  let prev = rows[0]!.prev_hash;
  await db.transaction(async (tx) => {
    await tx.execute(sql`ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_delete`);
    for (const row of rows) {
      const event = Number(row.seq) === seq ? edit(row.event) : row.event;
      const hash = entryHash(prev, event);
      await tx.execute(
        sql`UPDATE audit_events SET event = ${JSON.stringify(event)}::jsonb, prev_hash = ${prev}, hash = ${hash} WHERE seq = ${Number(row.seq)}`,
      );
      prev = hash;
    }
    await tx.execute(sql`ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update_delete`);
  });
}

describe("audit anchoring and verification", function () {
  this.timeout(180_000);
  let gw: TestGateway;
  let anchorer: AuditAnchorer;
  let patientToken: string;
  let patientId: string;

  let organization: Awaited<ReturnType<Awaited<ReturnType<typeof testChain>>["newCustodian"]>>["organization"];

  /** A gateway for a custodian of its own (its anchor sequence starts at 1), with some traffic. */
  async function setUp(): Promise<void> {
    const custodian = await (await testChain()).newCustodian();
    organization = custodian.organization;
    gw = await testGateway({ custodian });
    anchorer = new AuditAnchorer({ db: gw.store.db, chain: gw.chain, maxBatch: 10 });
    const { patients } = await gw.ingest({ seed: "anchor", patients: 1 });
    patientId = patients[0]!.id!;
    const patient = gw.t.unfundedAccount();
    await gw.link(patientId, patient);
    patientToken = await gw.signIn(patient);
    for (const type of ["Observation", "Condition", "Encounter"]) {
      await gw.read(patientToken, `/fhir/${type}?patient=${patientId}`);
    }
  }

  async function verify(): Promise<{ code: number; lines: string[] }> {
    const database = await testDatabase();
    const shared: Database = { ...database, close: async () => undefined };
    const lines: string[] = [];
    const code = await runAuditVerify(
      {
        GATEWAY_DATA_DIR: ":memory:",
        RPC_URL: "http://127.0.0.1:9",
        CHAIN_ID: String(gw.t.chainId),
        CUSTODIAN_ADDRESS: gw.chain.custodian,
        AUDIT_ANCHOR_ADDRESS: gw.t.auditAnchor,
      },
      [],
      (l) => lines.push(l),
      { openDatabase: async () => shared, transport: gw.t.transport },
    );
    return { code, lines };
  }

  const batchAt = (index: number) =>
    gw.t.client.readContract({
      address: gw.t.auditAnchor,
      abi: auditAnchorAbi,
      functionName: "batchAt",
      args: [gw.chain.custodian, BigInt(index)],
    });

  afterEach(async () => {
    await anchorer?.stop();
    await gw?.close();
  });

  it("anchors the log in contiguous batches from entry 1; the roots match the entries", async () => {
    await setUp();
    const last = await lastAuditSeq(gw.store.db);
    expect(last).to.be.greaterThan(10);
    const results = await anchorer.anchorPending();
    const anchored = results.filter((r) => r.status === "anchored");
    expect(anchored.map((r) => [r.first, r.last])).to.deep.equal(
      Array.from({ length: Math.ceil(last / 10) }, (_, i) => [i * 10 + 1, Math.min(last, i * 10 + 10)]),
    );
    expect(results.at(-1)).to.deep.equal({ status: "up-to-date", anchoredThrough: last });
    expect(await anchorer.nextSequence()).to.equal(last + 1);
    const first = await batchAt(0);
    expect(first.merkleRoot).to.equal(merkleRoot((await auditRange(gw.store.db, 1, 10)).map((e) => e.hash)));
    expect([first.firstSequence, first.lastSequence]).to.deep.equal([1n, 10n]);

    // New traffic, then the periodic job picks it up.
    await gw.read(patientToken, `/fhir/Patient/${patientId}`);
    const target = await lastAuditSeq(gw.store.db);
    expect(target).to.equal(last + 1);
    anchorer.start(1);
    const deadline = Date.now() + 15_000;
    while ((await anchorer.nextSequence()) <= target && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 200));
    expect(await anchorer.nextSequence()).to.equal(target + 1);

    const ok = await verify();
    expect(ok.code, ok.lines.join("\n")).to.equal(0);
    expect(ok.lines.at(-1)).to.match(/^OK/);
  });

  it("audit-verify reports an edited entry (broken chain, root mismatch) and exits non-zero", async () => {
    await setUp();
    await anchorer.anchorPending();
    await tamper(
      gw.store.db,
      sql`UPDATE audit_events SET event = jsonb_set(event, '{outcome}', '"8"'::jsonb) WHERE seq = 3`,
    );
    const { code, lines } = await verify();
    expect(code).to.equal(1);
    const text = lines.join("\n");
    expect(text).to.match(/hash chain BROKEN at entry 3/);
    expect(text).to.match(/batch 0 \(entries 1-10.*MISMATCH/);
    expect(text).to.match(/TAMPERED/);
  });

  it("catches a rewrite with recomputed hashes through the anchored root, and cut-off entries", async () => {
    await setUp();
    await anchorer.anchorPending();
    // Hide who made request 2: another client address, all later hashes recomputed.
    await rewriteFrom(gw.store.db, 2, (e) => ({
      ...e,
      agent: [{ ...e.agent[0]!, network: { address: "10.6.6.6", type: "2" } }],
    }));
    expect((await verifyChain(gw.store.db)).ok, "the forged chain is self-consistent").to.equal(true);
    let result = await verify();
    expect(result.code).to.equal(1);
    expect(result.lines.join("\n")).to.match(/audit log: \d+ entries, hash chain intact/);
    expect(result.lines.join("\n")).to.match(
      /batch 0 \(entries 1-10.*MISMATCH: the log's entries hash to 0x[0-9a-f]{64}, not to the anchored root/,
    );

    const last = await lastAuditSeq(gw.store.db);
    await tamper(gw.store.db, sql`DELETE FROM audit_events WHERE seq > ${last - 2}`);
    result = await verify();
    expect(result.code).to.equal(1);
    expect(result.lines.join("\n")).to.match(/2 of its \d+ entries are missing/);
  });

  it("never anchors a log that does not hash-chain", async () => {
    await setUp();
    await tamper(
      gw.store.db,
      sql`UPDATE audit_events SET event = jsonb_set(event, '{action}', '"D"'::jsonb) WHERE seq = 5`,
    );
    let refused: unknown;
    try {
      await anchorer.anchorOnce();
    } catch (err) {
      refused = err;
    }
    expect(refused).to.be.instanceOf(AuditIntegrityError);
    expect((refused as AuditIntegrityError).seq).to.equal(5);
    expect(await anchorer.nextSequence()).to.equal(1);
  });

  it("never posts a batch larger than the contract's bound", async () => {
    await setUp();
    const bound = await gw.t.client.readContract({
      address: gw.t.auditAnchor,
      abi: auditAnchorAbi,
      functionName: "MAX_BATCH_SIZE",
    });
    expect(BigInt(ANCHOR_MAX_BATCH_SIZE)).to.equal(bound);
    expect(new AuditAnchorer({ db: gw.store.db, chain: gw.chain, maxBatch: 1_000_000 }).maxBatch).to.equal(
      ANCHOR_MAX_BATCH_SIZE,
    );
    expect(new AuditAnchorer({ db: gw.store.db, chain: gw.chain }).maxBatch).to.equal(5000);
  });

  it("a batch the custodian organization supersedes is verified as superseded, its earlier root listed", async () => {
    await setUp();
    await anchorer.anchorPending();
    const anchored = (await batchAt(0)).merkleRoot;
    const bogus = `0x${"66".repeat(32)}` as const;
    await gw.t.write(organization, gw.t.auditAnchor, auditAnchorAbi, "supersede", [gw.chain.custodian, 0n, bogus, 10n]);
    const bad = await verify();
    expect(bad.code).to.equal(1);
    expect(bad.lines.join("\n")).to.match(/batch 0 .*superseding 0x[0-9a-f]{64}.*MISMATCH/);
    // the organization puts the true root back: verified, the whole history still listed
    await gw.t.write(organization, gw.t.auditAnchor, auditAnchorAbi, "supersede", [
      gw.chain.custodian,
      0n,
      anchored,
      10n,
    ]);
    const ok = await verify();
    expect(ok.code, ok.lines.join("\n")).to.equal(0);
    expect(ok.lines.join("\n")).to.include(`superseding ${anchored}, ${bogus}`);
  });

  it("audit-verify reports configuration problems by name", async () => {
    gw = undefined as unknown as TestGateway;
    const lines: string[] = [];
    expect(await runAuditVerify({ GATEWAY_DATA_DIR: ":memory:" }, [], (l) => lines.push(l))).to.equal(78);
    expect(lines.join("\n"))
      .to.match(/RPC_URL: is required/)
      .and.to.match(/CUSTODIAN_ADDRESS: is required/);
    expect(await runAuditVerify({}, ["--bogus"], (l) => lines.push(l))).to.equal(64);
  });
});
