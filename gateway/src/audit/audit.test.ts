import type { AuditEvent } from "@medplum/fhirtypes";
import { expect } from "chai";
import { sql } from "drizzle-orm";
import { readFileSync } from "node:fs";
import type { Hex } from "viem";
import { concat, keccak256 } from "viem/utils";
import { assertValidFhir, loadFhirDefinitions } from "../fhir/validation.ts";
import { openDatabase, rawRows, type GatewayDb } from "../store/database.ts";
import { freshStore, pgliteTemplatePath, testDatabase } from "../testing/fixtures.ts";
import { canonicalJson } from "./canonical.ts";
import { buildAuditEvent, type AuditInput } from "./events.ts";
import { appendAudit, AuditWriter, entryHash, GENESIS_HASH, listAudit, verifyChain } from "./log.ts";
import { merkleLeaf, merkleProof, merkleRoot, verifyMerkleProof } from "./merkle.ts";

const WALLET = "did:pkh:eip155:31337:0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

function input(overrides: Partial<AuditInput> = {}): AuditInput {
  return {
    interaction: "read",
    outcome: "success",
    recorded: new Date("2025-07-01T10:00:00.000Z"),
    agent: { kind: "humanUser", did: WALLET, address: "127.0.0.1" },
    purposeOfUse: "TREAT",
    patientId: "pat-1",
    resource: { type: "Observation", id: "obs-1" },
    source: { observer: "Riverside General Hospital gateway" },
    ...overrides,
  };
}

/** Runs raw SQL with the append-only trigger lifted: what a database owner could do. */
async function tamper(db: GatewayDb, statement: ReturnType<typeof sql>): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.execute(sql`ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update_delete`);
    await tx.execute(statement);
    await tx.execute(sql`ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update_delete`);
  });
}

describe("audit events", function () {
  this.timeout(90_000);
  before(() => loadFhirDefinitions());

  it("builds valid FHIR AuditEvents from the code tables", () => {
    const read = buildAuditEvent(input());
    assertValidFhir(read);
    expect(read.type).to.deep.equal({
      system: "http://terminology.hl7.org/CodeSystem/audit-event-type",
      code: "rest",
      display: "RESTful Operation",
    });
    expect(read.subtype?.[0]?.code).to.equal("read");
    expect(read.action).to.equal("R");
    expect(read.outcome).to.equal("0");
    expect(read.agent[0]?.who?.identifier).to.deep.equal({ system: "urn:ietf:rfc:3986", value: WALLET });
    expect(read.purposeOfEvent?.[0]?.coding?.[0]).to.include({
      system: "http://terminology.hl7.org/CodeSystem/v3-ActReason",
      code: "TREAT",
    });
    expect(read.entity?.map((e) => e.what?.reference)).to.deep.equal(["Patient/pat-1", "Observation/obs-1"]);

    const search = buildAuditEvent(
      input({
        interaction: "search-type",
        resource: { type: "Observation" },
        query: "patient=pat-1&_count=20",
        outcome: "minorFailure",
        outcomeDesc: "No consent",
      }),
    );
    assertValidFhir(search);
    expect(search.action).to.equal("E");
    expect(search.outcome).to.equal("4");
    expect(Buffer.from(search.entity?.[2]?.query ?? "", "base64").toString()).to.equal("patient=pat-1&_count=20");

    const create = buildAuditEvent(
      input({
        interaction: "create",
        outcome: "seriousFailure",
        agent: { kind: "dataCollector", display: "ingestion" },
      }),
    );
    assertValidFhir(create);
    expect([create.action, create.outcome]).to.deep.equal(["C", "8"]);

    // Research purposes are GA4GH DUO codes, from the sdk's one table.
    const research = buildAuditEvent(input({ purposeOfUse: "HMB" }));
    assertValidFhir(research);
    expect(research.purposeOfEvent?.[0]?.coding?.[0]).to.include({
      system: "http://purl.obolibrary.org/obo/duo.owl",
      code: "DUO:0000006",
    });
  });

  it("canonicalizes JSON independently of key order", () => {
    expect(canonicalJson({ b: 1, a: [true, null, "x"], c: { z: undefined, y: "é" } })).to.equal(
      '{"a":[true,null,"x"],"b":1,"c":{"y":"é"}}',
    );
    expect(canonicalJson({ a: 1, b: 2 })).to.equal(canonicalJson({ b: 2, a: 1 }));
    expect(() => canonicalJson({ n: Number.NaN })).to.throw();
  });
});

