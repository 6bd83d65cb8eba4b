/**
 * A keyboard-only patient (issue 18, item 3): every step is taken with `page.keyboard` alone, and
 * after each one the focused element (Playwright's accessibility snapshot of it) and the text the
 * live region announces are asserted. She connects, switches network, is refused and corrects the
 * grant form through its error summary, gives consent, revokes it, opens and cancels "Revoke all",
 * joins the demo study, leaves it and withdraws what it paid her. Real stack, real wallet
 * signatures (./lib/wallet.ts), production build.
 *
 * Plain language (issue 18, item 2): in every state this journey reaches (and a few more: a
 * delegate appointed, an emergency access open, a wallet named), every string the patient reads
 * outside a "Details" disclosure is collected (./lib/plain-language.ts) and the test fails on
 * jargon: addresses, hex, codes, chain terms. The strings are written to
 * test-results/portal-strings.json, whose reading ease `npm run bench:app` prints.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { expect } from "chai";
import type { Page } from "playwright-core";
import { type Address, keccak256, toHex } from "viem";

import { consentRegistryAbi, studyEscrowAbi } from "#sdk/generated/abis.ts";
import { fleschReadingEase, sentencesOf } from "../../scripts/lib/readability.ts";
import { type Environment, type WalletPage, startEnvironment } from "./lib/environment.ts";
import { PlainLanguageLog } from "./lib/plain-language.ts";
import { describeFocus, tabTo } from "./lib/keyboard.ts";
import { ROOT } from "./lib/processes.ts";
import { WALLET_NAME, devAccount, publicClient, walletOf } from "./lib/wallet.ts";

const alice = devAccount("alice");

/** The accessibility snapshot of the focused element (role and name as assistive technology gets them). */
const focusedSnapshot = (page: Page) => page.locator(":focus").ariaSnapshot();

/** Waits until focus rests on a live region in `phase` (confirmed, failed), and returns its text. */
async function focusedOutcome(page: Page, phase: "confirmed" | "failed", timeout = 30_000): Promise<string> {
  await page.waitForFunction(
    (p) => {
      const el = document.activeElement as HTMLElement | null;
      return !!el && el.getAttribute("role") === "status" && el.dataset.phase === p;
    },
    phase,
    { timeout },
  );
  const snapshot = await focusedSnapshot(page);
  expect(snapshot, "the outcome is a status in the accessibility tree").to.match(/^- status/);
  const live = await page.evaluate(() => ({
    text: document.activeElement?.textContent ?? "",
    live: document.activeElement?.getAttribute("aria-live"),
  }));
  expect(live.live).to.equal("polite");
  return live.text;
}

