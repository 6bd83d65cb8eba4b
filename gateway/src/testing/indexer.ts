/**
 * The gateway tests' indexer: one real Ponder (indexer/start.ts, PGlite in a temporary folder) per
 * test process, indexing the shared test chain (testChain(): the in-process EDR network, served to
 * the indexer over a loopback JSON-RPC bridge). The gateway lists consents and a study's
 * participants through it (INDEXER_URL), as in production; `caughtUp()` waits until it has the
 * chain's latest block, so a test lists what it just mined.
 *
 * Started on first use (answering before testIndexer() resolves), stopped when the process exits
 * (its child and the bridge do not keep the test process alive).
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { type Server, createServer } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";

import { type IndexerClient, indexerClient } from "#sdk/history.ts";
import { startIndexer } from "../../../indexer/start.ts";
import { testChain } from "./chain.ts";

export interface TestIndexer {
  client: IndexerClient;
  url: string;
  child: ChildProcess;
  /** Waits until the indexer has indexed the chain's latest block (or `block`). */
  caughtUp(block?: bigint): Promise<void>;
  output(): string;
}

let shared: Promise<TestIndexer> | undefined;

export function testIndexer(): Promise<TestIndexer> {
  shared ??= start();
  return shared;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)),
  );
}

async function start(): Promise<TestIndexer> {
  const t = await testChain();
  const dataRoot = mkdtempSync(path.join(tmpdir(), "consentry-gw-indexer-"));
  const bridge = createServer((req, res) => {
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
  const rpcPort = await listen(bridge);
  // Neither the bridge nor the indexer's keep-alive connections to it keep the test process alive.
  bridge.unref();
  bridge.on("connection", (socket) => socket.unref());
  const probe = createServer();
  const port = await listen(probe);
  await new Promise<void>((resolve) => probe.close(() => resolve()));

  const { child } = await startIndexer(
    {
      ...process.env,
      CHAIN_ID: String(t.chainId),
      RPC_URL: `http://127.0.0.1:${rpcPort}`,
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
  let out = "";
  child.stdout!.on("data", (c: Buffer) => (out = (out + c.toString()).slice(-20_000)));
  child.stderr!.on("data", (c: Buffer) => (out = (out + c.toString()).slice(-20_000)));
  for (const stream of [child.stdout, child.stderr] as const) (stream as unknown as { unref?: () => void }).unref?.();
  child.unref();
  process.once("exit", () => {
    child.kill("SIGKILL");
    rmSync(dataRoot, { recursive: true, force: true });
  });

  const url = `http://127.0.0.1:${port}`;
  const client = indexerClient(url);
  // Answering before the first test uses it: Ponder's start-up (PGlite, migrations) takes seconds,
  // more on a busy machine, and a gateway whose indexer does not answer says 503.
  const answering = Date.now() + 240_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the test indexer exited (${child.exitCode}):\n${out.slice(-4000)}`);
    if (
      await client.status().then(
        () => true,
        () => false,
      )
    )
      break;
    if (Date.now() > answering) throw new Error(`the test indexer did not answer within 240 s:\n${out.slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const caughtUp = async (block?: bigint) => {
    const target = Number(block ?? (await t.client.getBlockNumber({ cacheTime: 0 })));
    const deadline = Date.now() + 240_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the test indexer exited (${child.exitCode}):\n${out.slice(-4000)}`);
      const at = await client.status().then(
        (s) => s.block,
        () => -1,
      );
      if (at >= target) return;
      if (Date.now() > deadline)
        throw new Error(`the test indexer did not reach block ${target}:\n${out.slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return { client, url, child, caughtUp, output: () => out };
}
