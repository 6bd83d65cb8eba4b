/**
 * No reader in app/, gateway/ or sdk/ scans the chain's logs for a list (issue #15): lists come
 * from the indexer (sdk/history.ts, INDEXER_URL). A log scan is a call of getContractEvents,
 * getLogs, createEventFilter, createContractEventFilter, getFilterLogs, watchContractEvent or
 * watchEvent, or a call of an sdk function that makes one (found by reading sdk/: the chain
 * readers of sdk/ledger.ts and sdk/escrow.ts).
 *
 * Tests and test helpers (*.test.ts, testing/) may scan: they compare the indexer with the chain.
 * Everything else that scans is either ALLOWED (with its reason) or a KNOWN violation (with what
 * fixes it); a known violation that no longer scans fails this test, so the list only shrinks.
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import path from "node:path";

import { expect } from "chai";

const ROOTS = ["app", "gateway", "sdk"];
const SCANS =
  /\.(getContractEvents|getLogs|createEventFilter|createContractEventFilter|getFilterLogs|watchContractEvent|watchEvent)\s*\(/;

/** Files that may scan, and why. */
const ALLOWED: Record<string, string> = {
  "gateway/src/audit/verify.ts":
    "audit verification is a decision (is the log intact?): it reads the chain, never the indexer, in bounded eth_getLogs ranges (GETLOGS_BLOCK_RANGE)",
  "sdk/ledger.ts":
    "the chain readers themselves: the indexer's tests compare it with them (test/indexer); their callers are checked here",
  "sdk/escrow.ts": "the escrow's chain reader readStudyActivity: as sdk/ledger.ts",
};

/** Files that still scan for a list (or a decision made by a log scan), and what fixes them. */
const KNOWN: Record<string, string> = {};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (["node_modules", ".next", "generated", "testing"].includes(name)) return [];
    if (statSync(full).isDirectory()) return files(full);
    return /\.(ts|tsx)$/.test(name) && !/\.test\.tsx?$/.test(name) ? [full] : [];
  });
}

/** The sdk's exported functions that scan logs, directly or through another one of the same file. */
function scanningSdkFunctions(): Set<string> {
  const found = new Set<string>();
  for (const file of files("sdk")) {
    const source = readFileSync(file, "utf8");
    const parts = source.split(/\n(?=(?:export )?(?:async )?function )/);
    const named = parts
      .map((part) => ({ name: /^(?:export )?(?:async )?function (\w+)/.exec(part)?.[1], part }))
      .filter((p): p is { name: string; part: string } => p.name !== undefined);
    let grew = true;
    while (grew) {
      grew = false;
      for (const { name, part } of named) {
        if (found.has(name)) continue;
        if (SCANS.test(part) || [...found].some((f) => new RegExp(`\\b${f}\\s*\\(`).test(part))) {
          found.add(name);
          grew = true;
        }
      }
    }
  }
  return found;
}

describe("no reader in app/, gateway/ or sdk/ scans the chain's logs for a list", () => {
  const readers = scanningSdkFunctions();
  const scanning = ROOTS.flatMap(files).filter((file) => {
    const source = readFileSync(file, "utf8");
    if (SCANS.test(source)) return true;
    if (file.startsWith("sdk/")) return false; // the sdk's own readers are the ones found above
    return [...readers].some((f) => new RegExp(`\\b${f}\\s*\\(`).test(source));
  });

  it("finds the sdk's log-scanning readers (the rule's input)", () => {
    expect([...readers]).to.include.members(["readPatientGrants", "readStudyActivity", "readEmergencyLog"]);
    expect([...readers]).not.to.include.members(["readWithdrawal", "readStudies", "grantState"]);
  });

  it("has no scan outside the allowed files and the known violations", () => {
    const unexpected = scanning.filter((f) => !(f in ALLOWED) && !(f in KNOWN));
    expect(unexpected, "read these lists from the indexer (sdk/history.ts) instead").to.deep.equal([]);
  });

  it("lists no known violation or allowed file that no longer scans (tighten the lists)", () => {
    const stale = [...Object.keys(ALLOWED), ...Object.keys(KNOWN)].filter((f) => !scanning.includes(f));
    expect(stale, "remove these from ALLOWED/KNOWN in test/indexer/no-log-scans.test.ts").to.deep.equal([]);
  });
});
