/**
 * The patient portal end to end, in Debian's Chromium: the real stack (`node scripts/stack.ts`: a
 * Hardhat node on 127.0.0.1:8545, the contracts, the demo organizations), the production build of
 * the app (`next build` + `next start` on a free port), and a test wallet injected into the page
 * and announced through EIP-6963. The wallet signs for real: every transaction and signature is
 * made in this process with Hardhat's public development key of "alice" (account #1) and sent
 * raw to the node. Everything started here is stopped (by process group) at the end.
 *
 * Environment: CHROMIUM_PATH (else /usr/bin/chromium), SCREENSHOT_DIR (default
 * test-results/screenshots; `SCREENSHOT_DIR=docs/screenshots` refreshes the committed ones),
 * E2E_REUSE_BUILD=1 (skip `next build` when .next/BUILD_ID exists) and E2E_EXTERNAL_STACK=1 (use the
 * chain of an `npm start` already running, reverted to a snapshot afterwards): for iterating locally.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

import { expect } from "chai";
import { type Browser, type BrowserContext, type Page, chromium } from "playwright-core";
import {
  type Address,
  type Hex,
  type PublicClient,
  createPublicClient,
  createWalletClient,
  getAddress,
  getTypesForEIP712Domain,
  http,
  toHex,
  verifyMessage,
  verifyTypedData,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { hardhat } from "viem/chains";

import { findChromium } from "../../scripts/lib/chromium.ts";
import { categoriesToMask, categoryIndex, encodePurpose } from "../../sdk/codes.ts";
import { grantTypedData } from "../../sdk/eip712.ts";
import { consentRegistryAbi } from "../../sdk/generated/abis.ts";
import { readOrganizations } from "../../sdk/ledger.ts";

const RPC = "http://127.0.0.1:8545";
const HOST = "127.0.0.1";
const ROOT = new URL("../../", import.meta.url).pathname;
const NEXT_CLI = join(ROOT, "node_modules/next/dist/bin/next");
const SCREENSHOT_DIR = join(ROOT, process.env.SCREENSHOT_DIR ?? "test-results/screenshots");

// Hardhat's well-known development keys (public; local chain only). scripts/lib/demo.ts says who is who.
const KEYS = {
  alice: "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  bob: "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
  clinician: "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
} as const satisfies Record<string, Hex>;
const alice = privateKeyToAccount(KEYS.alice);
const bob = privateKeyToAccount(KEYS.bob);
const clinician = privateKeyToAccount(KEYS.clinician);

const chain = { ...hardhat, rpcUrls: { default: { http: [RPC] } } } as const;
const publicClient = createPublicClient({ chain, transport: http(RPC) });
const walletOf = (account: typeof alice) => createWalletClient({ account, chain, transport: http(RPC) });

const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };
const WALLET_NAME = "Consentry Test Wallet";

// ------------------------------------------------------------------ processes

interface Proc {
  name: string;
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startProcess(name: string, args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  // detached: its own process group, so that stopping it stops whatever it started.
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1", ...env },
  });
  let out = "";
  const append = (chunk: Buffer) => {
    out += chunk.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout!.on("data", append);
  child.stderr!.on("data", append);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { name, child, output: () => out, exited };
}

async function waitFor(proc: Proc, ready: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let done = false;
  void proc.exited.then(() => (done = true));
  while (Date.now() < deadline) {
    if (done) throw new Error(`${proc.name} exited (${proc.child.exitCode}) before it was ready:\n${proc.output()}`);
    if (await ready()) return;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${proc.name} was not ready within ${timeoutMs / 1000} s:\n${proc.output()}`);
}

async function runToEnd(name: string, args: string[], timeoutMs: number): Promise<number> {
  const started = performance.now();
  const proc = startProcess(name, args);
  const timer = setTimeout(() => void stopProcess(proc, "SIGTERM"), timeoutMs);
  const code = await proc.exited;
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${name} failed (exit ${code}):\n${proc.output()}`);
  return (performance.now() - started) / 1000;
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

async function stopProcess(proc: Proc | undefined, signal: NodeJS.Signals): Promise<void> {
  const pid = proc?.child.pid;
  if (!proc || !pid || !groupAlive(pid)) return;
  try {
    process.kill(-pid, signal);
  } catch {
    return;
  }
  const deadline = Date.now() + 10_000;
  while (groupAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (groupAlive(pid)) process.kill(-pid, "SIGKILL");
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, HOST, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function answers(url: string, init?: RequestInit): Promise<boolean> {
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(2_000) });
    return res.ok;
  } catch {
    return false;
  }
}

// ------------------------------------------------------------------ the test wallet

/** What the page's wallet cannot answer itself: signing (for real, here) and reads (to the node). */
async function walletRpc(
  method: string,
  params: unknown[],
  log: string[],
): Promise<{ result?: unknown; error?: unknown }> {
  log.push(method);
  try {
    switch (method) {
      case "eth_sendTransaction": {
        const [tx] = params as [{ from: Address; to?: Address; data?: Hex; value?: Hex; gas?: Hex }];
        if (getAddress(tx.from) !== alice.address)
          return { error: { code: 4100, message: `unknown account ${tx.from}` } };
        const hash = await walletOf(alice).sendTransaction({
          to: tx.to ?? null,
          data: tx.data,
          value: tx.value ? BigInt(tx.value) : 0n,
          ...(tx.gas ? { gas: BigInt(tx.gas) } : {}),
        });
        log.push(`sent ${hash}`);
        return { result: hash };
      }
      case "personal_sign": {
        const [message] = params as [Hex, Address];
        return { result: await alice.signMessage({ message: { raw: message } }) };
      }
      case "eth_signTypedData_v4": {
        const [, json] = params as [Address, string];
        const typed = JSON.parse(json) as {
          domain: Record<string, unknown>;
          types: Record<string, { name: string; type: string }[]>;
          primaryType: string;
          message: Record<string, unknown>;
        };
        const { EIP712Domain: _domain, ...types } = typed.types;
        return {
          result: await alice.signTypedData({
            domain: typed.domain,
            types,
            primaryType: typed.primaryType,
            message: typedValues(types, typed.primaryType, typed.message),
          } as never),
        };
      }
      default: {
        const res = await fetch(RPC, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
        });
        const body = (await res.json()) as { result?: unknown; error?: unknown };
        return "error" in body ? { error: body.error } : { result: body.result };
      }
    }
  } catch (error) {
    const e = error as { code?: number; shortMessage?: string; message?: string; data?: unknown };
    return { error: { code: e.code ?? -32603, message: e.shortMessage ?? e.message ?? String(error), data: e.data } };
  }
}

