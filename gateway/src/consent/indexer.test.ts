/**
 * `GET /fhir/Consent` through a real indexer (indexer/: Ponder over PGlite) of the gateway's test
 * chain (the in-process EDR network, served to the indexer over a loopback JSON-RPC bridge): the
 * list comes from the indexer's tables (with the indexer stopped it fails instead of scanning
 * logs), matches the chain, and shows a grant once the indexer has its block.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { type Server, createServer } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";

import type { Bundle, Consent } from "@medplum/fhirtypes";
import { expect } from "chai";
import type { LocalAccount } from "viem/accounts";

import { categoriesToMask, encodePurpose, purposeScope } from "#sdk/codes.ts";
import { consentRegistryAbi } from "#sdk/generated/abis.ts";
import { indexerClient } from "#sdk/history.ts";
import { grantState, readPatientGrants } from "#sdk/ledger.ts";
import { startIndexer } from "../../../indexer/start.ts";
import { testGateway, type TestGateway } from "../testing/gateway.ts";
import { testChain } from "../testing/chain.ts";

describe("GET /fhir/Consent through the indexer (a real Ponder over the test chain)", function () {
  this.timeout(400_000);
  const dataRoot = mkdtempSync(path.join(tmpdir(), "consentry-gw-indexer-"));
  let bridge: Server | undefined;
  let indexer: ChildProcess | undefined;
  let url: string;
  let gw: TestGateway;
  let patient: LocalAccount;
  let patientId: string;
  let token: string;
  let indexerOutput = "";

  const indexedTo = async () => (await indexerClient(url).status()).block;
  async function caughtUp(block: bigint) {
    const deadline = Date.now() + 150_000;
    while ((await indexedTo().catch(() => -1)) < Number(block)) {
      if (Date.now() > deadline) {
        throw new Error(`the indexer did not reach block ${block}:\n${indexerOutput.slice(-3000)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const consents = async () => {
    const res = await gw.read(token, `/fhir/Consent?patient=${patientId}`);
    expect(res.statusCode, res.body.slice(0, 300)).to.equal(200);
    return ((res.json() as Bundle).entry ?? []).map((e) => e.resource as Consent);
  };

  before(async () => {
    const t = await testChain();
    // The in-process chain over loopback HTTP, for the indexer (a process of its own).
    bridge = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", async () => {
        const one = async (r: { id: number; method: string; params?: unknown[] }) => {
          try {
            const result = await t.client.request({ method: r.method, params: r.params } as never);
            return { jsonrpc: "2.0", id: r.id, result };
          } catch (err) {
            return { jsonrpc: "2.0", id: r.id, error: { code: -32000, message: (err as Error).message } };
          }
        };
        const parsed = JSON.parse(body) as Parameters<typeof one>[0] | Parameters<typeof one>[0][];
        const answer = Array.isArray(parsed) ? await Promise.all(parsed.map(one)) : await one(parsed);
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(answer, (_k, v: unknown) => (typeof v === "bigint" ? `0x${v.toString(16)}` : v)));
      });
    });
    await new Promise<void>((resolve) => bridge!.listen(0, "127.0.0.1", resolve));
    const rpc = `http://127.0.0.1:${(bridge.address() as { port: number }).port}`;
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const started = await startIndexer(
      {
        ...process.env,
        CHAIN_ID: String(t.chainId),
        RPC_URL: rpc,
        CONSENTRY_DEPLOYMENT: JSON.stringify({
          ConsentRegistry: t.registry,
          AuditAnchor: t.auditAnchor,
          StudyEscrow: t.studyEscrow,
          RemunerationToken: t.token,
          deploymentBlock: 0,
        }),
        INDEXER_DATA_ROOT: dataRoot,
        INDEXER_PORT: String(port),
        INDEXER_POLLING_INTERVAL_MS: "100",
        DATABASE_URL: "",
      },
      { stdio: "pipe" },
    );
    indexer = started.child;
    indexer.stdout!.on("data", (c: Buffer) => (indexerOutput += c.toString()));
    indexer.stderr!.on("data", (c: Buffer) => (indexerOutput += c.toString()));
    url = `http://127.0.0.1:${port}`;
    gw = await testGateway({ custodian: "lab", indexer: indexerClient(url) });
    const { patients } = await gw.ingest({ seed: "indexer-listing", patients: 1 });
    patientId = patients[0]!.id!;
    patient = await t.newAccount();
    await gw.link(patientId, patient);
    token = await gw.signIn(patient);
  });
  after(async () => {
    await gw?.close();
    if (indexer && indexer.exitCode === null) {
      await new Promise<void>((resolve) => {
        indexer!.once("exit", () => resolve());
        indexer!.kill("SIGTERM");
      });
    }
    await new Promise<void>((resolve) => (bridge ? bridge.close(() => resolve()) : resolve()));
    rmSync(dataRoot, { recursive: true, force: true });
  });

  it("lists the grants the chain has, with their states, and a new grant as soon as the indexer has its block", async () => {
    const t = gw.t;
    const hospital = t.actors.hospital.address;
    const now = Number((await t.client.getBlock()).timestamp);
    const obs = categoriesToMask(["Observation"]);
    await t.write(patient, t.registry, consentRegistryAbi, "grant", [
      hospital,
      obs,
      encodePurpose("TREAT"),
      0,
      now + 86_400,
    ]);
    await t.write(patient, t.registry, consentRegistryAbi, "grant", [
      hospital,
      obs,
      encodePurpose("HOPERAT"),
      0,
      now + 86_400,
    ]);
    const last = await t.write(patient, t.registry, consentRegistryAbi, "revoke", [hospital, purposeScope("HOPERAT")]);
    await caughtUp(last.blockNumber);

    const listed = await consents();
    const onChain = await readPatientGrants(t.client, { registry: t.registry, patient: patient.address });
    expect(listed.map((c) => [c.id, c.status])).to.deep.equal(
      onChain.grants.map((g) => [
        g.grantId.slice(2),
        grantState(g, Math.max(onChain.timestamp, Math.floor(Date.now() / 1000))) === "active" ? "active" : "inactive",
      ]),
    );

    // A grant just mined shows once the indexer has its block (polling every 100 ms here).
    const mined = await t.write(patient, t.registry, consentRegistryAbi, "grant", [
      hospital,
      obs,
      encodePurpose("ETREAT"),
      0,
      now + 86_400,
    ]);
    const minedAt = Date.now();
    let seenAfter = -1;
    while (Date.now() - minedAt < 10_000) {
      if ((await consents()).length === onChain.grants.length + 1) {
        seenAfter = Date.now() - minedAt;
        break;
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(seenAfter, "ms from mined to listed").to.be.within(0, 2_000);
    console.log(`      (listed ${seenAfter} ms after its receipt)`);
    expect(await indexedTo()).to.be.at.least(Number(mined.blockNumber));

    // Single reads resolve the grant's patient through the indexer too.
    const one = await gw.read(token, `/fhir/Consent/${listed[0]!.id}`);
    expect(one.statusCode).to.equal(200);
  });

  it("does not fall back to scanning the chain's logs: with the indexer stopped, the list fails", async () => {
    await new Promise<void>((resolve) => {
      indexer!.once("exit", () => resolve());
      indexer!.kill("SIGTERM");
    });
    const res = await gw.read(token, `/fhir/Consent?patient=${patientId}`);
    expect(res.statusCode).to.be.at.least(500);
  });
});
