/**
 * The indexer's studies, enrolments, deliveries, balances, withdrawals and audit anchors against
 * the chain's truth: after a history on a real local chain (anvil), each table is compared with
 * the contracts' views (getStudy, studyCustodians, getParticipant, isDelivered, balanceOf,
 * batchAt, revisionCount) and with the events of the receipts (amounts, skip reasons).
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { asc, eq } from "ponder";
import {
  type Address,
  type Hex,
  type PublicClient,
  type TransactionReceipt,
  createPublicClient,
  http,
  keccak256,
  parseEventLogs,
  toHex,
} from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";

import { KINDS, ROLES, categoriesToMask, encodePurpose } from "#sdk/codes.ts";
import { auditAnchorAbi, consentRegistryAbi, remunerationTokenAbi, studyEscrowAbi } from "#sdk/generated/abis.ts";
import { enrolmentAttestationTypedData, withdrawTypedData } from "#sdk/study.ts";
import { indexerClient, schema } from "../../indexer/client.ts";
import { CHAIN_ID, KEYS, startAnvil, who } from "../anvil/lib.ts";
import { type RunningIndexer, caughtUp, deployConsentry, runIndexer, send, stop } from "./lib.ts";

const LICENCE = `0x${"00".repeat(32)}` as Hex;
const PRICE = 1_000_000n;
const lower = (a: string) => a.toLowerCase() as Address;

describe("indexer (Ponder): studies, enrolment, deliveries, balances, withdrawals and audit anchors", function () {
  this.timeout(600_000);
  const dataRoot = mkdtempSync(path.join(tmpdir(), "consentry-indexer-escrow-"));
  let anvil: ChildProcess | undefined;
  let indexer: RunningIndexer | undefined;
  let rpc: string;
  let chain: PublicClient;
  let deployment: Awaited<ReturnType<typeof deployConsentry>>;
  const hospitalGateway = privateKeyToAccount(KEYS[5]);
  const patient2 = privateKeyToAccount(generatePrivateKey());
  const stranger = privateKeyToAccount(generatePrivateKey());
  const receipts: TransactionReceipt[] = [];

  const db = () => indexerClient(indexer!.url).db;
  type Who = Parameters<typeof send>[1];
  const registry = (account: Who, fn: string, args: unknown[]) =>
    send(rpc, account, deployment.ConsentRegistry, consentRegistryAbi, fn, args);
  const escrow = async (account: Who, fn: string, args: unknown[]) => {
    const receipt = await send(rpc, account, deployment.StudyEscrow, studyEscrowAbi, fn, args);
    receipts.push(receipt);
    return receipt;
  };
  const token = (account: Who, fn: string, args: unknown[]) =>
    send(rpc, account, deployment.RemunerationToken, remunerationTokenAbi, fn, args);
  const anchor = (account: Who, fn: string, args: unknown[]) =>
    send(rpc, account, deployment.AuditAnchor, auditAnchorAbi, fn, args);
  const view = <T>(fn: string, args: unknown[]) =>
    chain.readContract({
      address: deployment.StudyEscrow,
      abi: studyEscrowAbi,
      functionName: fn as never,
      args: args as never,
    }) as Promise<T>;
  const now = async () => Number((await chain.getBlock({ blockTag: "latest" })).timestamp);
  const escrowEvents = () => parseEventLogs({ abi: studyEscrowAbi, logs: receipts.flatMap((r) => r.logs) });

  async function createStudy(attested: boolean, budget: bigint): Promise<bigint> {
    const t = await now();
    await escrow(who.research, "createStudy", [
      {
        currency: deployment.RemunerationToken,
        purpose: encodePurpose("HMB"),
        categories: categoriesToMask(["Observation", "Condition"]),
        price: PRICE,
        maxParticipants: 10,
        enrolmentDeadline: t + 86_400,
        endTime: t + 30 * 86_400,
        protocolHash: keccak256(toHex(`protocol ${attested}`)),
        custodians: [
          { custodian: who.hospital.address, shareBps: 2_000 },
          { custodian: who.lab.address, shareBps: 1_000 },
        ],
        attestedEnrolment: attested,
      },
      budget,
    ]);
    return view<bigint>("studyCount", []);
  }

  before(async () => {
    ({ child: anvil, rpc } = await startAnvil());
    chain = createPublicClient({ transport: http(rpc) }) as PublicClient;
    deployment = await deployConsentry(rpc);
    indexer = await runIndexer(rpc, deployment, dataRoot);
    for (const account of [patient2, stranger]) {
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

  let studyA: bigint;
  let studyB: bigint;
  let studyC: bigint;

  it("indexes a history of studies, enrolments, deliveries and withdrawals as the escrow has it", async () => {
    await registry(who.multisig, "accredit", [who.hospital.address, KINDS.PROVIDER, "Hospital", "", LICENCE]);
    await registry(who.multisig, "accredit", [who.lab.address, KINDS.PROVIDER, "Lab", "", LICENCE]);
    await registry(who.multisig, "accredit", [who.research.address, KINDS.RESEARCHER, "Research", "", LICENCE]);
    await registry(who.hospital, "offerMembership", [who.hospital.address, hospitalGateway.address, ROLES.GATEWAY]);
    await registry(hospitalGateway, "acceptMembership", [who.hospital.address, ROLES.GATEWAY]);
    await registry(who.lab, "offerMembership", [who.lab.address, who.labGateway.address, ROLES.GATEWAY]);
    await registry(who.labGateway, "acceptMembership", [who.lab.address, ROLES.GATEWAY]);
    await token(who.issuer, "mint", [who.research.address, 100n * PRICE]);
    await token(who.research, "approve", [deployment.StudyEscrow, 100n * PRICE]);

    // Study A: created with a budget, funded again; three patients join, one leaves.
    studyA = await createStudy(false, 5n * PRICE);
    await escrow(who.research, "fund", [studyA, 3n * PRICE]);
    await escrow(who.patient, "join", [studyA]);
    await escrow(patient2, "join", [studyA]);
    await escrow(patient2, "leave", [studyA]);
    // Study B takes attested joins only: the hospital's gateway attests the patient.
    studyB = await createStudy(true, 2n * PRICE);
    const deadline = BigInt((await now()) + 3600);
    const attestation = {
      custodian: who.hospital.address,
      deadline,
      signature: await hospitalGateway.signTypedData(
        enrolmentAttestationTypedData(
          { chainId: CHAIN_ID, escrow: deployment.StudyEscrow },
          { patient: who.patient.address, studyId: studyB, custodian: who.hospital.address, deadline },
        ),
      ),
    };
    await escrow(who.patient, "joinAttested", [studyB, attestation]);

    // Deliveries: paid for the participant, skipped for the one who left and for a stranger.
    await escrow(hospitalGateway, "reportDeliveries", [
      studyA,
      [who.patient.address, patient2.address, stranger.address],
    ]);
    await escrow(who.labGateway, "reportDeliveries", [studyA, [who.patient.address]]);
    await escrow(hospitalGateway, "reportDeliveries", [studyB, [who.patient.address]]);

    // Withdrawals: the hospital itself; the patient's by signature, relayed by the lab's gateway for a fee.
    await escrow(who.multisig, "setWithdrawFeeCap", [deployment.RemunerationToken, PRICE / 10n]);
    await escrow(who.hospital, "withdraw", [deployment.RemunerationToken]);
    const { nonce } = {
      nonce: BigInt((await view<{ nonce: bigint }>("getParticipant", [0n, who.patient.address])).nonce),
    };
    const withdrawDeadline = BigInt((await now()) + 3600);
    const fee = PRICE / 20n;
    const signature = await who.patient.signTypedData(
      withdrawTypedData(
        { chainId: CHAIN_ID, escrow: deployment.StudyEscrow },
        {
          patient: who.patient.address,
          token: deployment.RemunerationToken,
          fee,
          relayer: who.labGateway.address,
          nonce,
          deadline: withdrawDeadline,
        },
      ),
    );
    await escrow(who.labGateway, "withdrawBySig", [
      deployment.RemunerationToken,
      who.patient.address,
      fee,
      withdrawDeadline,
      signature,
    ]);

    // Study C: funded, cancelled, its budget reclaimed.
    studyC = await createStudy(false, 4n * PRICE);
    await escrow(who.research, "cancelStudy", [studyC]);
    await chain.request({ method: "evm_mine" as never });
    await escrow(who.research, "reclaim", [studyC]);
    await caughtUp(indexer!, rpc);

    // Studies: as getStudy has them (budget, places taken, status, times, attestation).
    const studies = await db().select().from(schema.study).orderBy(asc(schema.study.studyId));
    expect(studies.map((s) => s.studyId)).to.deep.equal([studyA, studyB, studyC]);
    for (const row of studies) {
      const onChain = await view<{
        researcher: Address;
        budget: bigint;
        participants: number;
        price: bigint;
        status: number;
        endTime: number;
        enrolmentDeadline: number;
        attestedEnrolment: boolean;
        maxParticipants: number;
      }>("getStudy", [row.studyId]);
      expect(
        [row.researcher, row.budget, row.participants, row.price, row.cancelledAtBlock !== null, row.attestedEnrolment],
        `study ${row.studyId}`,
      ).to.deep.equal([
        lower(onChain.researcher),
        onChain.budget,
        onChain.participants,
        onChain.price,
        onChain.status === 2,
        onChain.attestedEnrolment,
      ]);
      expect([Number(row.endTime), Number(row.enrolmentDeadline)], `study ${row.studyId}'s times`).to.deep.equal([
        onChain.endTime,
        onChain.enrolmentDeadline,
      ]);
      const custodians = await db()
        .select()
        .from(schema.studyCustodian)
        .where(eq(schema.studyCustodian.studyId, row.studyId))
        .orderBy(asc(schema.studyCustodian.slot));
      const chainCustodians = await view<{ custodian: Address; shareBps: number }[]>("studyCustodians", [row.studyId]);
      expect(custodians.map((c) => [c.custodian, c.shareBps])).to.deep.equal(
        chainCustodians.map((c) => [lower(c.custodian), c.shareBps]),
      );
    }
    // Money in and out of a budget, as the receipts' events say.
    const events = escrowEvents();
    const funding = await db().select().from(schema.studyFunding);
    const sum = (kind: string, id: bigint) =>
      funding.filter((f) => f.kind === kind && f.studyId === id).reduce((n, f) => n + f.amount, 0n);
    for (const id of [studyA, studyB, studyC]) {
      const funded = events.filter((e) => e.eventName === "StudyFunded" && e.args.studyId === id);
      const reclaimed = events.filter((e) => e.eventName === "BudgetReclaimed" && e.args.studyId === id);
      expect(sum("funded", id), `study ${id} funded`).to.equal(
        funded.reduce((n, e) => n + (e.args as { amount: bigint }).amount, 0n),
      );
      expect(sum("reclaimed", id), `study ${id} reclaimed`).to.equal(
        reclaimed.reduce((n, e) => n + (e.args as { amount: bigint }).amount, 0n),
      );
    }
    expect(sum("reclaimed", studyC)).to.equal(4n * PRICE);
    const [c] = studies.filter((s) => s.studyId === studyC);
    expect([c!.funded, c!.reclaimed, c!.budget]).to.deep.equal([4n * PRICE, 4n * PRICE, 0n]);
  });

  it("keeps enrolments as getParticipant has them (join, leave, attested join)", async () => {
    const rows = await db().select().from(schema.enrolment);
    expect(rows).to.have.length(3);
    const STATUS = ["None", "Joined", "Left"];
    for (const row of rows) {
      const participant = await view<{ status: number }>("getParticipant", [row.studyId, row.patient]);
      expect(row.active ? "Joined" : "Left", `${row.patient} in study ${row.studyId}`).to.equal(
        STATUS[participant.status],
      );
    }
    const left = rows.find((r) => r.patient === lower(patient2.address))!;
    expect([left.active, left.leftBy]).to.deep.equal([false, lower(patient2.address)]);
    const attested = rows.find((r) => r.studyId === studyB)!;
    expect([attested.patient, attested.active]).to.deep.equal([lower(who.patient.address), true]);
  });

  it("keeps deliveries, paid and skipped, as isDelivered and the receipts have them", async () => {
    const rows = await db().select().from(schema.delivery);
    const events = escrowEvents().filter((e) => e.eventName === "DeliveryPaid" || e.eventName === "DeliverySkipped");
    expect(rows).to.have.length(events.length);
    for (const row of rows) {
      expect(await view<boolean>("isDelivered", [row.studyId, row.patient, row.custodian]), row.id).to.equal(row.paid);
    }
    const paid = rows
      .filter((r) => r.paid)
      .map((r) => [r.studyId, r.patient, r.custodian, r.patientAmount, r.custodianAmount]);
    expect(paid).to.have.deep.members(
      events
        .filter((e) => e.eventName === "DeliveryPaid")
        .map((e) => {
          const a = e.args as {
            studyId: bigint;
            patient: Address;
            custodian: Address;
            patientAmount: bigint;
            custodianAmount: bigint;
          };
          return [a.studyId, lower(a.patient), lower(a.custodian), a.patientAmount, a.custodianAmount];
        }),
    );
    const skipped = rows.filter((r) => !r.paid).map((r) => [r.patient, r.reason, r.consentReason]);
    expect(skipped).to.have.deep.members(
      events
        .filter((e) => e.eventName === "DeliverySkipped")
        .map((e) => {
          const a = e.args as { patient: Address; reason: number; consentReason: number };
          return [lower(a.patient), a.reason, a.consentReason];
        }),
    );
    expect(skipped.map((s) => s[0])).to.have.members([lower(patient2.address), lower(stranger.address)]);
  });

  it("keeps balances and withdrawals (withdraw and withdraw by signature) as balanceOf and the receipts have them", async () => {
    const tokenAddress = lower(deployment.RemunerationToken);
    const balances = await db().select().from(schema.balance);
    expect(balances.map((b) => b.account)).to.include.members(
      [who.patient.address, who.hospital.address, who.lab.address].map(lower),
    );
    for (const b of balances) {
      expect(b.token).to.equal(tokenAddress);
      expect(b.amount, `balance of ${b.account}`).to.equal(
        await view<bigint>("balanceOf", [deployment.RemunerationToken, b.account]),
      );
      expect(b.earned - b.withdrawn, `earned less withdrawn of ${b.account}`).to.equal(b.amount);
    }
    const withdrawals = await db().select().from(schema.withdrawal);
    const withdrawn = escrowEvents().filter((e) => e.eventName === "Withdrawn");
    expect(withdrawals.map((w) => [w.account, w.amount])).to.have.deep.members(
      withdrawn.map((e) => {
        const a = e.args as { account: Address; amount: bigint };
        return [lower(a.account), a.amount];
      }),
    );
    const relayed = withdrawals.find((w) => w.account === lower(who.patient.address))!;
    expect([relayed.relayer, relayed.fee]).to.deep.equal([lower(who.labGateway.address), PRICE / 20n]);
    const byHospital = withdrawals.find((w) => w.account === lower(who.hospital.address))!;
    expect([byHospital.relayer, byHospital.fee]).to.deep.equal([null, null]);
    expect(balances.find((b) => b.account === lower(who.patient.address))!.amount).to.equal(0n);
  });

  it("keeps audit anchors, superseded or not, as batchAt and revisionCount have them", async () => {
    const next = await chain.readContract({
      address: deployment.AuditAnchor,
      abi: auditAnchorAbi,
      functionName: "nextSequence",
      args: [who.hospital.address],
    });
    const root = (n: number) => keccak256(toHex(`audit root ${n}`));
    await anchor(hospitalGateway, "anchor", [root(1), next, next + 9n]);
    await anchor(hospitalGateway, "anchor", [root(2), next + 10n, next + 19n]);
    await anchor(who.hospital, "supersede", [who.hospital.address, 1n, root(3), next + 24n]);
    const labNext = await chain.readContract({
      address: deployment.AuditAnchor,
      abi: auditAnchorAbi,
      functionName: "nextSequence",
      args: [who.lab.address],
    });
    await anchor(who.labGateway, "anchor", [root(4), labNext, labNext + 4n]);
    await caughtUp(indexer!, rpc);

    const batches = await db().select().from(schema.auditBatch);
    expect(batches).to.have.length(3);
    for (const b of batches) {
      const onChain = await chain.readContract({
        address: deployment.AuditAnchor,
        abi: auditAnchorAbi,
        functionName: "batchAt",
        args: [b.custodian, b.batchIndex],
      });
      const revisions = await chain.readContract({
        address: deployment.AuditAnchor,
        abi: auditAnchorAbi,
        functionName: "revisionCount",
        args: [b.custodian, b.batchIndex],
      });
      expect(
        [b.merkleRoot, b.firstSequence, b.lastSequence, b.supersessions],
        `${b.custodian} #${b.batchIndex}`,
      ).to.deep.equal([onChain.merkleRoot, onChain.firstSequence, onChain.lastSequence, Number(revisions)]);
    }
    const supersessions = await db().select().from(schema.auditSupersession);
    expect(supersessions.map((s) => [s.batchIndex, s.previousRoot, s.merkleRoot, s.actor])).to.deep.equal([
      [1n, root(2), root(3), lower(who.hospital.address)],
    ]);

    // Every event of every contract is kept (the escrow's relayed withdrawal and fee cap too).
    const kept = await db().select().from(schema.chainEvent);
    const logs = await chain.getLogs({ fromBlock: 0n, toBlock: "latest" });
    expect(kept).to.have.length(logs.length);
  });
});
