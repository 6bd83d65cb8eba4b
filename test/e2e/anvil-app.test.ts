/**
 * The app built for another chain: Consentry deployed on Foundry's anvil (chain 31338) with
 * `npm run deploy`, a hospital accredited with `npm run accredit`, the app built and served
 * (`next build` + `next start`, into .next/chain-31338) with its chain from NEXT_PUBLIC_CONSENTRY_*
 * only. A patient whose wallet starts on chain 1 and does not know chain 31338 connects, is asked to
 * switch, the app adds the chain to the wallet (EIP-3085) and switches; the patient grants and
 * revokes, each transaction linked to the explorer. The app's lists come from an indexer of that
 * chain (indexer/start.ts), at the INDEXER_URL given to `next start`. That build, for a chain other
 * than the local development chain, holds nothing of the development wallet: neither its code nor
 * Hardhat's development keys (issue 16).
 */
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { type Browser, type Page, chromium } from "playwright-core";
import { type Address, createPublicClient, defineChain, http } from "viem";

import { findChromium } from "../../scripts/lib/chromium.ts";
import { DEV_PRIVATE_KEYS } from "#sdk/demo.ts";
import { consentRegistryAbi } from "#sdk/generated/abis.ts";
import type { Deployment } from "#sdk/deployments.ts";
import { CHAIN_ID, KEYS, deployStablecoin, freePort, run, start, startAnvil, stop, who } from "../anvil/lib.ts";
import { type RunningIndexer, caughtUp, runIndexer } from "../indexer/lib.ts";
import { HOST, NEXT_CLI, ROOT, answers } from "./lib/processes.ts";
import { WALLET_ICON, WALLET_NAME, installTestWallet, walletRpc } from "./lib/wallet.ts";

const EXPLORER = "https://explorer.consortium.example";
const DIST_DIR = ".next/chain-31338";

function* files(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) yield* files(file);
    else if (/\.(js|html|json|rsc)$/.test(name)) yield file; // source maps hold the sources, not the build
  }
}

