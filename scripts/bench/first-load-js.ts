/**
 * First-load JavaScript of the web app: every script a route's HTML makes the browser load before
 * it is interactive, gzip-compressed (level 9, as a server would send it), from the production
 * build in .next (built with `next build` when missing; `--build` rebuilds). Next 16 no longer
 * prints these sizes, so they are derived from its manifests: the root main files of
 * `.next/build-manifest.json` (framework, runtime) plus the route's entry chunks in its
 * `page_client-reference-manifest.js` (layout and page client components). Polyfills are left out:
 * they load only in browsers without ES modules.
 *
 * Prints the scripts of the patient portal (`/`) with the total, and the totals of the other
 * routes for information; exits non-zero when `/` is over its budget. Then loads every page route
 * in Chromium at phone size and prints its cumulative layout shift (CLS, from the browser's
 * layout-shift entries); exits non-zero when one is over 0.05. Run: `npm run bench:app`.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { runInNewContext } from "node:vm";
import { gzipSync } from "node:zlib";

import { chromium } from "playwright-core";

import { HOST, NEXT_CLI, answers, freePort, startProcess, stopProcess, waitFor } from "../../test/e2e/lib/processes.ts";
import { visibleStrings } from "../../test/e2e/lib/plain-language.ts";
import { findChromium } from "../lib/chromium.ts";
import { fleschReadingEase, sentencesOf } from "../lib/readability.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const NEXT_DIR = join(ROOT, ".next");
/** kB of gzip JavaScript the patient portal may make a phone download before it works. */
const BUDGET_KB = 300;
const BUDGETED_ROUTE = "/";

if (process.argv.includes("--build") || !existsSync(join(NEXT_DIR, "BUILD_ID"))) {
  console.log("building the web app (next build) ...");
  const build = spawnSync(process.execPath, [NEXT_CLI, "build"], {
    cwd: ROOT,
    stdio: "inherit",
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" },
  });
  if (build.status !== 0) {
    console.error("next build failed");
    process.exit(1);
  }
}

const readJson = <T>(path: string): T => JSON.parse(readFileSync(join(NEXT_DIR, path), "utf8")) as T;

const buildManifest = readJson<{ rootMainFiles: string[] }>("build-manifest.json");
/** "/(patient)/page" → "/" */
const routes = readJson<Record<string, string>>("app-path-routes-manifest.json");

/** The route's entry chunks, from the client reference manifest Next writes beside its server page. */
function entryFiles(entry: string): string[] {
  const file = join(NEXT_DIR, "server/app", `${entry}_client-reference-manifest.js`);
  if (!existsSync(file)) throw new Error(`no client reference manifest for ${entry} (${file})`);
  const sandbox = {
    globalThis: {} as { __RSC_MANIFEST?: Record<string, { entryJSFiles?: Record<string, string[]> }> },
  };
  runInNewContext(readFileSync(file, "utf8"), sandbox);
  const manifest = sandbox.globalThis.__RSC_MANIFEST?.[entry];
  if (!manifest?.entryJSFiles) throw new Error(`the client reference manifest of ${entry} has no entryJSFiles`);
  const own = manifest.entryJSFiles[`[project]/app${entry}`];
  // Next's built-in pages (/_not-found) have no page module of ours; every page of app/ must.
  if (!own && !entry.startsWith("/_"))
    throw new Error(`the client reference manifest of ${entry} lists no chunks for the page itself`);
  return Object.values(manifest.entryJSFiles).flat();
}