/** JSON typed data carries integers as strings or numbers; viem signs bigints. */
function typedValues(
  types: Record<string, { name: string; type: string }[]>,
  type: string,
  value: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of types[type] ?? []) {
    const v = value[field.name];
    if (/^u?int\d*$/.test(field.type)) out[field.name] = BigInt(v as string | number);
    else if (types[field.type]) out[field.name] = typedValues(types, field.type, v as Record<string, unknown>);
    else out[field.name] = v;
  }
  return out;
}

/**
 * Runs in the page before any of its scripts: an EIP-1193 provider announced by EIP-6963. It keeps
 * its permission and chain in sessionStorage (as a wallet remembers a site) and sends everything
 * else to the test's exposed `consentryTestWalletRpc`.
 */
function installTestWallet(options: { address: string; startChainId: number; name: string; icon: string }): void {
  type Listener = (...args: unknown[]) => void;
  const store = window.sessionStorage;
  const knownChains = new Set([1, 31337]);
  let connected = store.getItem("testwallet.connected") === "1";
  let chainId = Number(store.getItem("testwallet.chainId") ?? options.startChainId);
  const listeners = new Map<string, Set<Listener>>();
  const hex = (n: number) => `0x${n.toString(16)}`;
  const emit = (event: string, ...args: unknown[]) => listeners.get(event)?.forEach((f) => f(...args));
  const rpcError = (code: number, message: string, data?: unknown) =>
    Object.assign(new Error(message), { code, ...(data === undefined ? {} : { data }) });
  const permissions = () => [{ parentCapability: "eth_accounts", caveats: [] }];
  const setConnected = (value: boolean) => {
    connected = value;
    store.setItem("testwallet.connected", value ? "1" : "0");
    emit("accountsChanged", value ? [options.address] : []);
  };
  const bridge = (
    window as unknown as {
      consentryTestWalletRpc: (
        m: string,
        p: unknown,
      ) => Promise<{ result?: unknown; error?: { code: number; message: string; data?: unknown } }>;
    }
  ).consentryTestWalletRpc;

  const provider = {
    isConsentryTestWallet: true,
    async request({ method, params = [] }: { method: string; params?: unknown[] }): Promise<unknown> {
      switch (method) {
        case "eth_accounts":
          return connected ? [options.address] : [];
        case "eth_requestAccounts":
          if (!connected) setConnected(true);
          return [options.address];
        case "wallet_requestPermissions":
          if (!connected) setConnected(true);
          return permissions();
        case "wallet_getPermissions":
          return connected ? permissions() : [];
        case "wallet_revokePermissions":
          setConnected(false);
          return null;
        case "eth_chainId":
          return hex(chainId);
        case "net_version":
          return String(chainId);
        case "wallet_switchEthereumChain": {
          const wanted = Number((params[0] as { chainId: string }).chainId);
          if (!knownChains.has(wanted)) throw rpcError(4902, `Unrecognized chain ${wanted}`);
          chainId = wanted;
          store.setItem("testwallet.chainId", String(chainId));
          emit("chainChanged", hex(chainId));
          return null;
        }
        case "wallet_addEthereumChain":
          knownChains.add(Number((params[0] as { chainId: string }).chainId));
          return null;
        default: {
          if (!connected && /^(eth_send|eth_sign|personal_sign)/.test(method)) throw rpcError(4100, "Unauthorized");
          if (chainId !== 31337 && /^(eth_send|eth_sign)/.test(method)) throw rpcError(4901, "Wrong chain");
          const answer = await bridge(method, params);
          if (answer.error) throw rpcError(answer.error.code, answer.error.message, answer.error.data);
          return answer.result;
        }
      }
    },
    on(event: string, listener: Listener) {
      if (!listeners.has(event)) listeners.set(event, new Set());
      listeners.get(event)!.add(listener);
      return provider;
    },
    removeListener(event: string, listener: Listener) {
      listeners.get(event)?.delete(listener);
      return provider;
    },
  };
  // For the test's own checks of the wallet (signing), never used by the app.
  (window as unknown as { consentryTestWallet: typeof provider }).consentryTestWallet = provider;
  const info = Object.freeze({
    uuid: crypto.randomUUID(),
    name: options.name,
    icon: options.icon,
    rdns: "org.consentry.testwallet",
  });
  const announce = () =>
    window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail: Object.freeze({ info, provider }) }));
  window.addEventListener("eip6963:requestProvider", announce);
  announce();
}