describe("the app built for anvil (chain 31338): a patient grants and revokes there", function () {
  this.timeout(900_000);
  const dir = mkdtempSync(path.join(tmpdir(), "consentry-anvil-app-"));
  let anvil: ChildProcess | undefined;
  let server: ChildProcess | undefined;
  let indexer: RunningIndexer | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let rpc: string;
  let baseUrl: string;
  let registry: Address;
  const walletLog: string[] = [];

  before(async () => {
    ({ child: anvil, rpc } = await startAnvil());
    rmSync("ignition/deployments/consentry-31338", { recursive: true, force: true });
    const stablecoin = await deployStablecoin(rpc);
    const parameters = path.join(dir, "anvil.json");
    writeFileSync(
      parameters,
      JSON.stringify({
        ConsentryModule: { admin: who.multisig.address, governance: who.multisig.address, currency: stablecoin },
      }),
    );
    await run(["npm", "run", "deploy", "--", "--network", "anvil", "--parameters", parameters], {
      ANVIL_RPC_URL: rpc,
      DEPLOYER_PRIVATE_KEY: KEYS[0],
    });
    const organizations = path.join(dir, "organizations.json");
    writeFileSync(
      organizations,
      JSON.stringify([
        { address: who.hospital.address, kind: "PROVIDER", name: "Anvil General Hospital", licence: "H" },
      ]),
    );
    await run(["npm", "run", "accredit", "--", "--network", "anvil", "--file", organizations], {
      ANVIL_RPC_URL: rpc,
      GOVERNANCE_PRIVATE_KEY: KEYS[1],
    });
    const deployment = (
      (await import("#sdk/generated/deployments.json", { with: { type: "json" } })).default as Record<
        string,
        Deployment
      >
    )[String(CHAIN_ID)]!;
    registry = deployment.ConsentRegistry!;
    indexer = await runIndexer(rpc, deployment, path.join(dir, "indexer"));
    await caughtUp(indexer, rpc);

    const appEnv = {
      NEXT_TELEMETRY_DISABLED: "1",
      CONSENTRY_NEXT_DIST_DIR: DIST_DIR,
      NEXT_PUBLIC_CONSENTRY_CHAIN_ID: String(CHAIN_ID),
      NEXT_PUBLIC_CONSENTRY_CHAIN_NAME: "Consortium Test Chain",
      NEXT_PUBLIC_CONSENTRY_RPC_URL: rpc,
      NEXT_PUBLIC_CONSENTRY_CURRENCY_NAME: "Test Ether",
      NEXT_PUBLIC_CONSENTRY_CURRENCY_SYMBOL: "TETH",
      NEXT_PUBLIC_CONSENTRY_EXPLORER_URL: EXPLORER,
    };
    const started = performance.now();
    await run([process.execPath, NEXT_CLI, "build"], appEnv);
    console.log(`      next build for chain ${CHAIN_ID}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const port = await freePort();
    baseUrl = `http://${HOST}:${port}`;
    ({ child: server } = await start(
      [process.execPath, NEXT_CLI, "start", "-H", HOST, "-p", String(port)],
      { ...appEnv, INDEXER_URL: indexer.url },
      /Ready|started server|Local:/i,
    ));
    for (let i = 0; i < 100 && !(await answers(baseUrl)); i++) await new Promise((r) => setTimeout(r, 300));

    browser = await chromium.launch({
      executablePath: findChromium()!,
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "en-GB" });
    const chain = defineChain({
      id: CHAIN_ID,
      name: "anvil",
      nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
      rpcUrls: { default: { http: [rpc] } },
    });
    await context.exposeFunction("consentryTestWalletRpc", (method: string, params: unknown[]) =>
      walletRpc(who.patient, method, params, walletLog, { chain, rpc }),
    );
    await context.addInitScript(installTestWallet, {
      address: who.patient.address,
      startChainId: 1,
      name: WALLET_NAME,
      icon: WALLET_ICON,
      appChainId: CHAIN_ID,
    });
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
  });
  after(async () => {
    await browser?.close();
    await stop(server);
    await stop(indexer?.child);
    await stop(anvil);
    rmSync(dir, { recursive: true, force: true });
  });

  it("connects on chain 1, then adds and switches to the deployment's chain (EIP-3085)", async () => {
    await page.goto(baseUrl);
    await page.getByRole("button", { name: WALLET_NAME }).click();
    const wrongNetwork = page.getByRole("alert").filter({ hasText: "Wrong network" });
    await wrongNetwork.waitFor();
    // The network's name and number, under "Details".
    expect(await wrongNetwork.locator("details").textContent()).to.contain(`Consortium Test Chain (chain ${CHAIN_ID})`);
    await page.getByRole("button", { name: "Switch network" }).click();
    await page.getByRole("heading", { name: "Who may use your records" }).waitFor();
    // The test wallet knows chains 1 and 31337 only: the switch succeeded because wagmi, refused with
    // 4902, added the chain (wallet_addEthereumChain, from the build's NEXT_PUBLIC_* values) first.
  });

  it("grants the accredited hospital, with a link to the explorer, and revokes", async () => {
    await page.getByLabel("What for").selectOption({ label: "Treatment" });
    await page.waitForFunction(() => document.querySelectorAll("option").length > 0);
    await page.getByLabel("Who", { exact: true }).selectOption({ label: "Anvil General Hospital" });
    await page.getByLabel("Lab results and vital signs").check();
    await page.getByLabel("1 month").check();
    await page.getByRole("button", { name: "Give consent" }).click();
    await page.getByText(/^Consent given to Anvil General Hospital/).waitFor();
    const sent = walletLog.filter((l) => l.startsWith("sent "));
    expect(sent).to.have.length(1);
    const link = page.getByRole("link", { name: "See the record of it" }).first();
    expect(await link.getAttribute("href")).to.equal(`${EXPLORER}/tx/${sent[0]!.slice(5)}`);
    const item = page.locator("li.grant", { has: page.getByRole("heading", { name: "Anvil General Hospital" }) });
    await item.getByText("Active", { exact: true }).waitFor({ timeout: 10_000 });

    await page.getByRole("button", { name: "Revoke consent to Anvil General Hospital for treatment" }).click();
    await item.getByText("Revoked", { exact: true }).first().waitFor();
    expect(walletLog.filter((l) => l.startsWith("sent "))).to.have.length(2);
    const client = createPublicClient({ transport: http(rpc) });
    const events = async (eventName: "ConsentGranted" | "ConsentRevoked") =>
      (
        await client.getContractEvents({
          address: registry,
          abi: consentRegistryAbi,
          eventName,
          args: { patient: who.patient.address },
          fromBlock: 0n,
        })
      ).length;
    expect(await events("ConsentGranted")).to.equal(1);
    expect(await events("ConsentRevoked")).to.equal(1);
  });

  it("is a build that contains neither the development wallet nor the development keys", () => {
    const dist = path.join(ROOT, DIST_DIR);
    // What marks the wallet's and the tour's code (their own sentences) and every key, without 0x.
    const markers = [
      "The development wallet",
      "installDevWallet",
      "Try Consentry in three stories",
      ...DEV_PRIVATE_KEYS.map((k) => k.slice(2)),
    ];
    let scanned = 0;
    for (const dir of [path.join(dist, "static"), path.join(dist, "server")]) {
      for (const file of files(dir)) {
        scanned++;
        const text = readFileSync(file, "utf8");
        for (const marker of markers) {
          expect(text.includes(marker), `${file.slice(ROOT.length)} contains ${marker}`).to.equal(false);
        }
      }
    }
    expect(scanned, "files scanned in the build").to.be.greaterThan(20);

    // The same check finds the wallet in the build for the local chain (so it can fail): its chunk exists.
    const local = path.join(ROOT, ".next/static");
    if (existsSync(local)) {
      const found = [...files(local)].some((f) => readFileSync(f, "utf8").includes(markers[0]!));
      expect(found, "the local build has the development wallet").to.equal(true);
    }
  });
});
