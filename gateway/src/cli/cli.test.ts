import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Database } from "../store/database.ts";
import { Store } from "../store/store.ts";
import { freshStore, testDatabase, testKey, TEST_MASTER_KEY } from "../testing/fixtures.ts";
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
    expect(lines[0]).to.match(/no arguments/);
    expect(
      await runRotateKey({ GATEWAY_MASTER_KEY: TEST_MASTER_KEY.toString("hex") }, [], (l) => lines.push(l), shared),
    ).to.equal(78);
    expect(lines[1]).to.match(/GATEWAY_NEW_MASTER_KEY: is required/);
  });

  it("synthetic prints a deterministic transaction bundle", () => {
    const args = ["--seed", "9", "--custodian", "Lakeside Family Clinic", "--patients", "2"];
    const json = syntheticBundleJson(args);
    expect(JSON.parse(json)).to.include({ resourceType: "Bundle", type: "transaction" });
    expect(syntheticBundleJson(args)).to.equal(json);
    expect(() => syntheticBundleJson(["--seed", "1"])).to.throw(/--custodian/);
  });
});
