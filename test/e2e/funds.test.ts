/**
 * Research funds end to end (issue 17), in Debian's Chromium, in the environment of
 * ./lib/environment.ts (the real stack, the production build, one test wallet per demo account,
 * each signing for real with its Hardhat development key), the chain's clock moved with
 * evm_increaseTime and evm_mine:
 * - bob creates a fund from /funds: the form refuses settings outside the contract's bounds before
 *   anything is signed, then the factory creates it and the indexer lists it beside the demo fund
 *   and an accredited organization's; each says who created it, and a reader's own funds come
 *   first, then the organization's, then the rest;
 * - three members (alice and bob, patients, and Example Health Insurance as a foundation) draw test
 *   money and contribute; alice also joins the demo study from her portal;
 * - alice proposes to fund the demo study (StudyEscrow.sponsor through the fund's sponsorStudy);
 *   alice and the insurer vote for (the insurer with the keyboard alone), bob against; alice, who
 *   voted for, is refused leaving before it is paid, in words and before any signature; the
 *   proposal is queued, carried out after the timelock, and the escrow holds the fund's money;
 * - alice sees on her portal which fund paid for the study she takes part in;
 * - the members vote to close the fund; redeeming is refused until the study is settled, settling
 *   until the study is over; after its end the study is settled and each member redeems its share;
 * - axe-core finds no WCAG 2.2 A/AA violation at each stage, and no page scrolls sideways at phone width.
 */
import { expect } from "chai";
import type { Locator, Page } from "playwright-core";
import { type Address, type LocalAccount, parseEther } from "viem";

import { remunerationTokenAbi, studyEscrowAbi } from "#sdk/generated/abis.ts";
import { researchFundAbi, researchFundFactoryAbi } from "#sdk/generated/fund-abis.ts";
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
import { violations } from "./lib/axe.ts";
import { describeFocus, tabTo } from "./lib/keyboard.ts";
import { devAccount, publicClient, walletOf } from "./lib/wallet.ts";

const CAUSE = "Cohort Z: long-term outcomes of a rare kidney disease";
const DEMO_CAUSE = "Example syndrome: research into a rare disease, funded by patients and foundations";
const HOUR = 3_600;
const DAY = 86_400;

const INSTITUTE_CAUSE = "Example Research Institute: a registry of rare kidney diseases";

const alice = devAccount("alice");
const bob = devAccount("bob");
const insurer = devAccount("payer");
/** Example Research Institute's own account (an accredited organization). */
const institute = devAccount("research");

/** Moves the local chain's clock and mines a block (the pages re-read on every block). */
async function advance(seconds: number) {
  await publicClient.request({ method: "evm_increaseTime", params: [seconds] } as never);
  await publicClient.request({ method: "evm_mine", params: [] } as never);
}