describe("audit log", function () {
  this.timeout(90_000);
  let db: GatewayDb;

  beforeEach(async () => {
    await freshStore();
    db = (await testDatabase()).db;
  });

  async function appendMany(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      await appendAudit(
        db,
        buildAuditEvent(
          input({
            patientId: i % 2 === 0 ? "pat-even" : "pat-odd",
            recorded: new Date(Date.UTC(2025, 6, 1, 10, 0, i)),
          }),
        ),
      );
    }
  }

  it("chains entries: hash = sha256(prev_hash || canonical JSON), seq gapless", async () => {
    const first = await appendAudit(db, buildAuditEvent(input()));
    const second = await appendAudit(db, buildAuditEvent(input({ interaction: "search-type" })));
    expect(first.seq).to.equal(1);
    expect(first.prevHash).to.equal(GENESIS_HASH);
    expect(second.seq).to.equal(2);
    expect(second.prevHash).to.equal(first.hash);
    expect(second.hash).to.equal(entryHash(first.hash, second.event));
    expect(await verifyChain(db)).to.deep.equal({ ok: true, entries: 2, head: { seq: 2, hash: second.hash } });
  });

  it("builds one gapless chain from concurrent appends", async () => {
    const database = await testDatabase();
    const entries = await Promise.all(
      Array.from({ length: 12 }, (_, i) => appendAudit(database.db, buildAuditEvent(input({ patientId: `pat-${i}` })))),
    );
    expect(entries.map((e) => e.seq).sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(await verifyChain(db)).to.deep.include({ ok: true, entries: 12 });
  });

  it("group-commits concurrent appends: one chain, each caller its own entry, batches bounded", async () => {
    const writer = new AuditWriter(db, { maxBatch: 16 });
    const events = Array.from({ length: 100 }, (_, i) => buildAuditEvent(input({ patientId: `pat-${i}` })));
    // One caller with three events (a request audited for several patients): kept together.
    const group = ["grp-a", "grp-b", "grp-c"].map((patientId) => buildAuditEvent(input({ patientId })));
    const [entries, grouped] = await Promise.all([
      Promise.all(events.map(async (e) => (await writer.append([e]))[0]!)),
      writer.append(group),
    ]);
    entries.forEach((entry, i) => {
      expect(entry.event.id).to.equal(events[i]!.id);
      expect(entry.patientId).to.equal(`pat-${i}`);
      expect(entry.hash).to.equal(entryHash(entry.prevHash, entry.event));
    });
    expect(grouped.map((e) => e.event.id)).to.deep.equal(group.map((e) => e.id));
    expect(grouped.map((e) => e.seq - grouped[0]!.seq)).to.deep.equal([0, 1, 2]);
    const seqs = [...entries, ...grouped].map((e) => e.seq).sort((a, b) => a - b);
    expect(seqs).to.deep.equal(Array.from({ length: 103 }, (_, i) => i + 1));
    expect(writer.stats.largestBatch).to.be.within(2, 16);
    expect(writer.stats.transactions).to.be.below(103 / 2);
    expect(writer.stats.committed).to.equal(103);
    expect(await verifyChain(db)).to.deep.include({ ok: true, entries: 103 });
    const [stored] = await listAudit(db, "pat-7");
    expect(stored).to.deep.equal(entries[7]);
  });

  it("fails only the caller whose event the database refuses; the queue goes on", async () => {
    const writer = new AuditWriter(db);
    // Written first, so that the batch below is tried in one statement after it before it is split.
    await writer.append([buildAuditEvent(input())]);
    const events = Array.from({ length: 9 }, (_, i) =>
      buildAuditEvent(input(i === 4 ? { outcome: "minorFailure", outcomeDesc: "refuse me (test)" } : {})),
    );
    // The database refuses the INSERT of that one (text it cannot store is made storable first:
    // a NUL no longer does it).
    await db.execute(sql`CREATE FUNCTION test_refuse_one() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.event->>'outcomeDesc' = 'refuse me (test)' THEN RAISE EXCEPTION 'refused (test)'; END IF;
      RETURN NEW; END $$`);
    await db.execute(sql`CREATE TRIGGER test_refuse_one BEFORE INSERT ON audit_events
      FOR EACH ROW EXECUTE FUNCTION test_refuse_one()`);
    let settled: Array<PromiseSettledResult<unknown>>;
    try {
      settled = await Promise.allSettled(events.map((e) => writer.append([e])));
    } finally {
      await db.execute(sql`DROP TRIGGER test_refuse_one ON audit_events`);
      await db.execute(sql`DROP FUNCTION test_refuse_one()`);
    }
    expect(settled.map((s) => s.status)).to.deep.equal(events.map((_, i) => (i === 4 ? "rejected" : "fulfilled")));
    const reason = (settled[4] as PromiseRejectedResult).reason as Error & { cause?: unknown };
    expect(`${String(reason)} ${String(reason.cause)}`).to.match(/refused \(test\)/);
    const next = await writer.append([buildAuditEvent(input())]);
    expect(next[0]!.seq).to.equal(10);
    expect(await verifyChain(db)).to.deep.include({ ok: true, entries: 10 });
  });

  it("rejects every waiting caller once the database is closed, and never hangs", async () => {
    const url = process.env["DATABASE_URL"];
    const template = await pgliteTemplatePath();
    const own = url
      ? await openDatabase({ kind: "postgres", url, maxConnections: 2 })
      : await openDatabase({ kind: "pglite", template: template ? new Blob([readFileSync(template)]) : undefined });
    const writer = new AuditWriter(own.db);
    await writer.append([buildAuditEvent(input())]);
    await own.close();
    const settled = await Promise.allSettled(
      Array.from({ length: 5 }, () => writer.append([buildAuditEvent(input())])),
    );
    expect(settled.map((s) => s.status)).to.deep.equal(Array(5).fill("rejected"));
  });

  it("builds one chain from several writers on one PostgreSQL (gateway instances)", async function () {
    const url = process.env["DATABASE_URL"];
    if (!url) return this.skip(); // PGlite: one process per database
    const instances = await Promise.all(
      [1, 2, 3].map(() => openDatabase({ kind: "postgres", url, maxConnections: 2 })),
    );
    try {
      const writers = instances.map((d) => new AuditWriter(d.db));
      const entries = await Promise.all(
        Array.from({ length: 60 }, (_, i) => writers[i % 3]!.append([buildAuditEvent(input({ patientId: `p-${i}` }))])),
      );
      // Rounds in which every writer's last entry is no longer the log's end when it writes again.
      for (let round = 0; round < 5; round++) {
        for (const [w, writer] of writers.entries()) {
          entries.push(await writer.append([buildAuditEvent(input({ patientId: `r-${round}-${w}` }))]));
        }
      }
      expect(new Set(entries.map(([e]) => e!.seq)).size).to.equal(75);
      expect(writers.reduce((n, w) => n + w.stats.locked, 0)).to.be.at.least(15);
      expect(await verifyChain(db)).to.deep.include({ ok: true, entries: 75 });
    } finally {
      await Promise.all(instances.map((d) => d.close()));
    }
  });

  it("writes a batch in one statement after its own last entry, and the locked way when the log ends elsewhere", async () => {
    const writer = new AuditWriter(db);
    const one = async () => (await writer.append([buildAuditEvent(input())]))[0]!;
    await one(); // the first batch: the locked way (the writer does not know where the log ends)
    await one();
    await one();
    expect(writer.stats).to.include({ transactions: 3, locked: 1 });
    // Another writer appends (a caller's own transaction): this writer's next batch finds out and
    // chains after that entry instead.
    const foreign = await db.transaction((tx) => appendAudit(tx, buildAuditEvent(input())));
    const after = await one();
    expect(after.prevHash).to.equal(foreign.hash);
    expect(after.seq).to.equal(5);
    expect(writer.stats).to.include({ transactions: 4, locked: 2 });
    // The log emptied underneath it (a test's fresh store): it starts again from the genesis hash.
    await freshStore();
    const restarted = await one();
    expect(restarted).to.include({ seq: 1, prevHash: GENESIS_HASH });
    await one();
    expect(writer.stats).to.include({ transactions: 6, locked: 3 });
    expect(await verifyChain(db)).to.deep.include({ ok: true, entries: 2 });
  });

  it("refuses to group-commit on a transaction, and appends atomically inside one", async () => {
    await db
      .transaction(async (tx) => {
        expect(() => new AuditWriter(tx)).to.throw(TypeError);
        await appendAudit(tx, buildAuditEvent(input()));
        throw new Error("roll back");
      })
      .catch(() => undefined);
    expect(await verifyChain(db)).to.deep.include({ ok: true, entries: 0 });
  });

  it("lists a patient's own trail in order", async () => {
    await appendMany(6);
    const even = await listAudit(db, "pat-even");
    expect(even.map((e) => e.seq)).to.deep.equal([1, 3, 5]);
    expect(even.every((e) => e.event.entity?.[0]?.what?.reference === "Patient/pat-even")).to.equal(true);
    expect((await listAudit(db, "pat-even", { afterSeq: 3 })).map((e) => e.seq)).to.deep.equal([5]);
  });

  it("refuses UPDATE, DELETE and TRUNCATE through the append-only trigger", async () => {
    await appendMany(2);
    for (const statement of [
      sql`UPDATE audit_events SET patient_id = 'x'`,
      sql`DELETE FROM audit_events`,
      sql`TRUNCATE audit_events`,
    ]) {
      let refused = false;
      try {
        await db.execute(statement);
      } catch (err) {
        refused = /append-only/.test(
          String((err as Error).message) + String((err as { cause?: Error }).cause?.message),
        );
      }
      expect(refused, String(statement.queryChunks[0])).to.equal(true);
    }
    expect((await verifyChain(db)).ok).to.equal(true);
  });

  it("detects a modified event", async () => {
    await appendMany(5);
    await tamper(
      db,
      sql`UPDATE audit_events SET event = jsonb_set(event, '{outcome}', '"0"'::jsonb) || '{"outcomeDesc":"edited"}'::jsonb WHERE seq = 3`,
    );
    expect(await verifyChain(db)).to.deep.equal({ ok: false, seq: 3, reason: "hash does not match the event" });
  });

  it("detects a modified event whose hash was recomputed (the next link breaks)", async () => {
    await appendMany(5);
    const [row] = await rawRows<{ prev_hash: string; event: AuditEvent }>(
      db,
      sql`SELECT prev_hash, event FROM audit_events WHERE seq = 2`,
    );
    const forged: AuditEvent = { ...row!.event, outcome: "8" };
    await tamper(
      db,
      sql`UPDATE audit_events SET event = ${JSON.stringify(forged)}::jsonb, hash = ${entryHash(row!.prev_hash, forged)} WHERE seq = 2`,
    );
    expect(await verifyChain(db)).to.deep.equal({
      ok: false,
      seq: 3,
      reason: "prev_hash does not match the previous entry's hash",
    });
  });

  it("detects a deleted entry, and a re-pointed patient_id", async () => {
    await appendMany(5);
    await tamper(db, sql`DELETE FROM audit_events WHERE seq = 4`);
    expect(await verifyChain(db)).to.deep.include({ ok: false, seq: 4 });
    await freshStore();
    await appendMany(3);
    await tamper(db, sql`UPDATE audit_events SET patient_id = 'someone-else' WHERE seq = 2`);
    expect(await verifyChain(db)).to.deep.equal({
      ok: false,
      seq: 2,
      reason: "patient_id column does not match the event",
    });
  });

  it("detects truncation of the newest entries against an anchored head", async () => {
    await appendMany(5);
    const anchored = await verifyChain(db);
    if (!anchored.ok || !anchored.head) throw new Error("chain should verify");
    await tamper(db, sql`DELETE FROM audit_events WHERE seq >= 4`);
    expect((await verifyChain(db)).ok, "a shorter chain is self-consistent").to.equal(true);
    expect(await verifyChain(db, { expectedHead: anchored.head })).to.deep.include({ ok: false, seq: 5 });
  });

  it("verifies long chains page by page", async () => {
    await appendMany(7);
    expect(await verifyChain(db, { pageSize: 2 })).to.deep.include({ ok: true, entries: 7 });
    await tamper(db, sql`UPDATE audit_events SET event = jsonb_set(event, '{action}', '"D"'::jsonb) WHERE seq = 6`);
    expect(await verifyChain(db, { pageSize: 2 })).to.deep.include({ ok: false, seq: 6 });
  });
});

