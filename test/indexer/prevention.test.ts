/**
 * The indexer's prevention programmes, opt-ins, confirmations, reward balances and badges against
 * the chain's truth: after a history on a real local chain (anvil) — a payer's programme, opt-ins
 * and an opt-out, a report that pays one patient and skips two, a withdrawal, a badge claimed and
 * one burnt — each table and the sdk's readers (sdk/history.ts) are compared with the contracts'
 * views (getProgramme, getEnrolment, isConfirmed, balanceOf, ownerOf).
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { type Address, type Hex, type PublicClient, createPublicClient, http, toHex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";

import { KINDS, ROLES } from "#sdk/codes.ts";
import { consentRegistryAbi, remunerationTokenAbi } from "#sdk/generated/abis.ts";
import { preventionBadgeAbi, preventionRewardsAbi } from "#sdk/generated/prevention-abis.ts";
import {
  historyPatientPrevention,
  historyProgrammeCompletions,
  historyProgrammes,
  indexerClient,
} from "#sdk/history.ts";
import { CVX_SYSTEM, badgeId, criterionHash } from "#sdk/prevention.ts";
import { KEYS, startAnvil, who } from "../anvil/lib.ts";
import { type RunningIndexer, caughtUp, deployConsentry, runIndexer, send, stop } from "./lib.ts";

const LICENCE = `0x${"00".repeat(32)}` as Hex;
const REWARD = 1_000_000n;
const YEAR = 365 * 86_400;

describe("indexer (Ponder): prevention programmes, opt-ins, confirmations, reward balances and badges", function () {
  this.timeout(600_000);
  const dataRoot = mkdtempSync(path.join(tmpdir(), "consentry-indexer-prevention-"));
  let anvil: ChildProcess | undefined;
  let indexer: RunningIndexer | undefined;
  let rpc: string;
  let chain: PublicClient;
  let deployment: Awaited<ReturnType<typeof deployConsentry>>;
  const payer = privateKeyToAccount(generatePrivateKey());
  const hospitalGateway = privateKeyToAccount(KEYS[5]);
  const patient2 = privateKeyToAccount(generatePrivateKey());
  const stranger = privateKeyToAccount(generatePrivateKey());

  type Who = Parameters<typeof send>[1];
  const registry = (account: Who, fn: string, args: unknown[]) =>
    send(rpc, account, deployment.ConsentRegistry, consentRegistryAbi, fn, args);
  const rewards = (account: Who, fn: string, args: unknown[]) =>
    send(rpc, account, deployment.PreventionRewards, preventionRewardsAbi, fn, args);
  const token = (account: Who, fn: string, args: unknown[]) =>
    send(rpc, account, deployment.RemunerationToken, remunerationTokenAbi, fn, args);
  const view = <T>(fn: string, args: unknown[]) =>
    chain.readContract({
      address: deployment.PreventionRewards,
      abi: preventionRewardsAbi,
      functionName: fn as never,
      args: args as never,
    }) as Promise<T>;

  before(async () => {
    ({ child: anvil, rpc } = await startAnvil());
    chain = createPublicClient({ transport: http(rpc) }) as PublicClient;
    deployment = await deployConsentry(rpc);
    indexer = await runIndexer(rpc, deployment, dataRoot);
    for (const account of [payer, patient2, stranger]) {
      await chain.request({
        method: "anvil_setBalance" as never,
        params: [account.address, toHex(10n ** 20n)] as never,
      });
    }
  });
  after(async () => {
    await stop(indexer?.child);
    await stop(anvil);
    rmSync(dataRoot, { recursive: true, force: true });
  });

  it("indexes a programme's history as the contracts have it, and the sdk's readers answer from it", async () => {
    await registry(who.multisig, "accredit", [who.hospital.address, KINDS.PROVIDER, "Hospital", "", LICENCE]);
    await registry(who.multisig, "accredit", [payer.address, KINDS.PAYER, "Example Health Insurance", "", LICENCE]);
    await registry(who.hospital, "offerMembership", [who.hospital.address, hospitalGateway.address, ROLES.GATEWAY]);
    await registry(hospitalGateway, "acceptMembership", [who.hospital.address, ROLES.GATEWAY]);
    await token(who.issuer, "mint", [payer.address, 10n * REWARD]);
    await token(payer, "approve", [deployment.PreventionRewards, 10n * REWARD]);
    const t = Number((await chain.getBlock({ blockTag: "latest" })).timestamp);
    await rewards(payer, "createProgramme", [
      {
        currency: deployment.RemunerationToken,
        category: 5,
        codeSystem: criterionHash(CVX_SYSTEM),
        code: criterionHash("141"),
        firstPeriodStart: t,
        periodLength: YEAR,
        reward: REWARD,
        endTime: t + 2 * YEAR,
        custodians: [who.hospital.address],
      },
      3n * REWARD,
    ]);
    const id = 1n;
    await rewards(who.patient, "optIn", [id]);
    await rewards(patient2, "optIn", [id]);
    await rewards(patient2, "optOut", [id]);
    await rewards(hospitalGateway, "reportConfirmations", [
      id,
      0,
      [who.patient.address, patient2.address, stranger.address],
    ]);
    await rewards(who.patient, "withdraw", [deployment.RemunerationToken]);
    await send(rpc, who.patient, deployment.PreventionBadge, preventionBadgeAbi, "claim", [id, 0]);
    await caughtUp(indexer!, rpc);

    const indexer_ = indexerClient(indexer!.url);
    const { programmes } = await historyProgrammes(indexer_);
    expect(programmes).to.have.length(1);
    const p = programmes[0]!;
    const onChain = await view<{ payer: Address; budget: bigint; endTime: number; reward: bigint }>("getProgramme", [
      id,
    ]);
    expect(p.payer).to.equal(onChain.payer);
    expect(p.budget).to.equal(onChain.budget);
    expect(p.budget).to.equal(2n * REWARD);
    expect(p.reward).to.equal(onChain.reward);
    expect(p.endTime).to.equal(Number(onChain.endTime));
    expect(p.participants).to.equal(1);
    expect(p.confirmations).to.equal(1);
    expect(p.paid).to.equal(REWARD);
    expect(p.custodians).to.deep.equal([who.hospital.address]);
    expect((await historyProgrammes(indexer_, stranger.address)).programmes).to.deep.equal([]);

    const completions = await historyProgrammeCompletions(indexer_, id);
    expect(completions).to.deep.equal([{ period: 0, paid: 1, skipped: 2, amount: REWARD }]);

    const mine = await historyPatientPrevention(indexer_, who.patient.address);
    expect(mine.optIns.map((o) => [o.programmeId, o.active])).to.deep.equal([[id, true]]);
    expect(mine.confirmations.map((c) => [c.programmeId, c.period, c.custodian, c.amount])).to.deep.equal([
      [id, 0, who.hospital.address, REWARD],
    ]);
    const tokenId = badgeId(id, 0, who.patient.address);
    expect(mine.badges).to.deep.equal([{ tokenId, programmeId: id, period: 0 }]);
    expect(mine.balances).to.deep.equal([
      { token: deployment.RemunerationToken, amount: 0n, earned: REWARD, withdrawn: REWARD },
    ]);
    expect(await view<bigint>("balanceOf", [deployment.RemunerationToken, who.patient.address])).to.equal(0n);

    const theirs = await historyPatientPrevention(indexer_, patient2.address);
    expect(theirs.optIns.map((o) => [o.programmeId, o.active])).to.deep.equal([[id, false]]);
    expect(theirs.confirmations).to.deep.equal([]);
    expect(await view<boolean>("isConfirmed", [id, patient2.address, 0])).to.equal(false);

    // The patient burns the badge: the indexer stops listing it.
    await send(rpc, who.patient, deployment.PreventionBadge, preventionBadgeAbi, "burn", [tokenId]);
    await caughtUp(indexer!, rpc);
    expect((await historyPatientPrevention(indexer_, who.patient.address)).badges).to.deep.equal([]);
  });
});
