import type { AuditEvent, Bundle, Immunization } from "@medplum/fhirtypes";
import { expect } from "chai";
import { sql } from "drizzle-orm";
import type { Address } from "viem";

import { KINDS } from "#sdk/codes.ts";
import { remunerationTokenAbi } from "#sdk/generated/abis.ts";
import { preventionRewardsAbi } from "#sdk/generated/prevention-abis.ts";
import { CVX_SYSTEM, criterionHash } from "#sdk/prevention.ts";
import { listAudit } from "../audit/log.ts";
import { runPreventionConfirm } from "../cli/prevention-confirm.ts";
import { generateSyntheticData, syntheticTransactionBundle } from "../dev/synthetic.ts";
import { rawRows } from "../store/database.ts";
import { deployPreventionRewards, testChain } from "../testing/chain.ts";
import { TEST_ADMIN_TOKEN } from "../testing/fixtures.ts";
import { ADMIN, FHIR, testGateway, type TestGateway } from "../testing/gateway.ts";
import { said } from "../testing/outcomes.ts";

const DAY = 86_400;
const YEAR = 365 * DAY;
const REWARD = 10n ** 18n;

const isConfirmation = (event: AuditEvent) => event.subtype?.some((s) => s.code === "prevention-confirm") === true;

describe("POST /prevention/programmes/{id}/confirmations: the custodian runs the confirmation job", function () {
  this.timeout(300_000);
  let gw: TestGateway;
  let rewards: Address;
  let programmeId: bigint;
  /** A programme the lab does not confirm for (the hospital does). */
  let hospitalProgramme: bigint;
  const patients: Record<string, { id: string; wallet: Address }> = {};

  const confirm = (id: bigint | string, body?: unknown, headers: Record<string, string> = ADMIN) =>
    gw.app.inject({
      method: "POST",
      url: `/prevention/programmes/${id}/confirmations`,
      headers: body === undefined ? headers : { ...headers, "content-type": "application/json" },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
  const balance = (account: Address) =>
    gw.t.client.readContract({
      address: rewards,
      abi: preventionRewardsAbi,
      functionName: "balanceOf",
      args: [gw.t.token, account],
    });
  /** The run's own AuditEvents (no patient): one per call. */
  const runEvents = async () =>
    (
      await rawRows<{ event: AuditEvent }>(
        gw.store.db,
        sql`SELECT event FROM audit_events WHERE patient_id IS NULL ORDER BY seq`,
      )
    )
      .map((r) => r.event)
      .filter(isConfirmation);

  before(async () => {
    const t = await testChain();
    const { governance, lab, hospital } = t.actors;
    rewards = await deployPreventionRewards(t);
    const payer = await t.newAccount();
    await t.registryWrite(governance, "accredit", [
      payer.address,
      KINDS.PAYER,
      "Route Insurance",
      "",
      `0x${"00".repeat(32)}`,
    ]);
    await t.write(governance, t.token, remunerationTokenAbi, "mint", [payer.address, 3n * REWARD]);
    await t.write(payer, t.token, remunerationTokenAbi, "approve", [rewards, 3n * REWARD]);
    const now = await t.now();
    const programme = (custodian: Address) => ({
      currency: t.token,
      category: 5, // Immunization
      codeSystem: criterionHash(CVX_SYSTEM),
      code: criterionHash("141"),
      firstPeriodStart: now - 30 * DAY,
      periodLength: YEAR,
      reward: REWARD,
      endTime: now + YEAR,
      custodians: [custodian],
    });
    await t.write(payer, rewards, preventionRewardsAbi, "createProgramme", [programme(lab.address), 2n * REWARD]);
    programmeId = await t.client.readContract({
      address: rewards,
      abi: preventionRewardsAbi,
      functionName: "programmeCount",
    });
    await t.write(payer, rewards, preventionRewardsAbi, "createProgramme", [programme(hospital.address), REWARD]);
    hospitalProgramme = programmeId + 1n;

    gw = await testGateway({ custodian: "lab", indexer: null, preventionRewards: rewards });
    // ana had the flu vaccine in the period; ben another vaccine. Both opted in.
    const data = generateSyntheticData({ seed: "prevention-route", custodian: gw.config.custodianName, patients: 2 });
    const vaccines = ["141", "140"];
    const extra: Immunization[] = data.patients.map((p, i) => ({
      resourceType: "Immunization",
      id: `prevention-route-${i}`,
      status: "completed",
      patient: { reference: `Patient/${p.id}` },
      vaccineCode: { coding: [{ system: CVX_SYSTEM, code: vaccines[i]!, display: "vaccine" }] },
      occurrenceDateTime: new Date((now - DAY) * 1000).toISOString(),
    }));
    const bundle: Bundle = syntheticTransactionBundle({ ...data, resources: [...data.resources, ...extra] });
    const res = await gw.app.inject({
      method: "POST",
      url: "/fhir",
      headers: { ...ADMIN, "content-type": FHIR },
      payload: JSON.stringify(bundle),
    });
    expect(res.statusCode, res.body.slice(0, 500)).to.equal(200);
    for (const [i, name] of ["ana", "ben"].entries()) {
      const wallet = await t.newAccount();
      patients[name] = { id: data.patients[i]!.id!, wallet: wallet.address };
      await gw.link(data.patients[i]!.id!, wallet);
      await t.write(wallet, rewards, preventionRewardsAbi, "optIn", [programmeId]);
    }
  });
  after(() => gw.close());

  it("confirms the one qualifying patient for the current period, answers a summary and audits the run and her", async () => {
    const res = await confirm(programmeId);
    expect(res.statusCode, res.body.slice(0, 600)).to.equal(200);
    const summary = res.json() as Record<string, unknown>;
    expect(summary).to.include({ programmeId: String(programmeId), period: 0, confirmed: 1, skipped: 0, notMet: 1 });
    expect(summary["transactions"]).to.be.an("array").with.length(1);
    expect((summary["transactions"] as string[])[0]).to.match(/^0x[0-9a-f]{64}$/);
    expect(await balance(patients["ana"]!.wallet)).to.equal(REWARD);
    expect(await balance(patients["ben"]!.wallet)).to.equal(0n);

    const runs = await runEvents();
    expect(runs).to.have.length(1);
    expect(runs[0]!.outcome).to.equal("0");
    expect(runs[0]!.agent?.[0]?.who?.display).to.match(/administration/);

    // In ana's own access log: the confirmation, and that no record left the gateway.
    const anas = (await listAudit(gw.store.db, patients["ana"]!.id)).map((e) => e.event).filter(isConfirmation);
    expect(anas).to.have.length(1);
    expect(anas[0]!.outcome).to.equal("0");
    expect(anas[0]!.entity?.[0]?.what?.reference).to.equal(`Patient/${patients["ana"]!.id}`);
    const details = (anas[0]!.entity ?? []).flatMap((e) => e.detail ?? []).map((d) => `${d.type}: ${d.valueString}`);
    expect(details).to.include(`transaction: ${(summary["transactions"] as string[])[0]}`);
    expect(details.join("\n")).to.match(/released: none: no record left the gateway/);
    expect(anas[0]!.outcomeDesc).to.match(/payer learns only that the criterion was met/);
    expect(
      (await listAudit(gw.store.db, patients["ben"]!.id)).map((e) => e.event).filter(isConfirmation),
    ).to.have.length(0);
  });

  it("confirms nobody new on a second run (paid once) and still audits the run", async () => {
    const res = await confirm(programmeId, {});
    expect(res.statusCode, res.body.slice(0, 600)).to.equal(200);
    expect(res.json()).to.include({ period: 0, confirmed: 0, skipped: 0, notMet: 1 });
    expect(res.json()).not.to.have.property("transactions"); // none sent
    expect(await balance(patients["ana"]!.wallet)).to.equal(REWARD);
    expect(await runEvents()).to.have.length(2);
    expect(
      (await listAudit(gw.store.db, patients["ana"]!.id)).map((e) => e.event).filter(isConfirmation),
    ).to.have.length(1);
  });

  it("refuses without the admin token (401), and a bad id or period (400)", async () => {
    const before = (await runEvents()).length;
    expect(
      (await confirm(programmeId, undefined, { authorization: "Bearer not-the-admin-token-0123456789abcdef" }))
        .statusCode,
    ).to.equal(401);
    expect((await confirm(programmeId, undefined, {})).statusCode).to.equal(401);
    expect(await runEvents()).to.have.length(before); // nothing ran
    said(await confirm("01"), 400, /is not a programme id/);
    said(await confirm(programmeId, { period: -1 }), 400, /period: must be an integer/);
    said(await confirm(programmeId, { periods: 1 }), 400, /only "period" is accepted/);
  });

  it("answers 404 for an unknown programme, 403 for one this custodian does not confirm, 409 for a period not begun", async () => {
    said(await confirm(999n), 404, /programme 999 does not exist/);
    said(await confirm(hospitalProgramme), 403, /does not confirm for programme/);
    said(await confirm(programmeId, { period: 1 }), 409, /Period 1 .* has not started/);
    // Refused runs are audited too, as failures.
    const failed = (await runEvents()).filter((e) => e.outcome === "4");
    expect(failed.map((e) => e.outcomeDesc).join("\n")).to.match(/programme 999 does not exist/);
  });

  it("npm run prevention:confirm asks the running gateway (cron): a summary line, exit 0; a refusal exits 1", async () => {
    await gw.app.listen({ host: "127.0.0.1", port: 0 });
    const address = gw.app.server.address() as { port: number };
    const env = { GATEWAY_PUBLIC_URL: `http://127.0.0.1:${address.port}`, GATEWAY_ADMIN_TOKEN: TEST_ADMIN_TOKEN };
    const lines: string[] = [];
    const run = (argv: string[], e: Record<string, string> = env) =>
      runPreventionConfirm(e, argv, (l) => lines.push(l));
    const before = (await runEvents()).length;

    expect(await run(["--programme", String(programmeId)]), lines.join("\n")).to.equal(0);
    expect(lines.at(-1)).to.match(
      new RegExp(
        `^prevention programme ${programmeId}, period 0 \\(block \\d+\\): 0 confirmed, 0 skipped, 1 not meeting the criterion$`,
      ),
    );
    expect(await runEvents()).to.have.length(before + 1); // audited by the gateway
    expect(await run(["--programme", String(programmeId), "--period", "0", "--json"])).to.equal(0);
    expect(JSON.parse(lines.at(-1)!)).to.include({ programmeId: String(programmeId), period: 0, confirmed: 0 });
    expect(await balance(patients["ana"]!.wallet)).to.equal(REWARD);

    expect(await run(["--programme", "999"])).to.equal(1);
    expect(lines.at(-1)).to.match(/answered 404: Prevention programme 999 does not exist/);
    expect(
      await run(["--programme", "1"], { ...env, GATEWAY_ADMIN_TOKEN: "x".repeat(20) + "abcdefghij0123456789" }),
    ).to.equal(1);
    expect(lines.at(-1)).to.match(/answered 401/);
    expect(await run([])).to.equal(64);
    expect(await run(["--programme", "1", "--programme", "2"])).to.equal(64);
    expect(await run(["--programme", "1"], {})).to.equal(78);
    expect(lines.at(-1)).to.match(/GATEWAY_ADMIN_TOKEN: is required/);
    expect(lines.join("\n")).not.to.contain(TEST_ADMIN_TOKEN);
  });

  it("answers 503 when PREVENTION_REWARDS_ADDRESS is not configured", async () => {
    const bare = await testGateway({ custodian: "lab", indexer: null, keepDatabase: gw.store });
    try {
      const res = await bare.app.inject({
        method: "POST",
        url: `/prevention/programmes/${programmeId}/confirmations`,
        headers: ADMIN,
      });
      said(res, 503, /PREVENTION_REWARDS_ADDRESS is not configured/);
      expect(await balance(patients["ana"]!.wallet)).to.equal(REWARD);
    } finally {
      await bare.close();
    }
  });
});
