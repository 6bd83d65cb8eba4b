import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Database } from "../store/database.ts";
import { Store } from "../store/store.ts";
import { freshStore, testDatabase, testKey, TEST_MASTER_KEY } from "../testing/fixtures.ts";
import { sql } from "drizzle-orm";
import { decryptRecord, unwrapDataKey } from "../store/crypto.ts";
import { rawRows } from "../store/database.ts";
import { runErasePatient } from "./erase-patient.ts";
import { runRotateKey } from "./rotate-key.ts";
import { syntheticBundleJson } from "./synthetic.ts";

describe("cli", function () {
  this.timeout(90_000);
  const dir = mkdtempSync(path.join(tmpdir(), "consentry-cli-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** The shared test database, which the tool must not close. */
  async function shared(): Promise<Database> {
    const database = await testDatabase();
    return { ...database, close: async () => undefined };
  }

  it("rotate-key re-wraps the keys with the new key read from a file", async () => {
    const store = await freshStore();
    await store.putResource({ resourceType: "Patient", id: "cli-p1" });
    const newKey = testKey("cli-new");
    const keyFile = path.join(dir, "new.key");
    writeFileSync(keyFile, `${newKey.toString("hex")}\n`, { mode: 0o600 });
    const lines: string[] = [];
    const code = await runRotateKey(
      {
        GATEWAY_MASTER_KEY: TEST_MASTER_KEY.toString("hex"),
        GATEWAY_NEW_MASTER_KEY_FILE: keyFile,
        GATEWAY_DATA_DIR: ":memory:",
      },
      [],
      (l) => lines.push(l),
      shared,
    );
    expect(code, lines.join("\n")).to.equal(0);
    const report = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(report).to.include({ rotated: true, keyVersion: 2, rewrappedDataKeys: 1 });
    expect(lines.join("")).not.to.contain(newKey.toString("hex"));
    const reopened = await Store.open({ database: await testDatabase(), masterKey: newKey });
    expect(await reopened.getResource("Patient", "cli-p1")).to.include({ kind: "found" });
  });

  it("rotate-key refuses keys on the command line and reports missing keys by name", async () => {
    const lines: string[] = [];
    expect(await runRotateKey({}, ["--new-key", "abcd"], (l) => lines.push(l), shared)).to.equal(64);
    expect(lines[0]).to.match(/no arguments but --new-data-keys/);
    expect(
      await runRotateKey({ GATEWAY_MASTER_KEY: TEST_MASTER_KEY.toString("hex") }, [], (l) => lines.push(l), shared),
    ).to.equal(78);
    expect(lines[1]).to.match(/GATEWAY_NEW_MASTER_KEY: is required/);
  });

  it("rotate-key --new-data-keys re-encrypts every record under a new data key: the old data key opens nothing", async () => {
    const store = await freshStore();
    await store.putResource({ resourceType: "Patient", id: "cli-r1", gender: "female" });
    await store.putResource({
      resourceType: "Observation",
      id: "cli-r1-obs",
      status: "final",
      code: { text: "x" },
      subject: { reference: "Patient/cli-r1" },
    });
    const cipher = async () =>
      rawRows<{ type: string; id: string; version: number; ciphertext: string; iv: string; tag: string }>(
        store.db,
        sql`SELECT resource_type AS type, id, version, encode(ciphertext, 'hex') AS ciphertext, encode(iv, 'hex') AS iv, encode(auth_tag, 'hex') AS tag FROM resources WHERE patient_id = 'cli-r1' ORDER BY id`,
      );
    const [wrapped] = await rawRows<{ k: string }>(
      store.db,
      sql`SELECT encode(wrapped_key, 'hex') AS k FROM patient_keys WHERE patient_id = 'cli-r1'`,
    );
    const oldDataKey = unwrapDataKey(TEST_MASTER_KEY, Buffer.from(wrapped!.k, "hex"), "cli-r1");
    const before = await cipher();
    const newKey = testKey("cli-new-data-keys");
    const lines: string[] = [];
    const code = await runRotateKey(
      {
        GATEWAY_MASTER_KEY: TEST_MASTER_KEY.toString("hex"),
        GATEWAY_NEW_MASTER_KEY: newKey.toString("hex"),
        GATEWAY_DATA_DIR: ":memory:",
      },
      ["--new-data-keys"],
      (l) => lines.push(l),
      shared,
    );
    expect(code, lines.join("\n")).to.equal(0);
    expect(JSON.parse(lines[0]!)).to.include({ rotated: true, newDataKeys: 1, reencryptedRecords: 2 });
    const after = await cipher();
    expect(after.map((r) => r.id)).to.deep.equal(before.map((r) => r.id));
    for (const [i, row] of after.entries()) expect(row.ciphertext).to.not.equal(before[i]!.ciphertext);
    const reopened = await Store.open({ database: await testDatabase(), masterKey: newKey });
    const read = await reopened.getResource("Observation", "cli-r1-obs");
    expect(read.kind === "found" && read.resource.status).to.equal("final");
    // The old data key (a copy of the old wrapped key and the old master key) decrypts none of the rows.
    const opens = (row: (typeof after)[number]) => {
      try {
        decryptRecord(
          oldDataKey,
          {
            ciphertext: Buffer.from(row.ciphertext, "hex"),
            iv: Buffer.from(row.iv, "hex"),
            authTag: Buffer.from(row.tag, "hex"),
          },
          { resourceType: row.type, id: row.id, version: row.version, patientId: "cli-r1" },
        );
        return true;
      } catch {
        return false;
      }
    };
    expect(before.map(opens)).to.deep.equal([true, true]);
    expect(after.map(opens)).to.deep.equal([false, false]);
  });

  it("erase-patient erases a patient held here and says so; refuses bad usage and unknown patients", async () => {
    const store = await freshStore();
    await store.putResource({ resourceType: "Patient", id: "cli-e1" });
    const env = { GATEWAY_MASTER_KEY: TEST_MASTER_KEY.toString("hex"), GATEWAY_DATA_DIR: ":memory:" };
    const lines: string[] = [];
    expect(await runErasePatient(env, ["cli-e1"], (l) => lines.push(l), shared)).to.equal(0);
    expect(JSON.parse(lines[0]!)).to.include({ erased: true, patientId: "cli-e1", alreadyErased: false });
    expect((await store.getResource("Patient", "cli-e1")).kind).to.equal("erased");
    const [audit] = await rawRows<{ n: number }>(
      store.db,
      sql`SELECT count(*)::int AS n FROM audit_events WHERE patient_id = 'cli-e1' AND event::text LIKE '%erase-patient%'`,
    );
    expect(audit?.n).to.equal(1);
    expect(await runErasePatient(env, ["cli-e1"], (l) => lines.push(l), shared)).to.equal(0);
    expect(JSON.parse(lines[1]!)).to.include({ alreadyErased: true });
    expect(await runErasePatient(env, ["nobody"], (l) => lines.push(l), shared)).to.equal(1);
    expect(lines[2]).to.match(/not held/);
    expect(await runErasePatient(env, [], (l) => lines.push(l), shared)).to.equal(64);
    expect(await runErasePatient(env, ["a", "b"], (l) => lines.push(l), shared)).to.equal(64);
    expect(await runErasePatient({}, ["cli-e1"], (l) => lines.push(l), shared)).to.equal(78);
  });

  it("synthetic prints a deterministic transaction bundle", () => {
    const args = ["--seed", "9", "--custodian", "Lakeside Family Clinic", "--patients", "2"];
    const json = syntheticBundleJson(args);
    expect(JSON.parse(json)).to.include({ resourceType: "Bundle", type: "transaction" });
    expect(syntheticBundleJson(args)).to.equal(json);
    expect(() => syntheticBundleJson(["--seed", "1"])).to.throw(/--custodian/);
  });
});
