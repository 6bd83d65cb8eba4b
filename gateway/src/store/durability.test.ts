import { expect } from "chai";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { testKey } from "../testing/fixtures.ts";
import { openDatabase } from "./database.ts";
import { Store } from "./store.ts";

const CHILD = fileURLToPath(new URL("../testing/durability-child.ts", import.meta.url));
const FAMILY = "Zanzibarovna";

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .map((f) => path.join(dir, f))
    .filter((f) => statSync(f).isFile());
}

/** Starts the child, waits for its ACK line, then SIGKILLs it (no clean shutdown at all). */
function writeThenKill(dir: string, keyHex: string): Promise<{ patientId: string; observationId: string; fsyncsForOneWrite: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD], {
      env: { ...process.env, GATEWAY_TEST_DIR: dir, GATEWAY_TEST_KEY: keyHex, GATEWAY_TEST_FAMILY: FAMILY },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    let ack: unknown;
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const m = /^ACK (.*)$/m.exec(out);
      if (m && ack === undefined) {
        ack = JSON.parse(m[1]!);
        child.kill("SIGKILL");
      }
    });
    child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
    child.on("exit", (_code, signal) => {
      if (ack !== undefined && signal === "SIGKILL") resolve(ack as never);
      else reject(new Error(`child ended without ACK (signal ${signal}): ${err}`));
    });
  });
}

describe("store durability (PGlite on disk)", function () {
  this.timeout(60_000);
  const dir = mkdtempSync(path.join(tmpdir(), "consentry-durability-"));
  const key = testKey("durability");

  after(() => rmSync(dir, { recursive: true, force: true }));

  it("keeps an acknowledged write across kill -9, and no plaintext reaches the disk", async () => {
    const ack = await writeThenKill(dir, key.toString("hex"));
    expect(ack.fsyncsForOneWrite, "a commit must fsync").to.be.greaterThan(0);

    // Restart (stale lock of the killed process is taken over) and find the records.
    const database = await openDatabase({ kind: "pglite", dataDir: dir });
    try {
      const store = await Store.open({ database, masterKey: key });
      const patient = await store.getResource("Patient", ack.patientId);
      expect(patient.kind).to.equal("found");
      expect(patient.kind === "found" && patient.resource.name?.[0]?.family).to.equal(FAMILY);
      const observation = await store.getResource("Observation", ack.observationId);
      expect(observation.kind === "found" && observation.resource.valueQuantity?.value).to.equal(13.2);
    } finally {
      await database.close();
    }

    // Every byte PGlite wrote (heap, indexes, WAL, …): the plaintext index values are there,
    // the name is not — in UTF-8 or UTF-16.
    const files = filesUnder(dir);
    expect(files.length).to.be.greaterThan(100);
    let indexHits = 0;
    for (const file of files) {
      const bytes = readFileSync(file);
      if (bytes.includes(Buffer.from(ack.observationId))) indexHits++;
      expect(bytes.includes(Buffer.from(FAMILY, "utf8")), `plaintext in ${path.relative(dir, file)}`).to.equal(false);
      expect(bytes.includes(Buffer.from(FAMILY, "utf16le"))).to.equal(false);
      expect(bytes.includes(Buffer.from("Persephone"))).to.equal(false);
    }
    expect(indexHits, "control: the scan sees the stored rows").to.be.greaterThan(0);
  });
});
