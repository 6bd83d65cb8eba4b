import { expect } from "chai";
import type { LightMyRequestResponse } from "fastify";
import type { Address, Hex } from "viem";
import type { LocalAccount } from "viem/accounts";

import { KINDS } from "#sdk/codes.ts";
import { revokeAllTypedData } from "#sdk/eip712.ts";
import { consentRegistryAbi, remunerationTokenAbi } from "#sdk/generated/abis.ts";
import { preventionRewardsAbi } from "#sdk/generated/prevention-abis.ts";
import { CVX_SYSTEM, criterionHash, programmeKey } from "#sdk/prevention.ts";
import {
  type SignedActionMessages,
  parseRelayBody,
  relayBody,
  relayCallArgs,
  signedActionTypedData,
} from "#sdk/signed-actions.ts";
import { listAudit } from "../audit/log.ts";
import { deployPreventionRewards, testChain } from "../testing/chain.ts";
import { testGateway, type TestGateway } from "../testing/gateway.ts";
import { RELAY_ACTIONS } from "./actions.ts";
import { said } from "../testing/outcomes.ts";

const DAY = 86_400;
const YEAR = 365 * DAY;
const REWARD = 10n ** 18n;

describe("relaying signed prevention opt-ins, opt-outs and withdrawals", function () {
  this.timeout(240_000);
  let gw: TestGateway;
  let rewards: Address;
  let payer: LocalAccount;
  let patient: LocalAccount;
  let patientId: string;
  /** Confirmed by the lab (this gateway's custodian) and by the hospital. */
  let labProgramme: bigint;
  /** Confirmed by the hospital only. */
  let hospitalProgramme: bigint;

  async function createProgramme(custodians: Address[]): Promise<bigint> {
    const { t } = gw;
    const now = await t.now();
    await t.write(payer, rewards, preventionRewardsAbi, "createProgramme", [
      {
        currency: t.token,
        category: 5, // Immunization
        codeSystem: criterionHash(CVX_SYSTEM),
        code: criterionHash("141"),
        firstPeriodStart: now - 30 * DAY,
        periodLength: YEAR,
        reward: REWARD,
        endTime: now + YEAR,
        custodians,
      },
      2n * REWARD,
    ]);
    return t.client.readContract({ address: rewards, abi: preventionRewardsAbi, functionName: "programmeCount" });
  }

  before(async () => {
    const t = await testChain();
    const { governance, lab, hospital } = t.actors;
    rewards = await deployPreventionRewards(t);
    await t.write(governance, rewards, preventionRewardsAbi, "setWithdrawFeeCap", [t.token, 10n ** 18n]);
    gw = await testGateway({ custodian: "lab", preventionRewards: rewards });
    payer = await t.newAccount();
    await t.registryWrite(governance, "accredit", [
      payer.address,
      KINDS.PAYER,
      "Test Insurance",
      "",
      `0x${"00".repeat(32)}`,
    ]);
    await t.write(governance, t.token, remunerationTokenAbi, "mint", [payer.address, 10n * REWARD]);
    await t.write(payer, t.token, remunerationTokenAbi, "approve", [rewards, 10n * REWARD]);
    labProgramme = await createProgramme([hospital.address, lab.address]);
    hospitalProgramme = await createProgramme([hospital.address]);

    const { patients } = await gw.ingest({ seed: "relay-prevention", patients: 1 });
    patientId = patients[0]!.id!;
    patient = gw.t.unfundedAccount(); // needs no ETH: the gateway pays
    await gw.link(patientId, patient);
  });
  after(() => gw.close());

  const domain = () => ({ chainId: gw.t.chainId, registry: gw.t.registry, prevention: rewards });

  const post = (action: string, payload: unknown) =>
    gw.app.inject({ method: "POST", url: `/relay/${action}`, payload: payload as Record<string, unknown> });

  const enrolment = (programmeId: bigint, who: Address) =>
    gw.t.client.readContract({
      address: rewards,
      abi: preventionRewardsAbi,
      functionName: "getEnrolment",
      args: [programmeId, who],
    });

  /** The opt-in `signer` signs for `programmeId` now: the terms and both nonces as the chain holds them. */
  async function optInMessage(programmeId: bigint, who: Address): Promise<SignedActionMessages["prevention-opt-in"]> {
    const [terms, registryNonce, { nonce }] = await Promise.all([
      gw.t.client.readContract({
        address: rewards,
        abi: preventionRewardsAbi,
        functionName: "getProgramme",
        args: [programmeId],
      }),
      gw.t.client.readContract({
        address: gw.t.registry,
        abi: consentRegistryAbi,
        functionName: "revocationNonce",
        args: [who],
      }),
      enrolment(programmeId, who),
    ]);
    return { programmeId, patient: who, terms, registryNonce, nonce, deadline: BigInt((await gw.t.now()) + 600) };
  }

  async function signed<A extends "prevention-opt-in" | "prevention-opt-out" | "prevention-withdraw">(
    signer: LocalAccount,
    action: A,
    message: SignedActionMessages[A],
  ) {
    const typed = signedActionTypedData(action, domain(), message);
    const signature = await signer.signTypedData!(typed as unknown as Parameters<typeof signer.signTypedData>[0]);
    return relayBody(action, message, signature);
  }

  /** The relayed transaction's gas, checked against its row's limit (printed: gateway/README.md states it). */
  async function withinGasLimit(res: LightMyRequestResponse, action: keyof typeof RELAY_ACTIONS): Promise<void> {
    expect(res.statusCode, res.body).to.equal(200);
    const hash = (res.json() as { transactionHash: Hex }).transactionHash;
    const { gasUsed } = await gw.t.client.getTransactionReceipt({ hash });
    expect(gasUsed <= RELAY_ACTIONS[action].gasLimit.eoa, `${action}: ${gasUsed} gas`).to.equal(true);
    console.log(`      ${action} by an account: ${gasUsed} gas`);
  }

  const consentOf = (programmeId: bigint, who: Address) =>
    gw.t.client.readContract({
      address: gw.t.registry,
      abi: consentRegistryAbi,
      functionName: "scopeStatus",
      args: [who, payer.address, programmeKey(rewards, programmeId), 5],
    });

  it("relays a linked patient's signed opt-in into a programme the custodian confirms for; audited on her trail", async () => {
    const res = await post(
      "prevention-opt-in",
      await signed(patient, "prevention-opt-in", await optInMessage(labProgramme, patient.address)),
    );
    await withinGasLimit(res, "prevention-opt-in");
    expect((res.json() as { action: string }).action).to.equal("prevention-opt-in");
    expect((await enrolment(labProgramme, patient.address)).status).to.equal(1); // OptedIn
    // The programme's consent was created in the same transaction.
    expect((await consentOf(labProgramme, patient.address))[0]).to.equal(0); // Allowed
    expect(await gw.t.client.getBalance({ address: patient.address })).to.equal(0n);
    const event = (await listAudit(gw.store.db, patientId)).at(-1)!.event;
    expect(event.subtype?.[1]?.code).to.equal("relay-prevention-opt-in");
    expect(event.entity?.[0]?.detail?.find((d) => d.type === "programme")?.valueString).to.equal(
      labProgramme.toString(),
    );
  });

  it("refuses, with a plain sentence, a patient who is not linked here and a programme this custodian does not confirm for", async () => {
    const stranger = gw.t.unfundedAccount();
    said(
      await post(
        "prevention-opt-in",
        await signed(stranger, "prevention-opt-in", await optInMessage(labProgramme, stranger.address)),
      ),
      403,
      /Prevention opt-ins are relayed only for patients of Demo lab/,
    );
    said(
      await post(
        "prevention-opt-in",
        await signed(patient, "prevention-opt-in", await optInMessage(hospitalProgramme, patient.address)),
      ),
      403,
      new RegExp(
        `opt-ins only into the prevention programmes it confirms care for; programme ${hospitalProgramme} is confirmed by other custodians: St\\. Example Hospital \\(${gw.t.actors.hospital.address}\\)\\. Opt in yourself`,
      ),
    );
    expect((await enrolment(hospitalProgramme, patient.address)).status).to.equal(0);
    // An unknown programme lists no custodian: no 403, but the contract's refusal, in words (it has
    // no terms, so no signature can be for it).
    said(
      await post(
        "prevention-opt-in",
        await signed(patient, "prevention-opt-in", {
          ...(await optInMessage(labProgramme, patient.address)),
          programmeId: 999n,
          nonce: 0n,
        }),
      ),
      422,
      /signature is not the patient's.*StudyEscrowInvalidSignature/s,
    );
  });

  it("refuses an opt-in signed before a revoke-all in the registry: the contract's error, in words", async () => {
    const third = await createProgramme([gw.t.actors.lab.address]);
    const pending = await signed(patient, "prevention-opt-in", await optInMessage(third, patient.address));
    // The patient revokes everything (sent here by governance: who sends it does not matter).
    const deadline = BigInt((await gw.t.now()) + 600);
    const nonce = await gw.t.client.readContract({
      address: gw.t.registry,
      abi: consentRegistryAbi,
      functionName: "revocationNonce",
      args: [patient.address],
    });
    const signature = await patient.signTypedData!(
      revokeAllTypedData(
        { chainId: gw.t.chainId, registry: gw.t.registry },
        { patient: patient.address, nonce, deadline },
      ),
    );
    await gw.t.registryWrite(
      gw.t.actors.governance,
      "revokeAllBySig",
      relayCallArgs(
        "revoke-all",
        parseRelayBody("revoke-all", { patient: patient.address, deadline: deadline.toString(), signature }),
      ) as Parameters<typeof gw.t.registryWrite>[2],
    );
    said(await post("prevention-opt-in", pending), 422, /signature is not the patient's.*StudyEscrowInvalidSignature/s);
    expect((await enrolment(third, patient.address)).status).to.equal(0);
    // Signed again, with the registry's new revocation nonce, it is relayed.
    await withinGasLimit(
      await post(
        "prevention-opt-in",
        await signed(patient, "prevention-opt-in", await optInMessage(third, patient.address)),
      ),
      "prevention-opt-in",
    );
  });

  it("relays anyone's signed opt-out, linked here or not; a replay is refused", async () => {
    const message = { programmeId: labProgramme, patient: patient.address, deadline: BigInt((await gw.t.now()) + 600) };
    const body = await signed(patient, "prevention-opt-out", {
      ...message,
      nonce: (await enrolment(labProgramme, patient.address)).nonce,
    });
    await withinGasLimit(await post("prevention-opt-out", body), "prevention-opt-out");
    expect((await enrolment(labProgramme, patient.address)).status).to.equal(2); // OptedOut
    expect((await consentOf(labProgramme, patient.address))[0]).to.not.equal(0);
    said(await post("prevention-opt-out", body), 409, new RegExp(`nonce for programme ${labProgramme} is 2`));

    // A patient of no custodian here, in a programme this custodian does not confirm for, leaves through it all the same.
    const stranger = await gw.t.newAccount();
    await gw.t.write(stranger, rewards, preventionRewardsAbi, "optIn", [hospitalProgramme]);
    const res = await post(
      "prevention-opt-out",
      await signed(stranger, "prevention-opt-out", {
        programmeId: hospitalProgramme,
        patient: stranger.address,
        nonce: 0n,
        deadline: message.deadline,
      }),
    );
    await withinGasLimit(res, "prevention-opt-out");
    expect((await enrolment(hospitalProgramme, stranger.address)).status).to.equal(2);
  });

  it("relays a signed withdrawal of prevention rewards for the gateway's price", async () => {
    const { labGateway } = gw.t.actors;
    // The patient is in the third programme (opted in above): the lab confirms her vaccination.
    const third = await gw.t.client.readContract({
      address: rewards,
      abi: preventionRewardsAbi,
      functionName: "programmeCount",
    });
    await gw.t.write(labGateway, rewards, preventionRewardsAbi, "reportConfirmations", [third, 0, [patient.address]]);
    const quote = (await gw.app.inject({ method: "GET", url: "/relay/withdraw" })).json() as {
      relayer: Address;
      fee: string;
    };
    const fee = BigInt(quote.fee);
    const { nonce } = await enrolment(0n, patient.address);
    const message = {
      patient: patient.address,
      token: gw.t.token,
      fee,
      relayer: quote.relayer,
      nonce,
      deadline: BigInt((await gw.t.now()) + 600),
    };
    // A study withdrawal's row would send it to the StudyEscrow, whose domain the signature does not name.
    said(await post("withdraw", await signed(patient, "prevention-withdraw", message)), 422, /signature/);
    const res = await post("prevention-withdraw", await signed(patient, "prevention-withdraw", message));
    await withinGasLimit(res, "prevention-withdraw");
    const received = await gw.t.client.readContract({
      address: gw.t.token,
      abi: remunerationTokenAbi,
      functionName: "balanceOf",
      args: [patient.address],
    });
    expect(received).to.equal(REWARD - fee);
  });
});
