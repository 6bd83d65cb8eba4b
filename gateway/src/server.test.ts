import type { Bundle, CapabilityStatement, Patient } from "@medplum/fhirtypes";
import { MedplumClient } from "@medplum/core";
import { expect } from "chai";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { createSiweMessage } from "viem/siwe";
import { DEMO_SEED, devEnv, ensureSecretFile, seedDemo } from "./dev/gateway.ts";
import { loadConfig, nodeIo, type Env } from "./config/config.ts";
import { startGateway, type RunningGateway } from "./server.ts";
import type { Database } from "./store/database.ts";
import { testChain, type TestChain } from "./testing/chain.ts";
import {
  freshStore,
  testDatabase,
  TEST_ADMIN_TOKEN,
  TEST_LINK_CODE_TOKEN,
  TEST_MASTER_KEY,
  TEST_TOKEN_SECRET,
} from "./testing/fixtures.ts";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe("server: a complete gateway on a real socket", function () {
  this.timeout(180_000);
  let t: TestChain;
  let shared: Database;
  const dir = mkdtempSync(path.join(tmpdir(), "consentry-server-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  before(async () => {
    t = await testChain();
    await freshStore();
    shared = { ...(await testDatabase()), close: async () => undefined };
  });

  function env(port: number, overrides: Env = {}): Env {
    return {
      GATEWAY_HOST: "127.0.0.1",
      GATEWAY_PORT: String(port),
      RPC_URL: "http://127.0.0.1:9",
      CHAIN_ID: String(t.chainId),
      CONSENT_REGISTRY_ADDRESS: t.registry,
      AUDIT_ANCHOR_ADDRESS: t.auditAnchor,
      STUDY_ESCROW_ADDRESS: t.studyEscrow,
      PREVENTION_REWARDS_ADDRESS: t.preventionRewards,
      CUSTODIAN_ADDRESS: t.actors.hospital.address,
      GATEWAY_CUSTODIAN_NAME: "St. Example Hospital",
      GATEWAY_PRIVATE_KEY: t.actors.hospitalGateway.privateKey,
      GATEWAY_DATA_DIR: ":memory:",
      GATEWAY_MASTER_KEY: TEST_MASTER_KEY.toString("hex"),
      GATEWAY_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
      GATEWAY_LINK_CODE_TOKEN: TEST_LINK_CODE_TOKEN,
      GATEWAY_TOKEN_SECRET: TEST_TOKEN_SECRET.toString("base64"),
      GATEWAY_ANCHOR_INTERVAL_SECONDS: "0",
      GATEWAY_LOG_LEVEL: "silent",
      ...overrides,
    };
  }

  it("serves standard FHIR clients over HTTP (fetch and Medplum's MedplumClient): metadata, SIWE, read, paged search, $everything", async () => {
    const port = await freePort();
    const config = loadConfig(env(port));
    let linked: Record<string, string> = {};
    const gateway: RunningGateway = await startGateway(config, {
      database: shared,
      transport: t.transport,
      logger: false,
      beforeListen: async ({ app, store }) => {
        await app.ready();
        const seeded = await seedDemo(app, store, {
          custodianName: config.custodianName,
          publicUrl: config.publicUrl,
          chainId: config.chainId,
          adminToken: TEST_ADMIN_TOKEN,
          linkCodeToken: TEST_LINK_CODE_TOKEN,
          wallets: { alice: t.actors.alice, bob: t.actors.bob },
          fluVaccination: true,
        });
        expect(seeded.ingested).to.be.greaterThan(50);
        // alice's flu vaccination of this season (the demo prevention programme's record), given now.
        const [flu] = await (
          await store.recordsByRef([{ resourceType: "Immunization", id: `demo-flu-${seeded.linked["alice"]}` }])
        )();
        expect(flu).to.deep.include({ resourceType: "Immunization", status: "completed" });
        const given = Date.parse((flu as { occurrenceDateTime?: string }).occurrenceDateTime ?? "");
        expect(Math.abs(given - Date.now())).to.be.below(10 * 60_000);
        linked = seeded.linked;
        // Seeding twice changes nothing.
        expect(
          await seedDemo(app, store, {
            custodianName: config.custodianName,
            publicUrl: config.publicUrl,
            chainId: config.chainId,
            adminToken: TEST_ADMIN_TOKEN,
            linkCodeToken: TEST_LINK_CODE_TOKEN,
            wallets: { alice: t.actors.alice },
            fluVaccination: true,
          }),
        ).to.deep.equal({
          ingested: 0,
          linked: { alice: linked["alice"] },
        });
      },
    });
    try {
      const base = `http://127.0.0.1:${port}`;
      expect(gateway.url).to.equal(base);
      const fhir = { accept: "application/fhir+json" };
      const metadata = await fetch(`${base}/fhir/metadata`, { headers: fhir });
      expect(metadata.status).to.equal(200);
      expect(metadata.headers.get("content-type")).to.match(/^application\/fhir\+json/);
      const cs = (await metadata.json()) as CapabilityStatement;
      expect(cs.rest?.[0]?.resource?.map((r) => r.type)).to.include.members(["Consent", "AuditEvent"]);

      // Sign in as alice, as a browser wallet would.
      const { nonce, domain, uri } = (await (await fetch(`${base}/auth/nonce`)).json()) as Record<string, string>;
      const message = createSiweMessage({
        domain: domain!,
        address: t.actors.alice.address,
        uri: uri!,
        version: "1",
        chainId: t.chainId,
        nonce: nonce!,
        issuedAt: new Date(),
      });
      const signIn = await fetch(`${base}/auth/siwe`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ message, signature: await t.actors.alice.signMessage({ message }) }),
      });
      expect(signIn.status).to.equal(200);
      const session = (await signIn.json()) as { access_token: string; patient: string };
      expect(session.patient).to.equal(linked["alice"]);
      const headers = { ...fhir, authorization: `Bearer ${session.access_token}`, "x-purpose-of-use": "TREAT" };

      const patient = await fetch(`${base}/fhir/Patient/${session.patient}`, { headers });
      expect(patient.status).to.equal(200);
      expect(patient.headers.get("etag")).to.equal('W/"1"');
      expect(patient.headers.get("cache-control")).to.equal("no-store");
      expect(((await patient.json()) as Patient).id).to.equal(session.patient);

      // Follow `next` links the way FHIR clients page through a searchset.
      let url: string | undefined = `${base}/fhir/Observation?patient=Patient/${session.patient}&_count=7`;
      let seen = 0;
      let total = -1;
      while (url) {
        const res: Response = await fetch(url, { headers });
        expect(res.status).to.equal(200);
        const page = (await res.json()) as Bundle;
        total = page.total ?? -1;
        seen += page.entry?.length ?? 0;
        url = page.link?.find((l) => l.relation === "next")?.url;
      }
      expect(seen).to.equal(total);
      expect(total).to.be.greaterThan(7);

      // A standard FHIR R4 client library reads through it: Medplum's MedplumClient (not a Medplum
      // server), with the bearer token and the purpose of use as its only settings.
      const fhirClient = () =>
        new MedplumClient({
          baseUrl: `${base}/`,
          fhirUrlPath: "fhir",
          fetch: (url: string, init?: RequestInit) => fetch(url, init),
          defaultHeaders: { "X-Purpose-Of-Use": "TREAT" },
          cacheTime: 0,
        });
      const client = fhirClient();
      client.setAccessToken(session.access_token);
      const read = await client.readResource("Patient", session.patient);
      expect(read.resourceType).to.equal("Patient");
      expect(read.id).to.equal(session.patient);
      let pages = 0;
      let paged = 0;
      for await (const page of client.searchResourcePages("Observation", {
        patient: `Patient/${session.patient}`,
        _count: "7",
      })) {
        pages++;
        paged += page.length;
        expect(
          page.every((o) => o.resourceType === "Observation" && o.subject?.reference === `Patient/${session.patient}`),
        ).to.equal(true);
      }
      expect(paged).to.equal(total);
      expect(pages).to.equal(Math.ceil(total / 7));
      const everything = await client.readPatientEverything(session.patient);
      const kinds = new Set((everything.entry ?? []).map((e) => e.resource?.resourceType));
      expect([...kinds]).to.include.members(["Patient", "Observation", "Condition"]);
      // Without the bearer token the library gets the gateway's 401 as an error.
      const anonymous = fhirClient();
      const refused = await anonymous.readResource("Patient", session.patient).then(
        () => "read",
        (err: unknown) => String((err as Error).message),
      );
      expect(refused).to.match(/Unauthorized/);

      // Bob cannot read alice's records (no consent between patients).
      const unauthorized = await fetch(`${base}/fhir/Observation?patient=${session.patient}`, {
        headers: { ...fhir, "x-purpose-of-use": "TREAT" },
      });
      expect(unauthorized.status).to.equal(401);
      expect(unauthorized.headers.get("www-authenticate")).to.match(/^Bearer/);
    } finally {
      await gateway.close();
    }
    expect(DEMO_SEED).to.equal("consentry-demo");
  });

  it("refuses to start against the wrong chain or with another organization's key", async () => {
    const port = await freePort();
    const wrongChain = loadConfig(env(port, { CHAIN_ID: "5" }), { ...nodeIo, deployment: () => undefined });
    let error: unknown;
    try {
      await startGateway(wrongChain, { database: shared, transport: t.transport, logger: false });
    } catch (err) {
      error = err;
    }
    expect(String(error)).to.match(/CHAIN_ID: the node at RPC_URL serves chain 31337, not 5/);

    const labKey = loadConfig(env(port, { GATEWAY_PRIVATE_KEY: t.actors.labGateway.privateKey }));
    error = undefined;
    try {
      await startGateway(labKey, { database: shared, transport: t.transport, logger: false });
    } catch (err) {
      error = err;
    }
    expect(String(error)).to.match(/GATEWAY_PRIVATE_KEY: 0x\w+ is a member of 0x\w+, not of CUSTODIAN_ADDRESS/);
    // Nothing is left listening.
    expect(
      await fetch(`http://127.0.0.1:${port}/healthz`).then(
        () => "up",
        () => "down",
      ),
    ).to.equal("down");
  });

  it("dev bootstrap: secrets generated once (0600, in 0700), an environment the gateway accepts", () => {
    const lines: string[] = [];
    const paths = { secrets: path.join(dir, ".secrets"), data: path.join(dir, ".data", "lab") };
    const first = devEnv("lab", { paths, say: (l) => lines.push(l) });
    expect(lines.filter((l) => /generated/.test(l))).to.have.length(4);
    expect(statSync(path.join(paths.secrets, "lab.key")).mode & 0o777).to.equal(0o600);
    expect(statSync(paths.secrets).mode & 0o777).to.equal(0o700);
    const again = devEnv("lab", {
      paths,
      say: (l) => lines.push(l),
      overrides: { RPC_URL: "http://127.0.0.1:8546", PATH: "/bin" },
    });
    expect(lines.filter((l) => /generated/.test(l))).to.have.length(4);
    expect(again["GATEWAY_ADMIN_TOKEN"]).to.equal(first["GATEWAY_ADMIN_TOKEN"]);
    expect(again["RPC_URL"]).to.equal("http://127.0.0.1:8546");
    expect(again["PATH"]).to.equal(undefined);
    const config = loadConfig(again, {
      ...nodeIo,
      deployment: () => ({ ConsentRegistry: t.registry, AuditAnchor: t.auditAnchor }),
    });
    expect(config.custodianAddress).to.equal(t.actors.lab.address);
    expect(config.gatewayPrivateKey.reveal()).to.equal(t.actors.labGateway.privateKey);
    expect(config.port).to.equal(4002);
    expect(config.database).to.deep.equal({ kind: "pglite", dataDir: paths.data });
    expect(config.corsOrigins).to.deep.equal(["http://localhost:3000", "http://127.0.0.1:3000"]);
    expect(
      ensureSecretFile(
        path.join(paths.secrets, "lab.key"),
        () => "never",
        () => undefined,
      ),
    ).to.match(/^[0-9a-f]{64}$/);
  });
});