describe("audit merkle root", () => {
  const hashes = Array.from({ length: 9 }, (_, i) =>
    entryHash(GENESIS_HASH, { resourceType: "AuditEvent", id: String(i) } as AuditEvent),
  );

  it("hashes leaves and sorted pairs with keccak256", () => {
    expect(merkleRoot(hashes.slice(0, 1))).to.equal(keccak256(`0x${hashes[0]}`));
    const [a, b] = [merkleLeaf(hashes[0]!), merkleLeaf(hashes[1]!)];
    const pair = a < b ? keccak256(concat([a, b])) : keccak256(concat([b, a]));
    expect(merkleRoot(hashes.slice(0, 2))).to.equal(pair);
    // Three leaves: the odd one is carried up.
    const c = merkleLeaf(hashes[2]!);
    const sorted = (x: Hex, y: Hex) => (x < y ? keccak256(concat([x, y])) : keccak256(concat([y, x])));
    expect(merkleRoot(hashes.slice(0, 3))).to.equal(sorted(pair, c));
    expect(() => merkleRoot([])).to.throw(/empty/);
  });

  it("proves every entry of batches of every size, and changes with any entry", () => {
    for (let n = 1; n <= hashes.length; n++) {
      const batch = hashes.slice(0, n);
      const root = merkleRoot(batch);
      for (let i = 0; i < n; i++) {
        expect(verifyMerkleProof(batch[i]!, merkleProof(batch, i), root), `n=${n} i=${i}`).to.equal(true);
        expect(verifyMerkleProof(hashes[(i + 1) % hashes.length]!, merkleProof(batch, i), root) && n > 1).to.equal(
          false,
        );
      }
      if (n > 1) {
        const altered = [...batch];
        altered[n - 1] = GENESIS_HASH;
        expect(merkleRoot(altered)).not.to.equal(root);
      }
    }
  });
});
