/**
 * The indexer over PostgreSQL (the production runbook's database), on anvil: a development chain
 * restarted under the same chain id in the same database is indexed from the new chain, not from
 * Ponder's RPC cache of the dead one (`ponder_sync`, keyed by chain id alone); a live chain keeps
 * its cache.
 *
 * Needs a PostgreSQL server: CONSENTRY_TEST_DATABASE_URL (`.ci/run` starts one), whose user may
 * create databases. Each run creates a database of its own and drops it. Skipped without one.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import pg from "pg";

import { KINDS } from "#sdk/codes.ts";
import { consentRegistryAbi } from "#sdk/generated/abis.ts";
import { forgetDeadSyncCache } from "../../indexer/start.ts";
import { historyPatientGrants } from "#sdk/history.ts";
import { indexerClient, schema } from "../../indexer/client.ts";
import { CHAIN_ID, startAnvil, who } from "../anvil/lib.ts";
import { type RunningIndexer, caughtUp, deployConsentry, runIndexer, send, stop } from "./lib.ts";

const LICENCE = `0x${"00".repeat(32)}`;

describe("indexer (Ponder) over PostgreSQL", function () {
  this.timeout(600_000);
  const adminUrl = process.env["CONSENTRY_TEST_DATABASE_URL"];
  const dataRoot = mkdtempSync(path.join(tmpdir(), "consentry-indexer-pg-"));
  const database = `consentry_indexer_${process.pid}`;
  let url = "";
  const running: { stop(): Promise<void> }[] = [];

  before(async function () {
    if (!adminUrl) return this.skip();
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${database}`);
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.end();
    const u = new URL(adminUrl);
    u.pathname = `/${database}`;
    url = u.toString();
  });
  after(async () => {
    for (const r of running.reverse()) await r.stop();
    rmSync(dataRoot, { recursive: true, force: true });
    if (!adminUrl || !url) return;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  });

  /** A fresh anvil with the contracts and one accredited organization, indexed over PostgreSQL. */
  async function chainWith(organization: string) {
    const { child: anvil, rpc } = await startAnvil();
    running.push({ stop: () => stop(anvil) });
    const deployment = await deployConsentry(rpc);
    await send(rpc, who.multisig, deployment.ConsentRegistry, consentRegistryAbi, "accredit", [
      who.lab.address,
      KINDS.PROVIDER,
      organization,
      "",
      LICENCE,
    ]);
    // 40 more blocks: the accreditation becomes final for Ponder (30 blocks on an unknown chain),
    // which is what its RPC cache keeps.
    const mined = await fetch(rpc, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "anvil_mine", params: ["0x28"] }),
    });
    expect(((await mined.json()) as { error?: unknown }).error).to.equal(undefined);
    const env = { CHAIN_ID: String(CHAIN_ID), RPC_URL: rpc, CONSENTRY_DEPLOYMENT: JSON.stringify(deployment) };
    return { anvil, rpc, deployment, env };
  }

  async function indexed(rpc: string, deployment: object): Promise<{ names: string[]; indexer: RunningIndexer }> {
    const indexer = await runIndexer(rpc, deployment as Parameters<typeof runIndexer>[1], dataRoot, {
      DATABASE_URL: url,
    });
    running.push({ stop: () => stop(indexer.child) });
    await caughtUp(indexer, rpc);
    const client = indexerClient(indexer.url);
    const orgs = await client.db.select().from(schema.organization);
    // The patient's list reads Ponder's checkpoint in its own query (indexer/client.ts): on
    // PostgreSQL too (the table is in the indexer's schema), with or without grants.
    // (Ponder may still move its checkpoint while the list is read: it lies between two statuses.)
    const before = await client.status();
    const list = await historyPatientGrants(client, who.patient.address);
    const after = await client.status();
    expect(before.block).to.be.greaterThan(0);
    expect(list.grants).to.deep.equal([]);
    expect(Number(list.blockNumber)).to.be.within(before.block, after.block);
    expect(list.timestamp).to.be.within(before.timestamp, after.timestamp);
    return { names: orgs.map((o) => o.name), indexer };
  }

  it("indexes a chain restarted under the same chain id from that chain, not from the dead chain's cached logs", async () => {
    const dead = await chainWith("Old Hospital");
    const first = await indexed(dead.rpc, dead.deployment);
    expect(first.names).to.deep.equal(["Old Hospital"]);
    await stop(first.indexer.child);
    await stop(dead.anvil);

    // The same chain id, the same contract addresses at the same blocks: only the hashes differ.
    const fresh = await chainWith("Riverside Lab");
    const second = await indexed(fresh.rpc, fresh.deployment);
    expect(second.names).to.deep.equal(["Riverside Lab"]);
    await stop(second.indexer.child);

    // The live chain keeps its cache when its indexer starts again.
    const cachedBlocks = async () => {
      const db = new pg.Client({ connectionString: url });
      await db.connect();
      const { rows } = await db.query<{ n: string }>(
        "SELECT count(*)::text AS n FROM ponder_sync.blocks WHERE chain_id = $1",
        [CHAIN_ID],
      );
      await db.end();
      return Number(rows[0]!.n);
    };
    const before = await cachedBlocks();
    expect(before).to.be.greaterThan(0);
    const env = { ...process.env, ...fresh.env, DATABASE_URL: url };
    expect(await forgetDeadSyncCache(env, () => undefined)).to.equal(false);
    expect(await cachedBlocks()).to.equal(before);
    const again = await indexed(fresh.rpc, fresh.deployment);
    expect(again.names).to.deep.equal(["Riverside Lab"]);
  });
});