const sizes = new Map<string, { raw: number; gzip: number }>();
function sizeOf(file: string): { raw: number; gzip: number } {
  let size = sizes.get(file);
  if (!size) {
    const body = readFileSync(join(NEXT_DIR, file.replace(/^\/?_next\//, "")));
    size = { raw: body.length, gzip: gzipSync(body, { level: 9 }).length };
    sizes.set(file, size);
  }
  return size;
}

const kB = (bytes: number) => (bytes / 1024).toFixed(1);

const measured = Object.entries(routes)
  // Route handlers (e.g. app/icon.svg, served as /icon.svg/route) answer with a file, not a page:
  // they load no JavaScript.
  .filter(([entry, route]) => route !== "/_global-error" && !entry.endsWith("/route"))
  .map(([entry, route]) => {
    const files = [...new Set([...buildManifest.rootMainFiles, ...entryFiles(entry)])];
    const total = files.reduce(
      (sum, f) => {
        const s = sizeOf(f);
        return { raw: sum.raw + s.raw, gzip: sum.gzip + s.gzip };
      },
      { raw: 0, gzip: 0 },
    );
    return { route, files, total };
  })
  .sort((a, b) => a.route.localeCompare(b.route));

const budgeted = measured.find((m) => m.route === BUDGETED_ROUTE);
if (!budgeted) {
  console.error(`the build has no route ${BUDGETED_ROUTE}`);
  process.exit(1);
}

console.log(`\nFirst-load JavaScript of ${BUDGETED_ROUTE} (production build, gzip level 9)\n`);
console.log(`${"script".padEnd(44)} ${"raw kB".padStart(9)} ${"gzip kB".padStart(9)}`);
for (const file of [...budgeted.files].sort((a, b) => sizeOf(b).gzip - sizeOf(a).gzip)) {
  const s = sizeOf(file);
  console.log(`${file.padEnd(44)} ${kB(s.raw).padStart(9)} ${kB(s.gzip).padStart(9)}`);
}
const ok = budgeted.total.gzip <= BUDGET_KB * 1024;
console.log(
  `${`total (${budgeted.files.length} scripts)`.padEnd(44)} ${kB(budgeted.total.raw).padStart(9)} ${kB(budgeted.total.gzip).padStart(9)}  budget ${BUDGET_KB} kB: ${ok ? "ok" : "OVER BUDGET"}`,
);

console.log("\nOther routes, for information\n");
console.log(`${"route".padEnd(44)} ${"raw kB".padStart(9)} ${"gzip kB".padStart(9)}  scripts`);
for (const m of measured.filter((x) => x !== budgeted)) {
  console.log(
    `${m.route.padEnd(44)} ${kB(m.total.raw).padStart(9)} ${kB(m.total.gzip).padStart(9)}  ${m.files.length}`,
  );
}
console.log("");
if (!ok) process.exitCode = 1;

// ------------------------------------------------------------------ layout shift (CLS) on a phone

/** Cumulative layout shift a route may cause on a phone while it loads (Core Web Vitals "good" is 0.1). */
const CLS_BUDGET = 0.05;
const PHONE = { width: 390, height: 844 };

/**
 * Loads each page route of the production build (`next start` on a free port) in Chromium at
 * phone size, as a first-time visitor with no wallet, and sums its layout-shift entries (not those
 * after input), waiting until the page has settled.
 */
async function measureLayoutShift(): Promise<boolean> {
  const chromiumPath = findChromium();
  if (!chromiumPath) {
    console.log("Layout shift: SKIPPED, no Chromium (set CHROMIUM_PATH or apt-get install chromium)\n");
    return true;
  }
  const port = await freePort();
  const server = startProcess("next start", [NEXT_CLI, "start", "-H", HOST, "-p", String(port)], {
    NEXT_TELEMETRY_DISABLED: "1",
  });
  const browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox"] });
  let ok = true;
  try {
    const base = `http://${HOST}:${port}`;
    await waitFor(server, () => answers(base), 60_000);
    console.log(`Layout shift on a phone (${PHONE.width}×${PHONE.height}, first visit, no wallet)\n`);
    console.log(`${"route".padEnd(44)} ${"CLS".padStart(9)}  largest shifts`);
    for (const m of measured) {
      const context = await browser.newContext({ viewport: PHONE, locale: "en-GB" });
      const page = await context.newPage();
      await page.addInitScript(() => {
        const w = window as unknown as { shifts: { value: number; sources: string[] }[] };
        w.shifts = [];
        new PerformanceObserver((list) => {
          for (const e of list.getEntries() as (PerformanceEntry & {
            value: number;
            hadRecentInput: boolean;
            sources?: { node?: Node }[];
          })[]) {
            if (e.hadRecentInput) continue;
            const sources = (e.sources ?? []).map((s) => {
              const n = s.node as Element | undefined;
              return n?.nodeType === 1
                ? `${n.tagName.toLowerCase()}${n.className ? `.${String(n.className).split(" ")[0]}` : ""}`
                : "text";
            });
            w.shifts.push({ value: e.value, sources });
          }
        }).observe({ type: "layout-shift", buffered: true });
      });
      await page.goto(`${base}${m.route}`, { waitUntil: "load" });
      await page.waitForTimeout(2_500);
      const shifts = await page.evaluate(
        () => (window as unknown as { shifts: { value: number; sources: string[] }[] }).shifts,
      );
      if (m.route === "/") for (const text of await visibleStrings(page)) portalStrings.add(text);
      await context.close();
      const cls = shifts.reduce((sum, s) => sum + s.value, 0);
      const within = cls <= CLS_BUDGET;
      ok &&= within;
      const worst = [...shifts]
        .sort((a, b) => b.value - a.value)
        .slice(0, 2)
        .map((s) => `${s.value.toFixed(3)} ${s.sources.join(",")}`)
        .join("; ");
      console.log(
        `${m.route.padEnd(44)} ${cls.toFixed(3).padStart(9)}  ${within ? "ok" : `OVER BUDGET ${CLS_BUDGET}`}${worst ? `  (${worst})` : ""}`,
      );
    }
    console.log(`budget: CLS ≤ ${CLS_BUDGET} on every route\n`);
  } finally {
    await browser.close();
    await stopProcess(server, "SIGTERM");
  }
  return ok;
}

// ------------------------------------------------------------------ reading ease of the patient portal

/** Flesch reading ease the patient portal's sentences must reach (60–70: plain English, age 12–13). */
const READING_TARGET = 60;
/** What the patient read in each state the browser tests reached (written by test/e2e/keyboard.test.ts,
 * and by test/e2e/gateway-reads.test.ts for the states after a gateway sign-in). */
const PORTAL_STRINGS = join(ROOT, "test-results/portal-strings.json");
const PORTAL_STRINGS_RECORDS = join(ROOT, "test-results/portal-strings-records.json");
const portalStrings = new Set<string>();

if (!(await measureLayoutShift())) process.exitCode = 1;

{
  let source = "the first visit to / (run `npm run test:e2e -- test/e2e/keyboard.test.ts` for every state)";
  let stateCount = 0;
  for (const file of [PORTAL_STRINGS, PORTAL_STRINGS_RECORDS]) {
    if (!existsSync(file)) continue;
    const saved = JSON.parse(readFileSync(file, "utf8")) as { strings: string[]; states: string[] };
    for (const text of saved.strings) portalStrings.add(text);
    stateCount += saved.states.length;
  }
  if (stateCount > 0) source = `the first visit and the ${stateCount} states of the last plain-language browser tests`;
  const reading = fleschReadingEase(sentencesOf(portalStrings));
  const within = reading.score >= READING_TARGET;
  console.log(`Reading ease of the patient portal (Flesch), from ${source}
`);
  console.log(
    `${reading.sentences} sentences, ${reading.words} words: ${reading.score.toFixed(1)}  target ≥ ${READING_TARGET}: ${within ? "ok" : "BELOW TARGET"}
`,
  );
  if (!within) process.exitCode = 1;
}
