import type { Observation, Patient } from "@medplum/fhirtypes";
import { expect } from "chai";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { AuditEntry, ChainVerification } from "../audit/log.ts";
import { pgliteTemplatePath, testKey } from "../testing/fixtures.ts";
import type { ReadOutcome } from "./store.ts";

const CHILD = fileURLToPath(new URL("../testing/durability-child.ts", import.meta.url));
const FAMILY = "Zanzibarovna";
const dir = mkdtempSync(path.join(tmpdir(), "consentry-durability-"));
const key = testKey("durability").toString("hex");

interface Ack {
  patientId: string;
  observationId: string;
  fsyncsForOneWrite: number;
  audit: AuditEntry;
  fsyncsForOneAudit: number;
}
interface ReadBack {
  patient: ReadOutcome<Patient>;
  observation: ReadOutcome<Observation>;
  audit: AuditEntry[];
  chain: ChainVerification;
}

/**
 * Runs a child until it prints `${tag} {json}`; with kill, SIGKILLs it right then (no clean
 * shutdown at all), otherwise waits for it to exit by itself.
 */
function runChild<T>(
  mode: "write" | "read",
  tag: string,
  kill: boolean,
  extraEnv: Record<string, string> = {},
): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD], {
      env: {
        ...process.env,
        GATEWAY_TEST_DIR: dir,
        GATEWAY_TEST_KEY: key,
        GATEWAY_TEST_MODE: mode,
        GATEWAY_TEST_FAMILY: FAMILY,
        ...extraEnv,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    let result: T | undefined;
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const m = new RegExp(`^${tag} (.*)$`, "m").exec(out);
      if (m && result === undefined) {
        result = JSON.parse(m[1]!) as T;
        if (kill) child.kill("SIGKILL");
      }
    });
    child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
    child.on("exit", (code, signal) => {
      const expected = kill ? signal === "SIGKILL" : code === 0;
      if (result !== undefined && expected) resolve(result);
      else
        reject(new Error(`${mode} child ended (code ${code}, signal ${signal}) without the expected result: ${err}`));
    });
  });
}

// The two child processes each start PGlite (seconds of CPU): they start as soon as mocha loads
// this file (once the PGlite template exists), so they run on the second core while the other
// suites run.
const run = (async () => {
  const template = await pgliteTemplatePath();
  const ack = await runChild<Ack>("write", "ACK", true, template ? { GATEWAY_TEST_TEMPLATE: template } : {});
  const readBack = await runChild<ReadBack>("read", "READ", false, {
    GATEWAY_TEST_OBSERVATION: ack.observationId,
    GATEWAY_TEST_AUDIT_SEQ: String(ack.audit.seq),
  });
  return { ack, readBack };
})();
run.catch(() => undefined); // reported by the test below

after("remove the durability test's data directory", async function () {
  this.timeout(60_000);
  await run.catch(() => undefined); // never delete the directory under a running child
  rmSync(dir, { recursive: true, force: true });
});

function filesUnder(root: string): string[] {
  return readdirSync(root, { recursive: true, encoding: "utf8" })
    .map((f) => path.join(root, f))
    .filter((f) => statSync(f).isFile());
}

describe("store durability (PGlite on disk)", function () {
  this.timeout(90_000);

  it("keeps a write acknowledged just before kill -9 (the commit was fsynced)", async () => {
    const { ack, readBack } = await run;
    expect(ack.fsyncsForOneWrite, "a commit must fsync").to.be.greaterThan(0);
    expect(readBack.patient.kind).to.equal("found");
    expect(readBack.patient.kind === "found" && readBack.patient.resource.name?.[0]?.family).to.equal(FAMILY);
    expect(readBack.observation.kind === "found" && readBack.observation.resource.valueQuantity?.value).to.equal(13.2);
  });

  it("keeps a group-committed AuditEvent acknowledged just before kill -9, in a valid chain", async () => {
    const { ack, readBack } = await run;
    expect(ack.fsyncsForOneAudit, "the audit commit must fsync").to.be.greaterThan(0);
    expect(readBack.audit).to.deep.equal([ack.audit]);
    expect(readBack.chain).to.deep.include({ ok: true, head: { seq: ack.audit.seq, hash: ack.audit.hash } });
  });

  it("writes no plaintext to disk: heap, indexes and WAL hold ciphertext only", async () => {
    const { ack } = await run;
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
