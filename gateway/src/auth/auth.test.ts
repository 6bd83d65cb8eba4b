import type { OperationOutcome } from "@medplum/fhirtypes";
import { expect } from "chai";
import { sql } from "drizzle-orm";
import type { LightMyRequestResponse } from "fastify";
import { hashMessage, type Hex } from "viem";
import type { LocalAccount } from "viem/accounts";
import { createSiweMessage } from "viem/siwe";
import { listAudit } from "../audit/log.ts";
import { Secret } from "../config/secret.ts";
import { rawRows } from "../store/database.ts";
import { testKey } from "../testing/fixtures.ts";
import { ADMIN, LINK_ISSUER, testGateway, type TestGateway } from "../testing/gateway.ts";
import { RateLimiter } from "./rate-limit.ts";
import { TokenIssuer } from "./tokens.ts";

function outcome(res: LightMyRequestResponse, status: number, text?: RegExp): OperationOutcome {
  expect(res.statusCode, res.body.slice(0, 400)).to.equal(status);
  expect(res.headers["content-type"]).to.match(/^application\/fhir\+json/);
  const body = res.json() as OperationOutcome;
  expect(body.resourceType).to.equal("OperationOutcome");
  if (text) expect(JSON.stringify(body)).to.match(text);
  return body;
}

