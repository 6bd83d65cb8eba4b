/**
 * The on-chain consoles end to end, in Debian's Chromium, in the environment of
 * ./lib/environment.ts (the real stack, the production build, one test wallet per demo account,
 * each signing for real with its Hardhat development key):
 * - the researcher (Example Research Institute, account #8) draws test money, creates a study and
 *   funds it with an EIP-2612 permit in one transaction;
 * - the patient (alice, #1) joins it without a fee, her signature relayed by the lab's gateway
 *   (POST /relay/join), and joins the demo study directly;
 * - the researcher downloads the study's de-identified dataset through the lab's gateway (signed in
 *   with Ethereum), which reports alice's delivery to the escrow before releasing her data;
 * - with no ETH left for a fee, she withdraws through a gateway's relay, and her token balance rises by
 *   exactly the price less the lab's share and the gateway's fee (a direct withdrawal is walked in
 *   ./prevention.test.ts);
 * - the researcher sees enrolment and spend, tops up with a permit, cancels and reclaims;
 * - governance (#0) accredits an organization, suspends and reinstates it; a clinician (#4) opens
 *   break-glass access after a confirmation, governance sees it in the log, and the clinician closes it;
 * - the hospital's own account (#3) offers membership, the member accepts by its signature, and the
 *   hospital removes it; the analyst (#9) follows the studies
 *   read-only (the escrow lets only the organization and its ADMIN members manage studies).
 * Every step is asserted on-chain. Environment variables: see ./lib/environment.ts (with
 * E2E_EXTERNAL_STACK=1 the gasless join needs the gateways to allow this app's origin).
 */
import { readFileSync } from "node:fs";

import { expect } from "chai";
import type { Page } from "playwright-core";
import { type Address, type PublicClient, parseEther, zeroAddress } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";

import { KINDS } from "#sdk/codes.ts";
import { acceptMembershipTypedData } from "#sdk/eip712.ts";
import { consentRegistryAbi, remunerationTokenAbi, studyEscrowAbi } from "#sdk/generated/abis.ts";
import { readOrganizations } from "#sdk/ledger.ts";
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
import { devAccount, publicClient, walletOf } from "./lib/wallet.ts";

const research = devAccount("research");
const alice = devAccount("alice");
const labGateway = devAccount("labGateway");
const governance = devAccount("governance");
const clinician = devAccount("clinician");

const PRICE = parseEther("5");
const BUDGET = parseEther("50");
const LAB_SHARE_BPS = 1_000n;

