/**
 * A batch that updates more than 20 grants at once (Ponder's threshold for writing updates through
 * a temporary table) still leaves every grant readable over `/sql` on PGlite.
 *
 * Before the fix (indexer/ponder-patch.ts), Ponder 0.17.7 kept an empty temporary table named
 * `consent_grant` in PGlite's one session after such a batch, and every reader's unqualified
 * `consent_grant` resolved to it: the table read as empty while it held every row. The benchmark's
 * 10,000 consent events showed it (no grant at all); 48 grants and 24 revocations in one
 * backfill batch show it here (mined past Ponder's finality depth: recent blocks are indexed one
 * by one, in batches too small for it).
 */
import type { ChildProcess } from "node:child_process";
import { copyFileSync, linkSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { count, isNull } from "ponder";
import { createPublicClient, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { KINDS, categoriesToMask, encodePurpose, purposeScope } from "#sdk/codes.ts";
import { consentRegistryAbi } from "#sdk/generated/abis.ts";
import { indexerClient, schema } from "../../indexer/client.ts";
import { PONDER_CACHE_JS, patchPonder } from "../../indexer/ponder-patch.ts";
import { KEYS, startAnvil, who } from "../anvil/lib.ts";
import { type RunningIndexer, caughtUp, deployConsentry, runIndexer, send, stop } from "./lib.ts";

const LICENCE = `0x${"00".repeat(32)}`;
const PURPOSES = ["TREAT", "ETREAT", "HOPERAT"] as const;

describe("indexer: a backfill batch with more than 20 updated grants (PGlite)", function () {
  this.timeout(600_000);
  const dataRoot = mkdtempSync(path.join(tmpdir(), "consentry-indexer-flush-"));
  let anvil: ChildProcess | undefined;
  let indexer: RunningIndexer | undefined;

  after(async () => {
    await stop(indexer?.child);
    await stop(anvil);
    rmSync(dataRoot, { recursive: true, force: true });
  });

  it("reads every grant (and every revocation) after the backfill", async () => {
    let rpc: string;
    ({ child: anvil, rpc } = await startAnvil());
    const deployment = await deployConsentry(rpc);
    const registry = (account: Parameters<typeof send>[1], functionName: string, args: unknown[]) =>
      send(rpc, account, deployment.ConsentRegistry, consentRegistryAbi, functionName, args);
    const orgs = [who.hospital, who.lab];
    for (const [i, org] of orgs.entries()) {
      await registry(who.multisig, "accredit", [org.address, KINDS.PROVIDER, `Provider ${i}`, "", LICENCE]);
    }
    // 8 patients (every dev key but the organizations') × 2 organizations × 3 purposes.
    const patients = KEYS.map((key) => privateKeyToAccount(key)).filter(
      (a) => !orgs.some((org) => org.address === a.address),
    );
    const expiresAt = Math.floor(Date.now() / 1000) + 86_400;
    const obs = categoriesToMask(["Observation"]);
    let grants = 0;
    let revocations = 0;
    for (const patient of patients) {
      for (const org of orgs) {
        for (const purpose of PURPOSES) {
          await registry(patient, "grant", [org.address, obs, encodePurpose(purpose), 0, expiresAt]);
          grants++;
        }
      }
    }
    // Half of them revoked: 24 updates of rows in the same batch (more than Ponder's 20).
    for (const patient of patients) {
      for (const purpose of PURPOSES) {
        await registry(patient, "revoke", [orgs[0]!.address, purposeScope(purpose)]);
        revocations++;
      }
    }
    expect(grants).to.equal(48);
    expect(revocations).to.equal(24);

    // Past Ponder's finality depth (30 blocks on a chain it does not know): the history is
    // backfilled in one batch, not indexed block by block as recent blocks are.
    await createPublicClient({ transport: http(rpc) }).request({
      method: "anvil_mine" as never,
      params: ["0x40"] as never,
    });
    // A fresh indexer backfills the whole history before anyone reads it.
    indexer = await runIndexer(rpc, deployment, dataRoot);
    await caughtUp(indexer, rpc);
    const db = indexerClient(indexer.url).db;
    const [all] = await db.select({ n: count() }).from(schema.consentGrant);
    const [live] = await db
      .select({ n: count() })
      .from(schema.consentGrant)
      .where(isNull(schema.consentGrant.revokedAtBlock));
    const [changes] = await db.select({ n: count() }).from(schema.grantChange);
    expect({ grants: all?.n, live: live?.n, changes: changes?.n }).to.deep.equal({
      grants: grants,
      live: grants - revocations,
      changes: grants + revocations,
    });
  });
});

describe("indexer/ponder-patch.ts", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "consentry-ponder-patch-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("drops the flush's temporary table instead of truncating it, once, without touching a hard-linked copy", () => {
    const original = readFileSync(PONDER_CACHE_JS, "utf8").replaceAll(
      'DROP TABLE IF EXISTS pg_temp."${target}"',
      'TRUNCATE TABLE "${target}"',
    );
    const file = path.join(dir, "cache.js");
    const linked = path.join(dir, "linked-cache.js");
    writeFileSync(file, original);
    linkSync(file, linked);
    expect(patchPonder(file)).to.equal("patched");
    expect(patchPonder(file)).to.equal("already");
    const patched = readFileSync(file, "utf8");
    expect(patched).not.to.include("TRUNCATE TABLE");
    expect(patched.split('DROP TABLE IF EXISTS pg_temp."${target}"').length - 1).to.equal(2);
    // The other checkout's copy is untouched (the patch replaced the file, not its contents).
    expect(readFileSync(linked, "utf8")).to.equal(original);
    expect(statSync(file).ino).not.to.equal(statSync(linked).ino);
  });

  it("refuses a Ponder it was not written for", () => {
    const file = path.join(dir, "other.js");
    copyFileSync(PONDER_CACHE_JS, file);
    writeFileSync(file, readFileSync(file, "utf8").replaceAll('pg_temp."${target}"', "t"));
    expect(() => patchPonder(file)).to.throw(/installed Ponder differs/);
  });
});
