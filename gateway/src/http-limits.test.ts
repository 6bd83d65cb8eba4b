import type { OperationOutcome } from "@medplum/fhirtypes";
import { expect } from "chai";
import { connect } from "node:net";
import type { AddressInfo } from "node:net";
import { type IncomingHttpHeaders, get as httpGet } from "node:http";
import { gunzipSync } from "node:zlib";
import { COMPRESS_MIN_BYTES, acceptsGzip } from "./http/compression.ts";
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

describe("gzip for large answers, when the client accepts it", function () {
  this.timeout(60_000);
  let gw: TestGateway;
  let port: number;

  before(async () => {
    gw = await testGateway();
    await gw.app.listen({ host: "127.0.0.1", port: 0 });
    port = (gw.app.server.address() as AddressInfo).port;
  });
  after(() => gw?.close());

  /** One GET on a real socket, its body as sent (not decoded). */
  function get(path: string, acceptEncoding?: string): Promise<{ headers: IncomingHttpHeaders; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { accept: "application/fhir+json" };
      if (acceptEncoding !== undefined) headers["accept-encoding"] = acceptEncoding;
      httpGet({ host: "127.0.0.1", port, path, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      }).on("error", reject);
    });
  }

  it("gzips the CapabilityStatement for a client that accepts gzip, and sends it as it is to one that does not", async () => {
    const plain = await get("/fhir/metadata");
    expect(plain.headers["content-encoding"]).to.equal(undefined);
    expect(plain.body.length).to.be.above(COMPRESS_MIN_BYTES);
    expect(plain.headers["vary"]).to.match(/Accept-Encoding/);

    const zipped = await get("/fhir/metadata", "gzip, deflate, br");
    expect(zipped.headers["content-encoding"]).to.equal("gzip");
    expect(zipped.headers["vary"]).to.match(/Accept-Encoding/);
    expect(zipped.headers["x-content-type-options"]).to.equal("nosniff");
    expect(zipped.headers["content-type"]).to.match(/^application\/fhir\+json/);
    expect(zipped.body.length).to.be.below(plain.body.length / 3);
    const unzipped = JSON.parse(gunzipSync(zipped.body).toString("utf8")) as { resourceType: string };
    expect(unzipped).to.deep.equal(JSON.parse(plain.body.toString("utf8")));
    expect(unzipped.resourceType).to.equal("CapabilityStatement");

    // gzip refused by weight, even with everything else accepted; accepted through "*".
    expect((await get("/fhir/metadata", "gzip;q=0, *")).headers["content-encoding"]).to.equal(undefined);
    expect((await get("/fhir/metadata", "identity")).headers["content-encoding"]).to.equal(undefined);
    expect((await get("/fhir/metadata", "br, *;q=0.5")).headers["content-encoding"]).to.equal("gzip");
  });

  it("sends a small answer as it is", async () => {
    const small = await get("/healthz", "gzip");
    expect(small.body.length).to.be.below(COMPRESS_MIN_BYTES);
    expect(small.headers["content-encoding"]).to.equal(undefined);
    expect(JSON.parse(small.body.toString("utf8"))).to.be.an("object");
  });

  it("reads Accept-Encoding as RFC 9110 says", () => {
    const cases: [string | undefined, boolean][] = [
      [undefined, false],
      ["", false],
      ["identity", false],
      ["gzip", true],
      ["GZIP", true],
      ["x-gzip", true],
      ["deflate, gzip;q=0.1", true],
      ["gzip;q=0", false],
      ["gzip;q=0.000", false],
      ["gzip; q=0", false],
      ["*", true],
      ["*;q=0", false],
      ["gzip;q=0, *;q=1", false],
      ["br, *;q=0.5", true],
      ["gzip;q=nonsense", false],
    ];
    for (const [header, expected] of cases) expect(acceptsGzip(header), String(header)).to.equal(expected);
  });
});
