import type { Bundle, Immunization } from "@medplum/fhirtypes";
import { expect } from "chai";
import type { Address } from "viem";

import { KINDS } from "#sdk/codes.ts";
import { remunerationTokenAbi } from "#sdk/generated/abis.ts";
import { preventionRewardsAbi } from "#sdk/generated/prevention-abis.ts";
import { CVX_SYSTEM, criterionHash } from "#sdk/prevention.ts";
import { generateSyntheticData, syntheticTransactionBundle } from "../dev/synthetic.ts";
import { ADMIN, FHIR, testGateway, type TestGateway } from "../testing/gateway.ts";
import { deployPreventionRewards } from "../testing/chain.ts";
import { type Criterion, PreventionConfirmations, meetsCriterion } from "./confirm.ts";

const DAY = 86_400;
const YEAR = 365 * DAY;
const REWARD = 10n ** 18n;
const FLU: Criterion = {
  resourceType: "Immunization",
  codeSystem: criterionHash(CVX_SYSTEM),
  code: criterionHash("141"),
};

function immunization(id: string, patientId: string, code: string, at: number, status = "completed"): Immunization {
  return {
    resourceType: "Immunization",
    id,
    status: status as Immunization["status"],
    patient: { reference: `Patient/${patientId}` },
    vaccineCode: { coding: [{ system: CVX_SYSTEM, code, display: "vaccine" }] },
    occurrenceDateTime: new Date(at * 1000).toISOString(),
  };
}

describe("prevention confirmations: criterion matching", () => {
  const at = 1_700_000_000;
  it("matches a completed record with the criterion's system and code within the period", () => {
    expect(meetsCriterion(immunization("a", "p", "141", at) as never, FLU, at - DAY, at + DAY)).to.equal(true);
  });
  it("refuses another code, another system, another resource type, a record outside the period or not done", () => {
    expect(meetsCriterion(immunization("a", "p", "140", at) as never, FLU, at - DAY, at + DAY)).to.equal(false);
    const otherSystem = {
      ...immunization("a", "p", "141", at),
      vaccineCode: { coding: [{ system: "urn:x", code: "141" }] },
    };
    expect(meetsCriterion(otherSystem as never, FLU, at - DAY, at + DAY)).to.equal(false);
    expect(meetsCriterion(immunization("a", "p", "141", at) as never, FLU, at + 1, at + DAY)).to.equal(false);
    expect(meetsCriterion(immunization("a", "p", "141", at) as never, FLU, at - DAY, at)).to.equal(false);
    expect(meetsCriterion(immunization("a", "p", "141", at, "not-done") as never, FLU, at - DAY, at + DAY)).to.equal(
      false,
    );
    const observation = {
      resourceType: "Observation",
      status: "final",
      code: { coding: [{ system: CVX_SYSTEM, code: "141" }] },
      effectiveDateTime: new Date(at * 1000).toISOString(),
    };
    expect(meetsCriterion(observation, FLU, at - DAY, at + DAY)).to.equal(false);
    expect(meetsCriterion(observation, { ...FLU, resourceType: "Observation" }, at - DAY, at + DAY)).to.equal(true);
  });
});

