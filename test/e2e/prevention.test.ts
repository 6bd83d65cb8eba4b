/**
 * Prevention rewards end to end (issue 17's walk), in Debian's Chromium, in the environment of
 * ./lib/environment.ts (the real stack, the production build, one test wallet per demo account):
 * - the payer (Example Health Insurance, account #10) is refused before anything is signed while
 *   its account cannot fund the budget, draws test money, and creates a flu-vaccination programme
 *   (CVX 141, yearly periods from this flu season's 1 September, the lab confirming) funded with
 *   an EIP-2612 permit in one transaction;
 * - the patient (alice, #1) reads what becomes public before she joins, joins after the dialog
 *   says it again, and sees that this year is not confirmed yet;
 * - the lab's gateway confirms her vaccination (POST /prevention/programmes/{id}/confirmations with
 *   the lab's admin token; the demo data's flu vaccination of this season at the lab);
 * - she sees the confirmation, withdraws the reward (her token balance rises by exactly it),
 *   claims the badge after its dialog, and leaves the programme;
 * - she joins again without a fee (she signs the OptIn with the programme's terms in her wallet,
 *   after the same dialog; the lab's gateway sends it and pays) and leaves without a fee the same way;
 * - the payer follows the completions per period and the budget left, cancels and reclaims.
 * Every step is asserted on-chain; both pages are shot at phone and desktop width (no sideways scroll).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { expect } from "chai";
import type { Page } from "playwright-core";
import { type Address, parseEther } from "viem";

import { consentRegistryAbi, remunerationTokenAbi } from "#sdk/generated/abis.ts";
import { preventionBadgeAbi, preventionRewardsAbi } from "#sdk/generated/prevention-abis.ts";
import { DEMO_ORGANIZATIONS } from "#sdk/demo.ts";
import { CVX_SYSTEM, criterionHash, fluSeasonStart, programmeKey } from "#sdk/prevention.ts";
import {
  DESKTOP,
  type Environment,
  PHONE,
  type WalletPage,
  connect,
  pageProblems,
  shoot,
  startEnvironment,
} from "./lib/environment.ts";
import { describeFocus, tabTo } from "./lib/keyboard.ts";
import { ROOT } from "./lib/processes.ts";
import { devAccount, publicClient } from "./lib/wallet.ts";

const payerAccount = devAccount("payer");
const alice = devAccount("alice");
const labGateway = devAccount("labGateway");
const REWARD = parseEther("10");
const BUDGET = parseEther("50");
const IMMUNIZATION = 5;
const OPTED_IN = 1;
const OPTED_OUT = 2;
const ALLOWED = 0;
const LAB_GATEWAY = `http://127.0.0.1:${DEMO_ORGANIZATIONS.find((o) => o.account === "lab")!.gatewayPort}`;

/** The date field's value of a unix time, in the browser's (and this process's) time zone: "2026-09-01". */
function dateField(seconds: number): string {
  const d = new Date(seconds * 1000);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

describe("prevention rewards: payer console and the patient's programmes (browser, end to end)", function () {
  this.timeout(1_200_000);

  let environment: Environment | null = null;
  let baseUrl: string;
  let rewards: Address;
  let badge: Address;
  let token: Address;
  let registry: Address;
  let payer: WalletPage;
  let patient: WalletPage;
  let programmeId: bigint;
  /** The first period's start the payer picks: this flu season's 1 September, local midnight. */
  let seasonStart: number;

  const tokenBalance = (account: Address) =>
    publicClient.readContract({
      address: token,
      abi: remunerationTokenAbi,
      functionName: "balanceOf",
      args: [account],
    });
  const programme = (id: bigint) =>
    publicClient.readContract({
      address: rewards,
      abi: preventionRewardsAbi,
      functionName: "getProgramme",
      args: [id],
    });
  /** alice's enrolment in the programme, as PreventionRewards has it. */
  const enrolmentStatus = async () =>
    (
      await publicClient.readContract({
        address: rewards,
        abi: preventionRewardsAbi,
        functionName: "getEnrolment",
        args: [programmeId, alice.address],
      })
    ).status;
  /** Whether the registry lets the payer read alice's immunizations for the programme, and why. */
  const payerScope = async () =>
    (
      await publicClient.readContract({
        address: registry,
        abi: consentRegistryAbi,
        functionName: "scopeStatus",
        args: [alice.address, payerAccount.address, programmeKey(rewards, programmeId), IMMUNIZATION],
      })
    )[0];
  const item = (page: Page, id: bigint) =>
    page.locator("li.study", { has: page.getByRole("heading", { name: new RegExp(`^Programme ${id}:`) }) });

  before(async function () {
    // The app's origin may call the gateways (the relayed opt-in and opt-out).
    environment = await startEnvironment({
      stackEnv: (port) => ({ GATEWAY_CORS_ORIGINS: `http://127.0.0.1:${port},http://localhost:${port}` }),
    });
    if (!environment) {
      console.warn("    SKIPPED: no Chromium (set CHROMIUM_PATH or apt-get install chromium)");
      this.skip();
    }
    baseUrl = environment.baseUrl;
    ({
      PreventionRewards: rewards,
      PreventionBadge: badge,
      RemunerationToken: token,
      ConsentRegistry: registry,
    } = environment.deployments);
    expect(rewards, "no PreventionRewards in sdk/generated/deployments.json").to.match(/^0x[0-9a-fA-F]{40}$/);
    const season = new Date(fluSeasonStart(Math.floor(Date.now() / 1000)) * 1000);
    seasonStart = new Date(season.getUTCFullYear(), season.getUTCMonth(), season.getUTCDate()).getTime() / 1000;
  });

  after(async function () {
    this.timeout(60_000);
    await environment?.stop();
  });

  it("payer: is told the console is theirs; a budget the account cannot fund is refused before anything is signed", async () => {
    payer = await environment!.walletPage(payerAccount);
    const page = payer.page;
    await connect(page, baseUrl, "/payer");
    await page.getByText("Acting for Example Health Insurance as the organization itself.").waitFor();
    const here = page
      .getByRole("navigation", { name: "Consoles" })
      .getByRole("link", { name: "Payer (your account can act here)" });
    expect(await here.getAttribute("aria-current")).to.equal("page");

    // The form is checked first.
    const asked = payer.walletLog.length;
    await page.getByRole("button", { name: "Create and fund programme" }).click();
    await page.getByText("Enter the reward per period.").waitFor();
    await page.getByText("Choose at least one hospital or lab that confirms the care.").waitFor();
    await page.getByText("Enter the budget.").waitFor();

    // The demo payer put all it had into the demo programme: the permit is refused in words.
    expect(await tokenBalance(payerAccount.address)).to.equal(0n);
    await page.getByLabel("Preventive action").selectOption({ label: "Influenza, seasonal, injectable (CVX 141)" });
    await page.getByLabel("First period starts on").fill(dateField(seasonStart));
    await page.getByLabel("Each period lasts").selectOption({ label: "A year (365 days)" });
    await page.getByLabel("Reward per member and period (CRC)").fill("10");
    await page.getByRole("checkbox", { name: "Riverside Clinical Lab" }).check();
    await page.getByLabel("Budget to fund now (CRC)").fill("50");
    await page.getByRole("button", { name: "Create and fund programme" }).click();
    await page.getByText("Your account holds 0 CRC, less than the 50 CRC to fund.").waitFor();
    const signedOrSent = payer.walletLog.slice(asked).filter((l) => /^(sent|signed) /.test(l));
    expect(signedOrSent).to.deep.equal([]);
  });

  it("payer: draws test money and creates a flu-vaccination programme, funded by a permit in one transaction", async () => {
    const page = payer.page;
    await page.getByRole("button", { name: /^Get 1,000 CRC of test money/ }).click();
    await page.getByText("1,000 CRC added to your account.").waitFor();
    const count = await publicClient.readContract({
      address: rewards,
      abi: preventionRewardsAbi,
      functionName: "programmeCount",
    });
    const sent = payer.sentCount();
    await page.getByRole("button", { name: "Create and fund programme" }).click();
    await page
      .getByText("Programme created and funded: a flu vaccination (CVX 141), rewarded each year.", { exact: false })
      .waitFor();
    // One transaction: the permit is a signature, not a transaction.
    expect(payer.sentCount()).to.equal(sent + 1);
    programmeId = count + 1n;
    const p = await programme(programmeId);
    expect(p.payer).to.equal(payerAccount.address);
    expect(p.category).to.equal(IMMUNIZATION);
    expect(p.codeSystem).to.equal(criterionHash(CVX_SYSTEM));
    expect(p.code).to.equal(criterionHash("141"));
    expect(p.firstPeriodStart).to.equal(seasonStart);
    expect(p.periodLength).to.equal(365 * 86_400);
    expect(p.reward).to.equal(REWARD);
    expect(p.budget).to.equal(BUDGET);
    const custodians = await publicClient.readContract({
      address: rewards,
      abi: preventionRewardsAbi,
      functionName: "programmeCustodians",
      args: [programmeId],
    });
    expect(custodians).to.have.length(1);

    const panel = item(page, programmeId);
    await panel.getByText("0 taking part; 0 confirmations paid").waitFor();
    await panel.getByText("No confirmation yet.").waitFor();
    await shoot(page, "payer-console-phone", PHONE);
    await shoot(page, "payer-console-desktop", DESKTOP);
  });

  it("alice: reads what becomes public before joining, and joins after the dialog says it again", async () => {
    patient = await environment!.walletPage(alice);
    const page = patient.page;
    await connect(page, baseUrl, "/prevention");
    await page
      .getByRole("navigation", { name: "Consoles" })
      .getByRole("link", { name: "Prevention (your account can act here)" })
      .waitFor();
    const notice = page.getByRole("region", { name: "Before you join: what anyone can see" });
    await notice.getByText("A confirmation is public.", { exact: false }).waitFor();
    expect(await notice.innerText()).to.match(/Anyone who looks at your address can then learn that your care met/);
    expect(await notice.innerText()).to.match(/A badge says the same thing to anyone who looks at your address/);

    const mine = item(page, programmeId);
    await mine.getByRole("heading", { name: `Programme ${programmeId}: A flu vaccination` }).waitFor();
    const counts = await mine.locator("dd").nth(1).innerText();
    expect(counts).to.match(
      /^A flu vaccination \(CVX 141\) between 1 September (\d{4}) and 31 August (\d{4}), as recorded by Riverside Clinical Lab\.$/,
    );
    await mine.getByText("10 CRC for each year in which it is confirmed.").waitFor();
    await shoot(page, "prevention-patient-phone", PHONE);

    // By keyboard only: Tab to her Join button, Enter opens the dialog with the way out focused
    // (Enter there does not join), Escape closes it, and Shift+Tab reaches the join itself.
    const sent = patient.sentCount();
    await tabTo(page, new RegExp(`^button: Join… programme ${programmeId}$`));
    await page.keyboard.press("Enter");
    const dialog = page.getByRole("dialog", { name: `Join programme ${programmeId}?` });
    await dialog.waitFor();
    expect(await describeFocus(page)).to.equal("button: Not now");
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
    expect(await describeFocus(page)).to.equal(`button: Join… programme ${programmeId}`);
    await page.keyboard.press("Enter");
    await dialog.waitFor();
    expect(await dialog.innerText()).to.match(
      /This becomes public\. Each time your care is confirmed, anyone who looks at your wallet address can learn that you had a flu vaccination in that year\./,
    );
    expect(patient.sentCount()).to.equal(sent);
    await page.keyboard.press("Shift+Tab");
    expect(await describeFocus(page)).to.equal("button: Join the programme");
    await page.keyboard.press("Enter");
    // The item's status line (the dialogs' own lines say the same, hidden once they close).
    await mine.getByText(`You joined programme ${programmeId}.`, { exact: false }).first().waitFor();
    expect(patient.sentCount()).to.equal(sent + 1);

    expect(await enrolmentStatus()).to.equal(OPTED_IN);
    expect(await payerScope()).to.equal(ALLOWED);
    await mine.getByText("You take part").waitFor();
    await mine.getByText("Not confirmed yet. Riverside Clinical Lab will check its records and confirm it.").waitFor();
  });

  it("the lab's gateway confirms her vaccination of this season (admin token); no record leaves it", async () => {
    const adminToken = readFileSync(join(ROOT, ".secrets/lab.admin-token"), "utf8").trim();
    const refused = await fetch(`${LAB_GATEWAY}/prevention/programmes/${programmeId}/confirmations`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(refused.status).to.equal(401);
    const res = await fetch(`${LAB_GATEWAY}/prevention/programmes/${programmeId}/confirmations`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
      body: "{}",
    });
    const summary = (await res.json()) as Record<string, unknown>;
    expect(res.status, JSON.stringify(summary)).to.equal(200);
    expect(summary).to.deep.include({ programmeId: programmeId.toString(), period: 0, confirmed: 1, skipped: 0 });
    expect(JSON.stringify(summary)).to.not.match(/Immunization|occurrence|vaccineCode/);
    expect(
      await publicClient.readContract({
        address: rewards,
        abi: preventionRewardsAbi,
        functionName: "isConfirmed",
        args: [programmeId, alice.address, 0],
      }),
    ).to.equal(true);
    expect(
      await publicClient.readContract({
        address: rewards,
        abi: preventionRewardsAbi,
        functionName: "balanceOf",
        args: [token, alice.address],
      }),
    ).to.equal(REWARD);
  });

  it("alice: sees the confirmation, withdraws the reward, claims the badge after its dialog, and leaves", async () => {
    const page = patient.page;
    await page.reload();
    const mine = item(page, programmeId);
    await mine.getByText("Confirmed: you earned 10 CRC.").waitFor();

    const before = await tokenBalance(alice.address);
    const rewardsCard = page.getByRole("region", { name: "Your rewards and badges" });
    await rewardsCard.getByRole("button", { name: "Withdraw 10 CRC" }).click();
    await rewardsCard.getByText("10 CRC sent to your account.").waitFor();
    expect(await tokenBalance(alice.address)).to.equal(before + REWARD);

    await mine
      .getByRole("button", { name: new RegExp(`^Claim the badge of programme ${programmeId} for 1 September`) })
      .click();
    const dialog = page.getByRole("dialog", { name: /^Claim the badge for 1 September \d{4} to 31 August \d{4}\?$/ });
    await dialog.waitFor();
    expect(await dialog.innerText()).to.match(
      /A badge is public\. It stays in your wallet, and anyone who looks at your address can see it: it says that you had a flu vaccination in that year\./,
    );
    await dialog.getByRole("button", { name: "Claim the badge" }).click();
    await mine
      .getByText(/^The badge for 1 September \d{4} to 31 August \d{4} is in your wallet\.$/)
      .first()
      .waitFor();
    expect(
      await publicClient.readContract({
        address: badge,
        abi: preventionBadgeAbi,
        functionName: "hasBadge",
        args: [programmeId, 0, alice.address],
      }),
    ).to.equal(true);
    await rewardsCard
      .getByText(
        new RegExp(`^A flu vaccination, 1 September \\d{4} to 31 August \\d{4} \\(programme ${programmeId}\\)$`),
      )
      .waitFor();
    await shoot(page, "prevention-patient-desktop", DESKTOP);
    await shoot(page, "prevention-patient-confirmed-phone", PHONE);

    await mine.getByRole("button", { name: `Leave programme ${programmeId}` }).click();
    await mine.getByText(`You left programme ${programmeId}.`, { exact: false }).first().waitFor();
    expect(await enrolmentStatus()).to.equal(OPTED_OUT);
  });

  it("alice: joins again without a fee (signed, sent by the lab's gateway) after the same dialog, and leaves without a fee", async () => {
    const page = patient.page;
    const mine = item(page, programmeId);
    const ethBefore = await publicClient.getBalance({ address: alice.address });
    const sent = patient.sentCount();
    await mine.getByText("No fee for you: you only sign the request, and Riverside Clinical Lab sends it").waitFor();
    await mine
      .getByRole("button", { name: `Join without a fee… programme ${programmeId}, through Riverside Clinical Lab` })
      .click();
    const dialog = page.getByRole("dialog", { name: `Join programme ${programmeId}?` });
    await dialog.waitFor();
    const said = await dialog.innerText();
    expect(said).to.match(/This becomes public\. Each time your care is confirmed/);
    expect(said).to.contain("You sign the request in your wallet, and Riverside Clinical Lab sends it and pays");
    expect(patient.walletLog).to.not.include("signed typed data OptIn");
    await dialog.getByRole("button", { name: "Join the programme" }).click();
    await mine
      .getByText(`You joined programme ${programmeId}; Riverside Clinical Lab paid the fee.`, { exact: false })
      .first()
      .waitFor({ timeout: 30_000 });
    expect(patient.walletLog).to.include("signed typed data OptIn");
    expect(patient.sentCount(), "the patient sent a transaction herself").to.equal(sent);
    expect(await publicClient.getBalance({ address: alice.address })).to.equal(ethBefore);
    const optIns = await publicClient.getContractEvents({
      address: rewards,
      abi: preventionRewardsAbi,
      eventName: "OptedIn",
      args: { programmeId, patient: alice.address },
      fromBlock: 0n,
      strict: true,
    });
    expect(optIns).to.have.length(2);
    expect(optIns[1]!.args.actor).to.equal(labGateway.address);
    expect(await enrolmentStatus()).to.equal(OPTED_IN);
    expect(await payerScope()).to.equal(ALLOWED);
    await mine.getByText("You take part").waitFor();

    await mine
      .getByRole("button", { name: `Leave without a fee programme ${programmeId}, through Riverside Clinical Lab` })
      .click();
    await mine
      .getByText(`You left programme ${programmeId}; Riverside Clinical Lab paid the fee.`, { exact: false })
      .first()
      .waitFor({ timeout: 30_000 });
    expect(patient.walletLog).to.include("signed typed data OptOut");
    expect(patient.sentCount()).to.equal(sent);
    expect(await enrolmentStatus()).to.equal(OPTED_OUT);
  });

  it("payer: follows the completions and the budget left, cancels and reclaims", async () => {
    const page = payer.page;
    await page.reload();
    const panel = item(page, programmeId);
    await panel.getByText("0 taking part; 1 confirmation paid").waitFor();
    await panel.getByText("40 CRC (pays 4 more rewards); funded 50 CRC, paid 10 CRC").waitFor();
    const row = panel
      .getByRole("table", { name: `Completions of programme ${programmeId}, per period` })
      .locator("tbody tr");
    // The table comes from the indexer, after the programme's own line above.
    await row.first().waitFor();
    expect(await row.count()).to.equal(1);
    expect((await row.first().innerText()).replace(/\s+/g, " ").trim()).to.match(
      /^1 September \d{4} to 31 August \d{4} 1 0 10 CRC$/,
    );

    await panel.getByRole("button", { name: `Cancel programme ${programmeId}…` }).click();
    const dialog = page.getByRole("dialog", { name: `Cancel programme ${programmeId}?` });
    await dialog.getByRole("button", { name: "Yes, cancel the programme" }).click();
    await panel.getByText(`Programme ${programmeId} is cancelled.`).first().waitFor();
    expect((await programme(programmeId)).cancelled).to.equal(true);

    const before = await tokenBalance(payerAccount.address);
    await panel.getByRole("button", { name: `Reclaim the unspent budget of programme ${programmeId}` }).click();
    await panel
      .getByText(`The unspent budget of programme ${programmeId} is back in your organization's account.`)
      .first()
      .waitFor();
    expect(await tokenBalance(payerAccount.address)).to.equal(before + BUDGET - REWARD);
    expect((await programme(programmeId)).budget).to.equal(0n);
  });

  it("no page error or console error on either page", () => {
    for (const p of [payer, patient]) {
      const problems = p ? pageProblems(p) : [];
      expect(problems, problems.join("\n")).to.deep.equal([]);
    }
  });
});
