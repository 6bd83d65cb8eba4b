/**
 * A production build of the app for a chain other than the local development chain holds nothing
 * of the development wallet: neither its code nor Hardhat's development keys (issue 16). The
 * build is made aside (the local build of the other browser tests is moved away and put back).
 */
import { existsSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";

import { expect } from "chai";

import { DEV_PRIVATE_KEYS } from "#sdk/demo.ts";
import { NEXT_CLI, ROOT, runToEnd } from "./lib/processes.ts";

function* files(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* files(path);
    else if (/\.(js|html|json|rsc)$/.test(name)) yield path; // source maps hold the sources, not the build
  }
}

describe("a production build for another chain", function () {
  this.timeout(900_000);
  const dist = join(ROOT, ".next");
  const saved = join(ROOT, ".next-local-build");

  before(() => {
    rmSync(saved, { recursive: true, force: true });
    if (existsSync(dist)) renameSync(dist, saved);
  });

  after(() => {
    rmSync(dist, { recursive: true, force: true });
    if (existsSync(saved)) renameSync(saved, dist);
  });

  it("contains neither the development wallet nor the development keys", async () => {
    const seconds = await runToEnd("next build (chain 31338)", [NEXT_CLI, "build"], 600_000, {
      NEXT_PUBLIC_CONSENTRY_CHAIN_ID: "31338",
      NEXT_PUBLIC_CONSENTRY_RPC_URL: "http://127.0.0.1:8546", // never contacted: the build only
    });
    console.log(`      next build for chain 31338: ${seconds.toFixed(1)} s`);
    // What marks the wallet's and the tour's code (their own sentences) and every key, without 0x.
    const markers = [
      "The development wallet",
      "installDevWallet",
      "Try Consentry in three stories",
      ...DEV_PRIVATE_KEYS.map((k) => k.slice(2)),
    ];
    let scanned = 0;
    for (const dir of [join(dist, "static"), join(dist, "server")]) {
      for (const file of files(dir)) {
        scanned++;
        const text = readFileSync(file, "utf8");
        for (const marker of markers) {
          expect(text.includes(marker), `${file.slice(ROOT.length)} contains ${marker}`).to.equal(false);
        }
      }
    }
    expect(scanned, "files scanned in the build").to.be.greaterThan(20);

    // The same check finds the wallet in a build for the local chain (so it can fail): its chunk exists.
    if (existsSync(join(saved, "static"))) {
      const local = [...files(join(saved, "static"))].some((f) => readFileSync(f, "utf8").includes(markers[0]!));
      expect(local, "the local build has the development wallet").to.equal(true);
    }
  });
});
