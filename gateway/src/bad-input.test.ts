/**
 * Bad input against the full gateway (sign-in, reads, linking, relaying), on top of the ingestion
 * battery of app.test.ts: each is a 4xx OperationOutcome, never a 500; no data is written (only
 * the audit trail records refused attempts); the gateway stays healthy and keeps serving.
 */
import type { OperationOutcome } from "@medplum/fhirtypes";
import { expect } from "chai";
import { sql } from "drizzle-orm";
import type { InjectOptions } from "fastify";
import { createSiweMessage } from "viem/siwe";
import type { LocalAccount } from "viem/accounts";
import { TokenIssuer } from "./auth/tokens.ts";
import { verifyChain } from "./audit/log.ts";
import { rawRows } from "./store/database.ts";
import { testKey } from "./testing/fixtures.ts";
import { ADMIN, LINK_ISSUER, FHIR, testGateway, type TestGateway } from "./testing/gateway.ts";

interface Case {
  name: string;
  status: number;
  text?: RegExp;
  request: () => Promise<InjectOptions> | InjectOptions;
}

describe("bad input to the full gateway: 4xx OperationOutcome, no data written, still healthy", function () {
  this.timeout(180_000);
  let gw: TestGateway;
  let patient: LocalAccount;
  let patientId: string;
  let token: string;
  let spent: { message: string; signature: string };

  before(async () => {
    gw = await testGateway();
    const { patients } = await gw.ingest({ seed: "bad-input", patients: 1 });
    patientId = patients[0]!.id!;
    patient = gw.t.unfundedAccount();
    await gw.link(patientId, patient);
    token = await gw.signIn(patient);
    spent = await signed({}, true);
  });
  after(() => gw.close());

  /** A signed SIWE message for a fresh nonce (posted once when `use`). */
  async function signed(
    overrides: Partial<Parameters<typeof createSiweMessage>[0]>,
    use = false,
  ): Promise<{ message: string; signature: string }> {
    const { nonce } = (await gw.app.inject({ method: "GET", url: "/auth/nonce" })).json() as { nonce: string };
    const message = createSiweMessage({
      domain: "127.0.0.1:8080",
      address: patient.address,
      uri: "http://127.0.0.1:8080",
      version: "1",
      chainId: gw.t.chainId,
      nonce,
      issuedAt: new Date(),
      ...overrides,
    });
    const signature = await patient.signMessage!({ message });
    if (use) await gw.app.inject({ method: "POST", url: "/auth/siwe", payload: { message, signature } });
    return { message, signature };
  }

  const read = (url: string, headers: Record<string, string> = {}): InjectOptions => ({
    method: "GET",
    url,
    headers: { authorization: `Bearer ${token}`, "x-purpose-of-use": "TREAT", ...headers },
  });
  const siwe = (payload: unknown, headers: Record<string, string> = {}): InjectOptions => ({
    method: "POST",
    url: "/auth/siwe",
    headers: { "content-type": "application/json", ...headers },
    payload: typeof payload === "string" ? payload : JSON.stringify(payload),
  });
  const relayBody = () => ({
    patient: patient.address,
    grantee: gw.t.actors.hospital.address,
    categories: 2,
    purpose: "1",
    validFrom: 0,
    expiresAt: 2_000_000_000,
    deadline: "2000000000",
    signature: `0x${"11".repeat(65)}`,
  });
  const relay = (action: string, payload: unknown, contentType = "application/json"): InjectOptions => ({
    method: "POST",
    url: `/relay/${action}`,
    headers: { "content-type": contentType },
    payload: typeof payload === "string" ? payload : JSON.stringify(payload),
  });
  const issuer = (o: Partial<ConstructorParameters<typeof TokenIssuer>[0]>) =>
    new TokenIssuer({
      secret: testKey("bearer-token-secret"),
      audience: "http://127.0.0.1:8080",
      chainId: gw.t.chainId,
      ttlSeconds: 900,
      ...o,
    });

  const cases: Case[] = [
    // ------------------------------------------------------------ authentication of reads
    {
      name: "read without a token",
      status: 401,
      text: /Missing bearer token/,
      request: () => ({ method: "GET", url: `/fhir/Patient/${patientId}`, headers: { "x-purpose-of-use": "TREAT" } }),
    },
    {
      name: "read with a Basic Authorization header",
      status: 401,
      request: () => read(`/fhir/Patient/${patientId}`, { authorization: "Basic dXNlcjpwdw==" }),
    },
    {
      name: "read with the custodian's admin token",
      status: 401,
      request: () => read(`/fhir/Patient/${patientId}`, ADMIN),
    },
    {
      name: "read with an expired token",
      status: 401,
      text: /expired/,
      request: () =>
        read(`/fhir/Patient/${patientId}`, {
          authorization: `Bearer ${issuer({ now: () => new Date(Date.now() - 7200_000) }).issue(patient.address).token}`,
        }),
    },
    {
      name: "read with another gateway's token",
      status: 401,
      text: /not issued by this gateway/,
      request: () =>
        read(`/fhir/Patient/${patientId}`, {
          authorization: `Bearer ${issuer({ secret: testKey("other") }).issue(patient.address).token}`,
        }),
    },
    {
      name: "read with a token for another audience",
      status: 401,
      text: /another gateway/,
      request: () =>
        read(`/fhir/Patient/${patientId}`, {
          authorization: `Bearer ${issuer({ audience: "https://evil.example.org" }).issue(patient.address).token}`,
        }),
    },
    // ------------------------------------------------------------ purpose of use
    {
      name: "missing purpose of use",
      status: 400,
      text: /Missing X-Purpose-Of-Use/,
      request: () => read(`/fhir/Patient/${patientId}`, { "x-purpose-of-use": "" }),
    },
    {
      name: "unknown purpose of use",
      status: 400,
      text: /unknown purpose of use/,
      request: () => read(`/fhir/Patient/${patientId}`, { "x-purpose-of-use": "MARKETING" }),
    },
    {
      name: "two purposes of use",
      status: 400,
      text: /exactly one/,
      request: () => read(`/fhir/Patient/${patientId}`, { "x-purpose-of-use": "TREAT, HRESCH" }),
    },
    {
      name: "purpose with a foreign code system",
      status: 400,
      request: () => read(`/fhir/Patient/${patientId}`, { "x-purpose-of-use": "http://example.org/cs|TREAT" }),
    },
    // ------------------------------------------------------------ search parameters
    {
      name: "unknown search parameter",
      status: 400,
      text: /Unsupported search parameter "code"/,
      request: () => read(`/fhir/Observation?patient=${patientId}&code=1234-5`),
    },
    {
      name: "repeated patient parameter",
      status: 400,
      text: /more than once/,
      request: () => read(`/fhir/Observation?patient=${patientId}&patient=other`),
    },
    {
      name: "search without a patient",
      status: 400,
      text: /"patient" is required/,
      request: () => read("/fhir/Observation?_count=5"),
    },
    {
      name: "SQL injection in patient",
      status: 400,
      text: /FHIR id/,
      request: () => read(`/fhir/Observation?patient=${encodeURIComponent("x' OR '1'='1")}`),
    },
    {
      name: "SQL injection in _count",
      status: 400,
      text: /_count must be an integer/,
      request: () =>
        read(`/fhir/Observation?patient=${patientId}&_count=${encodeURIComponent("1; DROP TABLE resources")}`),
    },
    { name: "negative _count", status: 400, request: () => read(`/fhir/Observation?patient=${patientId}&_count=-1`) },
    {
      name: "_count above the maximum",
      status: 400,
      request: () => read(`/fhir/Observation?patient=${patientId}&_count=100000`),
    },
    {
      name: "non-numeric _offset",
      status: 400,
      request: () => read(`/fhir/Observation?patient=${patientId}&_offset=ten`),
    },
    { name: "empty parameter value", status: 400, text: /is empty/, request: () => read("/fhir/Observation?patient=") },
    {
      name: "_format xml",
      status: 406,
      text: /_format/,
      request: () => read(`/fhir/Observation?patient=${patientId}&_format=xml`),
    },
    {
      name: "$everything with an unknown _type",
      status: 400,
      text: /_type/,
      request: () => read(`/fhir/Patient/${patientId}/$everything?_type=Observation,Spaceship`),
    },
    { name: "Consent search without patient", status: 400, request: () => read("/fhir/Consent") },
    {
      name: "AuditEvent search with a bad _before",
      status: 400,
      request: () => read(`/fhir/AuditEvent?patient=${patientId}&_before=latest`),
    },
    {
      name: "id longer than 64 characters",
      status: 400,
      text: /Invalid resource id/,
      request: () => read(`/fhir/Observation/${"a".repeat(65)}`),
    },
    { name: "path traversal in the id", status: 400, request: () => read("/fhir/Observation/..%2F..%2Fetc%2Fpasswd") },
    { name: "read of an unknown type", status: 404, request: () => read("/fhir/Practitioner/abc") },
    // ------------------------------------------------------------ sign-in
    { name: "SIWE: malformed JSON", status: 400, text: /not valid JSON/, request: () => siwe('{"message": "x",') },
    {
      name: "SIWE: text/plain body",
      status: 415,
      request: () => siwe({ message: "x", signature: "0x00" }, { "content-type": "text/plain" }),
    },
    { name: "SIWE: missing signature", status: 400, text: /signature/, request: () => siwe({ message: "hello" }) },
    {
      name: "SIWE: an extra property",
      status: 400,
      text: /additional/,
      request: () => siwe({ message: "hello", signature: "0x0000", admin: true }),
    },
    {
      name: "SIWE: signature not hex",
      status: 400,
      text: /0x-prefixed hex/,
      request: async () => siwe({ ...(await signed({})), signature: "0xZZZZ" }),
    },
    {
      name: "SIWE: not a SIWE message",
      status: 401,
      text: /well-formed/,
      request: () => siwe({ message: "please let me in", signature: "0x0000" }),
    },
    {
      name: "SIWE: forged signature",
      status: 401,
      text: /signature does not match/,
      request: async () => siwe({ ...(await signed({})), signature: `0x${"ab".repeat(65)}` }),
    },
    { name: "SIWE: replayed message", status: 401, text: /used or expired nonce/, request: () => siwe(spent) },
    {
      name: "SIWE: another chain's signature",
      status: 401,
      text: /another chain/,
      request: async () => siwe(await signed({ chainId: 10 })),
    },
    {
      name: "SIWE: another domain",
      status: 401,
      text: /another domain/,
      request: async () => siwe(await signed({ domain: "fhir.evil.example.org" })),
    },
    {
      name: "SIWE: expired message",
      status: 401,
      text: /expired/,
      request: async () =>
        siwe(await signed({ expirationTime: new Date(Date.now() - 60_000), issuedAt: new Date(Date.now() - 120_000) })),
    },
    {
      name: "SIWE: oversized body",
      status: 413,
      request: () => siwe({ message: "x".repeat(70_000), signature: "0x00" }),
    },
    // ------------------------------------------------------------ linking
    {
      name: "link: unknown code",
      status: 400,
      text: /Invalid, expired or already used/,
      request: () => ({
        method: "POST",
        url: "/auth/link",
        headers: { authorization: `Bearer ${token}` },
        payload: { code: "AAAAA-BBBBB-CCCCC-DDDDD-EEEEE" },
      }),
    },
    {
      name: "link: no token",
      status: 401,
      request: () => ({ method: "POST", url: "/auth/link", payload: { code: "AAAAA" } }),
    },
    {
      name: "link code: missing patientId",
      status: 400,
      request: () => ({ method: "POST", url: "/admin/link-codes", headers: LINK_ISSUER, payload: {} }),
    },
    {
      name: "link code: injection in patientId",
      status: 400,
      request: () => ({
        method: "POST",
        url: "/admin/link-codes",
        headers: LINK_ISSUER,
        payload: { patientId: "x'; DELETE FROM patient_wallets; --" },
      }),
    },
    {
      name: "link code: unknown patient",
      status: 404,
      text: /not held/,
      request: () => ({
        method: "POST",
        url: "/admin/link-codes",
        headers: LINK_ISSUER,
        payload: { patientId: "nobody-here" },
      }),
    },
    {
      name: "link code: lifetime out of range",
      status: 400,
      request: () => ({
        method: "POST",
        url: "/admin/link-codes",
        headers: LINK_ISSUER,
        payload: { patientId, ttlSeconds: 10_000_000 },
      }),
    },
    {
      name: "link code: without the admin token",
      status: 401,
      request: () => ({
        method: "POST",
        url: "/admin/link-codes",
        headers: { authorization: `Bearer ${token}` },
        payload: { patientId },
      }),
    },
    // ------------------------------------------------------------ relaying
    {
      name: "relay: patient is not an address",
      status: 400,
      request: () => relay("grant", { ...relayBody(), patient: "alice" }),
    },
    {
      name: "relay: zero-address patient",
      status: 400,
      text: /zero address/,
      request: () => relay("revoke-all", { patient: `0x${"0".repeat(40)}`, deadline: "1", signature: "0x00" }),
    },
    {
      name: "relay: bad address checksum",
      status: 400,
      text: /checksum/,
      request: () =>
        relay("grant", {
          ...relayBody(),
          grantee: gw.t.actors.hospital.address.replace(/[a-f]/, (c) => c.toUpperCase()),
        }),
    },
    {
      name: "relay: categories beyond uint32",
      status: 400,
      text: /unsigned 32-bit/,
      request: () => relay("grant", { ...relayBody(), categories: 2 ** 33 }),
    },
    { name: "relay: negative purpose", status: 400, request: () => relay("grant", { ...relayBody(), purpose: "-1" }) },
    {
      name: "relay: signature not hex",
      status: 400,
      request: () => relay("grant", { ...relayBody(), signature: "signed-by-alice" }),
    },
    {
      name: "relay: missing field",
      status: 400,
      request: () => relay("grant", { ...relayBody(), expiresAt: undefined }),
    },
    {
      name: "relay: unknown field",
      status: 400,
      request: () => relay("revoke-all", { patient: patient.address, deadline: "1", signature: "0x00", gasPrice: "1" }),
    },
    {
      name: "relay: scope of the wrong length",
      status: 400,
      request: () =>
        relay("revoke", {
          patient: patient.address,
          grantee: gw.t.actors.hospital.address,
          scope: "0x01",
          deadline: "1",
          signature: "0x00",
        }),
    },
    {
      name: "relay: prototype poisoning",
      status: 400,
      request: () =>
        relay(
          "revoke-all",
          `{"patient":"${patient.address}","deadline":"1","signature":"0x00","__proto__":{"admin":true}}`,
        ),
    },
    {
      name: "relay: form-encoded body",
      status: 415,
      request: () => relay("revoke-all", "patient=x", "application/x-www-form-urlencoded"),
    },
    { name: "relay: unknown action", status: 404, request: () => relay("mint", relayBody()) },
  ];

  async function snapshot(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const [name, query] of [
      ["resources", sql`SELECT count(*) AS n FROM resources`],
      ["patient_keys", sql`SELECT count(*) AS n FROM patient_keys`],
      ["patient_wallets", sql`SELECT count(*) AS n FROM patient_wallets`],
      ["link_codes", sql`SELECT count(*) AS n FROM link_codes`],
      ["nonces_used", sql`SELECT count(*) AS n FROM siwe_nonces WHERE used_at IS NOT NULL`],
      ["relay_usage", sql`SELECT count(*) AS n FROM relay_usage`],
    ] as const) {
      out[name] = Number((await rawRows<{ n: string }>(gw.store.db, query))[0]?.n);
    }
    return out;
  }

  it(`has at least 30 distinct cases (${cases.length})`, () => {
    expect(new Set(cases.map((c) => c.name)).size).to.equal(cases.length);
    expect(cases.length).to.be.at.least(30);
  });

  for (const c of cases) {
    it(`${c.name} → ${c.status}`, async () => {
      const request = await c.request();
      const before = await snapshot();
      const res = await gw.app.inject(request);
      expect(res.statusCode, res.body.slice(0, 500)).to.equal(c.status);
      expect(res.headers["content-type"]).to.match(/^application\/fhir\+json/);
      const body = res.json() as OperationOutcome;
      expect(body.resourceType).to.equal("OperationOutcome");
      expect(body.issue?.length).to.be.greaterThan(0);
      if (c.text) expect(body.issue!.map((i) => i.details?.text ?? "").join("\n")).to.match(c.text);
      expect(await snapshot()).to.deep.equal(before);
    });
  }

  it("stays healthy and keeps serving after all of that", async () => {
    expect((await gw.app.inject({ method: "GET", url: "/healthz" })).statusCode).to.equal(200);
    const res = await gw.read(token, `/fhir/Patient/${patientId}`);
    expect(res.statusCode, res.body).to.equal(200);
    expect(res.headers["content-type"]).to.match(new RegExp(`^${FHIR.replace("+", "\\+")}`));
    expect((await verifyChain(gw.store.db)).ok).to.equal(true);
  });
});
