import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { createServer } from "node:net";

import { expect } from "chai";
import { createPublicClient, http } from "viem";

import { DEMO_ORGANIZATIONS } from "#sdk/demo.ts";
import { consentRegistryAbi } from "#sdk/generated/abis.ts";
import { contractAddress } from "#sdk/deployments.ts";

// `npm start`'s orchestrator, for real: a Hardhat node on 127.0.0.1:8545, contracts deployed and
// seeded, and nothing left behind after Ctrl-C (SIGINT to the whole process group).
const RPC = "http://127.0.0.1:8545";

function startStack(): {
  child: ChildProcess;
  output: () => string;
  ready: Promise<void>;
  exited: Promise<number | null>;
} {
  const child = spawn(process.execPath, ["scripts/stack.ts"], { detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("Press Ctrl-C to stop everything.")) resolve();
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`the stack exited (${code}) before it was ready:\n${out}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, output: () => out, ready, exited };
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

async function rpcAnswers(): Promise<boolean> {
  try {
    await fetch(RPC, { method: "POST", body: "{}", signal: AbortSignal.timeout(1000) });
    return true;
  } catch {
    return false;
  }
}

describe("npm start (scripts/stack.ts)", function () {
  this.timeout(420_000);

  it("serves chainId 31337 on 127.0.0.1:8545 with the contracts deployed, and Ctrl-C leaves no process", async () => {
    const stack = startStack();
    try {
      await stack.ready;
      const client = createPublicClient({ transport: http(RPC) });
      expect(await client.getChainId()).to.equal(31337);
      const registry = contractAddress(31337, "ConsentRegistry");
      expect(await client.getCode({ address: registry })).to.match(/^0x[0-9a-f]{100,}/);
      // The demo organizations and the demo payer of the prevention programme.
      expect(
        await client.readContract({ address: registry, abi: consentRegistryAbi, functionName: "organizationCount" }),
      ).to.equal(BigInt(DEMO_ORGANIZATIONS.length + 1));
      expect(DEMO_ORGANIZATIONS.length).to.equal(3);
      const app = await fetch("http://127.0.0.1:3000/");
      expect(app.status, "web app").to.equal(200);
      expect(await app.text()).to.match(/Consentry/);
      // The demo accounts a person imports: alice (#1) with Hardhat's public development key.
      expect(stack.output()).to.match(
        /#1 alice +0x70997970C51812dc3A010C7d01b50e0d17dc79C8 +0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d +patient/,
      );
      expect(stack.output()).to.match(/#4 clinician .* clinician of St\. Example Hospital/);
      // The chain's RPC log goes to a file, not to a pipe nobody reads.
      expect(readFileSync(".data/logs/hardhat-node.log", "utf8")).to.match(/eth_chainId|Started HTTP/);
      for (const port of [4001, 4002]) {
        const res = await fetch(`http://127.0.0.1:${port}/fhir/metadata`);
        expect(res.status, `gateway on ${port}`).to.equal(200);
        expect(((await res.json()) as { resourceType: string }).resourceType).to.equal("CapabilityStatement");
      }
      // The gateways' request logs go to files too: the terminal keeps progress, the summary and errors.
      for (const custodian of ["hospital", "lab"]) {
        expect(readFileSync(`.data/logs/gateway-${custodian}.log`, "utf8")).to.match(/"url":"\/fhir\/metadata"/);
      }
      expect(stack.output()).not.to.match(/"reqId"|incoming request/);
      expect(stack.output()).to.match(/logs of the chain, the indexer, the gateways and the web app: \.data\/logs\//);
      // The indexer: caught up when the stack says it is ready, a fresh index of its own for this chain,
      // and the web app's lists come from it (through the app's server, never the browser).
      expect(stack.output()).to.match(/indexer +http:\/\/127\.0\.0\.1:42069/);
      const status = (await (await fetch("http://127.0.0.1:42069/status")).json()) as Record<
        string,
        { id: number; block: { number: number } }
      >;
      const indexed = Object.values(status)[0]!;
      expect(indexed.id).to.equal(31337);
      expect(indexed.block.number).to.be.at.least(Number(await client.getBlockNumber()) - 1);
      expect(readdirSync(".data/indexer").filter((e) => e.startsWith("31337-"))).to.have.length(1);
      const organizations = await fetch("http://127.0.0.1:3000/api/history/organizations");
      expect(organizations.status, await organizations.clone().text()).to.equal(200);
      const body = (await organizations.json()) as { indexed: { chainId: number }; data: { name: string }[] };
      expect(body.indexed.chainId).to.equal(31337);
      expect(body.data.map((o) => o.name)).to.include("St. Example Hospital");
      const bad = await fetch("http://127.0.0.1:3000/api/history/grants?patient=alice");
      expect(bad.status).to.equal(400);
      expect(((await bad.json()) as { error: string }).error).to.match(/patient must be an address/);
      // The README's example of a provider's own backend (the sdk by its name), against this chain:
      // the clinician holds no consent of alice's yet.
      const example = spawnSync(
        process.execPath,
        [
          "scripts/examples/verify-consent.ts",
          "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
          "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65",
        ],
        { encoding: "utf8" },
      );
      expect(example.status, example.stderr).to.equal(3);
      expect(example.stdout).to.match(/^not allowed at block \d+: /);
    } finally {
      process.kill(-stack.child.pid!, "SIGINT");
      await stack.exited;
    }
    // The stack has exited; its children's own helpers (Ponder's and Next's) may take a moment more.
    const deadline = Date.now() + 10_000;
    while (groupAlive(stack.child.pid!) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    const survivors = spawnSync("ps", ["-o", "pid=,args=", "-g", String(stack.child.pid)], { encoding: "utf8" }).stdout;
    expect(groupAlive(stack.child.pid!), `a process of the stack survived Ctrl-C:\n${survivors}`).to.equal(false);
    expect(await rpcAnswers(), "the chain still answers after Ctrl-C").to.equal(false);
    for (const port of [4001, 4002]) {
      const alive = await fetch(`http://127.0.0.1:${port}/healthz`).then(
        () => true,
        () => false,
      );
      expect(alive, `the gateway on ${port} still answers after Ctrl-C`).to.equal(false);
    }
    const indexerAlive = await fetch("http://127.0.0.1:42069/health").then(
      () => true,
      () => false,
    );
    expect(indexerAlive, "the indexer still answers after Ctrl-C").to.equal(false);
  });

  it("fails with a clear message when port 8545 is taken", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(8545, "127.0.0.1", resolve));
    try {
      const stack = startStack();
      stack.ready.catch(() => undefined);
      expect(await stack.exited).to.equal(1);
      expect(stack.output()).to.match(/port 8545 on 127\.0\.0\.1 is taken/);
      expect(groupAlive(stack.child.pid!)).to.equal(false);
    } finally {
      blocker.close();
    }
  });
});