describe("prevention confirmations: the lab's gateway confirms vaccinations to PreventionRewards", function () {
  this.timeout(300_000);
  let gw: TestGateway;
  let rewards: Address;
  let programmeId: bigint;
  let payer: Awaited<ReturnType<TestGateway["t"]["newAccount"]>>;
  const wallets: Record<string, Address> = {};
  const accounts: Record<string, Awaited<ReturnType<TestGateway["t"]["newAccount"]>>> = {};

  before(async () => {
    gw = await testGateway({ custodian: "lab", indexer: null });
    const { t } = gw;
    const { governance, lab } = t.actors;
    rewards = await deployPreventionRewards(t);
    payer = await t.newAccount();
    await t.registryWrite(governance, "accredit", [
      payer.address,
      KINDS.PAYER,
      "Test Insurance",
      "",
      `0x${"00".repeat(32)}`,
    ]);
    await t.write(governance, t.token, remunerationTokenAbi, "mint", [payer.address, 3n * REWARD]);
    await t.write(payer, t.token, remunerationTokenAbi, "approve", [rewards, 3n * REWARD]);
    const now = await t.now();
    await t.write(payer, rewards, preventionRewardsAbi, "createProgramme", [
      {
        currency: t.token,
        category: 5, // Immunization
        codeSystem: FLU.codeSystem,
        code: FLU.code,
        firstPeriodStart: now - 30 * DAY,
        periodLength: YEAR,
        reward: REWARD,
        endTime: now + YEAR,
        custodians: [lab.address],
      },
      2n * REWARD,
    ]);
    programmeId = await t.client.readContract({
      address: rewards,
      abi: preventionRewardsAbi,
      functionName: "programmeCount",
    });

    // Four patients at the lab: ana vaccinated in the period, ben before it, cy with another
    // vaccine, dee vaccinated but never opted in; eve vaccinated and opted in, then opted out.
    const data = generateSyntheticData({ seed: "prevention", custodian: gw.config.custodianName, patients: 5 });
    const names = ["ana", "ben", "cy", "dee", "eve"];
    const records: Array<[string, number]> = [
      ["141", now - DAY],
      ["141", now - 60 * DAY],
      ["140", now - DAY],
      ["141", now - DAY],
      ["141", now - DAY],
    ];
    const extra = data.patients.map((p, i) => immunization(`prevention-${i}`, p.id!, records[i]![0], records[i]![1]));
    const bundle: Bundle = syntheticTransactionBundle({ ...data, resources: [...data.resources, ...extra] });
    const res = await gw.app.inject({
      method: "POST",
      url: "/fhir",
      headers: { ...ADMIN, "content-type": FHIR },
      payload: JSON.stringify(bundle),
    });
    expect(res.statusCode, res.body.slice(0, 500)).to.equal(200);
    for (const [i, name] of names.entries()) {
      const wallet = await t.newAccount();
      wallets[name] = wallet.address;
      accounts[name] = wallet;
      await gw.link(data.patients[i]!.id!, wallet);
      if (name !== "dee") await t.write(wallet, rewards, preventionRewardsAbi, "optIn", [programmeId]);
      if (name === "eve") await t.write(wallet, rewards, preventionRewardsAbi, "optOut", [programmeId]);
    }
  });
  after(() => gw.close());

  const balance = (account: Address) =>
    gw.t.client.readContract({
      address: rewards,
      abi: preventionRewardsAbi,
      functionName: "balanceOf",
      args: [gw.t.token, account],
    });

  it("reports exactly the opted-in patients whose record meets the criterion in the period; the contract pays them once", async () => {
    const job = new PreventionConfirmations(gw.store, gw.chain, rewards);
    const first = await job.confirm(programmeId, 0);
    expect(first.paid).to.deep.equal([wallets["ana"]]);
    expect(first.skipped).to.deep.equal([]);
    expect(first.notMet).to.equal(2); // ben (before the period) and cy (another vaccine)
    expect(first.transactions).to.have.length(1);
    expect(first.reported.map((r) => r.patient)).to.deep.equal([wallets["ana"]]);
    expect(first.reported[0]!.patientId).to.match(/^[A-Za-z0-9\-.]{1,64}$/);
    expect(await balance(wallets["ana"]!)).to.equal(REWARD);
    for (const name of ["ben", "cy", "dee", "eve"]) expect(await balance(wallets[name]!)).to.equal(0n);

    // Run again: ana is confirmed already, nothing is sent.
    const again = await job.confirm(programmeId, 0);
    expect(again.paid).to.deep.equal([]);
    expect(again.transactions).to.deep.equal([]);
    expect(await balance(wallets["ana"]!)).to.equal(REWARD);
  });

  it("confirms the period the latest block falls in when none is given, naming the patients it reported", async () => {
    const job = new PreventionConfirmations(gw.store, gw.chain, rewards);
    const current = await job.confirm(programmeId);
    expect(current.period).to.equal(0);
    expect(current.reported).to.deep.equal([]); // ana was reported and paid by the test above
    expect(current.paid).to.deep.equal([]);
  });

  it("does not report a period that ended before the patient opted in (the contract would skip it)", async () => {
    const { t } = gw;
    // Period 0 of this programme ran from 90 to 30 days ago: ben's vaccination (60 days ago) is in
    // it, but ben opts in only now.
    const now = await t.now();
    await t.write(payer, rewards, preventionRewardsAbi, "createProgramme", [
      {
        currency: t.token,
        category: 5,
        codeSystem: FLU.codeSystem,
        code: FLU.code,
        firstPeriodStart: now - 90 * DAY,
        periodLength: 60 * DAY,
        reward: REWARD,
        endTime: now + YEAR,
        custodians: [t.actors.lab.address],
      },
      REWARD,
    ]);
    const late = await t.client.readContract({
      address: rewards,
      abi: preventionRewardsAbi,
      functionName: "programmeCount",
    });
    await t.write(accounts["ben"]!, rewards, preventionRewardsAbi, "optIn", [late]);
    const job = new PreventionConfirmations(gw.store, gw.chain, rewards);
    const result = await job.confirm(late, 0);
    expect(result.reported).to.deep.equal([]);
    expect(result.skipped).to.deep.equal([]);
    expect(result.transactions).to.deep.equal([]);
    expect(await balance(wallets["ben"]!)).to.equal(0n);
  });

  it("refuses a period that has not started and an unknown programme", async () => {
    const job = new PreventionConfirmations(gw.store, gw.chain, rewards);
    let caught: unknown;
    try {
      await job.confirm(programmeId, 1);
    } catch (err) {
      caught = err;
    }
    expect(String((caught as Error | undefined)?.message)).to.match(/Period 1 .* has not started/);
    caught = undefined;
    try {
      await job.confirm(99n, 0);
    } catch (err) {
      caught = err;
    }
    expect(String((caught as Error | undefined)?.message)).to.match(/programme 99 does not exist/);
  });
});