describe("keyboard-only patient: focus and announcements follow each action (browser, end to end)", function () {
  this.timeout(1_200_000);

  let environment: Environment | null = null;
  let wallet: WalletPage;
  let page: Page;
  let baseUrl: string;
  let escrow: Address;
  let registry: Address;
  const plain = new PlainLanguageLog();
  const states: string[] = [];
  const collect = async (state: string) => {
    states.push(state);
    await plain.collect(page, state);
  };

  before(async function () {
    environment = await startEnvironment();
    if (!environment) {
      console.warn("    SKIPPED: no Chromium (set CHROMIUM_PATH or apt-get install chromium)");
      this.skip();
    }
    baseUrl = environment.baseUrl;
    escrow = environment.deployments.StudyEscrow;
    registry = environment.deployments.ConsentRegistry;
    wallet = await environment.walletPage(alice, { startChainId: 1 });
    page = wallet.page;
  });

  after(async function () {
    this.timeout(60_000);
    await environment?.stop();
  });

  it("has every status region in the accessibility tree before it speaks", async () => {
    await page.goto(baseUrl);
    await page.getByRole("button", { name: WALLET_NAME }).waitFor();
    const hidden = await page.evaluate(() =>
      [...document.querySelectorAll('[role="status"], [aria-live]')]
        .filter((el) => getComputedStyle(el).display === "none")
        .map((el) => el.outerHTML.slice(0, 80)),
    );
    expect(hidden).to.deep.equal([]);
    await collect("first visit");
  });

  it("connects and switches network: focus lands on the heading of what replaced the button", async () => {
    await tabTo(page, new RegExp(WALLET_NAME));
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.activeElement?.textContent === "Wrong network");
    expect(await focusedSnapshot(page)).to.contain('heading "Wrong network"');
    await collect("wrong network");
    await tabTo(page, /^button: Switch network/);
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.activeElement?.textContent === "Who may use your records");
    expect(await focusedSnapshot(page)).to.contain('heading "Who may use your records"');
    await page.getByText("You have not given anyone consent yet.").waitFor();
    await collect("connected, nothing given yet");
  });

  it("a refused grant: focus on an error summary linking to each field; a fixed field leaves it", async () => {
    // Records the consent summary's text at every change: it must never claim to replace a consent.
    await page.evaluate(() => {
      const w = window as unknown as { summaries: string[] };
      w.summaries = [];
      new MutationObserver(() => {
        const text = document.querySelector(".summary")?.textContent ?? "";
        if (text) w.summaries.push(text);
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    await tabTo(page, /^button: Give consent/);
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.activeElement?.classList.contains("error-summary"));
    const summary = await focusedSnapshot(page);
    expect(summary).to.contain("alert");
    expect(summary).to.contain("There is a problem");
    expect(summary).to.contain('link "Choose the organization that receives your consent."');
    expect(summary).to.contain('link "Choose at least one kind of data."');
    expect(await page.locator("body").innerText()).to.not.match(/highlighted/i);
    await collect("grant form refused");

    await page.keyboard.press("Tab");
    expect(await describeFocus(page)).to.match(/^a: Choose the organization/);
    await page.keyboard.press("Enter");
    expect(await describeFocus(page)).to.match(/^select: Who/);
    // Choose St. Example Hospital with the arrow keys.
    for (let i = 0; i < 5; i++) {
      const chosen = await page.evaluate(
        () => (document.activeElement as HTMLSelectElement).selectedOptions[0]?.textContent ?? "",
      );
      if (chosen === "St. Example Hospital") break;
      await page.keyboard.press("ArrowDown");
    }
    await page.locator(".error-summary", { hasText: "Choose at least one kind of data." }).waitFor();
    expect(await page.locator(".error-summary").innerText()).to.not.contain("Choose the organization");

    await tabTo(page, /^input: Lab results and vital signs/);
    await page.keyboard.press("Space");
    await page.locator(".error-summary").waitFor({ state: "detached" });
    expect(await page.locator('[aria-invalid="true"]').count()).to.equal(0);
    expect(wallet.sentCount()).to.equal(0);
  });

  it("grants: focus moves to the outcome, with no false 'replaces' message on the way", async () => {
    await tabTo(page, /^button: Give consent/);
    await page.keyboard.press("Enter");
    const text = await focusedOutcome(page, "confirmed");
    expect(text).to.match(
      /^Consent given to St\. Example Hospital: lab results and vital signs, for treatment, until /i,
    );
    expect(wallet.sentCount()).to.equal(1);
    await page.locator("li.grant", { hasText: "Active" }).waitFor();
    const summaries = await page.evaluate(() => (window as unknown as { summaries: string[] }).summaries);
    expect(
      summaries.filter((s) => /replaces/.test(s)),
      summaries.join("\n"),
    ).to.deep.equal([]);
    await collect("consent given");
  });

  it("revokes: focus stays on 'You revoked…' while the card moves, and the message stays", async () => {
    await tabTo(page, /^button: Revoke consent to St\. Example Hospital for treatment/);
    await page.keyboard.press("Enter");
    const text = await focusedOutcome(page, "confirmed");
    expect(text).to.contain("You revoked your consent to St. Example Hospital.");
    await page.locator("li.grant .badge", { hasText: "Revoked" }).waitFor();
    // The card says the day it ended, and no longer "until" its old end date.
    const card = page.locator("li.grant", { has: page.locator(".badge", { hasText: "Revoked" }) });
    await card.getByText(/Ended on [^.]*\d{4}\. You revoked this consent\./).waitFor();
    expect(await card.locator(".grant-sentence").textContent()).to.not.contain("until");
    // Still there, and still focused, after the old 10-second timeout and the ledger's refresh.
    await page.waitForTimeout(11_000);
    expect(await describeFocus(page)).to.match(/^status: You revoked your consent to St\. Example Hospital\./);
    await collect("consent revoked");
  });

  it("'Revoke all' opens on the safe choice: Enter cancels, nothing is sent", async () => {
    // A second consent, by keyboard, so that there is something to revoke.
    await tabTo(page, /^select: Who/);
    for (let i = 0; i < 5; i++) {
      const chosen = await page.evaluate(
        () => (document.activeElement as HTMLSelectElement).selectedOptions[0]?.textContent ?? "",
      );
      if (chosen === "Riverside Clinical Lab") break;
      await page.keyboard.press("ArrowDown");
    }
    await tabTo(page, /^input: Conditions/);
    await page.keyboard.press("Space");
    await tabTo(page, /^button: Give consent/);
    await page.keyboard.press("Enter");
    expect(await focusedOutcome(page, "confirmed")).to.match(/^Consent given to Riverside Clinical Lab/);
    const sent = wallet.sentCount();

    await tabTo(page, /^button: Revoke all/);
    await page.keyboard.press("Enter");
    await page.getByRole("dialog", { name: "Revoke every consent?" }).waitFor();
    await collect("revoke all: the confirmation");
    expect(await focusedSnapshot(page)).to.contain('button "Cancel"');
    await page.keyboard.press("Enter");
    await page.getByRole("dialog").waitFor({ state: "hidden" });
    expect(wallet.sentCount()).to.equal(sent);
    expect(await describeFocus(page)).to.match(/^button: Revoke all/);
  });

  it("joins the demo study: focus on 'You joined study 1.'", async () => {
    await page.getByRole("button", { name: "Join study 1", exact: true }).waitFor();
    await tabTo(page, /^button: Join study 1$/);
    await page.keyboard.press("Enter");
    expect(await focusedOutcome(page, "confirmed")).to.contain("You joined study 1.");
    await collect("study joined");
  });

  it("leaves it, after the lab delivered her data: focus on the outcome", async () => {
    // The lab's gateway reports a delivery of her data (what a dataset download does): she is owed.
    const hash = await walletOf(devAccount("labGateway")).writeContract({
      address: escrow,
      abi: studyEscrowAbi,
      functionName: "reportDeliveries",
      args: [1n, [alice.address]],
    });
    expect((await publicClient.waitForTransactionReceipt({ hash })).status).to.equal("success");

    await tabTo(page, /^button: Leave study 1$/);
    await page.keyboard.press("Enter");
    expect(await focusedOutcome(page, "confirmed")).to.contain("You left study 1.");
    await page.getByRole("button", { name: /^Withdraw / }).waitFor({ timeout: 20_000 });
    await collect("study left, earnings to withdraw");
  });

  it("withdraws: focus on what was sent to her account", async () => {
    await page.getByRole("button", { name: /^Withdraw / }).waitFor({ timeout: 20_000 });
    await tabTo(page, /^button: Withdraw \d/);
    await page.keyboard.press("Enter");
    expect(await focusedOutcome(page, "confirmed")).to.match(/sent to your account\./);
    await page.getByText("Nothing to withdraw.", { exact: false }).waitFor();
    // The row with the button is gone; focus did not fall back to the page.
    expect(await describeFocus(page)).to.match(/^status: .*sent to your account\./);
    await collect("earnings withdrawn");
  });

  it("more states for the plain-language check: a delegate, an emergency access, a wallet name", async () => {
    await page.getByLabel("Their name").fill("Bob");
    await page.getByLabel("Delegate's address").fill(devAccount("bob").address);
    await page.getByRole("button", { name: "Appoint delegate" }).click();
    await page.getByText("Bob can now act for you.").waitFor();
    await page.getByRole("button", { name: "Remove Bob" }).waitFor();
    await collect("delegate appointed");

    const hash = await walletOf(devAccount("clinician")).writeContract({
      address: registry,
      abi: consentRegistryAbi,
      functionName: "openEmergencyAccess",
      args: [alice.address, keccak256(toHex("a break-glass reason's commitment")), 3600],
    });
    expect((await publicClient.waitForTransactionReceipt({ hash })).status).to.equal("success");
    await page.getByRole("heading", { name: "Emergency access to your records is open" }).waitFor({ timeout: 20_000 });
    await collect("emergency access open");

    await page.getByLabel("Name of your wallet").fill("Alice's phone");
    await page.getByRole("button", { name: "Save the name" }).click();
    await page.locator(".account", { hasText: "Alice's phone" }).waitFor();
    await collect("wallet named");
  });

  it("says nothing in jargon outside 'Details', and reads plainly (Flesch reading ease)", () => {
    const strings = [...plain.strings];
    mkdirSync(join(ROOT, "test-results"), { recursive: true });
    writeFileSync(join(ROOT, "test-results/portal-strings.json"), JSON.stringify({ states, strings }, null, 2));
    const reading = fleschReadingEase(sentencesOf(strings));
    console.log(
      `      reading ease (Flesch) of the portal: ${reading.score.toFixed(1)} over ${reading.sentences} sentences in ${states.length} states`,
    );
    expect(plain.problems, plain.problems.join("\n")).to.deep.equal([]);
  });

  it("raised no page errors", () => {
    const relevant = [...wallet.pageErrors, ...wallet.consoleErrors.filter((e) => !/Failed to load resource/.test(e))];
    expect(relevant, relevant.join("\n")).to.deep.equal([]);
  });
});