describe("research, governance and provider consoles (browser, end to end)", function () {
  this.timeout(1_200_000);

  let environment: Environment | null = null;
  let baseUrl: string;
  let escrow: Address;
  let token: Address;
  let registry: Address;
  let hospital: Address;
  let lab: Address;
  let researcher: WalletPage;
  let patient: WalletPage;
  let governor: WalletPage;
  let provider: WalletPage;
  let organization: WalletPage;
  let analyst: WalletPage;
  let studyId: bigint;

  const tokenBalance = (account: Address) =>
    publicClient.readContract({
      address: token,
      abi: remunerationTokenAbi,
      functionName: "balanceOf",
      args: [account],
    });
  const study = (id: bigint) =>
    publicClient.readContract({ address: escrow, abi: studyEscrowAbi, functionName: "getStudy", args: [id] });
  const participantStatus = async (id: bigint, account: Address) =>
    (
      await publicClient.readContract({
        address: escrow,
        abi: studyEscrowAbi,
        functionName: "getParticipant",
        args: [id, account],
      })
    ).status;
  const studyItem = (page: Page, id: bigint) =>
    page.locator("li.study", { has: page.getByRole("heading", { name: new RegExp(`^Study ${id}:`) }) });

  before(async function () {
    // The demo gateways accept browser requests from this app's origin (for the gasless join).
    environment = await startEnvironment({
      stackEnv: (port) => ({ GATEWAY_CORS_ORIGINS: `http://127.0.0.1:${port},http://localhost:${port}` }),
    });
    if (!environment) {
      console.warn("    SKIPPED: no Chromium (set CHROMIUM_PATH or apt-get install chromium)");
      this.skip();
    }
    baseUrl = environment.baseUrl;
    ({ StudyEscrow: escrow, RemunerationToken: token, ConsentRegistry: registry } = environment.deployments);
    expect(escrow, "no StudyEscrow in sdk/generated/deployments.json").to.match(/^0x[0-9a-fA-F]{40}$/);
    const organizations = await readOrganizations(publicClient as PublicClient, { registry });
    const byName = (name: string) => organizations.find((o) => o.name === name)?.address ?? expect.fail(`no ${name}`);
    hospital = byName("St. Example Hospital");
    lab = byName("Riverside Clinical Lab");
  });

  after(async function () {
    this.timeout(60_000);
    await environment?.stop();
  });

  it("researcher: connects, is told the console is theirs, and draws test money", async () => {
    researcher = await environment!.walletPage(research);
    const page = researcher.page;
    await connect(page, baseUrl, "/research");
    await page.getByText("Acting for Example Research Institute as the organization itself.").waitFor();
    const nav = page.getByRole("navigation", { name: "Consoles" });
    const here = nav.getByRole("link", { name: "Research (your account can act here)" });
    await here.waitFor();
    expect(await here.getAttribute("aria-current")).to.equal("page");

    const before = await tokenBalance(research.address);
    await page.getByRole("button", { name: /^Get 1,000 CRC of test money/ }).click();
    await page.getByText("1,000 CRC added to your account.").waitFor();
    expect(await tokenBalance(research.address)).to.equal(before + parseEther("1000"));
  });

  it("researcher: the study form is validated before anything is signed", async () => {
    const page = researcher.page;
    const asked = researcher.walletLog.length;
    await page.getByRole("button", { name: "Create and fund study" }).click();
    await page.getByText("Choose at least one kind of data.").waitFor();
    await page.getByText("Enter the price per delivery.").waitFor();
    await page.getByText("Choose at least one hospital or lab that delivers the data.").waitFor();
    const signedOrSent = researcher.walletLog.slice(asked).filter((l) => /^(sent|signed) /.test(l));
    expect(signedOrSent).to.deep.equal([]);
  });

  it("researcher: creates a study and funds it with a permit in one transaction", async () => {
    const page = researcher.page;
    const balanceBefore = await tokenBalance(research.address);
    const countBefore = await publicClient.readContract({
      address: escrow,
      abi: studyEscrowAbi,
      functionName: "studyCount",
    });
    await page.getByLabel("Research purpose").selectOption("HMB");
    await page.getByLabel("Lab results and vital signs").check();
    await page.getByLabel(/^Price per delivery/).fill("5");
    await page.getByLabel("Participants at most").fill("10");
    await page.getByLabel("Protocol and ethics approval").fill("Consentry end-to-end study, protocol v1");
    await page.getByLabel("Riverside Clinical Lab", { exact: true }).check();
    await page.getByLabel("Share of Riverside Clinical Lab (%)").fill("10");
    await page.getByLabel(/^Budget to fund now/).fill("50");
    const asked = researcher.walletLog.length;
    await page.getByRole("button", { name: "Create and fund study" }).click();
    await page.getByText(/^Study created and funded: Lab results and vital signs, for health/).waitFor();
    // One permit signature, then one transaction.
    const signedOrSent = researcher.walletLog.slice(asked).filter((l) => /^(sent|signed) /.test(l));
    expect(signedOrSent).to.have.length(2);
    expect(signedOrSent[0]).to.equal("signed typed data Permit");
    expect(signedOrSent[1]).to.match(/^sent 0x/);

    studyId = countBefore + 1n;
    const created = await study(studyId);
    expect(created.researcher).to.equal(research.address);
    expect(created.price).to.equal(PRICE);
    expect(created.budget).to.equal(BUDGET);
    expect(created.maxParticipants).to.equal(10);
    const custodians = await publicClient.readContract({
      address: escrow,
      abi: studyEscrowAbi,
      functionName: "studyCustodians",
      args: [studyId],
    });
    expect(custodians.map((c) => [c.custodian, c.shareBps])).to.deep.equal([[lab, Number(LAB_SHARE_BPS)]]);
    expect(await tokenBalance(research.address)).to.equal(balanceBefore - BUDGET);

    const item = studyItem(page, studyId);
    await item.getByText("Enrolling", { exact: true }).waitFor();
    await item.getByText("50 CRC (covers 10 more deliveries)").waitFor();
    await shoot(page, "research-console-desktop", DESKTOP);
    await shoot(page, "research-console-phone", PHONE);
  });

  it("patient: sees the study in plain words and joins it without a fee, relayed by the lab's gateway", async () => {
    patient = await environment!.walletPage(alice);
    const page = patient.page;
    await connect(page, baseUrl, "/");
    const item = studyItem(page, studyId);
    await item.waitFor();
    // The researcher's name comes from the registry, read apart from the study: wait for it.
    await item.getByText("Example Research Institute", { exact: false }).first().waitFor();
    await item.getByText("0 of 10 places taken", { exact: false }).waitFor();
    // So do the currency's symbol and decimals (until then an amount shows in raw units).
    await item.getByText("5 CRC each time a hospital or lab sends your data", { exact: false }).waitFor();
    // A direct join's fee is shown before she chooses; a join without a fee says who pays.
    await item.getByText(/pay the processing fee yourself: about [\d.,]+ ETH\./).waitFor();
    const text = (await item.textContent()) ?? "";
    expect(text).to.contain(`Study ${studyId}: health, medical and biomedical research`);
    // Its code only under "Details".
    expect(await item.getByRole("heading", { level: 3 }).textContent()).to.not.contain("DUO");
    expect(await item.locator("details").textContent()).to.contain("DUO:0000006");
    expect(text).to.contain("Example Research Institute");
    expect(text).to.contain("Lab results and vital signs, for health, medical and biomedical research");
    expect(text).to.contain(
      "5 CRC each time a hospital or lab sends your data to the study. You receive 4.5 CRC of it",
    );
    expect(text).to.contain("Only research on health and disease");
    expect(text).to.contain("No fee for you: you only sign the request, and Riverside Clinical Lab sends it");
    // What CRC is, and that her data leave under a code name, outside "Details".
    const section = page.locator("section", { has: page.getByRole("heading", { name: "Research studies" }) });
    await section.getByText(/^Studies pay in CRC: research credits/).waitFor();
    await section.getByText(/under a code name \(this is called pseudonymised\)/).waitFor();
    expect(text).to.contain("0 of 10 places taken");

    const ethBefore = await publicClient.getBalance({ address: alice.address });
    await item
      .getByRole("button", { name: `Join without a fee study ${studyId}, through Riverside Clinical Lab` })
      .click();
    await item
      .getByText(`You joined study ${studyId}; Riverside Clinical Lab paid the fee.`)
      .waitFor({ timeout: 30_000 });
    expect(await participantStatus(studyId, alice.address)).to.equal(1);
    expect(patient.walletLog).to.include("signed typed data Join");
    expect(patient.sentCount(), "the patient sent a transaction herself").to.equal(0);
    expect(await publicClient.getBalance({ address: alice.address })).to.equal(ethBefore);
    const [joined] = await publicClient.getContractEvents({
      address: escrow,
      abi: studyEscrowAbi,
      eventName: "StudyJoined",
      args: { studyId, patient: alice.address },
      fromBlock: 0n,
      strict: true,
    });
    expect(joined!.args.actor).to.equal(labGateway.address);
    await item.getByText("You take part", { exact: true }).waitFor();
    await shoot(page, "portal-studies-phone", PHONE, false, section);
  });

  it("patient: joins the demo study directly", async () => {
    const page = patient.page;
    const item = studyItem(page, 1n);
    await item.getByRole("button", { name: "Join study 1", exact: true }).click();
    await item.getByText("You joined study 1.").waitFor();
    expect(await participantStatus(1n, alice.address)).to.equal(1);
    expect(patient.sentCount()).to.equal(1);
  });

  it("researcher: downloads the de-identified dataset through the lab's gateway, which reports alice's delivery first", async () => {
    const page = researcher.page;
    const item = studyItem(page, studyId);
    const sentBefore = researcher.sentCount();
    await item.getByRole("button", { name: `Sign in to Riverside Clinical Lab to download study ${studyId}` }).click();
    const download = item.getByRole("button", {
      name: `Download the dataset from Riverside Clinical Lab for study ${studyId}`,
    });
    await download.waitFor();
    const [file] = await Promise.all([page.waitForEvent("download"), download.click()]);
    await item.getByText(/^Downloaded \d+ de-identified records\.$/).waitFor();
    await item.getByText(/1 participant\(s\) released/).waitFor();
    // The researcher signed in (a message) and sent nothing: the lab's gateway reported and paid for gas.
    expect(researcher.sentCount()).to.equal(sentBefore);
    const bundle = JSON.parse(readFileSync((await file.path())!, "utf8")) as {
      resourceType: string;
      type: string;
      entry: { resource: { resourceType: string; id?: string; meta?: { security?: { code: string }[] } } }[];
    };
    expect(bundle).to.include({ resourceType: "Bundle", type: "collection" });
    const records = bundle.entry.slice(1).map((e) => e.resource);
    expect(records.length).to.be.greaterThan(0);
    // Only the study's category, pseudonymous ids, nothing of alice's wallet.
    expect(new Set(records.map((r) => r.resourceType))).to.deep.equal(new Set(["Observation"]));
    for (const r of records) {
      expect(r.id).to.match(/^[0-9a-f]{32}$/);
      expect(r.meta?.security?.[0]?.code).to.equal("PSEUDED");
    }
    expect(JSON.stringify(bundle).toLowerCase()).to.not.contain(alice.address.slice(2).toLowerCase());
    const [paid] = await publicClient.getContractEvents({
      address: escrow,
      abi: studyEscrowAbi,
      eventName: "DeliveryPaid",
      args: { studyId, patient: alice.address },
      fromBlock: 0n,
      strict: true,
    });
    expect(paid?.args.custodian).to.equal(lab);
  });

  it("patient: after the delivery was reported, with no ETH for a fee, withdraws through a gateway: the price less the lab's share and the gateway's fee", async () => {
    const share = PRICE - (PRICE * LAB_SHARE_BPS) / 10_000n;
    expect(share).to.equal(parseEther("4.5"));
    expect(
      await publicClient.readContract({
        address: escrow,
        abi: studyEscrowAbi,
        functionName: "balanceOf",
        args: [token, alice.address],
      }),
    ).to.equal(share);

    // An account without ETH cannot pay a withdrawal's fee: the portal offers a gateway's relay
    // instead, for its price in the study currency (GATEWAY_RELAY_WITHDRAW_FEE, 0.1 CRC by default).
    const eth = await publicClient.getBalance({ address: alice.address });
    await publicClient.request({ method: "hardhat_setBalance", params: [alice.address, "0x0"] } as never);
    try {
      const page = patient.page;
      await page.reload();
      const before = await tokenBalance(alice.address);
      const sentBefore = patient.sentCount();
      await page
        .getByText(
          /^Your account has nothing to pay the processing fee with: .+ sends the withdrawal for you and takes 0\.1 CRC; you receive 4\.4 CRC\.$/,
        )
        .waitFor({ timeout: 20_000 });
      await page.getByRole("button", { name: "Withdraw for a fee of 0.1 CRC 4.5 CRC" }).click();
      await page
        .getByText("4.4 CRC (4.5 CRC less the fee of 0.1 CRC) sent to your account.")
        .waitFor({ timeout: 30_000 });
      expect(patient.walletLog).to.include("signed typed data Withdraw");
      expect(patient.sentCount(), "the patient sent a transaction herself").to.equal(sentBefore);
      const fee = parseEther("0.1");
      expect((await tokenBalance(alice.address)) - before).to.equal(share - fee);
      const [relayed] = await publicClient.getContractEvents({
        address: escrow,
        abi: studyEscrowAbi,
        eventName: "WithdrawalRelayed",
        args: { patient: alice.address },
        fromBlock: 0n,
        strict: true,
      });
      expect(relayed!.args.fee).to.equal(fee);
      expect([devAccount("hospitalGateway").address, labGateway.address]).to.include(relayed!.args.relayer);
      expect(await publicClient.getBalance({ address: alice.address })).to.equal(0n);
      await page.getByText("Nothing to withdraw.", { exact: false }).waitFor();
    } finally {
      await publicClient.request({
        method: "hardhat_setBalance",
        params: [alice.address, `0x${eth.toString(16)}`],
      } as never);
    }
  });

  it("patient: leaves the demo study; its research grant is revoked", async () => {
    const page = patient.page;
    const item = studyItem(page, 1n);
    await item.getByRole("button", { name: "Leave study 1", exact: true }).click();
    await item.getByText("You left study 1. Its research organization no longer has your consent.").waitFor();
    expect(await participantStatus(1n, alice.address)).to.equal(2);
    await item.getByText("You left", { exact: true }).waitFor();
  });

  it("researcher: sees enrolment and spend, tops up with a permit, cancels and reclaims", async () => {
    const page = researcher.page;
    const item = studyItem(page, studyId);
    await item.getByText("1 taking part, 0 left").waitFor({ timeout: 20_000 });
    await item.getByText("1 delivery paid: 4.5 CRC to patients, 0.5 CRC to custodians").waitFor();
    await item.getByText("45 CRC (covers 9 more deliveries)").waitFor();

    await item.getByLabel(`Top up study ${studyId} (CRC)`).fill("10");
    await item.getByRole("button", { name: `Top up study ${studyId}` }).click();
    await item.getByText(`Added 10 CRC to study ${studyId}.`).first().waitFor();
    expect((await study(studyId)).budget).to.equal(parseEther("55"));

    await item.getByRole("button", { name: `Cancel study ${studyId}…` }).click();
    const dialog = page.getByRole("dialog", { name: `Cancel study ${studyId}?` });
    await dialog.waitFor();
    // The way out has the focus: Enter must not cancel a study and reclaim its budget.
    expect(await page.evaluate(() => document.activeElement?.textContent?.trim())).to.equal("Keep it");
    await dialog.getByRole("button", { name: "Yes, cancel the study" }).click();
    await dialog.waitFor({ state: "hidden" });
    expect((await study(studyId)).status).to.equal(2);
    await item.getByText("Cancelled", { exact: true }).waitFor();

    const before = await tokenBalance(research.address);
    await item.getByRole("button", { name: `Reclaim the unspent budget of study ${studyId}` }).click();
    await item.getByText(`The unspent budget of study ${studyId} is back in your account.`).first().waitFor();
    expect((await tokenBalance(research.address)) - before).to.equal(parseEther("55"));
    expect((await study(studyId)).budget).to.equal(0n);
  });

  it("governance: accredits an organization, validated first, recorded on-chain", async () => {
    governor = await environment!.walletPage(governance);
    const page = governor.page;
    await connect(page, baseUrl, "/governance");
    await page.getByRole("button", { name: "Accredit", exact: true }).click();
    await page.getByText("Enter the organization's address (0x followed by 40 characters).").waitFor();
    expect(governor.sentCount()).to.equal(0);

    const agency = privateKeyToAccount(generatePrivateKey()).address;
    await page.getByLabel("Organization's address").fill(agency);
    await page.getByLabel("Kind", { exact: true }).selectOption({ label: "Public-health body" });
    await page.getByLabel("Name", { exact: true }).fill("Example Public Health Agency");
    await page.getByLabel("Licence documents").fill("Public health agency licence 2026");
    // Governance records its uses as non-commercial and not-for-profit (unrecorded: both).
    await page.getByLabel("Commercial", { exact: true }).uncheck();
    await page.getByLabel("For profit", { exact: true }).uncheck();
    await page.getByRole("button", { name: "Accredit", exact: true }).click();
    await page
      .getByText(
        "Example Public Health Agency is accredited as a public-health body; its uses count as non-commercial, not-for-profit.",
      )
      .waitFor();
    expect(
      await publicClient.readContract({
        address: registry,
        abi: consentRegistryAbi,
        functionName: "useProfile",
        args: [agency],
      }),
    ).to.deep.equal([false, false]);
    const org = await publicClient.readContract({
      address: registry,
      abi: consentRegistryAbi,
      functionName: "getOrganization",
      args: [agency],
    });
    expect(org.name).to.equal("Example Public Health Agency");
    expect(org.kind).to.equal(KINDS.PUBLIC_HEALTH);
    expect(org.status).to.equal(1);
    const row = page.getByRole("row", { name: /Example Public Health Agency/ });
    await row.waitFor();
    await row.getByText("Non-commercial, not for profit").waitFor();

    // Suspend (after a confirmation, with a reason), then reinstate.
    await row.getByRole("button", { name: "Suspend Example Public Health Agency…" }).click();
    const dialog = page.getByRole("dialog", { name: "Suspend Example Public Health Agency?" });
    await dialog.waitFor();
    await dialog.getByLabel("Reason").selectOption({ label: "Under investigation" });
    await dialog.getByRole("button", { name: "Yes, suspend" }).click();
    await dialog.waitFor({ state: "hidden" });
    await row.getByText("Suspended", { exact: true }).waitFor();
    const status = async () =>
      (
        await publicClient.readContract({
          address: registry,
          abi: consentRegistryAbi,
          functionName: "getOrganization",
          args: [agency],
        })
      ).status;
    expect(await status()).to.equal(2);
    await row.getByRole("button", { name: "Reinstate Example Public Health Agency" }).click();
    await row.getByText("Active", { exact: true }).waitFor();
    expect(await status()).to.equal(1);
  });

  it("provider: a clinician looks alice up and opens break-glass access after a confirmation; governance sees it; it is closed", async () => {
    provider = await environment!.walletPage(clinician);
    const page = provider.page;
    await connect(page, baseUrl, "/provider");
    await page.getByLabel("Patient's address").fill(alice.address);
    await page.getByRole("button", { name: "Look up" }).click();
    await page.getByText("This patient has given St. Example Hospital no consent.").waitFor();

    await page.getByRole("button", { name: "Open emergency access…" }).click();
    await page.getByText("Choose the reason for the emergency access.").waitFor();
    expect(provider.sentCount()).to.equal(0);
    await page.getByLabel("Reason", { exact: true }).selectOption({ label: "Life-threatening condition" });
    await page.getByLabel("For", { exact: true }).selectOption({ label: "1 hour" });
    await page.getByRole("button", { name: "Open emergency access…" }).click();
    const dialog = page.getByRole("dialog", { name: "Open emergency access?" });
    await dialog.waitFor();
    expect(provider.sentCount(), "sent before the confirmation").to.equal(0);
    await dialog.getByRole("button", { name: "Yes, open emergency access" }).click();
    // (the same status line is also in the closed dialog)
    await page.getByText("Emergency access is open for 1 hour.", { exact: false }).first().waitFor();
    const [expiresAt, by, reason] = await publicClient.readContract({
      address: registry,
      abi: consentRegistryAbi,
      functionName: "emergencyAccess",
      args: [alice.address, hospital],
    });
    expect(by).to.equal(clinician.address);
    // Only a salted commitment to the reason is on the chain.
    expect(reason).to.match(/^0x[0-9a-f]{64}$/);
    expect(BigInt(reason)).to.not.equal(2n);
    const now = Number((await publicClient.getBlock()).timestamp);
    expect(expiresAt - now).to.be.within(3_590, 3_600);
    await page.getByText(/^Open until/).waitFor();
    await shoot(page, "provider-break-glass-phone", PHONE);

    const log = governor.page.getByRole("table", { name: "Emergency access (break-glass) log" });
    const row = log.getByRole("row", { name: new RegExp(alice.address) });
    await row.waitFor({ timeout: 20_000 });
    expect(await row.textContent()).to.contain("Held by the custodians");
    expect(await row.textContent()).to.not.contain("Life-threatening condition");
    await row.getByText("Open", { exact: true }).waitFor();
    await shoot(governor.page, "governance-desktop", DESKTOP);
    await shoot(governor.page, "governance-phone", PHONE);

    await page.getByRole("button", { name: "Close emergency access" }).click();
    await page.getByText("Emergency access closed.").first().waitFor();
    const [after] = await publicClient.readContract({
      address: registry,
      abi: consentRegistryAbi,
      functionName: "emergencyAccess",
      args: [alice.address, hospital],
    });
    expect(after).to.equal(0);
    await row.getByText("Closed early", { exact: true }).waitFor({ timeout: 20_000 });
  });

  it("organization: the hospital's own account offers membership, the member accepts, the hospital removes it", async () => {
    organization = await environment!.walletPage(devAccount("hospital"));
    const page = organization.page;
    await connect(page, baseUrl, "/governance");
    await page.getByText("You can manage the members of your own organization.", { exact: false }).waitFor();
    expect(await page.getByRole("button", { name: "Accredit", exact: true }).count()).to.equal(0);
    const memberKey = privateKeyToAccount(generatePrivateKey());
    const member = memberKey.address;
    await page.getByLabel("Member's address").fill(member);
    await page.getByLabel("Role", { exact: true }).selectOption("CLINICIAN");
    await page.getByRole("button", { name: "Offer membership" }).click();
    await page
      .getByText("Offer sent: the address becomes a member of St. Example Hospital once it accepts", {
        exact: false,
      })
      .waitFor();
    const accountOf = (a: Address) =>
      publicClient.readContract({ address: registry, abi: consentRegistryAbi, functionName: "accountOf", args: [a] });
    // An offer binds nothing: the address is still free.
    expect((await accountOf(member))[0]).to.equal(zeroAddress);
    const short = `${member.slice(0, 6)}…${member.slice(-4)}`;
    await page.getByRole("button", { name: `Withdraw offer to ${short}` }).waitFor();

    // The member (an address without ETH) accepts by its signature; anyone relays it.
    const deadline = (await publicClient.getBlock()).timestamp + 3600n;
    const chainId = await publicClient.getChainId();
    const signature = await memberKey.signTypedData(
      acceptMembershipTypedData(
        { chainId, registry },
        { member, organization: hospital, role: 2, nonce: 0n, deadline },
      ),
    );
    const hash = await walletOf(devAccount("hospital")).writeContract({
      address: registry,
      abi: consentRegistryAbi,
      functionName: "acceptMembershipBySig",
      args: [member, hospital, 2, deadline, signature],
    });
    expect((await publicClient.waitForTransactionReceipt({ hash })).status).to.equal("success");
    const [org, role] = await accountOf(member);
    expect([org, role]).to.deep.equal([hospital, 2]);

    await page.getByRole("button", { name: `Remove member ${short}` }).click();
    await page.getByText(`${short} no longer acts for St. Example Hospital.`).waitFor();
    expect((await accountOf(member))[0]).to.equal(zeroAddress);
  });

  it("analyst: follows the organization's studies read-only", async () => {
    analyst = await environment!.walletPage(devAccount("analyst"));
    const page = analyst.page;
    await connect(page, baseUrl, "/research");
    await page.getByText("As an analyst you follow the organization's studies.", { exact: false }).waitFor();
    await page.getByRole("link", { name: "Research (your account can act here)" }).waitFor();
    await studyItem(page, studyId).getByText("1 delivery paid", { exact: false }).waitFor();
    expect(await page.getByRole("button", { name: "Create and fund study" }).count()).to.equal(0);
    expect(await page.getByRole("button", { name: /^Top up/ }).count()).to.equal(0);
  });

  it("raised no page errors", () => {
    for (const p of [researcher, patient, governor, provider, organization, analyst]) {
      const problems = p ? pageProblems(p) : [];
      expect(problems, problems.join("\n")).to.deep.equal([]);
    }
  });
});
