/**
 * The indexer's research funds against the chain's truth: on a real local chain (anvil), three
 * members contribute, a proposal to sponsor a study passes, waits in the timelock and executes, a
 * member against it ragequits first; the fund, member, movement, proposal, vote and sponsorship
 * tables (and the sdk's readers over them) are compared with the contracts' views. Funds are found
 * through the factory: one created after the indexer started shows up with its members and
 * proposals, and a fund deployed outside the factory does not.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import {
  type Address,
  type Hex,
  type PublicClient,
  createPublicClient,
  createWalletClient,
  encodeFunctionData,
  getAddress,
  http,
  keccak256,
  toHex,
} from "viem";

import { KINDS, categoriesToMask, encodePurpose } from "#sdk/codes.ts";
import {
  historyFundMembers,
  historyFundMovements,
  historyFundProposals,
  historyFundStudies,
  historyFunds,
  historyMemberFunds,
  historyProposalVotes,
  historyStudySponsors,
} from "#sdk/funds.ts";
import { consentRegistryAbi, remunerationTokenAbi, studyEscrowAbi } from "#sdk/generated/abis.ts";
import { researchFundAbi, researchFundFactoryAbi, researchFundGovernorAbi } from "#sdk/generated/fund-abis.ts";
import { indexerClient } from "../../indexer/client.ts";
import { startAnvil, who } from "../anvil/lib.ts";
import { type RunningIndexer, caughtUp, createFund, deployConsentry, runIndexer, send, stop } from "./lib.ts";

const LICENCE = `0x${"00".repeat(32)}` as Hex;
const UNIT = 10n ** 18n;
const PROTOCOL = keccak256(toHex("protocol v1"));

describe("indexer (Ponder): research funds, proposals, votes and sponsorships", function () {
  this.timeout(600_000);
  const dataRoot = mkdtempSync(path.join(tmpdir(), "consentry-indexer-funds-"));
  let anvil: ChildProcess | undefined;
  let indexer: RunningIndexer | undefined;
  let rpc: string;
  let chain: PublicClient;
  let deployment: Awaited<ReturnType<typeof deployConsentry>>;
  // Members: the patient, the clinician and the lab (funded by the issuer).
  const [alice, bob, carol] = [who.patient, who.clinician, who.lab];
  type Who = Parameters<typeof send>[1];

  const fund = (account: Who, fn: string, args: unknown[]) =>
    send(rpc, account, deployment.ResearchFund, researchFundAbi, fn, args);
  const governor = (account: Who, fn: string, args: unknown[]) =>
    send(rpc, account, deployment.ResearchFundGovernor, researchFundGovernorAbi, fn, args);
  const wait = async (seconds: number) => {
    await chain.request({ method: "evm_increaseTime" as never, params: [seconds] as never });
    await chain.request({ method: "evm_mine" as never });
  };

  before(async () => {
    ({ child: anvil, rpc } = await startAnvil());
    chain = createPublicClient({ transport: http(rpc) }) as PublicClient;
    deployment = await deployConsentry(rpc);
    indexer = await runIndexer(rpc, deployment, dataRoot);
  });

  after(async () => {
    await stop(indexer?.child);
    await stop(anvil);
    rmSync(dataRoot, { recursive: true, force: true });
  });

  it("indexes contributions, a passed and executed sponsorship, votes and a ragequit as the chain has them", async () => {
    await send(rpc, who.multisig, deployment.ConsentRegistry, consentRegistryAbi, "accredit", [
      who.research.address,
      KINDS.RESEARCHER,
      "Research",
      "",
      LICENCE,
    ]);
    await send(rpc, who.multisig, deployment.ConsentRegistry, consentRegistryAbi, "accredit", [
      who.hospital.address,
      KINDS.PROVIDER,
      "Hospital",
      "",
      LICENCE,
    ]);
    const latest = Number((await chain.getBlock({ blockTag: "latest" })).timestamp);
    await send(rpc, who.research, deployment.StudyEscrow, studyEscrowAbi, "createStudy", [
      {
        currency: deployment.RemunerationToken,
        purpose: encodePurpose("HMB"),
        categories: categoriesToMask(["Observation", "Condition"]),
        price: UNIT,
        maxParticipants: 10,
        enrolmentDeadline: latest + 7 * 86_400,
        endTime: latest + 30 * 86_400,
        protocolHash: PROTOCOL,
        custodians: [{ custodian: who.hospital.address, shareBps: 0 }],
        attestedEnrolment: false,
      },
      0n,
    ]);
    for (const [member, amount] of [
      [alice, 100n * UNIT],
      [bob, 100n * UNIT],
      [carol, 200n * UNIT],
    ] as const) {
      await send(rpc, who.issuer, deployment.RemunerationToken, remunerationTokenAbi, "mint", [member.address, amount]);
      await send(rpc, member, deployment.RemunerationToken, remunerationTokenAbi, "approve", [
        deployment.ResearchFund,
        amount,
      ]);
      await fund(member, "contribute", [amount]);
    }
    await wait(1);

    const calldata = encodeFunctionData({
      abi: researchFundAbi,
      functionName: "sponsorStudy",
      args: [1n, 150n * UNIT, PROTOCOL],
    });
    const description = "Sponsor study 1 with 150";
    const args = [[deployment.ResearchFund], [0n], [calldata]] as const;
    await governor(alice, "propose", [...args, description]);
    const proposalId = (await chain.readContract({
      address: deployment.ResearchFundGovernor,
      abi: researchFundGovernorAbi,
      functionName: "hashProposal",
      args: [...args, keccak256(toHex(description))],
    })) as bigint;
    await wait(1);
    await governor(alice, "castVoteWithReason", [proposalId, 1, "for the cohort"]);
    await governor(carol, "castVote", [proposalId, 1]);
    await governor(bob, "castVote", [proposalId, 0]);
    await wait(3_601);
    await governor(alice, "queue", [...args, keccak256(toHex(description))]);
    await fund(bob, "ragequit", [100n * UNIT]); // against it: leaves before it executes
    await wait(3_601);
    await governor(alice, "execute", [...args, keccak256(toHex(description))]);
    await caughtUp(indexer!, rpc);

    const client = indexerClient(indexer!.url);
    const read = <T>(functionName: string, fnArgs: unknown[] = [], address: Address = deployment.ResearchFund) =>
      chain.readContract({
        address,
        abi: researchFundAbi,
        functionName: functionName as never,
        args: fnArgs as never,
      }) as Promise<T>;

    // The fund, as its views have it.
    const [funds] = [await historyFunds(client)];
    expect(funds).to.have.length(1);
    const listed = funds[0]!;
    const info = await read<readonly [string, bigint, number, bigint, boolean, bigint]>("info");
    expect([listed.cause, listed.goal, listed.end, listed.raised, listed.closed]).to.deep.equal([
      info[0],
      info[1],
      Number(info[2]),
      info[3],
      info[4],
    ]);
    expect(listed.shares).to.equal(await read<bigint>("totalSupply"));
    expect(listed.governor).to.equal(deployment.ResearchFundGovernor);
    expect(listed.timelock).to.equal(await read<Address>("timelock"));
    expect([listed.sponsored, listed.open]).to.deep.equal([150n * UNIT, true]);

    // Members and movements: shares as balanceOf has them.
    const members = await historyFundMembers(client, deployment.ResearchFund);
    expect(members.map((m) => m.member)).to.deep.equal([carol.address, alice.address, bob.address]);
    for (const m of members) expect(m.shares).to.equal(await read<bigint>("balanceOf", [m.member]));
    expect(members.find((m) => m.member === bob.address)!.withdrawn).to.equal(100n * UNIT);
    const movements = await historyFundMovements(client, deployment.ResearchFund);
    expect(movements.map((m) => m.kind)).to.deep.equal(["contributed", "contributed", "contributed", "ragequit"]);
    const mine = await historyMemberFunds(client, alice.address);
    expect(mine.map((f) => [f.fund.address, f.position.shares])).to.deep.equal([
      [deployment.ResearchFund, 100n * UNIT],
    ]);

    // The proposal and its votes, as the Governor has them.
    const [proposal] = await historyFundProposals(client, deployment.ResearchFundGovernor);
    const tally = (await chain.readContract({
      address: deployment.ResearchFundGovernor,
      abi: researchFundGovernorAbi,
      functionName: "proposalVotes",
      args: [proposalId],
    })) as readonly [bigint, bigint, bigint];
    expect(proposal).to.deep.include({
      proposalId,
      action: "sponsorStudy",
      studyId: 1n,
      amount: 150n * UNIT,
      protocolHash: PROTOCOL,
      description,
      againstVotes: tally[0],
      forVotes: tally[1],
      abstainVotes: tally[2],
      executed: true,
      canceled: false,
    });
    expect(proposal!.eta).to.be.a("number");
    const votes = await historyProposalVotes(client, proposalId);
    expect(votes.map((v) => [v.voter, v.support, v.weight, v.reason])).to.deep.equal([
      [alice.address, 1, 100n * UNIT, "for the cohort"],
      [carol.address, 1, 200n * UNIT, ""],
      [bob.address, 0, 100n * UNIT, ""],
    ]);

    // Which fund paid for study 1 (what its participants see), as the escrow records it.
    const sponsors = await historyStudySponsors(client, 1n);
    expect(sponsors.map((s) => [s.sponsor, s.amount, s.cause])).to.deep.equal([
      [deployment.ResearchFund, 150n * UNIT, "Test cause"],
    ]);
    const onChain = await chain.readContract({
      address: deployment.StudyEscrow,
      abi: studyEscrowAbi,
      functionName: "sponsorshipOf",
      args: [1n, deployment.ResearchFund],
    });
    expect(onChain).to.equal(150n * UNIT);
    // And from the fund's side: the studies it paid for, not settled yet (its outstanding count).
    expect(await historyFundStudies(client, deployment.ResearchFund)).to.deep.equal([
      { fund: deployment.ResearchFund, studyId: 1n, amount: 150n * UNIT, settledAmount: null },
    ]);
    expect((await read<readonly unknown[]>("info"))[5]).to.equal(1n);
  });

  it("finds a fund anyone creates through the factory after it started, with its members and proposals; not one deployed outside it", async () => {
    // bob (a patient) creates a fund; carol contributes and proposes to close it.
    const second = await createFund(rpc, bob, deployment.ResearchFundFactory, {
      cause: "Second cause: created after the indexer started",
      currency: deployment.RemunerationToken,
      goal: 500n * UNIT,
      quorumPercent: 50,
    });
    // The same code deployed directly (with the factory's own deployers) is not one of its funds.
    const factoryView = (functionName: "timelockDeployer" | "governorDeployer") =>
      chain.readContract({ address: deployment.ResearchFundFactory, abi: researchFundFactoryAbi, functionName });
    const wallet = createWalletClient({ account: carol, transport: http(rpc) });
    const { bytecode } = JSON.parse(readFileSync("artifacts/contracts/ResearchFund.sol/ResearchFund.json", "utf8")) as {
      bytecode: Hex;
    };
    const latest = Number((await chain.getBlock({ blockTag: "latest" })).timestamp);
    const directHash = await wallet.deployContract({
      abi: researchFundAbi,
      bytecode,
      chain: null,
      args: [
        deployment.StudyEscrow,
        {
          cause: "Outside the factory",
          currency: deployment.RemunerationToken,
          goal: UNIT,
          end: latest + 30 * 86_400,
          quorumPercent: 20,
          votingPeriod: 3_600,
          timelockDelay: 3_600,
        },
        await factoryView("timelockDeployer"),
        await factoryView("governorDeployer"),
      ],
    });
    const direct = (await chain.waitForTransactionReceipt({ hash: directHash })).contractAddress!;
    await send(rpc, who.issuer, deployment.RemunerationToken, remunerationTokenAbi, "mint", [
      carol.address,
      300n * UNIT,
    ]);
    for (const target of [second.fund, direct]) {
      await send(rpc, carol, deployment.RemunerationToken, remunerationTokenAbi, "approve", [target, 100n * UNIT]);
      await send(rpc, carol, target, researchFundAbi, "contribute", [target === direct ? UNIT : 100n * UNIT]);
    }
    await wait(1);
    const close = encodeFunctionData({ abi: researchFundAbi, functionName: "close" });
    await send(rpc, carol, second.governor, researchFundGovernorAbi, "propose", [
      [second.fund],
      [0n],
      [close],
      "Close: the cause is funded elsewhere",
    ]);
    await caughtUp(indexer!, rpc);

    const client = indexerClient(indexer!.url);
    const funds = await historyFunds(client);
    expect(funds.map((f) => f.address)).to.deep.equal([second.fund, deployment.ResearchFund]); // newest first
    expect(funds[0]).to.deep.include({
      creator: bob.address,
      governor: second.governor,
      timelock: second.timelock,
      cause: "Second cause: created after the indexer started",
      goal: 500n * UNIT,
      quorumPercent: 50,
      raised: 100n * UNIT,
      shares: 100n * UNIT,
      open: true,
    });
    expect(
      await chain.readContract({
        address: deployment.ResearchFundFactory,
        abi: researchFundFactoryAbi,
        functionName: "fundCount",
      }),
    ).to.equal(BigInt(funds.length));
    expect((await historyFundMembers(client, second.fund)).map((m) => [m.member, m.shares])).to.deep.equal([
      [carol.address, 100n * UNIT],
    ]);
    const [proposal] = await historyFundProposals(client, second.governor);
    expect(proposal).to.deep.include({ action: "close", studyId: null, proposer: carol.address });
    // carol's positions: both factory funds, not the one outside it.
    expect((await historyMemberFunds(client, carol.address)).map((p) => p.fund.address).sort()).to.deep.equal(
      [deployment.ResearchFund, second.fund].sort(),
    );
    expect(funds.map((f) => f.address)).to.not.include(getAddress(direct));
  });
});
