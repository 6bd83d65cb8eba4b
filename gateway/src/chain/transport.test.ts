import { expect } from "chai";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { inspect } from "node:util";
import { createPublicClient } from "viem";
import { loadConfig } from "../config/config.ts";
import { redactRpcUrl, transportFor } from "./chain.ts";

describe("RPC_URL credentials never reach a log", function () {
  this.timeout(30_000);

  it("redacts user info, paths and queries of an RPC URL", () => {
    expect(redactRpcUrl("https://user:pw@rpc.example.org:8443/v3/KEY?apikey=K2")).to.equal(
      "https://[redacted]@rpc.example.org:8443/[redacted]",
    );
    expect(redactRpcUrl("http://127.0.0.1:8545")).to.equal("http://127.0.0.1:8545");
    expect(redactRpcUrl("not a url")).to.equal("[redacted]");
  });

  it("takes the URL out of every error the transport raises, causes included", async () => {
    // A node that answers every request with 500 (its URL then appears in viem's error).
    const server = createServer((_req, res) => res.writeHead(500).end("boom"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const url = `http://alice:s3cr3t-pw@127.0.0.1:${port}/v3/APIKEY0123456789?token=QTOKEN42`;
      const client = createPublicClient({ transport: transportFor(url) });
      const err = await client.getChainId().then(
        () => expect.fail("the node failed"),
        (e: unknown) => e as Error,
      );
      const printed = `${String(err)} ${err.stack} ${inspect(err, { depth: 10 })} ${JSON.stringify(err)}`;
      expect(printed).to.include(`127.0.0.1:${port}`);
      for (const secret of ["s3cr3t-pw", "APIKEY0123456789", "QTOKEN42", "alice"]) {
        expect(printed, secret).to.not.include(secret);
      }
    } finally {
      server.close();
    }
  });

  it("keeps the RPC URL out of a printed configuration", () => {
    const config = loadConfig(
      {
        RPC_URL: "https://rpc.example.org/v3/APIKEY0123456789",
        CHAIN_ID: "31337",
        CUSTODIAN_ADDRESS: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        GATEWAY_MASTER_KEY: "3c6e0b8a9c15224a8228b9a98ca1531d3c6e0b8a9c15224a8228b9a98ca1531e",
        GATEWAY_ADMIN_TOKEN: "s3cr3t-admin-token-abcdefghijklmnopqrstuvwxyz0123",
        GATEWAY_LINK_CODE_TOKEN: "l1nk-code-token-ABCDEFGHIJKLMNOPQRSTUVWXYZ-9876",
        GATEWAY_PRIVATE_KEY: "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
        GATEWAY_TOKEN_SECRET: "hmac-key-for-bearer-tokens-0123456789abcdef",
        GATEWAY_DATA_DIR: ":memory:",
      },
      {
        deployment: () => ({
          ConsentRegistry: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
          AuditAnchor: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
        }),
        cwd: () => "/srv",
        readFile: () => {
          throw new Error("no files");
        },
      },
    );
    expect(JSON.stringify(config) + inspect(config, { depth: 5 })).to.not.include("APIKEY0123456789");
    expect(config.rpcUrl.reveal()).to.equal("https://rpc.example.org/v3/APIKEY0123456789");
  });
});
