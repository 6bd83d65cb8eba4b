/**
 * The environment of a browser test: the real stack (`node scripts/stack.ts`: a Hardhat node on
 * 127.0.0.1:8545, the contracts, the demo organizations, the indexer on :42069, the demo gateways
 * on :4001/:4002), the production build of the app (`next build` + `next start` on a free port; its
 * lists come from that indexer, INDEXER_URL's default) and a headless Chromium
 * whose pages each get a test wallet of one demo account. Everything started here is stopped (by
 * process group) by `stop()`.
 *
 * Environment: CHROMIUM_PATH (else /usr/bin/chromium), SCREENSHOT_DIR (default
 * test-results/screenshots; `SCREENSHOT_DIR=docs/screenshots` refreshes the committed ones),
 * E2E_REUSE_BUILD=1 (skip `next build` when .next/BUILD_ID exists) and E2E_EXTERNAL_STACK=1 (use the
 * chain of an `npm start` already running, reverted to a snapshot afterwards): for iterating locally.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

import { expect } from "chai";
import { type Browser, type BrowserContext, type Locator, type Page, chromium } from "playwright-core";
import type { Address, Hex, LocalAccount } from "viem";

import { findChromium } from "../../../scripts/lib/chromium.ts";
import type { ContractName } from "#sdk/deployments.ts";
import {
  HOST,
  NEXT_CLI,
  type Proc,
  ROOT,
  answers,
  freePort,
  groupAlive,
  runToEnd,
  startProcess,
  stopProcess,
  waitFor,
} from "./processes.ts";
import { WALLET_ICON, WALLET_NAME, installTestWallet, publicClient, walletRpc } from "./wallet.ts";

export const SCREENSHOT_DIR = join(ROOT, process.env.SCREENSHOT_DIR ?? "test-results/screenshots");
export const DESKTOP = { width: 1280, height: 900 };
export const PHONE = { width: 390, height: 844 };

/** A page whose wallet is one demo account, with what it signed and what went wrong in it. */
export interface WalletPage {
  context: BrowserContext;
  page: Page;
  /** Every wallet request; `sent 0x…` for each transaction sent. */
  walletLog: string[];
  pageErrors: string[];
  consoleErrors: string[];
  sentCount: () => number;
}

export interface Environment {
  baseUrl: string;
  deployments: Record<ContractName, Address>;
  timings: Record<string, number>;
  browser: Browser;
  /** A new browser context with a test wallet of `account`, starting on `startChainId` (default 1). */
  walletPage(account: LocalAccount, options?: { startChainId?: number }): Promise<WalletPage>;
  stop(): Promise<void>;
}

