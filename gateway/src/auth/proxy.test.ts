/**
 * Behind the TLS proxy production needs: the client's address is taken from X-Forwarded-For only
 * when the peer is a trusted proxy (GATEWAY_TRUSTED_PROXIES, nothing by default), per-IP limits
 * apply per client (IPv6 per /64), and the audit records the client's address.
 */
import type { AuditEvent } from "@medplum/fhirtypes";
import { expect } from "chai";
import { listAudit } from "../audit/log.ts";
import { clientKey } from "./rate-limit.ts";
import { testGateway, type TestGateway } from "../testing/gateway.ts";

describe("client addresses behind a trusted proxy", function () {
  this.timeout(120_000);
  let gw: TestGateway;
  let plain: TestGateway;
  const PROXY = "10.1.2.3";

  before(async () => {
    gw = await testGateway({
      custodian: "lab",
      config: {
        rateLimits: { perAddressPerMinute: 100_000, perIpPerMinute: 2 },
        trustedProxies: ["10.0.0.0/8", "::1"],
      },
    });
    plain = await testGateway({
      custodian: "lab",
      keepDatabase: gw.store,
      config: { rateLimits: { perAddressPerMinute: 100_000, perIpPerMinute: 2 } },
    });
  });
  after(async () => {
    await plain.close();
    await gw.close();
  });

  const nonce = (target: TestGateway, remoteAddress: string, forwardedFor?: string) =>
    target.app.inject({
      method: "GET",
      url: "/auth/nonce",
      remoteAddress,
      ...(forwardedFor ? { headers: { "x-forwarded-for": forwardedFor } } : {}),
    });

  it("limits each client behind the proxy on its own, not all of them as one", async () => {
    expect((await nonce(gw, PROXY, "198.51.100.1")).statusCode).to.equal(200);
    expect((await nonce(gw, PROXY, "198.51.100.1")).statusCode).to.equal(200);
    expect((await nonce(gw, PROXY, "198.51.100.1")).statusCode).to.equal(429);
    // Another client through the same proxy still has its own allowance.
    expect((await nonce(gw, PROXY, "198.51.100.2")).statusCode).to.equal(200);
    // A spoofed hop before the proxy's own does not help: the proxy appends the real client.
    expect((await nonce(gw, PROXY, "203.0.113.9, 198.51.100.1")).statusCode).to.equal(429);
  });

  it("believes X-Forwarded-For from trusted proxies only (nobody by default)", async () => {
    // An untrusted peer cannot choose its address.
    expect((await nonce(gw, "192.0.2.50", "198.51.100.77")).statusCode).to.equal(200);
    expect((await nonce(gw, "192.0.2.50", "198.51.100.78")).statusCode).to.equal(200);
    expect((await nonce(gw, "192.0.2.50", "198.51.100.79")).statusCode).to.equal(429);
    // Without GATEWAY_TRUSTED_PROXIES, nobody is believed.
    expect((await nonce(plain, "192.0.2.60", "198.51.100.80")).statusCode).to.equal(200);
    expect((await nonce(plain, "192.0.2.60", "198.51.100.81")).statusCode).to.equal(200);
    expect((await nonce(plain, "192.0.2.60", "198.51.100.82")).statusCode).to.equal(429);
  });

  it("keys limits by IPv4 address and IPv6 /64", () => {
    expect(clientKey("198.51.100.7")).to.equal("198.51.100.7");
    expect(clientKey("::ffff:198.51.100.7")).to.equal("198.51.100.7");
    expect(clientKey("2001:db8:0:1::1")).to.equal("2001:db8:0:1::/64");
    expect(clientKey("2001:0DB8:0000:0001:ffff:1:2:3")).to.equal("2001:db8:0:1::/64");
    expect(clientKey("2001:db8::1")).to.equal("2001:db8:0:0::/64");
    expect(clientKey("::1")).to.equal("0:0:0:0::/64");
    expect(clientKey("fe80::1%eth0")).to.equal("fe80:0:0:0::/64");
  });

  it("groups IPv6 clients by /64", async () => {
    expect((await nonce(gw, "2001:db8:aa:1::1")).statusCode).to.equal(200);
    expect((await nonce(gw, "2001:db8:aa:1:ffff::2")).statusCode).to.equal(200);
    expect((await nonce(gw, "2001:db8:aa:1:1234:5678:9abc:def0")).statusCode).to.equal(429);
    expect((await nonce(gw, "2001:db8:aa:2::1")).statusCode).to.equal(200);
    // Through the proxy too.
    expect((await nonce(gw, "::1", "2001:db8:bb:1::1")).statusCode).to.equal(200);
    expect((await nonce(gw, "::1", "2001:db8:bb:1::2")).statusCode).to.equal(200);
    expect((await nonce(gw, "::1", "2001:db8:bb:1::3")).statusCode).to.equal(429);
  });

  it("records the client's address, not the proxy's, in the audit", async () => {
    const open = await testGateway({ custodian: "lab", keepDatabase: gw.store, config: { trustedProxies: [PROXY] } });
    try {
      const { patients } = await open.ingest({ seed: "proxy", patients: 1 });
      const patientId = patients[0]!.id!;
      const patient = await open.t.newAccount();
      await open.link(patientId, patient);
      const token = await open.signIn(patient);
      const res = await open.read(token, `/fhir/Patient/${patientId}`, "TREAT", {
        remoteAddress: PROXY,
        headers: { "x-forwarded-for": "198.51.100.200" },
      });
      expect(res.statusCode, res.body).to.equal(200);
      const last = (await listAudit(open.store.db, patientId, { limit: 1000 })).at(-1)!.event as AuditEvent;
      expect(last.agent[0]?.network?.address).to.equal("198.51.100.200");
    } finally {
      await open.close();
    }
  });
});