describe("research funds: create, contribute, vote, sponsor a study, dissolve and redeem (browser, end to end)", function () {
  this.timeout(1_200_000);

  let environment: Environment | null = null;
  let baseUrl: string;
  let factory: Address;
  let escrow: Address;
  let token: Address;
  let fund: Address;
  const pages = new Map<string, WalletPage>();

  const read = <T>(address: Address, abi: readonly unknown[], functionName: string, args: unknown[] = []) =>
    publicClient.readContract({ address, abi: abi as never, functionName, args } as never) as Promise<T>;
  const balance = (account: Address) => read<bigint>(token, remunerationTokenAbi, "balanceOf", [account]);
  const shares = (account: Address) => read<bigint>(fund, researchFundAbi, "balanceOf", [account]);

  /** The fund's card on `page`, found by its cause. */
  const fundItem = (page: Page, cause = CAUSE): Locator =>
    page.locator("li.grant", { has: page.getByRole("heading", { name: cause, exact: true }) });
  /** Waits until the funds listed on `page` are `causes`, in this order (the list follows new blocks). */
  async function fundOrder(page: Page, causes: readonly string[]): Promise<void> {
    const headings = page
      .locator("section", { has: page.getByRole("heading", { name: "All research funds" }) })
      .locator(":scope > ul > li.grant h3");
    let listed: string[] = [];
    for (const deadline = Date.now() + 15_000; Date.now() < deadline; await page.waitForTimeout(200)) {
      listed = await headings.allTextContents();
      if (JSON.stringify(listed) === JSON.stringify(causes)) return;
    }
    expect(listed, "the funds listed, in order").to.deep.equal(causes);
  }
  const proposalItem = (page: Page, description: string | RegExp): Locator =>
    fundItem(page).locator("li.grant", { has: page.getByText(description) });

  /** The page of `account` at /funds (connected once, then reloaded). */
  async function fundsPage(name: string, account: LocalAccount): Promise<WalletPage> {
    let wallet = pages.get(name);
    if (!wallet) {
      wallet = await environment!.walletPage(account);
      await connect(wallet.page, baseUrl, "/funds");
      pages.set(name, wallet);
    } else if (!wallet.page.url().endsWith("/funds")) {
      await wallet.page.goto(`${baseUrl}/funds`);
    }
    await wallet.page.getByRole("heading", { name: "All research funds" }).waitFor();
    return wallet;
  }

  /** A refusal in words, found by simulation: no signature, no transaction. */
  async function refused(wallet: WalletPage, where: Locator, button: RegExp, sentence: string | RegExp) {
    const signedOrSent = () => wallet.walletLog.filter((l) => /^(sent|signed) /.test(l)).length;
    const before = signedOrSent();
    await where.getByRole("button", { name: button }).click();
    await where.getByText(typeof sentence === "string" ? `Not done: ${sentence}` : sentence).waitFor();
    expect(signedOrSent(), "a refused action signs and sends nothing").to.equal(before);
  }

  before(async function () {
    environment = await startEnvironment();
    if (!environment) {
      console.warn("    SKIPPED: no Chromium (set CHROMIUM_PATH or apt-get install chromium)");
      this.skip();
    }
    baseUrl = environment.baseUrl;
    ({ ResearchFundFactory: factory, StudyEscrow: escrow, RemunerationToken: token } = environment.deployments);
    expect(factory, "no ResearchFundFactory in sdk/generated/deployments.json").to.match(/^0x[0-9a-fA-F]{40}$/);
  });

  after(async function () {
    this.timeout(60_000);
    for (const wallet of pages.values()) {
      expect(pageProblems(wallet), pageProblems(wallet).join("\n")).to.deep.equal([]);
    }
    await environment?.stop();
  });

  it("bob creates a fund: settings outside the bounds are refused in words before anything is signed", async () => {
    // An accredited organization's fund, created before bob's (straight from its account).
    const institutes = walletOf(institute);
    const hash = await institutes.writeContract({
      address: factory,
      abi: researchFundFactoryAbi,
      functionName: "createFund",
      args: [
        {
          currency: token,
          cause: INSTITUTE_CAUSE,
          goal: parseEther("20000"),
          end: Math.floor(Date.now() / 1000) + 365 * DAY,
          quorumPercent: 25,
          votingPeriod: 2 * DAY,
          timelockDelay: 2 * DAY,
        },
      ],
    });
    expect((await publicClient.waitForTransactionReceipt({ hash })).status).to.equal("success");

    const wallet = await fundsPage("bob", bob);
    const { page } = wallet;
    // The demo fund the seed created through the factory is listed.
    await page.getByRole("heading", { name: /^Example syndrome: research into a rare disease/ }).waitFor();
    const form = page.locator("form", { has: page.getByRole("button", { name: "Create fund" }) });
    await form.getByLabel("Quorum (%)").fill("3");
    await form.getByLabel("Voting period (hours)").fill("0");
    await form.getByLabel("Timelock delay (hours)").fill("721");
    await form.getByRole("button", { name: "Create fund" }).click();
    await form.getByText("Not done: Some answers need correcting: see the message under each of them.").waitFor();
    await form.getByText("Say what the fund is for (its cause).").waitFor();
    await form.getByText("Enter the goal.").waitFor();
    await form.getByText("The quorum must be a whole number from 4 to 100 %.").waitFor();
    await form.getByText("Voting must last from 1 hour to 30 days.").waitFor();
    await form.getByText("The timelock delay must be from 1 hour to 30 days.").waitFor();
    expect(await form.getByLabel("Quorum (%)").getAttribute("aria-invalid")).to.equal("true");
    await form.getByLabel("Cause").fill("x".repeat(201));
    await form.getByLabel("Goal (CRC)").fill("1000");
    await form.getByLabel("Quorum (%)").fill("20");
    await form.getByLabel("Voting period (hours)").fill("24");
    await form.getByLabel("Timelock delay (hours)").fill("24");
    await form.getByLabel("Fund ends on").fill(new Date(Date.now() + DAY * 1000).toISOString().slice(0, 10));
    await form.getByRole("button", { name: "Create fund" }).click();
    await form
      .getByText("Keep the cause to 200 bytes (it is 201): a short heading, not a document.", { exact: true })
      .waitFor();
    await form
      .getByText(
        "The fund must end more than 2 days from now: room for one vote (1 day) and its timelock delay (1 day).",
      )
      .waitFor();
    expect(wallet.sentCount(), "nothing was sent while the form had errors").to.equal(0);

    const before = await read<bigint>(factory, researchFundFactoryAbi, "fundCount");
    await form.getByLabel("Cause").fill(CAUSE);
    await form.getByLabel("Fund ends on").fill(new Date(Date.now() + 365 * DAY * 1000).toISOString().slice(0, 10));
    await form.getByRole("button", { name: "Create fund" }).click();
    await form.getByText(`Fund created: ${CAUSE}. It is listed below; anyone may now contribute.`).waitFor();
    expect(wallet.sentCount()).to.equal(1);
    expect(await read<bigint>(factory, researchFundFactoryAbi, "fundCount")).to.equal(before + 1n);

    const item = fundItem(page);
    await item.waitFor();
    await item.getByText("1,000 CRC", { exact: false }).first().waitFor();
    await item
      .getByText("1 day to vote, a quorum of 20 % of the shares, then 1 day in the timelock", {
        exact: false,
      })
      .waitFor();
    await item.getByText("you", { exact: true }).waitFor(); // created by
    await fundItem(page, INSTITUTE_CAUSE).getByText("Example Research Institute, an accredited organization").waitFor();
    // bob's own fund first, then the organization's (older), then the demo fund (created by an account).
    await fundOrder(page, [CAUSE, INSTITUTE_CAUSE, DEMO_CAUSE]);
    // The fund's address, from the list's own data: the newest fund is the factory's last.
    const logs = await publicClient.getContractEvents({
      address: factory,
      abi: researchFundFactoryAbi,
      eventName: "FundCreated",
      fromBlock: 0n,
    });
    const created = logs.at(-1)!.args;
    expect(created.cause).to.equal(CAUSE);
    expect(created.creator).to.equal(bob.address);
    fund = created.fund!;
    expect(await read<boolean>(factory, researchFundFactoryAbi, "isFund", [fund])).to.equal(true);
    await shoot(page, "funds-create-desktop", DESKTOP);
    await shoot(page, "funds-create-phone", PHONE);
  });

  it("three members draw test money and contribute; alice also joins the demo study", async () => {
    for (const [name, account, amount] of [
      ["alice", alice, "100"],
      ["bob", bob, "100"],
      ["insurer", insurer, "200"],
    ] as const) {
      const { page } = await fundsPage(name, account);
      if (name === "alice") {
        // Before she takes part: the organization's fund above bob's newer one, and who created each.
        await fundItem(page)
          .getByText(/^the account 0x[0-9a-fA-F]{4}…[0-9a-fA-F]{4}, not an accredited organization$/)
          .waitFor();
        await fundItem(page, INSTITUTE_CAUSE)
          .getByText("Example Research Institute, an accredited organization")
          .waitFor();
        await fundOrder(page, [INSTITUTE_CAUSE, CAUSE, DEMO_CAUSE]);
      }
      await page.getByRole("button", { name: /^Get 1,000 CRC of test money/ }).click();
      await page.getByText("1,000 CRC added to your account.").waitFor();
      const item = fundItem(page);
      await item.getByLabel("Contribute (CRC)").fill(amount);
      const before = await balance(account.address);
      await item.getByRole("button", { name: /^Contribute/ }).click();
      await item
        .getByText(`You contributed ${amount} CRC and received as many shares; they vote from the next block.`)
        .waitFor();
      expect(await shares(account.address)).to.equal(parseEther(amount));
      expect(await balance(account.address)).to.equal(before - parseEther(amount));
      await item.getByText(`${amount} CRC (worth ${amount} CRC now)`).waitFor();
    }
    expect(await balance(fund)).to.equal(parseEther("400"));
    // Now a member, alice sees bob's fund first.
    await fundOrder(pages.get("alice")!.page, [CAUSE, INSTITUTE_CAUSE, DEMO_CAUSE]);

    // alice joins the demo study from her portal (she will see who paid for it).
    const { page } = pages.get("alice")!;
    await page.goto(`${baseUrl}/`);
    await page.getByRole("button", { name: "Join study 1" }).click();
    await page.getByText("You joined study 1.").waitFor();
    const { status } = await read<{ status: number }>(escrow, studyEscrowAbi, "getParticipant", [1n, alice.address]);
    expect(status).to.equal(1);
  });

  it("alice proposes to fund the demo study; it passes (the insurer votes with the keyboard alone), waits in the timelock and is carried out", async () => {
    const description = "Sponsor study 1 with 300 CRC";
    const { page } = await fundsPage("alice", alice);
    const item = fundItem(page);
    await item.getByLabel("Study number").fill("1");
    await item.getByLabel("Amount (CRC)").fill("300");
    await item.getByRole("button", { name: "Propose to fund this study" }).click();
    await item.getByText(`Proposed: “${description}”. Members vote from the next block.`).waitFor();
    await advance(1);

    await proposalItem(page, description)
      .getByRole("button", { name: /^Vote for/ })
      .click();
    await proposalItem(page, description).getByText("You voted for it.").waitFor();

    // The insurer, keyboard only: Tab to the vote, Enter; the outcome takes focus and is announced.
    const insurerPage = (await fundsPage("insurer", insurer)).page;
    await proposalItem(insurerPage, description)
      .getByText(/Voting until/)
      .waitFor();
    await tabTo(insurerPage, new RegExp(`^button: Vote for “${description}”`), 300);
    await insurerPage.keyboard.press("Enter");
    await insurerPage.waitForFunction(
      () =>
        document.activeElement?.getAttribute("role") === "status" &&
        (document.activeElement as HTMLElement).dataset.phase === "confirmed",
      null,
      { timeout: 30_000 },
    );
    expect(await describeFocus(insurerPage)).to.equal("status: You voted for it.");

    const bobPage = (await fundsPage("bob", bob)).page;
    await proposalItem(bobPage, description)
      .getByRole("button", { name: /^Vote against/ })
      .click();
    await proposalItem(bobPage, description).getByText("You voted against it.").waitFor();

    // alice voted to spend: she cannot leave before it is paid (Moloch v2), told in words, before signing.
    await refused(
      pages.get("alice")!,
      item,
      /^Leave now with my share/,
      "Your account voted for a proposal that has not been carried out yet: who votes to spend cannot leave before it is paid.",
    );

    await advance(DAY + 1);
    await proposalItem(page, description).getByText("Passed: waiting to be queued in the timelock").waitFor();
    await proposalItem(page, description)
      .getByRole("button", { name: /^Queue in the timelock/ })
      .click();
    await proposalItem(page, description)
      .getByText("Queued: it can be carried out once the timelock delay has passed.")
      .waitFor();
    await proposalItem(page, description)
      .getByText(/In the timelock until/)
      .first()
      .waitFor();
    await advance(DAY + 1);
    await proposalItem(page, description)
      .getByRole("button", { name: /^Carry it out/ })
      .click();
    await proposalItem(page, description).getByText("Carried out.").waitFor();

    expect(await read<bigint>(escrow, studyEscrowAbi, "sponsorshipOf", [1n, fund])).to.equal(parseEther("300"));
    expect(await balance(fund)).to.equal(parseEther("100"));
    await item.getByText("Study 1: 300 CRC").waitFor();
    await item.getByText("This fund has paid for a study, so it takes no more contributions.").waitFor();
    expect(await violations(page, "/funds after a sponsorship")).to.deep.equal([]);
    await shoot(page, "funds-member-desktop", DESKTOP);
    await shoot(page, "funds-member-phone", PHONE);
  });

  it("alice, who takes part in the study, sees which fund paid for it", async () => {
    const { page } = pages.get("alice")!;
    await page.goto(`${baseUrl}/`);
    const study = page.locator("li.study", { has: page.getByRole("heading", { name: /^Study 1:/ }) });
    await study.getByText("You take part").waitFor();
    const paid = study.locator("dt", { hasText: "Also paid for by" });
    await paid.waitFor();
    expect(await paid.locator("xpath=following-sibling::dd[1]").textContent()).to.equal(
      `the research fund “${CAUSE}” (300 CRC)`,
    );
    await shoot(page, "funds-patient-sees-sponsor-phone", PHONE, false, study);
  });

  it("the members vote to close the fund; after the study ends it is settled and each member redeems its share", async () => {
    const description = "Close the fund: members take back their share of what is left";
    const bobPage = (await fundsPage("bob", bob)).page;
    await fundItem(bobPage)
      .getByRole("button", { name: /^Propose to close the fund/ })
      .click();
    await fundItem(bobPage).getByText("Proposed: members vote on closing the fund from the next block.").waitFor();
    await advance(1);
    for (const [name, account] of [
      ["alice", alice],
      ["bob", bob],
      ["insurer", insurer],
    ] as const) {
      const { page } = await fundsPage(name, account);
      await proposalItem(page, description)
        .getByRole("button", { name: /^Vote for/ })
        .click();
      await proposalItem(page, description).getByText("You voted for it.").waitFor();
    }
    const { page } = await fundsPage("alice", alice);
    const item = fundItem(page);
    await advance(DAY + 1);
    await proposalItem(page, description)
      .getByRole("button", { name: /^Queue in the timelock/ })
      .click();
    await proposalItem(page, description)
      .getByText(/^Queued/)
      .waitFor();
    await advance(DAY + 1);
    await proposalItem(page, description)
      .getByRole("button", { name: /^Carry it out/ })
      .click();
    await proposalItem(page, description).getByText("Carried out.").waitFor();
    await item.getByText("Closed by its members").waitFor();
    expect((await read<readonly unknown[]>(fund, researchFundAbi, "info"))[4]).to.equal(true);

    // Not before the study it paid for is settled, and not settled before the study is over.
    await refused(
      pages.get("alice")!,
      item,
      /^Redeem my share/,
      "1 sponsored studies are not settled yet: settle each after its end, then redeem.",
    );
    await refused(
      pages.get("alice")!,
      item,
      /^Settle study 1/,
      /^Not done: Study 1 runs until .+; its budget can be reclaimed after that, or after cancelling it\.$/,
    );

    const study = await read<{ endTime: number }>(escrow, studyEscrowAbi, "getStudy", [1n]);
    const { timestamp } = await publicClient.getBlock();
    await advance(Number(study.endTime) - Number(timestamp) + HOUR);
    await item.getByRole("button", { name: /^Settle study 1/ }).click();
    await item.getByText("Study 1 settled: what it did not spend of the fund's money is back.").waitFor();
    await item.getByText("Study 1: 300 CRC · settled, 300 CRC came back unspent").waitFor();
    expect(await balance(fund)).to.equal(parseEther("400"));

    for (const [name, account, share] of [
      ["alice", alice, "100"],
      ["insurer", insurer, "200"],
      ["bob", bob, "100"],
    ] as const) {
      const { page: p } = await fundsPage(name, account);
      const before = await balance(account.address);
      await fundItem(p)
        .getByRole("button", { name: /^Redeem my share/ })
        .click();
      await fundItem(p).getByText(`You left the fund with your share, ${share} CRC.`).waitFor();
      expect(await balance(account.address)).to.equal(before + parseEther(share));
      expect(await shares(account.address)).to.equal(0n);
    }
    expect(await balance(fund)).to.equal(0n);
    expect(await violations(page, "/funds after dissolution")).to.deep.equal([]);
    await shoot(page, "funds-dissolved-phone", PHONE);
  });
});