const WALLET_ICON = `data:image/svg+xml;base64,${Buffer.from(
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#0b4f8a"/><path d="M8 16l6 6 10-12" stroke="#fff" stroke-width="4" fill="none"/></svg>',
).toString("base64")}`;

// ------------------------------------------------------------------ helpers

const dateWords = (seconds: number) =>
  new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "long", year: "numeric" }).format(new Date(seconds * 1000));

async function mayUse(registry: Address, grantee: Address, category: Parameters<typeof categoryIndex>[0]) {
  const [allowed] = await publicClient.readContract({
    address: registry,
    abi: consentRegistryAbi,
    functionName: "mayUse",
    args: [alice.address, grantee, encodePurpose("TREAT"), categoryIndex(category)],
  });
  return allowed;
}

// ------------------------------------------------------------------ the test

describe("patient portal (browser, end to end)", function () {
  this.timeout(1_200_000);

  let stack: Proc | undefined;
  let snapshot: Hex | undefined;
  let server: Proc | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext;
  let page: Page;
  let baseUrl: string;
  let registry: Address;
  let hospital: Address;
  let lab: Address;
  const walletLog: string[] = [];
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];
  const timings: Record<string, number> = {};

  const sentCount = () => walletLog.filter((l) => l.startsWith("sent ")).length;

  async function shoot(name: string, viewport: { width: number; height: number }, fullPage = true): Promise<void> {
    const previous = page.viewportSize();
    const resize = previous?.width !== viewport.width || previous.height !== viewport.height;
    if (resize) {
      await page.setViewportSize(viewport);
      await page.waitForTimeout(150);
    }
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(width, `${name}: the page scrolls sideways at ${viewport.width} px`).to.be.at.most(viewport.width);
    await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage });
    if (resize && previous) await page.setViewportSize(previous);
  }

  /** The scripts `/` loaded, gzip-compressed as a server would send them. */
  async function reportFirstLoadJs(): Promise<void> {
    const urls = await page.evaluate(() =>
      performance
        .getEntriesByType("resource")
        .filter((e) => (e as PerformanceResourceTiming).initiatorType === "script")
        .map((e) => e.name),
    );
    let raw = 0;
    let gzip = 0;
    for (const url of urls) {
      const body = Buffer.from(await (await fetch(url)).arrayBuffer());
      raw += body.length;
      gzip += gzipSync(body, { level: 9 }).length;
    }
    console.log(
      `      first-load JS of /: ${(gzip / 1024).toFixed(1)} kB gzip (${(raw / 1024).toFixed(1)} kB raw) in ${urls.length} scripts`,
    );
  }

  before(async function () {
    const executablePath = findChromium();
    if (!executablePath) {
      console.warn("    SKIPPED: no Chromium (set CHROMIUM_PATH or apt-get install chromium)");
      this.skip();
    }
    mkdirSync(SCREENSHOT_DIR, { recursive: true });

    let t = performance.now();
    if (process.env.E2E_EXTERNAL_STACK === "1") {
      // A stack someone already runs (`npm start`): leave it as it was found.
      snapshot = (await publicClient.request({ method: "evm_snapshot" } as never)) as Hex;
    } else {
      stack = startProcess("the stack (node scripts/stack.ts)", ["scripts/stack.ts"]);
      await waitFor(stack, async () => stack!.output().includes("Press Ctrl-C to stop everything."), 900_000);
    }
    timings.stack = (performance.now() - t) / 1000;
    // Read after the deploy wrote it (sdk/deployments.ts caches the file at import).
    const deployments = JSON.parse(readFileSync(join(ROOT, "sdk/generated/deployments.json"), "utf8")) as Record<
      string,
      Record<string, Address>
    >;
    registry = deployments["31337"]!.ConsentRegistry!;
    const organizations = await readOrganizations(publicClient as PublicClient, { registry });
    const byName = (name: string) => organizations.find((o) => o.name === name)?.address ?? expect.fail(`no ${name}`);
    hospital = byName("St. Example Hospital");
    lab = byName("Riverside Clinical Lab");

    if (process.env.E2E_REUSE_BUILD === "1" && existsSync(join(ROOT, ".next/BUILD_ID"))) {
      timings.build = 0;
    } else {
      timings.build = await runToEnd("next build", [NEXT_CLI, "build"], 480_000);
    }

    t = performance.now();
    const port = await freePort();
    baseUrl = `http://${HOST}:${port}`;
    server = startProcess("next start", [NEXT_CLI, "start", "-H", HOST, "-p", String(port)]);
    await waitFor(server, () => answers(baseUrl), 60_000);
    timings.start = (performance.now() - t) / 1000;

    browser = await chromium.launch({
      executablePath: executablePath!,
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
    context = await browser.newContext({ viewport: DESKTOP, acceptDownloads: true, locale: "en-GB" });
    await context.exposeFunction("consentryTestWalletRpc", (method: string, params: unknown[]) =>
      walletRpc(method, params, walletLog),
    );
    // The wallet starts on Ethereum mainnet (chain 1), so the portal must ask to switch.
    await context.addInitScript(installTestWallet, {
      address: alice.address,
      startChainId: 1,
      name: WALLET_NAME,
      icon: WALLET_ICON,
    });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on("pageerror", (e) => pageErrors.push(String(e)));
    page.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(m.text());
    });
  });

  after(async function () {
    this.timeout(60_000);
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
  });

  it("lists the EIP-6963 wallet by name, connects, and asks to switch from another network", async () => {
    await page.goto(baseUrl);
    await page.getByRole("heading", { name: "Your health data consents" }).waitFor();
    const connect = page.getByRole("button", { name: WALLET_NAME });
    await connect.waitFor();
    await shoot("portal-connect-desktop", DESKTOP);
    await shoot("portal-connect-phone", PHONE);

    await reportFirstLoadJs();

    await connect.click();
    const wrongNetwork = page.getByRole("alert").filter({ hasText: "Wrong network" });
    await wrongNetwork.waitFor();
    expect(await wrongNetwork.textContent()).to.contain("chain 1");
    await shoot("portal-wrong-network-phone", PHONE, false);
    await page.getByRole("button", { name: "Switch to Consentry local chain" }).click();
    await page.getByRole("heading", { name: "Who may use your records" }).waitFor();
    await page.getByText("You have not given anyone consent yet.").waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem("testwallet.chainId"))).to.equal("31337");
  });

  it("validates the grant form before anything is signed", async () => {
    await page.getByRole("button", { name: "Give consent" }).click();
    await page.getByText("Choose the organization that receives your consent.").waitFor();
    await page.getByText("Choose at least one kind of data.").waitFor();
    expect(sentCount()).to.equal(0);
  });

  it("grants St. Example Hospital lab results for treatment for 1 month, shown active in plain words and on-chain", async () => {
    await page.getByLabel("What for").selectOption({ label: "Treatment" });
    const who = page.getByLabel("Who", { exact: true });
    await page.waitForFunction(() => document.querySelectorAll("option").length > 0);
    await who.selectOption({ label: "St. Example Hospital" });
    await page.getByLabel("Lab results and vital signs").check();
    await page.getByLabel("1 month").check();
    await page.getByText("St. Example Hospital may use: Lab results and vital signs, for treatment, until").waitFor();
    await page.getByRole("button", { name: "Give consent" }).click();
    await page.getByText(/^Consent given to St\. Example Hospital/).waitFor();
    expect(sentCount()).to.equal(1);

    const [log] = await publicClient.getContractEvents({
      address: registry,
      abi: consentRegistryAbi,
      eventName: "ConsentGranted",
      args: { patient: alice.address },
      fromBlock: 0n,
      strict: true,
    });
    const days = (log!.args.expiresAt - log!.args.validFrom) / 86_400;
    expect(days).to.be.within(27.9, 31.1);
    expect(getAddress(log!.args.grantee)).to.equal(hospital);

    const item = page.locator("li.grant", { has: page.getByRole("heading", { name: "St. Example Hospital" }) });
    // Active at once (not "starts later" until some clock ticks).
    await item.getByText("Active", { exact: true }).waitFor({ timeout: 8_000 });
    expect(await item.locator(".grant-sentence").textContent()).to.equal(
      `Lab results and vital signs, for treatment, until ${dateWords(log!.args.expiresAt)}`,
    );
    expect(await mayUse(registry, hospital, "Observation")).to.equal(true);
    expect(await mayUse(registry, hospital, "Condition")).to.equal(false);
    await shoot("portal-grants-desktop", DESKTOP);
    await shoot("portal-grants-phone", PHONE);
  });

  it("revokes it: shown revoked, and mayUse is false", async () => {
    await page.getByRole("button", { name: "Revoke consent to St. Example Hospital for treatment" }).click();
    const item = page.locator("li.grant", { has: page.getByRole("heading", { name: "St. Example Hospital" }) });
    await item.getByText("Revoked", { exact: true }).first().waitFor();
    expect(await mayUse(registry, hospital, "Observation")).to.equal(false);
  });

  it("shows a clinician's emergency access with who, why and until when, and closes it", async () => {
    const hash = await walletOf(clinician).writeContract({
      address: registry,
      abi: consentRegistryAbi,
      functionName: "openEmergencyAccess",
      args: [alice.address, 2, 3600],
    });
    expect((await publicClient.waitForTransactionReceipt({ hash })).status).to.equal("success");

    const banner = page.getByRole("alert").filter({ hasText: "Emergency access to your records is open" });
    await banner.waitFor({ timeout: 20_000 });
    const text = (await banner.textContent()) ?? "";
    expect(text).to.contain("Life-threatening condition");
    expect(text).to.contain("St. Example Hospital");
    expect(text).to.contain(`${clinician.address.slice(0, 6)}…${clinician.address.slice(-4)}`);
    await shoot("portal-emergency-desktop", DESKTOP, false);
    await shoot("portal-emergency-phone", PHONE, false);

    await page.getByRole("button", { name: "Close emergency access by St. Example Hospital" }).click();
    await page.getByText("Emergency access by St. Example Hospital closed.").waitFor();
    await banner.waitFor({ state: "detached" });
    const [expiresAt] = await publicClient.readContract({
      address: registry,
      abi: consentRegistryAbi,
      functionName: "emergencyAccess",
      args: [alice.address, hospital],
    });
    expect(expiresAt).to.equal(0);
  });

  it("appoints and removes a delegate, explains a refused one before signing, and lists patients it acts for", async () => {
    const address = page.getByLabel("Delegate's address");
    const sentBefore = sentCount();
    await address.fill(alice.address);
    await page.getByRole("button", { name: "Appoint delegate" }).click();
    await page.getByText("You cannot appoint yourself as your own delegate; enter someone else's address.").waitFor();
    expect(sentCount(), "a transaction was sent although the simulation reverted").to.equal(sentBefore);

    await address.fill("0x12");
    await page.getByRole("button", { name: "Appoint delegate" }).click();
    await page.getByText("That is not a valid address.").waitFor();

    await address.fill(bob.address.toLowerCase());
    await page.getByRole("button", { name: "Appoint delegate" }).click();
    await page.getByText("Delegate appointed.").waitFor();
    await page.getByText(`Acts for you with no end date`).waitFor();
    expect(
      await publicClient.readContract({
        address: registry,
        abi: consentRegistryAbi,
        functionName: "delegateExpiry",
        args: [alice.address, bob.address],
      }),
    ).to.equal(2 ** 40 - 1);

    // Bob appoints Alice (directly on-chain): she now acts for him.
    const hash = await walletOf(bob).writeContract({
      address: registry,
      abi: consentRegistryAbi,
      functionName: "appointDelegate",
      args: [alice.address, 0],
    });
    await publicClient.waitForTransactionReceipt({ hash });
    const actingFor = page.getByRole("list", { name: "Patients you act for" });
    await actingFor.getByText(bob.address).waitFor({ timeout: 20_000 });

    await page
      .getByRole("button", { name: `Remove delegate ${bob.address.slice(0, 6)}…${bob.address.slice(-4)}` })
      .click();
    await page.getByText("You have no delegates.").waitFor();
  });

  it("revokes everything after a confirmation dialog", async () => {
    await page.getByLabel("What for").selectOption({ label: "Treatment" });
    await page.getByLabel("Who", { exact: true }).selectOption({ label: "Riverside Clinical Lab" });
    await page.getByLabel("Conditions").check();
    await page.getByLabel("Lab results and vital signs").check();
    await page.getByLabel("1 year").check();
    await page.getByRole("button", { name: "Give consent" }).click();
    await page.getByText(/^Consent given to Riverside Clinical Lab/).waitFor();
    expect(await mayUse(registry, lab, "Condition")).to.equal(true);

    // On a phone from the start (Chromium does not repaint a modal's backdrop after a resize).
    await page.setViewportSize(PHONE);
    await page.getByRole("button", { name: "Revoke all…" }).click();
    const dialog = page.getByRole("dialog", { name: "Revoke every consent?" });
    await dialog.waitFor();
    expect(await dialog.evaluate((d) => d.matches(":modal")), "the confirmation is a modal dialog").to.equal(true);
    await shoot("portal-revoke-all-phone", PHONE, false);
    await page.setViewportSize(DESKTOP);
    await dialog.getByRole("button", { name: "Yes, revoke all" }).click();
    await dialog.waitFor({ state: "hidden" });
    const item = page.locator("li.grant", { has: page.getByRole("heading", { name: "Riverside Clinical Lab" }) });
    await item.getByText("Revoked", { exact: true }).waitFor();
    await item.getByText("Revoked when you revoked every consent.").waitFor();
    expect(await mayUse(registry, lab, "Condition")).to.equal(false);
  });

  it("exports the grants as a FHIR Bundle of Consent resources", async () => {
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Download my consents (FHIR JSON)" }).click(),
    ]);
    const path = await download.path();
    const bundle = JSON.parse(readFileSync(path, "utf8")) as {
      resourceType: string;
      type: string;
      entry: {
        fullUrl: string;
        resource: Record<string, unknown> & {
          status: string;
          provision: { actor: { reference: { display?: string } }[]; class: { code: string }[] };
        };
      }[];
    };
    expect(bundle.resourceType).to.equal("Bundle");
    expect(bundle.type).to.equal("collection");
    expect(bundle.entry).to.have.length(2);
    for (const entry of bundle.entry) {
      expect(entry.fullUrl).to.match(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(entry.resource.resourceType).to.equal("Consent");
      expect(entry.resource.status).to.equal("inactive");
    }
    const names = bundle.entry.map((e) => e.resource.provision.actor[0]!.reference.display).sort();
    expect(names).to.deep.equal(["Riverside Clinical Lab", "St. Example Hospital"]);
    expect(download.suggestedFilename()).to.match(/^consentry-consents-0x[0-9a-f]{40}-\d{4}-\d{2}-\d{2}\.json$/);
  });

  it("has a test wallet that signs messages and EIP-712 typed data for real (for the signed-consent flows)", async () => {
    const message = { raw: toHex("Consentry test") };
    const typed = grantTypedData(
      { chainId: 31337, registry },
      {
        patient: alice.address,
        grantee: hospital,
        categories: categoriesToMask(["Observation"]),
        purpose: encodePurpose("TREAT"),
        validFrom: 0,
        expiresAt: 2_000_000_000,
        nonce: 0n,
        deadline: 2_000_000_000n,
      },
    );
    const json = JSON.stringify(
      { ...typed, types: { EIP712Domain: getTypesForEIP712Domain({ domain: typed.domain }), ...typed.types } },
      (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v),
    );
    const [personal, typedSignature] = await page.evaluate(
      async ({ address, raw, json }) => {
        const wallet = (window as unknown as { consentryTestWallet: { request(a: unknown): Promise<Hex> } })
          .consentryTestWallet;
        return [
          await wallet.request({ method: "personal_sign", params: [raw, address] }),
          await wallet.request({ method: "eth_signTypedData_v4", params: [address, json] }),
        ];
      },
      { address: alice.address, raw: message.raw, json },
    );
    expect(await verifyMessage({ address: alice.address, message, signature: personal })).to.equal(true);
    expect(await verifyTypedData({ ...typed, address: alice.address, signature: typedSignature })).to.equal(true);
  });

  it("is usable at phone width and by keyboard: labelled inputs, visible focus, no sideways scrolling", async () => {
    await shoot("portal-ledger-phone", PHONE);
    const unlabelled = await page.evaluate(() =>
      [...document.querySelectorAll("input, select, textarea")]
        .filter((el) => (el as HTMLInputElement).labels?.length === 0 && !el.getAttribute("aria-label"))
        .map((el) => el.outerHTML.slice(0, 80)),
    );
    expect(unlabelled).to.deep.equal([]);
    await page.getByRole("button", { name: "Download my consents (FHIR JSON)" }).focus();
    await page.keyboard.press("Tab");
    await page.keyboard.press("Shift+Tab");
    const outline = await page.evaluate(() => {
      const style = getComputedStyle(document.activeElement!);
      return { style: style.outlineStyle, width: parseFloat(style.outlineWidth) };
    });
    expect(outline.style).to.not.equal("none");
    expect(outline.width).to.be.at.least(2);
  });

  it("raised no page errors", () => {
    expect(pageErrors, pageErrors.join("\n")).to.deep.equal([]);
    const relevant = consoleErrors.filter((e) => !/Failed to load resource/.test(e));
    expect(relevant, relevant.join("\n")).to.deep.equal([]);
  });
});