describe("auth: Sign-In with Ethereum and bearer tokens", function () {
  this.timeout(120_000);
  let gw: TestGateway;
  let patient: LocalAccount;

  before(async () => {
    gw = await testGateway();
    patient = await gw.t.newAccount();
  });
  after(() => gw.close());

  async function nonce(): Promise<string> {
    const res = await gw.app.inject({ method: "GET", url: "/auth/nonce" });
    expect(res.statusCode).to.equal(200);
    const body = res.json() as { nonce: string; domain: string; uri: string; chainId: number };
    expect(body).to.include({ domain: "127.0.0.1:8080", uri: "http://127.0.0.1:8080", chainId: gw.t.chainId });
    return body.nonce;
  }

  function message(overrides: Partial<Parameters<typeof createSiweMessage>[0]> & { nonce: string }): string {
    return createSiweMessage({
      domain: "127.0.0.1:8080",
      address: patient.address,
      uri: "http://127.0.0.1:8080",
      version: "1",
      chainId: gw.t.chainId,
      issuedAt: new Date(),
      statement: "Sign in to the Consentry gateway.",
      ...overrides,
    });
  }

  async function post(msg: string, signature: Hex): Promise<LightMyRequestResponse> {
    return gw.app.inject({ method: "POST", url: "/auth/siwe", payload: { message: msg, signature } });
  }

  it("issues a bearer token bound to the address, chain and gateway, once per nonce", async () => {
    const msg = message({ nonce: await nonce() });
    const signature = await patient.signMessage!({ message: msg });
    const res = await post(msg, signature);
    expect(res.statusCode, res.body).to.equal(200);
    const body = res.json() as Record<string, unknown>;
    expect(body).to.include({
      token_type: "Bearer",
      address: patient.address,
      chainId: gw.t.chainId,
      audience: "http://127.0.0.1:8080",
      did: `did:pkh:eip155:${gw.t.chainId}:${patient.address}`,
      patient: null,
    });
    expect(body["expires_in"]).to.equal(900);
    // The same message again: its nonce is spent.
    outcome(await post(msg, signature), 401, /used or expired nonce/);
    const [row] = await rawRows<{ used_by: string }>(
      gw.store.db,
      sql`SELECT used_by FROM siwe_nonces WHERE used_at IS NOT NULL`,
    );
    expect(row?.used_by).to.equal(patient.address.toLowerCase());
  });

  it("refuses forged, expired, stale, foreign-domain, foreign-URI and other-chain messages", async () => {
    const other = gw.t.unfundedAccount();
    const cases: Array<[string, () => Promise<[string, Hex]>, RegExp]> = [
      [
        "signed by another key",
        async () => {
          const m = message({ nonce: await nonce() });
          return [m, await other.signMessage!({ message: m })];
        },
        /signature does not match/,
      ],
      [
        "expired",
        async () => {
          const m = message({
            nonce: await nonce(),
            expirationTime: new Date(Date.now() - 1000),
            issuedAt: new Date(Date.now() - 5000),
          });
          return [m, await patient.signMessage!({ message: m })];
        },
        /expired/,
      ],
      [
        "issued long ago",
        async () => {
          const m = message({ nonce: await nonce(), issuedAt: new Date(Date.now() - 3600_000) });
          return [m, await patient.signMessage!({ message: m })];
        },
        /too old/,
      ],
      [
        "issued in the future",
        async () => {
          const m = message({ nonce: await nonce(), issuedAt: new Date(Date.now() + 3600_000) });
          return [m, await patient.signMessage!({ message: m })];
        },
        /future/,
      ],
      [
        "not valid before a later time",
        async () => {
          const m = message({ nonce: await nonce(), notBefore: new Date(Date.now() + 3600_000) });
          return [m, await patient.signMessage!({ message: m })];
        },
        /not valid yet/,
      ],
      [
        "another domain",
        async () => {
          const m = message({ nonce: await nonce(), domain: "evil.example.org" });
          return [m, await patient.signMessage!({ message: m })];
        },
        /another domain/,
      ],
      [
        "another URI",
        async () => {
          const m = message({ nonce: await nonce(), uri: "https://evil.example.org/login" });
          return [m, await patient.signMessage!({ message: m })];
        },
        /URI is not http:\/\/127\.0\.0\.1:8080/,
      ],
      [
        "another URI on the gateway's own origin (a path)",
        async () => {
          const m = message({ nonce: await nonce(), uri: "http://127.0.0.1:8080/other-app/login" });
          return [m, await patient.signMessage!({ message: m })];
        },
        /URI is not http:\/\/127\.0\.0\.1:8080/,
      ],
      [
        "another URI on the gateway's own origin (a query)",
        async () => {
          const m = message({ nonce: await nonce(), uri: "http://127.0.0.1:8080/?next=https://evil.example.org" });
          return [m, await patient.signMessage!({ message: m })];
        },
        /URI is not/,
      ],
      [
        "another chain",
        async () => {
          const m = message({ nonce: await nonce(), chainId: 1 });
          return [m, await patient.signMessage!({ message: m })];
        },
        /another chain/,
      ],
      [
        "a nonce this gateway never issued",
        async () => {
          const m = message({ nonce: "NeverIssuedNonce1234" });
          return [m, await patient.signMessage!({ message: m })];
        },
        /nonce/,
      ],
      [
        "extra text after the message",
        async () => {
          const m = `${message({ nonce: await nonce() })}\nAdmin: true`;
          return [m, await patient.signMessage!({ message: m })];
        },
        /well-formed/,
      ],
      [
        "a lower-case (unchecksummed) address",
        async () => {
          const m = message({ nonce: await nonce() }).replace(patient.address, patient.address.toLowerCase());
          return [m, await patient.signMessage!({ message: m })];
        },
        /checksummed/,
      ],
    ];
    for (const [name, make, text] of cases) {
      const [m, s] = await make();
      const res = await post(m, s);
      expect(res.statusCode, `${name}: ${res.body}`).to.equal(401);
      expect(res.headers["www-authenticate"]).to.match(/^Bearer/);
      expect(res.body, name).to.match(text);
    }
    // None of them consumed a nonce.
    const [used] = await rawRows<{ n: string }>(
      gw.store.db,
      sql`SELECT count(*) AS n FROM siwe_nonces WHERE used_at IS NOT NULL`,
    );
    expect(Number(used?.n)).to.equal(1);
  });

  it("refuses an expired nonce", async () => {
    const n = await nonce();
    await gw.store.db.execute(
      sql`UPDATE siwe_nonces SET expires_at = created_at + interval '1 millisecond' WHERE nonce = ${n}`,
    );
    const m = message({ nonce: n });
    outcome(await post(m, await patient.signMessage!({ message: m })), 401, /used or expired nonce/);
  });

  it("signs in a contract wallet through ERC-1271", async () => {
    const owner = await gw.t.newAccount();
    const contractWallet = await gw.t.deploy(owner, "MockContractWallet", [owner.address]);
    const m = createSiweMessage({
      domain: "127.0.0.1:8080",
      address: contractWallet,
      uri: "http://127.0.0.1:8080",
      version: "1",
      chainId: gw.t.chainId,
      nonce: await nonce(),
      issuedAt: new Date(),
    });
    const signature = await owner.sign!({ hash: hashMessage(m) });
    const res = await post(m, signature);
    expect(res.statusCode, res.body).to.equal(200);
    expect(res.json()).to.include({ address: contractWallet });
    // A signature by someone else than the owner is refused by the wallet.
    const m2 = m.replace(/Nonce: \w+/, `Nonce: ${await nonce()}`);
    outcome(await post(m2, await patient.sign!({ hash: hashMessage(m2) })), 401, /signature does not match/);
  });

  it("refuses tokens that are tampered with, expired, of another gateway or of another chain", async () => {
    const token = await gw.signIn(patient);
    const ok = await gw.read(token, "/fhir/Observation?patient=nobody");
    expect(ok.statusCode, ok.body).to.equal(200);

    const [h, p, s] = token.split(".") as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, "base64url").toString()) as Record<string, unknown>;
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, addr: gw.t.actors.alice.address })).toString("base64url")}.${s}`;
    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString("base64url")}.${p}.`;
    const secret = testKey("bearer-token-secret");
    const issuer = (o: Partial<ConstructorParameters<typeof TokenIssuer>[0]>) =>
      new TokenIssuer({ secret, audience: "http://127.0.0.1:8080", chainId: gw.t.chainId, ttlSeconds: 900, ...o });
    const otherGateway = issuer({ secret: testKey("another gateway") }).issue(patient.address).token;
    const otherAudience = issuer({ audience: "http://127.0.0.1:4002" }).issue(patient.address).token;
    const otherChain = issuer({ chainId: 1 }).issue(patient.address).token;
    const expired = issuer({ now: () => new Date(Date.now() - 3600_000) }).issue(patient.address).token;
    const cases: Array<[string, string, RegExp]> = [
      ["tampered claims", forged, /signature/],
      ["alg none", none, /Malformed|algorithm/],
      ["another gateway's secret", otherGateway, /signature/],
      ["another gateway's audience", otherAudience, /another gateway/],
      ["another chain", otherChain, /another chain/],
      ["expired", expired, /expired/],
      ["not a token", "hello", /Malformed/],
    ];
    for (const [name, bad, text] of cases) {
      const res = await gw.read(bad, "/fhir/Observation?patient=nobody");
      expect(res.statusCode, name).to.equal(401);
      expect(res.body, name).to.match(text);
    }
    // The custodian's admin token is no reader's token.
    outcome(
      await gw.app.inject({
        method: "GET",
        url: "/fhir/Patient?_id=x",
        headers: { ...ADMIN, "x-purpose-of-use": "TREAT" },
      }),
      401,
    );
  });

  it("ends a token at sign-out: the server refuses it afterwards, other tokens of the wallet still work", async () => {
    const token = await gw.signIn(patient);
    const other = await gw.signIn(patient);
    const use = (t: string) =>
      gw.app.inject({
        method: "POST",
        url: "/auth/link",
        headers: { authorization: `Bearer ${t}` },
        payload: { code: "x".repeat(20) },
      });
    expect((await use(token)).statusCode).to.not.equal(401); // a bad code, but the token is accepted
    const out = await gw.app.inject({
      method: "POST",
      url: "/auth/logout",
      headers: { authorization: `Bearer ${token}` },
    });
    expect(out.statusCode, out.body).to.equal(204);
    outcome(await use(token), 401, /ended by sign-out/);
    outcome(await gw.read(token, `/fhir/Observation/anything`), 401, /ended by sign-out/);
    outcome(
      await gw.app.inject({ method: "POST", url: "/auth/logout", headers: { authorization: `Bearer ${token}` } }),
      401,
    );
    expect((await use(other)).statusCode).to.not.equal(401);
    // Another instance on the same database refuses it too (within its refresh period; here its first request).
    const second = await testGateway({ keepDatabase: gw.store });
    try {
      outcome(await second.read(token, `/fhir/Observation/anything`), 401, /ended by sign-out/);
      expect((await second.read(other, `/fhir/Observation/anything`)).statusCode).to.not.equal(401);
    } finally {
      await second.close();
    }
  });

  it("links a patient to the signed-in wallet once; moving it takes an admin relink code", async () => {
    const { patients } = await gw.ingest({ seed: "link-test" });
    const patientId = patients[0]!.id!;
    await gw.link(patientId, patient);
    expect(await gw.store.listWallets(patientId)).to.deep.equal([`did:pkh:eip155:${gw.t.chainId}:${patient.address}`]);

    // The sign-in response names the linked patient.
    const again = await gw.signIn(patient);
    expect(again).to.be.a("string");

    // A plain link code cannot move the patient to another wallet.
    const newWallet = gw.t.unfundedAccount();
    const code = (
      await gw.app.inject({ method: "POST", url: "/admin/link-codes", headers: LINK_ISSUER, payload: { patientId } })
    ).json() as { code: string };
    const newToken = await gw.signIn(newWallet);
    const refused = await gw.app.inject({
      method: "POST",
      url: "/auth/link",
      headers: { authorization: `Bearer ${newToken}` },
      payload: { code: code.code },
    });
    outcome(refused, 409, /relink code/);
    expect(await gw.store.listWallets(patientId)).to.have.length(1);

    // The admin's relink code does, and the old wallet loses the patient.
    const relink = await gw.app.inject({
      method: "POST",
      url: "/admin/link-codes",
      headers: LINK_ISSUER,
      payload: { patientId, kind: "relink", ttlSeconds: 600 },
    });
    expect(relink.statusCode).to.equal(201);
    expect(relink.json()).to.include({ kind: "relink", patientId });
    const moved = await gw.app.inject({
      method: "POST",
      url: "/auth/link",
      headers: { authorization: `Bearer ${newToken}` },
      payload: { code: (relink.json() as { code: string }).code },
    });
    expect(moved.statusCode, moved.body).to.equal(200);
    expect(moved.json()).to.deep.include({
      kind: "relink",
      replaced: [`did:pkh:eip155:${gw.t.chainId}:${patient.address}`],
    });
    expect(await gw.store.listWallets(patientId)).to.deep.equal([
      `did:pkh:eip155:${gw.t.chainId}:${newWallet.address}`,
    ]);
    expect(await gw.store.findPatientByWallet(`did:pkh:eip155:${gw.t.chainId}:${patient.address}`)).to.equal(undefined);

    // Issuing codes, linking, the refused link and the relink are all on the patient's trail.
    const ops = (await listAudit(gw.store.db, patientId)).map((e) => [e.event.subtype?.[1]?.code, e.event.outcome]);
    expect(ops.filter((o) => o[0] !== undefined)).to.deep.equal([
      ["issue-link-code", "0"],
      ["link-wallet", "0"],
      ["issue-link-code", "0"],
      ["link-wallet", "4"],
      ["issue-relink-code", "0"],
      ["relink-wallet", "0"],
    ]);
  });

  it("issues link and relink codes to the link-code token only, never the ingestion token; throttles failed token attempts", async () => {
    const { patients } = await gw.ingest({ seed: "token-split", patients: 1 });
    const patientId = patients[0]!.id!;
    const issue = (headers: Record<string, string>, kind: "link" | "relink", remoteAddress = "127.0.0.9") =>
      gw.app.inject({ method: "POST", url: "/admin/link-codes", headers, payload: { patientId, kind }, remoteAddress });
    // A leaked ingestion token moves nobody.
    outcome(await issue(ADMIN, "relink"), 401, /Invalid bearer token/);
    outcome(await issue(ADMIN, "link"), 401, /Invalid bearer token/);
    expect((await issue(LINK_ISSUER, "relink")).statusCode).to.equal(201);
    // And the link-code token ingests nothing.
    const ingest = await gw.app.inject({
      method: "PUT",
      url: `/fhir/Patient/${patientId}`,
      headers: { ...LINK_ISSUER, "content-type": "application/fhir+json" },
      payload: JSON.stringify(patients[0]),
    });
    outcome(ingest, 401, /Invalid bearer token/);
    // Guessing: after 10 failures a minute from one address, every token request from it is a 429, even a right one.
    const guesser = "127.0.0.77";
    for (let i = 0; i < 10; i++) {
      const res = await issue({ authorization: `Bearer guess-${i}-${"x".repeat(40)}` }, "link", guesser);
      expect(res.statusCode).to.equal(401);
    }
    const blocked = await issue({ authorization: `Bearer guess-last-${"x".repeat(40)}` }, "link", guesser);
    outcome(blocked, 429, /Too many failed attempts/);
    expect(Number(blocked.headers["retry-after"])).to.be.greaterThan(0);
    outcome(await issue(LINK_ISSUER, "link", guesser), 429);
    expect((await issue(LINK_ISSUER, "link", "127.0.0.78")).statusCode).to.equal(201);
  });

  it("rate-limits unauthenticated requests per IP and reads per address: 429 OperationOutcome", async () => {
    const limited = await testGateway({ config: { rateLimits: { perIpPerMinute: 3, perAddressPerMinute: 2 } } });
    try {
      const from = (ip: string) => ({ method: "GET" as const, url: "/auth/nonce", remoteAddress: ip });
      for (let i = 0; i < 3; i++) expect((await limited.app.inject(from("10.0.0.1"))).statusCode).to.equal(200);
      const res = await limited.app.inject(from("10.0.0.1"));
      outcome(res, 429, /Too many requests/);
      expect(Number(res.headers["retry-after"])).to.be.greaterThan(0);
      expect((await limited.app.inject(from("10.0.0.2"))).statusCode).to.equal(200);

      const reader = limited.t.unfundedAccount();
      const token = await limited.signIn(reader); // from 127.0.0.1
      const read = () => limited.read(token, "/fhir/Observation?patient=nobody");
      expect((await read()).statusCode).to.equal(200);
      expect((await read()).statusCode).to.equal(200);
      outcome(await read(), 429, new RegExp(`for ${reader.address}`));
    } finally {
      await limited.close();
    }
  });

  it("keeps the token secret out of logs and the config", () => {
    const secret = new Secret(testKey("x"));
    expect(JSON.stringify({ secret })).not.to.contain(testKey("x").toString("hex"));
    const limiter = new RateLimiter({ perMinute: 60, maxKeys: 2, now: () => 0 });
    expect(limiter.take("a").ok).to.equal(true);
    limiter.take("b");
    limiter.take("c"); // evicts "a": memory stays bounded
    expect(limiter.take("a").ok).to.equal(true);
  });

  it("answers CORS preflights for configured origins only, and reports the chain in /healthz", async () => {
    const cors = await testGateway({ keepDatabase: gw.store, config: { corsOrigins: ["http://localhost:3000"] } });
    try {
      const preflight = (origin: string) =>
        cors.app.inject({
          method: "OPTIONS",
          url: "/fhir/Observation",
          headers: {
            origin,
            "access-control-request-method": "GET",
            "access-control-request-headers": "authorization",
          },
        });
      const allowed = await preflight("http://localhost:3000");
      expect(allowed.statusCode).to.equal(204);
      expect(allowed.headers["access-control-allow-origin"]).to.equal("http://localhost:3000");
      expect(String(allowed.headers["access-control-allow-headers"])).to.match(/X-Purpose-Of-Use/);
      const foreign = await preflight("https://evil.example.org");
      expect(foreign.headers["access-control-allow-origin"]).to.equal(undefined);
      const health = await cors.app.inject({
        method: "GET",
        url: "/healthz",
        headers: { origin: "http://localhost:3000" },
      });
      expect(health.statusCode).to.equal(200);
      expect(health.json()).to.include({ status: "ok", chainId: gw.t.chainId });
      expect(health.headers["access-control-allow-origin"]).to.equal("http://localhost:3000");
    } finally {
      await cors.close();
    }
  });
});
