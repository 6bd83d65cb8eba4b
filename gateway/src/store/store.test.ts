import type { Observation, Patient } from "@medplum/fhirtypes";
import { expect } from "chai";
import { sql } from "drizzle-orm";
import { OperationOutcomeError } from "../fhir/outcomes.ts";
import { freshStore, steppingClock, testDatabase, testKey, TEST_MASTER_KEY } from "../testing/fixtures.ts";
import { unwrapDataKey } from "./crypto.ts";
import { rawRows } from "./database.ts";
import { MasterKeyMismatchError, Store, StoreIntegrityError } from "./store.ts";

const FAMILY = "Quibblesworth";

function patient(id: string, family = FAMILY): Patient {
  return {
    resourceType: "Patient",
    id,
    name: [{ family, given: ["Ottoline"] }],
    birthDate: "1961-04-12",
    gender: "female",
  };
}

function observation(patientId: string, id?: string, value = 7.1): Observation {
  return {
    resourceType: "Observation",
    ...(id ? { id } : {}),
    status: "final",
    code: {
      coding: [{ system: "http://loinc.org", code: "4548-4", display: "Hemoglobin A1c/Hemoglobin.total in Blood" }],
    },
    subject: { reference: `Patient/${patientId}` },
    valueQuantity: { value, unit: "%", system: "http://unitsofmeasure.org", code: "%" },
  };
}

async function expectOutcome(promise: Promise<unknown>, status: number, pattern: RegExp): Promise<void> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(OperationOutcomeError);
    expect((err as OperationOutcomeError).status).to.equal(status);
    expect(JSON.stringify((err as OperationOutcomeError).outcome)).to.match(pattern);
    return;
  }
  throw new Error(`expected an OperationOutcomeError ${status}`);
}

async function count(table: string): Promise<number> {
  const db = (await testDatabase()).db;
  const [row] = await rawRows<{ n: number | string }>(db, sql.raw(`SELECT count(*) AS n FROM ${table}`));
  return Number(row?.n);
}