/** null when no Chromium is found (the caller skips). */
export async function startEnvironment(options: { stackEnv?: (appPort: number) => NodeJS.ProcessEnv } = {}) {
  const executablePath = findChromium();
  if (!executablePath) return null;
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const timings: Record<string, number> = {};
  let stack: Proc | undefined;
  let snapshot: Hex | undefined;
  let server: Proc | undefined;
  let browser: Browser | undefined;
  const port = await freePort();
  const baseUrl = `http://${HOST}:${port}`;

  const stop = async () => {
    await browser?.close().catch(() => undefined);
    await stopProcess(server, "SIGTERM");
    await stopProcess(stack, "SIGINT");
    if (snapshot) await publicClient.request({ method: "evm_revert", params: [snapshot] } as never);
    for (const p of [server, stack]) {
      if (p?.child.pid) expect(groupAlive(p.child.pid), `${p.name} left a process behind`).to.equal(false);
    }
    if (Object.keys(timings).length > 0) {
      console.log(
        `      timings: stack ${timings.stack?.toFixed(1)} s, next build ${timings.build?.toFixed(1)} s, next start ${timings.start?.toFixed(1)} s`,
      );
    }
  };

  try {
    let t = performance.now();
    if (process.env.E2E_EXTERNAL_STACK === "1") {
      // A stack someone already runs (`npm start`): leave it as it was found.
      snapshot = (await publicClient.request({ method: "evm_snapshot" } as never)) as Hex;
    } else {
      // The app is this environment's production build, not the stack's dev server.
      stack = startProcess(
        "the stack (node scripts/stack.ts --no-app)",
        ["scripts/stack.ts", "--no-app"],
        options.stackEnv?.(port) ?? {},
      );
      await waitFor(stack, async () => stack!.output().includes("Press Ctrl-C to stop everything."), 900_000);
    }
    timings.stack = (performance.now() - t) / 1000;
    // Read after the deploy wrote it (sdk/deployments.ts caches the file at import).
    const deployments = (
      JSON.parse(readFileSync(join(ROOT, "sdk/generated/deployments.json"), "utf8")) as Record<
        string,
        Record<ContractName, Address>
      >
    )["31337"]!;

    if (process.env.E2E_REUSE_BUILD === "1" && existsSync(join(ROOT, ".next/BUILD_ID"))) {
      timings.build = 0;
    } else {
      timings.build = await runToEnd("next build", [NEXT_CLI, "build"], 480_000);
    }

    t = performance.now();
    server = startProcess("next start", [NEXT_CLI, "start", "-H", HOST, "-p", String(port)]);
    await waitFor(server, () => answers(baseUrl), 60_000);
    timings.start = (performance.now() - t) / 1000;

    browser = await chromium.launch({
      executablePath,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    const started = browser;

    const walletPage = async (account: LocalAccount, { startChainId = 1 } = {}): Promise<WalletPage> => {
      const context = await started.newContext({ viewport: DESKTOP, acceptDownloads: true, locale: "en-GB" });
      const walletLog: string[] = [];
      await context.exposeFunction("consentryTestWalletRpc", (method: string, params: unknown[]) =>
        walletRpc(account, method, params, walletLog),
      );
      await context.addInitScript(installTestWallet, {
        address: account.address,
        startChainId,
        name: WALLET_NAME,
        icon: WALLET_ICON,
      });
      const page = await context.newPage();
      page.setDefaultTimeout(15_000);
      const pageErrors: string[] = [];
      const consoleErrors: string[] = [];
      page.on("pageerror", (e) => pageErrors.push(String(e)));
      page.on("console", (m) => {
        if (m.type() === "error") consoleErrors.push(m.text());
      });
      return {
        context,
        page,
        walletLog,
        pageErrors,
        consoleErrors,
        sentCount: () => walletLog.filter((l) => l.startsWith("sent ")).length,
      };
    };

    const environment: Environment = { baseUrl, deployments, timings, browser, walletPage, stop };
    return environment;
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}

/** A screenshot at `viewport` (restoring the previous one), failing when the page scrolls sideways;
 * of `element` only when given. */
export async function shoot(
  page: Page,
  name: string,
  viewport: { width: number; height: number },
  fullPage = true,
  element?: Locator,
): Promise<void> {
  const previous = page.viewportSize();
  const resize = previous?.width !== viewport.width || previous.height !== viewport.height;
  if (resize) {
    await page.setViewportSize(viewport);
    await page.waitForTimeout(150);
  }
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  expect(width, `${name}: the page scrolls sideways at ${viewport.width} px`).to.be.at.most(viewport.width);
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  if (element) await element.screenshot({ path });
  else await page.screenshot({ path, fullPage });
  if (resize && previous) await page.setViewportSize(previous);
}

/** Connects the page's test wallet and switches it to the local chain, from the page at `path`. */
export async function connect(page: Page, baseUrl: string, path: string): Promise<void> {
  await page.goto(`${baseUrl}${path}`);
  await page.getByRole("button", { name: WALLET_NAME }).click();
  const switchButton = page.getByRole("button", { name: "Switch network" });
  await switchButton.click();
  await switchButton.waitFor({ state: "detached" });
}

/** Page errors and console errors other than failed resource loads. */
export function pageProblems(p: WalletPage): string[] {
  return [...p.pageErrors, ...p.consoleErrors.filter((e) => !/Failed to load resource/.test(e))];
}
