import type { OperationOutcome } from "@medplum/fhirtypes";
import { expect } from "chai";
import { connect } from "node:net";
import type { AddressInfo } from "node:net";
import { testGateway, type TestGateway } from "./testing/gateway.ts";

/** One raw HTTP/1.1 exchange on a real socket (Node's parser, not inject). */
function raw(
  port: number,
  request: string,
): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let data = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => (data += chunk));
    socket.on("error", reject);
    socket.on("close", () => {
      const [head = "", ...rest] = data.split("\r\n\r\n");
      const [statusLine = "", ...lines] = head.split("\r\n");
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(":");
        if (i > 0) headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
      }
      resolve({ status: Number(statusLine.split(" ")[1]), headers, body: rest.join("\r\n\r\n") });
    });
    socket.write(request);
  });
}

describe("every response: security headers; 414 and 431 as OperationOutcomes", function () {
  this.timeout(60_000);
  let gw: TestGateway;
  let port: number;

  before(async () => {
    gw = await testGateway();
    await gw.app.listen({ host: "127.0.0.1", port: 0 });
    port = (gw.app.server.address() as AddressInfo).port;
  });
  after(() => gw?.close());

  function secured(headers: Record<string, string>): void {
    expect(headers["x-content-type-options"]).to.equal("nosniff");
    expect(headers["x-frame-options"]).to.equal("DENY");
    expect(headers["content-security-policy"]).to.match(/default-src 'none'/);
    expect(headers["referrer-policy"]).to.equal("no-referrer");
    expect(headers["cache-control"]).to.equal("no-store");
  }

  function isOutcome(res: { headers: Record<string, string>; body: string }, text: RegExp): void {
    expect(res.headers["content-type"]).to.match(/^application\/fhir\+json/);
    const body = JSON.parse(res.body) as OperationOutcome;
    expect(body.resourceType).to.equal("OperationOutcome");
    expect(body.issue?.[0]?.details?.text).to.match(text);
  }

  it("sends the security headers with data, errors and unknown routes", async () => {
    for (const path of ["/fhir/metadata", "/healthz", "/no/such/route", "/fhir/Observation/x"]) {
      const res = await raw(port, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
      expect(res.status, path).to.be.greaterThan(0);
      secured(res.headers);
    }
  });

  it("answers a URL over 8 KiB with 414 and headers over 16 KiB with 431, both OperationOutcomes", async () => {
    const longUrl = await raw(
      port,
      `GET /fhir/Observation?patient=${"a".repeat(9000)} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
    );
    expect(longUrl.status).to.equal(414);
    isOutcome(longUrl, /URL longer than 8192/);
    secured(longUrl.headers);

    const bigHeaders = await raw(
      port,
      `GET /fhir/metadata HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ${"b".repeat(20_000)}\r\nConnection: close\r\n\r\n`,
    );
    expect(bigHeaders.status).to.equal(431);
    isOutcome(bigHeaders, /headers .* larger than 16 KiB/);
    secured(bigHeaders.headers);

    const hugeUrl = await raw(port, `GET /${"c".repeat(20_000)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    expect(hugeUrl.status).to.equal(431);
    isOutcome(hugeUrl, /larger than 16 KiB/);
  });
});
