/**
 * Consent through the gateways, end to end, in Debian's Chromium (the environment of
 * ./lib/environment.ts: the real stack with both demo gateways, the production build, test
 * wallets that sign for real):
 * - alice (#1) grants St. Example Hospital her lab results for treatment in the patient portal;
 * - the hospital's clinician (#4) looks her up in the provider console, signs in to the lab's
 *   gateway with Ethereum and reads her lab results through it (the check is on-chain);
 * - alice revokes; the clinician's very next read is refused, in the gateway's words;
 * - alice signs in to the lab's gateway herself, reads her own records, links nothing (she is
 *   linked by the demo) and sees both of the clinician's reads, allowed and refused, in her
 *   access log;
 * - alice grants and revokes again without a fee: she signs, the lab's gateway sends and pays;
 * - a new patient links her record at the lab with the code the lab gave her, and reads it.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { expect } from "chai";
import type { Page } from "playwright-core";
import { type Address, type PublicClient, encodeAbiParameters, getAddress, keccak256 } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";

import { generateSyntheticData } from "../../gateway/src/dev/synthetic.ts";

import { categoryIndex, encodePurpose } from "#sdk/codes.ts";
import { consentRegistryAbi } from "#sdk/generated/abis.ts";
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
import { PlainLanguageLog } from "./lib/plain-language.ts";
import { ROOT } from "./lib/processes.ts";
import { devAccount, publicClient } from "./lib/wallet.ts";

const alice = devAccount("alice");
const clinician = devAccount("clinician");
const labGateway = devAccount("labGateway");
const LAB = "Riverside Clinical Lab";
const HOSPITAL = "St. Example Hospital";

describe("reads through the gateways (browser, end to end)", function () {
  this.timeout(1_200_000);

  let environment: Environment | null = null;
  let baseUrl: string;
  let registry: Address;
  let patient: WalletPage;
  let provider: WalletPage;
  // Plain language (issue 18) in the states after a gateway sign-in: records, access log, linking.
  const plain = new PlainLanguageLog();
  const states: string[] = [];
  const collect = async (page: Page, state: string) => {
    states.push(state);
    await plain.collect(page, state);
  };

  const mayRead = async () =>
    (
      await publicClient.readContract({
        address: registry,
        abi: consentRegistryAbi,
        functionName: "mayUse",
        args: [alice.address, clinician.address, encodePurpose("TREAT"), categoryIndex("Observation")],
      })
    )[0];

  /** The provider console's records panel, after a lookup of alice. */
  const records = (page: Page) => page.locator("section", { has: page.getByRole("heading", { name: /^Records of / }) });

  before(async function () {
    environment = await startEnvironment({
      stackEnv: (port) => ({ GATEWAY_CORS_ORIGINS: `http://127.0.0.1:${port},http://localhost:${port}` }),
    });
    if (!environment) {
      console.warn("    SKIPPED: no Chromium (set CHROMIUM_PATH or apt-get install chromium)");
      this.skip();
    }
    baseUrl = environment.baseUrl;
    registry = environment.deployments.ConsentRegistry;
    const organizations = await readOrganizations(publicClient as PublicClient, { registry });
    expect(organizations.map((o) => o.name)).to.include.members([HOSPITAL, LAB]);
    patient = await environment.walletPage(alice);
    provider = await environment.walletPage(clinician);
    await connect(patient.page, baseUrl, "/");
    await connect(provider.page, baseUrl, "/provider");
  });

  after(async function () {
    this.timeout(60_000);
    for (const p of [patient, provider]) if (p) expect(pageProblems(p), "errors in the page").to.deep.equal([]);
    await environment?.stop();
  });

  it("patient: grants St. Example Hospital her lab results for treatment", async () => {
    const page = patient.page;
    await page.getByLabel("What for").selectOption({ label: "Treatment" });
    await page.waitForFunction(() => document.querySelectorAll("option").length > 0);
    await page.getByLabel("Who", { exact: true }).selectOption({ label: HOSPITAL });
    await page.getByLabel("Lab results and vital signs").check();
    await page.getByLabel("1 month").check();
    await page.getByRole("button", { name: "Give consent" }).click();
    await page.getByText(/^Consent given to St\. Example Hospital/).waitFor();
    expect(await mayRead()).to.equal(true);
  });

  it("provider: signs in to the lab's gateway and reads her lab results through it", async () => {
    const page = provider.page;
    await page.getByLabel("Patient's address").fill(alice.address);
    await page.getByRole("button", { name: "Look up" }).click();
    const panel = records(page);
    await panel.waitFor();
    await panel.getByLabel("Custodian holding the records").selectOption({ label: LAB });
    const signedBefore = provider.walletLog.filter((l) => l === "signed message").length;
    await panel.getByRole("button", { name: `Sign in to ${LAB}` }).click();
    const open = panel.getByRole("button", { name: `Open records at ${LAB}` });
    await open.waitFor();
    // Signing in is a signature (EIP-4361), not a transaction.
    expect(provider.walletLog.filter((l) => l === "signed message").length).to.equal(signedBefore + 1);
    const sent = provider.sentCount();
    await open.click();
    const table = panel.getByTestId("lab-results");
    await table.waitFor();
    const rows = await table.locator("tbody tr").count();
    expect(rows).to.be.greaterThan(0);
    // Only what was granted: the other categories are withheld, said in words.
    await panel.getByText(/Condition \(conditions\) withheld/).waitFor();
    expect(await panel.getByRole("heading", { name: "Conditions" }).count()).to.equal(0);
    expect(provider.sentCount()).to.equal(sent);
    await shoot(page, "provider-records-desktop", DESKTOP);
    await shoot(page, "provider-records-phone", PHONE);
  });

  it("patient revokes; the provider's very next read is refused, as if there were no such record", async () => {
    await patient.page.getByRole("button", { name: "Revoke consent to St. Example Hospital for treatment" }).click();
    const item = patient.page.locator("li.grant", { has: patient.page.getByRole("heading", { name: HOSPITAL }) });
    await item.getByText("Revoked", { exact: true }).first().waitFor();
    expect(await mayRead()).to.equal(false);

    const panel = records(provider.page);
    await panel.getByRole("button", { name: `Open records at ${LAB}` }).click();
    // The hospital holds no consent of the patient any more: the lab tells it nothing, not even
    // whether it holds the patient's records.
    const answer = panel.locator('[data-testid="gateway-read"][data-phase="not-found"]');
    await answer.waitFor();
    expect((await answer.textContent()) ?? "").to.contain(`${LAB}: no consent here, or no such record`);
    expect(await panel.getByTestId("lab-results").count()).to.equal(0);
    await shoot(provider.page, "provider-refused-desktop", DESKTOP);
  });

  it("provider: opens break-glass access with a reason (only its commitment goes on the chain) and reads for emergency treatment", async () => {
    const page = provider.page;
    await page.getByLabel("Reason", { exact: true }).selectOption({ label: "Life-threatening condition" });
    await page.getByLabel("For", { exact: true }).selectOption({ label: "1 hour" });
    await page.getByRole("button", { name: "Open emergency access…" }).click();
    await page
      .getByRole("dialog", { name: "Open emergency access?" })
      .getByRole("button", { name: "Yes, open emergency access" })
      .click();
    await page.getByText("Emergency access is open for 1 hour.", { exact: false }).first().waitFor();
    const hospital = (await readOrganizations(publicClient as PublicClient, { registry })).find(
      (o) => o.name === HOSPITAL,
    )!.address;
    const [, , commitment] = await publicClient.readContract({
      address: registry,
      abi: consentRegistryAbi,
      functionName: "emergencyAccess",
      args: [alice.address, hospital],
    });
    // On the chain: a salted commitment, not the code nor a hash of the code alone.
    expect(commitment).to.match(/^0x[0-9a-f]{64}$/);
    for (const code of [1, 2, 3, 4]) {
      expect(BigInt(commitment)).to.not.equal(BigInt(code));
      expect(commitment).to.not.equal(keccak256(encodeAbiParameters([{ type: "uint16" }], [code])));
    }
    // The console kept reason and salt, and sends them with the emergency read.
    await page.getByText("Life-threatening condition (kept in this browser, not on the chain)").waitFor();
    const panel = records(page);
    await panel.getByLabel("Purpose of use").selectOption({ label: "Emergency treatment (break-glass)" });
    await panel.getByRole("button", { name: `Open records at ${LAB}` }).click();
    await panel.getByTestId("lab-results").waitFor();
    await page.getByRole("button", { name: "Close emergency access" }).click();
    await page.getByText("Emergency access closed.").first().waitFor();
  });

  it("patient: reads her own records at the lab and sees both reads, allowed and refused, in her access log", async () => {
    const page = patient.page;
    const lab = page.locator(`article[data-custodian="${LAB}"]`);
    await collect(page, "records: before signing in");
    await lab.getByRole("button", { name: `Sign in to ${LAB}` }).click();
    await lab.getByRole("heading", { name: `My records at ${LAB}`, exact: true }).waitFor();
    await lab.getByTestId("lab-results").waitFor();
    expect(await lab.getByTestId("lab-results").locator("tbody tr").count()).to.be.greaterThan(0);
    await lab.getByRole("button", { name: `Download my records at ${LAB} as a file` }).waitFor();

    const log = lab.getByTestId("access-log");
    await log.waitFor();
    // Repeated reads are one line ("… read your records twice today"), each time one click away.
    const byClinician = log.locator(":scope > li", { hasText: `A clinician of ${HOSPITAL}` });
    const allowed = byClinician.and(log.locator('li[data-outcome="allowed"]'));
    const refused = byClinician.and(log.locator('li[data-outcome="refused"]'));
    expect(await allowed.count(), "the clinician's allowed reads").to.be.greaterThan(0);
    expect(await refused.count(), "the clinician's refused read").to.be.greaterThan(0);
    // The clinician's reads for treatment (the emergency read further down is a line of its own).
    const forTreatment = allowed.filter({ hasNotText: "emergency access" });
    expect(await forTreatment.first().locator(".access-sentence").innerText()).to.match(
      /^A clinician of St\. Example Hospital (read|looked for) your [a-z ]+ (once|twice|\d+ times) today, for treatment\./,
    );
    expect(await refused.first().locator(".access-sentence").innerText()).to.match(/, and was refused\.$/);
    await refused.first().locator("summary").click(); // when, and why: folded
    // The refusals of a day are one line (a rerun against the same gateway data adds to it).
    await refused
      .first()
      .getByText(/holds no consent of the patient/)
      .first()
      .waitFor();
    // Never an address, never a numeric date.
    const logText = await log.innerText();
    expect(logText).to.not.match(/0x[0-9a-f]{4}/i);
    expect(logText).to.not.match(/\b\d{1,2}\/\d{1,2}\/\d{2,4}\b/);
    // Newest first: the refusal (after the revocation) comes before the allowed reads for treatment
    // (the emergency read, later still, is the newest line).
    const outcomes = await byClinician
      .filter({ hasNotText: "emergency access" })
      .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-outcome")));
    expect(outcomes.indexOf("refused")).to.be.lessThan(outcomes.indexOf("allowed"));
    // The emergency read: marked, and with its reason, which is not on the chain but in this log.
    const emergency = byClinician.filter({ hasText: "emergency access" });
    expect(await emergency.count(), "the clinician's emergency reads").to.be.greaterThan(0);
    expect(await emergency.first().textContent()).to.contain("Why: Life-threatening condition");
    await collect(page, "records and access log shown");
    await lab.getByLabel(`Also show when ${LAB} added or updated your records`).check();
    await collect(page, "access log with the lab's own changes");
    await lab.getByLabel(`Also show when ${LAB} added or updated your records`).uncheck();
    await shoot(page, "portal-access-log-desktop", DESKTOP, true, lab);
    await shoot(page, "portal-access-log-phone", PHONE, true, lab);
  });

  it("patient: grants and revokes without a fee, signed in her wallet and sent by the lab's gateway", async () => {
    const page = patient.page;
    const sent = patient.sentCount();
    await page.getByLabel("What for").selectOption({ label: "Treatment" });
    await page.getByLabel("Who", { exact: true }).selectOption({ label: HOSPITAL });
    await page.getByLabel("Conditions").check();
    await page.getByLabel("1 week").check();
    await page.getByLabel(`No fee for me: I sign, and ${LAB} sends it and pays`).check();
    await page.getByRole("button", { name: "Give consent" }).click();
    await page.getByText(/^Consent given to St\. Example Hospital/).waitFor();
    const mayReadConditions = async () =>
      (
        await publicClient.readContract({
          address: registry,
          abi: consentRegistryAbi,
          functionName: "mayUse",
          args: [alice.address, clinician.address, encodePurpose("TREAT"), categoryIndex("Condition")],
        })
      )[0];
    expect(await mayReadConditions()).to.equal(true);
    // Signed in the wallet, never sent from it: the gateway paid.
    expect(patient.sentCount()).to.equal(sent);
    expect(patient.walletLog).to.include("signed typed data Grant");
    const [granted] = (
      await publicClient.getContractEvents({
        address: registry,
        abi: consentRegistryAbi,
        eventName: "ConsentGranted",
        args: { patient: alice.address },
        fromBlock: 0n,
      })
    ).slice(-1);
    const tx = await publicClient.getTransaction({ hash: granted!.transactionHash! });
    expect(getAddress(tx.from)).to.equal(labGateway.address);

    const item = page.locator("li.grant", { has: page.getByText("Conditions, for treatment") });
    // The consent it replaced (lab results, revoked above) stays listed, with the day it ended.
    await item.locator("summary", { hasText: "Earlier consents" }).click();
    await item.getByText(/^Lab results and vital signs, for treatment, from .* when it was revoked\.$/).waitFor();
    await item.getByRole("button", { name: /^Revoke without a fee consent to St\. Example Hospital/ }).click();
    await item.getByText("Revoked", { exact: true }).waitFor();
    expect(await mayReadConditions()).to.equal(false);
    expect(patient.sentCount()).to.equal(sent);
    expect(patient.walletLog).to.include("signed typed data Revoke");
  });

  it("a new patient links her record at the lab with the code the lab gave her, then reads it", async () => {
    // The lab registers her (its front desk's link-code token issues the code). The demo seeds
    // five patients and links the first two; the fifth gets this new wallet ("relink": a rerun
    // against the same gateway data moves it again).
    const { patients } = generateSyntheticData({ seed: "consentry-demo", custodian: LAB, patients: 5 });
    const patientId = patients[4]!.id!;
    const linkCodeToken = readFileSync(join(ROOT, ".secrets/lab.link-code-token"), "utf8").trim();
    const issued = await fetch("http://127.0.0.1:4002/admin/link-codes", {
      method: "POST",
      headers: { authorization: `Bearer ${linkCodeToken}`, "content-type": "application/json" },
      body: JSON.stringify({ patientId, kind: "relink" }),
    });
    expect(issued.status, await issued.clone().text()).to.equal(201);
    const { code } = (await issued.json()) as { code: string };

    const newcomer = privateKeyToAccount(generatePrivateKey());
    const wallet = await environment!.walletPage(newcomer);
    const page = wallet.page;
    await connect(page, baseUrl, "/");
    const lab = page.locator(`article[data-custodian="${LAB}"]`);
    await lab.getByRole("button", { name: `Sign in to ${LAB}` }).click();
    await lab.getByText(`Your record at ${LAB} is not linked to this wallet yet.`, { exact: false }).waitFor();
    await collect(page, "records: link code asked");
    // Validated before anything is sent.
    await lab.getByRole("button", { name: "Link my record" }).click();
    await lab.getByText(`Enter the link code exactly as ${LAB} gave it to you.`).waitFor();
    await collect(page, "records: link code refused");
    await lab.getByLabel(`Link code from ${LAB}`).fill(code);
    await lab.getByRole("button", { name: "Link my record" }).click();
    await lab.getByRole("heading", { name: `My records at ${LAB}`, exact: true }).waitFor();
    await lab.getByText("your record here is linked to your wallet", { exact: false }).waitFor();
    expect(await lab.locator("details").first().textContent()).to.contain(`your record here is Patient/${patientId}`);
    await lab.getByTestId("lab-results").waitFor();
    await lab.getByTestId("access-log").or(lab.getByText("Nobody has read your records here yet.")).first().waitFor();
    await collect(page, "records: linked, a new patient's records and access log");
    expect(wallet.sentCount(), "linking sends no transaction").to.equal(0);
    expect(pageProblems(wallet)).to.deep.equal([]);
  });

  it("says nothing in jargon outside 'Details' in the states after a gateway sign-in", () => {
    mkdirSync(join(ROOT, "test-results"), { recursive: true });
    writeFileSync(
      join(ROOT, "test-results/portal-strings-records.json"),
      JSON.stringify({ states, strings: [...plain.strings] }, null, 2),
    );
    expect(states.length).to.be.greaterThan(4);
    expect(plain.problems, plain.problems.join("\n")).to.deep.equal([]);
  });
});
