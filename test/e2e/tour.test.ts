/**
 * The first ten minutes (issue 16): a newcomer's Chromium with no wallet extension and no injected
 * test wallet opens the app on the local chain and walks the guided tour's three stories by
 * clicking only: each tour step switches the app's development wallet to the person who acts and
 * opens their page, and the newcomer does what the step says there. The chain is checked after each
 * story, so the tour is proven to do what it tells.
 */
import { expect } from "chai";
import type { Page } from "playwright-core";
import type { Address, PublicClient } from "viem";

import { categoryIndex, encodePurpose } from "#sdk/codes.ts";
import { consentRegistryAbi, studyEscrowAbi } from "#sdk/generated/abis.ts";
import { readOrganizations } from "#sdk/ledger.ts";
import { DESKTOP, type Environment, shoot, startEnvironment } from "./lib/environment.ts";
import { devAccount, publicClient } from "./lib/wallet.ts";

const alice = devAccount("alice");
const clinician = devAccount("clinician");
const research = devAccount("research");
const LAB = "Riverside Clinical Lab";
const HOSPITAL = "St. Example Hospital";

describe("the guided tour with the development wallet (browser, end to end)", function () {
  this.timeout(1_200_000);

  let environment: Environment | null = null;
  let baseUrl: string;
  let registry: Address;
  let escrow: Address;
  let hospital: Address;
  let page: Page;
  const problems: string[] = [];

  /** Clicks a tour step (from the page the newcomer is on), then waits for its person and page. */
  async function step(story: string, n: number, as: { label: string; address: Address }, path: string) {
    const tour = page.getByRole("complementary", { name: "Try Consentry in three stories" });
    await tour.waitFor();
    const summary = tour.locator("summary");
    if ((await tour.locator("details").getAttribute("open")) === null) await summary.click();
    await tour
      .getByRole("button", { name: new RegExp(`^Go: as ${escape(as.label)}, step ${n} of ${story}, on `) })
      .click();
    await page.waitForURL((url) => url.pathname === path);
    await page.locator(`.account[title="${as.address}"]`).waitFor();
  }
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const A = "A hospital reads lab results with alice's consent, until she takes it back";
  const B = "A research institute pays alice for her data";
  const C = "A clinician opens emergency access, and alice sees it";
  const who = {
    alice: { label: "alice (patient)", address: alice.address },
    clinician: { label: "clinician at St. Example Hospital", address: clinician.address },
    research: { label: "Example Research Institute", address: research.address },
  };
  const records = () => page.locator("section", { has: page.getByRole("heading", { name: /^Records of / }) });
  const mayRead = async () =>
    (
      await publicClient.readContract({
        address: registry,
        abi: consentRegistryAbi,
        functionName: "mayUse",
        args: [alice.address, clinician.address, encodePurpose("TREAT"), categoryIndex("Observation")],
      })
    )[0];

  /** The provider console: look alice up (her address copied from the tour step) and pick the lab. */
  async function lookUpAlice() {
    const address = await page.locator(".tour code.address").first().textContent();
    expect(address).to.equal(alice.address);
    await page.getByLabel("Patient's address").fill(address!);
    await page.getByRole("button", { name: "Look up" }).click();
  }

  before(async function () {
    environment = await startEnvironment({
      stackEnv: (port) => ({ GATEWAY_CORS_ORIGINS: `http://127.0.0.1:${port},http://localhost:${port}` }),
    });
    if (!environment) {
      console.warn("    SKIPPED: no Chromium (set CHROMIUM_PATH or apt-get install chromium)");
      this.skip();
    }
    baseUrl = environment.baseUrl;
    ({ ConsentRegistry: registry, StudyEscrow: escrow } = environment.deployments);
    const organizations = await readOrganizations(publicClient as PublicClient, { registry });
    hospital = organizations.find((o) => o.name === HOSPITAL)?.address ?? expect.fail(`no ${HOSPITAL}`);
    // A browser as a newcomer has it: no extension, nothing injected.
    const context = await environment.browser.newContext({ viewport: DESKTOP, locale: "en-GB", acceptDownloads: true });
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
    page.on("pageerror", (e) => problems.push(String(e)));
    page.on("console", (m) => {
      if (m.type() === "error" && !/Failed to load resource/.test(m.text())) problems.push(m.text());
    });
    await page.goto(`${baseUrl}/`);
    expect(await page.evaluate(() => "ethereum" in window)).to.equal(false);
  });

  after(async function () {
    this.timeout(60_000);
    await environment?.stop();
  });

  it("shows the three stories on the home page, open", async () => {
    const tour = page.getByRole("complementary", { name: "Try Consentry in three stories" });
    await tour.waitFor();
    for (const title of [A, B, C]) await tour.getByRole("heading", { name: title }).waitFor();
    expect(await tour.getByRole("button").count()).to.equal(11);
    await shoot(page, "tour-home-desktop", DESKTOP);
    await shoot(page, "tour", DESKTOP, true, tour); // the README's picture of the tour (docs/images/tour.png)
  });

  it(`story 1: ${A}`, async () => {
    await step(A, 1, who.alice, "/");
    await page.getByLabel("What for").selectOption({ label: "Treatment" });
    await page.waitForFunction(() => document.querySelectorAll("option").length > 0);
    await page.getByLabel("Who", { exact: true }).selectOption({ label: HOSPITAL });
    await page.getByLabel("Lab results and vital signs").check();
    await page.getByLabel("1 month").check();
    await page.getByRole("button", { name: "Give consent" }).click();
    await page.getByText(/^Consent given to St\. Example Hospital/).waitFor();
    expect(await mayRead()).to.equal(true);

    await step(A, 2, who.clinician, "/provider");
    await lookUpAlice();
    await records().getByLabel("Custodian holding the records").selectOption({ label: LAB });
    await records()
      .getByRole("button", { name: `Sign in to ${LAB}` })
      .click();
    await records()
      .getByRole("button", { name: `Open records at ${LAB}` })
      .click();
    await records().getByTestId("lab-results").waitFor();

    await step(A, 3, who.alice, "/");
    await page.getByRole("button", { name: `Revoke consent to ${HOSPITAL} for treatment` }).click();
    const item = page.locator("li.grant", { has: page.getByRole("heading", { name: HOSPITAL }) });
    await item.getByText("Revoked", { exact: true }).first().waitFor();
    expect(await mayRead()).to.equal(false);

    await step(A, 4, who.clinician, "/provider");
    await lookUpAlice();
    await records().getByLabel("Custodian holding the records").selectOption({ label: LAB });
    const signIn = records().getByRole("button", { name: `Sign in to ${LAB}` });
    const open = records().getByRole("button", { name: `Open records at ${LAB}` });
    await signIn.or(open).first().waitFor();
    if (await signIn.isVisible()) await signIn.click();
    await open.click();
    const refused = records().locator('[data-testid="gateway-read"][data-phase="not-found"]');
    await refused.waitFor();
    expect(await refused.textContent()).to.contain(`${LAB}: no consent here, or no such record`);

    await step(A, 5, who.alice, "/");
    const lab = page.locator(`article[data-custodian="${LAB}"]`);
    await lab.getByRole("button", { name: `Sign in to ${LAB}` }).click();
    const log = lab.getByTestId("access-log");
    await log.waitFor();
    const byClinician = log.locator(":scope > li", { hasText: `of ${HOSPITAL}` });
    expect(await byClinician.and(log.locator('li[data-outcome="allowed"]')).count()).to.be.greaterThan(0);
    expect(await byClinician.and(log.locator('li[data-outcome="refused"]')).count()).to.be.greaterThan(0);
  });

  it(`story 2: ${B}`, async () => {
    await step(B, 1, who.research, "/research");
    await page.getByRole("button", { name: /^Get 1,000 CRC of test money/ }).click();
    await page.getByText("1,000 CRC added to your account.").waitFor();
    const before = await publicClient.readContract({
      address: escrow,
      abi: studyEscrowAbi,
      functionName: "studyCount",
    });
    await page.getByLabel("Research purpose").selectOption("HMB");
    await page.getByLabel("Lab results and vital signs").check();
    await page.getByLabel(/^Price per delivery/).fill("5");
    await page.getByLabel("Participants at most").fill("10");
    await page.getByLabel("Protocol and ethics approval").fill("Consentry tour study, protocol v1");
    await page.getByLabel(LAB, { exact: true }).check();
    await page.getByLabel(`Share of ${LAB} (%)`).fill("10");
    await page.getByLabel(/^Budget to fund now/).fill("50");
    await page.getByRole("button", { name: "Create and fund study" }).click();
    await page.getByText(/^Study created and funded/).waitFor();
    const studyId = await publicClient.readContract({
      address: escrow,
      abi: studyEscrowAbi,
      functionName: "studyCount",
    });
    expect(studyId).to.equal(before + 1n);
    const study = (p: Page) =>
      p.locator("li.study", { has: p.getByRole("heading", { name: new RegExp(`^Study ${studyId}:`) }) });

    await step(B, 2, who.alice, "/");
    await study(page)
      .getByRole("button", { name: `Join without a fee study ${studyId}, through ${LAB}` })
      .click();
    await study(page).getByText(`You joined study ${studyId}; ${LAB} paid the fee.`).waitFor({ timeout: 30_000 });

    await step(B, 3, who.research, "/research");
    await study(page)
      .getByRole("button", { name: `Sign in to ${LAB} to download study ${studyId}` })
      .click();
    const download = study(page).getByRole("button", { name: `Download the dataset from ${LAB} for study ${studyId}` });
    await Promise.all([page.waitForEvent("download"), download.click()]);
    await study(page)
      .getByText(/^Downloaded \d+ de-identified records\.$/)
      .waitFor();

    await step(B, 4, who.alice, "/");
    const withdraw = page.getByRole("button", { name: "Withdraw 4.5 CRC" });
    await withdraw.waitFor({ timeout: 20_000 });
    await withdraw.click();
    await page.getByText("4.5 CRC sent to your account.").waitFor();
    const [paid] = await publicClient.getContractEvents({
      address: escrow,
      abi: studyEscrowAbi,
      eventName: "DeliveryPaid",
      args: { studyId, patient: alice.address },
      fromBlock: 0n,
      strict: true,
    });
    expect(paid, "alice's delivery was paid").to.not.equal(undefined);
  });

  it(`story 3: ${C}`, async () => {
    await step(C, 1, who.clinician, "/provider");
    await lookUpAlice();
    await page.getByLabel("Reason", { exact: true }).selectOption({ label: "Life-threatening condition" });
    await page.getByLabel("For", { exact: true }).selectOption({ label: "1 hour" });
    await page.getByRole("button", { name: "Open emergency access…" }).click();
    await page
      .getByRole("dialog", { name: "Open emergency access?" })
      .getByRole("button", { name: "Yes, open emergency access" })
      .click();
    await page.getByText("Emergency access is open for 1 hour.", { exact: false }).first().waitFor();
    const [expiresAt] = await publicClient.readContract({
      address: registry,
      abi: consentRegistryAbi,
      functionName: "emergencyAccess",
      args: [alice.address, hospital],
    });
    expect(expiresAt).to.be.greaterThan(0);

    await step(C, 2, who.alice, "/");
    const banner = page.getByRole("alert").filter({ hasText: "Emergency access to your records is open" });
    await banner.waitFor({ timeout: 20_000 });
    expect(await banner.textContent()).to.contain(HOSPITAL);
    await shoot(page, "tour-emergency-desktop", DESKTOP);
  });

  it("raised no page errors", () => {
    expect(problems, problems.join("\n")).to.deep.equal([]);
  });
});