describe("store", function () {
  this.timeout(90_000);
  let store: Store;

  beforeEach(async () => {
    store = await freshStore({ now: steppingClock() });
  });

  it("assigns id, versionId and lastUpdated, and reads back what it stored", async () => {
    const p = await store.putResource(patient("pat-1"));
    expect(p.meta?.versionId).to.equal("1");
    const o = await store.putResource(observation("pat-1"));
    expect(o.id).to.match(/^[0-9a-f-]{36}$/);
    expect(o.meta?.versionId).to.equal("1");
    expect(Date.parse(o.meta!.lastUpdated!)).to.be.greaterThan(Date.parse(p.meta!.lastUpdated!));
    const read = await store.getResource("Observation", o.id!);
    expect(read).to.deep.equal({ kind: "found", resource: o });
    const updated = await store.putResource({ ...o, status: "amended" });
    expect(updated.meta?.versionId).to.equal("2");
    const again = await store.getResource("Observation", o.id!);
    expect(again.kind === "found" && again.resource.status).to.equal("amended");
    expect(await store.getResource("Observation", "nope")).to.deep.equal({ kind: "not-found" });
    expect(await store.getResource("Observation", "bad id'; --")).to.deep.equal({ kind: "not-found" });
  });

  it("keeps versions consistent under concurrent writes of one resource", async () => {
    await store.putResource(patient("pat-c"));
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => store.putResource(observation("pat-c", "obs-c", i))),
    );
    const written = results.filter((r) => r.status === "fulfilled").map((r) => r.value.meta?.versionId);
    // Every acknowledged write got its own version; a lost race is a 409, never a silent overwrite.
    expect(new Set(written).size).to.equal(written.length);
    for (const r of results)
      if (r.status === "rejected") expect((r.reason as OperationOutcomeError).status).to.equal(409);
    const final = await store.getResource("Observation", "obs-c");
    expect(final.kind === "found" && Number(final.resource.meta?.versionId)).to.equal(Math.max(...written.map(Number)));
  });

  it("requires a held, unerased Patient for every other resource", async () => {
    await expectOutcome(store.putResource(observation("ghost")), 400, /Patient\/ghost.*does not hold/);
    await expectOutcome(
      store.putResource({ ...observation("x"), subject: { reference: "Group/g1" } }),
      400,
      /Observation.subject must reference a patient/,
    );
    await expectOutcome(store.putResource({ ...patient("ok"), id: "no spaces allowed" }), 400, /Invalid resource id/);
    expect(await count("resources")).to.equal(0);
    expect(await count("patient_keys")).to.equal(0);
  });

  it("searches one type, by patient, ordered by (lastUpdated, id), with paging and totals", async () => {
    await store.putResource(patient("pat-a"));
    await store.putResource(patient("pat-b"));
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await store.putResource(observation("pat-a", `obs-a${i}`, i))).id!);
    await store.putResource(observation("pat-b", "obs-b0"));
    const page1 = await store.search("Observation", { patient: "pat-a", _count: 2 });
    const page2 = await store.search("Observation", { patient: "pat-a", _count: 2, offset: 2 });
    const page3 = await store.search("Observation", { patient: "pat-a", _count: 2, offset: 4 });
    expect(page1.kind).to.equal("ok");
    if (page1.kind !== "ok" || page2.kind !== "ok" || page3.kind !== "ok") return;
    expect(page1.total).to.equal(5);
    expect([...page1.resources, ...page2.resources, ...page3.resources].map((r) => r.id)).to.deep.equal(ids);
    const all = await store.search("Observation", {});
    expect(all.kind === "ok" && all.total).to.equal(6);
    const counted = await store.search("Observation", { patient: "pat-a", _count: 0 });
    expect(counted).to.deep.equal({ kind: "ok", total: 5, resources: [] });
    expect(await store.search("Observation", { patient: "unknown" })).to.deep.equal({
      kind: "ok",
      total: 0,
      resources: [],
    });
    await expectOutcome(store.search("Observation", { _count: 5000 }), 400, /_count/);
    await expectOutcome(store.search("Observation", { offset: -1 }), 400, /_offset/);
  });

  it("returns a patient's compartment with everything(), Patient first", async () => {
    await store.putResource(patient("pat-e"));
    await store.putResource(observation("pat-e", "o1"));
    await store.putResource({
      resourceType: "Condition",
      id: "c1",
      subject: { reference: "Patient/pat-e" },
      code: { coding: [{ system: "http://snomed.info/sct", code: "44054006" }] },
    });
    const result = await store.everything("pat-e");
    expect(result.kind).to.equal("ok");
    if (result.kind !== "ok") return;
    expect(result.resources.map((r) => `${r.resourceType}/${r.id}`)).to.deep.equal([
      "Patient/pat-e",
      "Observation/o1",
      "Condition/c1",
    ]);
    const only = await store.everything("pat-e", ["Condition"]);
    expect(only.kind === "ok" && only.resources.map((r) => r.id)).to.deep.equal(["c1"]);
  });

  it("stores no plaintext: the table bytes hold ciphertext only", async () => {
    await store.putResource(patient("pat-secret", "Vandermeulenhoff"));
    await store.putResource({
      ...observation("pat-secret"),
      note: [{ text: "Vandermeulenhoff family history of diabetes" }],
    });
    const db = (await testDatabase()).db;
    const rows = await rawRows<{ dump: string }>(
      db,
      sql`SELECT encode(convert_to(r::text, 'UTF8'), 'escape') AS dump FROM resources r`,
    );
    const all = rows.map((r) => r.dump).join("\n");
    expect(all).to.contain("pat-secret"); // control: the plaintext index is there, so the scan sees the rows
    expect(all).not.to.contain("Vandermeulenhoff");
    expect(all).not.to.contain("diabetes");
    const bytes = await rawRows<{ hex: string }>(db, sql`SELECT encode(ciphertext, 'hex') AS hex FROM resources`);
    for (const { hex } of bytes) {
      expect(Buffer.from(hex, "hex").includes(Buffer.from("Vandermeulenhoff"))).to.equal(false);
    }
  });

  it("fetches a record for a read in one query: its patient and wallets, the record sealed until unsealed", async () => {
    await store.putResource(patient("pat-s"));
    const o = await store.putResource(observation("pat-s"));
    await store.putResource(patient("pat-t"));
    const t = await store.putResource(observation("pat-t"));
    const wallets = [
      "did:pkh:eip155:31337:0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
      "did:pkh:eip155:1:0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
    ];
    const db = (await testDatabase()).db;
    await db.execute(sql`INSERT INTO patient_wallets (did, patient_id, linked_at)
      VALUES (${wallets[1]}, 'pat-s', '2025-07-02T00:00:00Z'), (${wallets[0]}, 'pat-s', '2025-07-01T00:00:00Z')`);

    const found = await store.fetchSealed("Observation", o.id!);
    if (found.kind !== "found") throw new Error(`expected found, got ${found.kind}`);
    expect(found.patientId).to.equal("pat-s");
    expect(found.wallets).to.deep.equal(wallets); // oldest link first
    expect(JSON.stringify(found.sealed)).not.to.contain(FAMILY);
    expect(store.unseal(found.sealed)).to.deep.equal(o);
    expect(() => store.unseal({ resourceType: "Observation", id: o.id! })).to.throw(TypeError);

    const other = await store.fetchSealed("Observation", t.id!);
    expect(other.kind === "found" && other.wallets).to.deep.equal([]);
    expect(await store.fetchSealed("Observation", "nope")).to.deep.equal({ kind: "not-found" });
    expect(await store.fetchSealed("Patient", o.id!)).to.deep.equal({ kind: "not-found" });
    expect(await store.fetchSealed("Observation", "bad id'; --")).to.deep.equal({ kind: "not-found" });
    const erased = await store.erasePatient("pat-s");
    expect(await store.fetchSealed("Observation", o.id!)).to.deep.equal({
      kind: "erased",
      patientId: "pat-s",
      erasedAt: erased.erasedAt,
    });
  });

  it("erases a patient: key destroyed, reads say erased, the fact is kept, writes are refused", async () => {
    await store.putResource(patient("pat-x"));
    const o = await store.putResource(observation("pat-x"));
    await store.putResource(patient("pat-y"));
    const code = await store.createLinkCode("pat-x");
    await store.redeemLinkCode(code.code, `did:pkh:eip155:31337:0x70997970C51812dc3A010C7d01b50e0d17dc79C8`);

    const result = await store.erasePatient("pat-x");
    expect(result.alreadyErased).to.equal(false);
    expect(await store.getResource("Observation", o.id!)).to.deep.equal({
      kind: "erased",
      patientId: "pat-x",
      erasedAt: result.erasedAt,
    });
    expect(await store.getResource("Patient", "pat-x")).to.include({ kind: "erased" });
    expect(await store.search("Observation", { patient: "pat-x" })).to.include({ kind: "erased" });
    expect(await store.everything("pat-x")).to.include({ kind: "erased" });
    const all = await store.search("Observation");
    expect(all.kind === "ok" && all.total).to.equal(0);
    expect(await store.getResource("Patient", "pat-y")).to.include({ kind: "found" });

    const db = (await testDatabase()).db;
    const [key] = await rawRows<{ wrapped_key: unknown; erased_at: unknown }>(
      db,
      sql`SELECT wrapped_key, erased_at FROM patient_keys WHERE patient_id = 'pat-x'`,
    );
    expect(key?.wrapped_key).to.equal(null);
    expect(key?.erased_at).not.to.equal(null);
    expect(await count("resources")).to.equal(3); // ciphertext kept, unreadable
    expect(await count("patient_wallets")).to.equal(0);
    expect(await count("link_codes")).to.equal(0);

    await expectOutcome(store.putResource(observation("pat-x")), 410, /erased/);
    await expectOutcome(store.putResource(patient("pat-x")), 410, /erased/);
    expect((await store.erasePatient("pat-x")).alreadyErased).to.equal(true);
    await expectOutcome(store.erasePatient("never-held"), 404, /not held/);
  });

  it("rotates the master key: every data key re-wrapped, data readable with the new key only", async () => {
    const newKey = testKey("rotated");
    await store.putResource(patient("pat-r1"));
    await store.putResource(patient("pat-r2"));
    const o = await store.putResource(observation("pat-r1"));
    await store.putResource(patient("pat-gone"));
    await store.erasePatient("pat-gone");
    const studyKey = await store.studyPseudonymKey("0x00000000000000000000000000000000000000aa:7");
    expect(await store.studyPseudonymKey("0x00000000000000000000000000000000000000aa:7")).to.deep.equal(studyKey);
    expect(await store.studyPseudonymKey("0x00000000000000000000000000000000000000aa:8")).to.not.deep.equal(studyKey);
    const db = (await testDatabase()).db;
    const before = await rawRows<{ patient_id: string; wrapped: string }>(
      db,
      sql`SELECT patient_id, encode(wrapped_key, 'hex') AS wrapped FROM patient_keys WHERE wrapped_key IS NOT NULL ORDER BY patient_id`,
    );

    await expectRejects(store.rotateMasterKey(testKey("not-the-current-key"), newKey), MasterKeyMismatchError);
    const result = await store.rotateMasterKey(TEST_MASTER_KEY, newKey);
    expect(result).to.include({ keyVersion: 2, rewrapped: 2, studyKeys: 2 });
    expect(store.keyVersion).to.equal(2);

    const after = await rawRows<{ patient_id: string; wrapped: string; key_version: number }>(
      db,
      sql`SELECT patient_id, encode(wrapped_key, 'hex') AS wrapped, key_version FROM patient_keys WHERE wrapped_key IS NOT NULL ORDER BY patient_id`,
    );
    expect(after.map((r) => r.patient_id)).to.deep.equal(before.map((r) => r.patient_id));
    after.forEach((row, i) => {
      expect(row.wrapped).not.to.equal(before[i]!.wrapped);
      expect(row.key_version).to.equal(2);
      const wrapped = Buffer.from(row.wrapped, "hex");
      expect(() => unwrapDataKey(TEST_MASTER_KEY, wrapped, row.patient_id)).to.throw();
      expect(unwrapDataKey(newKey, wrapped, row.patient_id).length).to.equal(32);
    });

    // The same store (switched to the new key) and a fresh one with the new key read the data;
    // one opened with the old key is refused.
    expect(await store.getResource("Observation", o.id!)).to.include({ kind: "found" });
    const database = await testDatabase();
    const reopened = await Store.open({ database, masterKey: newKey });
    expect(await reopened.getResource("Observation", o.id!)).to.deep.equal(
      await store.getResource("Observation", o.id!),
    );
    await expectRejects(Store.open({ database, masterKey: TEST_MASTER_KEY }), MasterKeyMismatchError);
    expect(await store.getResource("Patient", "pat-gone")).to.include({ kind: "erased" });
    // A study's pseudonyms survive the rotation (its key was re-wrapped, not replaced).
    expect(await reopened.studyPseudonymKey("0x00000000000000000000000000000000000000aa:7")).to.deep.equal(studyKey);
  });

  it("leaves nothing changed when a rotation fails midway", async () => {
    await store.putResource(patient("pat-1"));
    await store.putResource(patient("pat-2"));
    const db = (await testDatabase()).db;
    // Corrupt one wrapped key: rotation must fail on it and roll back the other re-wrap.
    await db.execute(
      sql`UPDATE patient_keys SET wrapped_key = set_byte(wrapped_key, 29, (get_byte(wrapped_key, 29) + 1) % 256) WHERE patient_id = 'pat-2'`,
    );
    const before = await rawRows<{ wrapped: string }>(
      db,
      sql`SELECT encode(wrapped_key, 'hex') AS wrapped FROM patient_keys ORDER BY patient_id`,
    );
    await expectRejects(store.rotateMasterKey(TEST_MASTER_KEY, testKey("next")), StoreIntegrityError);
    const after = await rawRows<{ wrapped: string }>(
      db,
      sql`SELECT encode(wrapped_key, 'hex') AS wrapped FROM patient_keys ORDER BY patient_id`,
    );
    expect(after).to.deep.equal(before);
    expect(store.keyVersion).to.equal(1);
    expect(await store.getResource("Patient", "pat-1")).to.include({ kind: "found" });
    await expectRejects(store.getResource("Patient", "pat-2"), StoreIntegrityError);
  });

  it("reports tampered ciphertext as an integrity error, never as data", async () => {
    await store.putResource(patient("pat-t"));
    const db = (await testDatabase()).db;
    await db.execute(
      sql`UPDATE resources SET ciphertext = set_byte(ciphertext, 4, (get_byte(ciphertext, 4) + 1) % 256) WHERE id = 'pat-t'`,
    );
    await expectRejects(store.getResource("Patient", "pat-t"), StoreIntegrityError);
    // Moving a row's ciphertext onto another row is detected too (associated data binds it).
    await store.putResource(patient("pat-u"));
    await store.putResource(patient("pat-v"));
    await db.execute(
      sql`UPDATE resources SET ciphertext = s.ciphertext, iv = s.iv, auth_tag = s.auth_tag FROM resources s WHERE resources.id = 'pat-v' AND s.id = 'pat-u'`,
    );
    await expectRejects(store.getResource("Patient", "pat-v"), StoreIntegrityError);
  });

  it("commits a transaction all-or-nothing", async () => {
    await expectOutcome(
      store.transaction(async (tx) => {
        await tx.putResource(patient("pat-t1"));
        await tx.putResource(observation("pat-t1", "obs-t1"));
        await tx.putResource(observation("not-held"));
      }),
      400,
      /not-held/,
    );
    expect(await count("resources")).to.equal(0);
    expect(await count("patient_keys")).to.equal(0);
    await store.transaction(async (tx) => {
      await tx.putResource(patient("pat-t1"));
      await tx.putResource(observation("pat-t1", "obs-t1"));
    });
    expect(await count("resources")).to.equal(2);
  });

  it("links a wallet to a patient with a single-use, expiring code", async () => {
    await store.putResource(patient("pat-w"));
    expect(await store.patientWallets("pat-w")).to.deep.equal({ kind: "active", wallets: [] });
    const wallet = "did:pkh:eip155:31337:0x70997970c51812dc3a010c7d01b50e0d17dc79c8";
    const code = await store.createLinkCode("pat-w", { ttlSeconds: 60 });
    expect(code.code).to.match(/^[0-9A-Z]{5}(-[0-9A-Z]{5}){4}$/);
    const db = (await testDatabase()).db;
    const stored = await rawRows<{ code_hash: string }>(db, sql`SELECT code_hash FROM link_codes`);
    expect(JSON.stringify(stored)).not.to.contain(code.code.replace(/-/g, ""));
    const linked = await store.redeemLinkCode(code.code.toLowerCase(), wallet);
    expect(linked).to.deep.equal({
      patientId: "pat-w",
      did: "did:pkh:eip155:31337:0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    });
    await expectOutcome(store.redeemLinkCode(code.code, wallet), 400, /Invalid, expired or already used/);
    expect(await store.findPatientByWallet(wallet)).to.equal("pat-w");
    expect(await store.listWallets("pat-w")).to.deep.equal([linked.did]);
    expect(await store.patientWallets("pat-w")).to.deep.equal({ kind: "active", wallets: [linked.did] });
    expect(await store.patientWallets("nobody")).to.deep.equal({ kind: "unknown" });
    expect(await store.patientWallets("not an id!")).to.deep.equal({ kind: "unknown" });

    // Expired codes are refused: a store whose clock is past the expiry.
    const database = await testDatabase();
    const later = await Store.open({
      database,
      masterKey: TEST_MASTER_KEY,
      now: () => new Date(code.expiresAt.getTime() + 1000),
    });
    const code2 = await store.createLinkCode("pat-w", { ttlSeconds: 1 });
    await expectOutcome(later.redeemLinkCode(code2.code, wallet), 400, /expired/);
    await expectOutcome(store.redeemLinkCode("AAAAA-BBBBB", wallet), 400, /Invalid/);
    await expectOutcome(store.redeemLinkCode(code2.code, "did:pkh:eip155:1:0xnotanaddress"), 400, /did:pkh/);
    // A wallet belongs to one patient.
    await store.putResource(patient("pat-w2"));
    const code3 = await store.createLinkCode("pat-w2");
    await expectOutcome(store.redeemLinkCode(code3.code, wallet), 409, /another patient/);
    await expectOutcome(store.createLinkCode("nobody"), 404, /not held/);

    // An erased patient has none.
    await store.erasePatient("pat-w");
    expect(await store.patientWallets("pat-w")).to.deep.equal({ kind: "erased" });
  });

  it("refuses to start with a master key other than the database's", async () => {
    await store.putResource(patient("pat-k"));
    const database = await testDatabase();
    await expectRejects(Store.open({ database, masterKey: testKey("intruder") }), MasterKeyMismatchError);
  });
});

async function expectRejects(promise: Promise<unknown>, type: new (...args: never[]) => Error): Promise<void> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(type);
    return;
  }
  throw new Error(`expected ${type.name}`);
}
