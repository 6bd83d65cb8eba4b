import type { Bundle, Consent } from "@medplum/fhirtypes";
import { expect } from "chai";
import { sql } from "drizzle-orm";
import type { LightMyRequestResponse } from "fastify";
import type { Address, Hex } from "viem";
import type { LocalAccount } from "viem/accounts";
import { categoriesToMask, encodePurpose, purposeScope } from "#sdk/codes.ts";
import { verifyConsent } from "#sdk/consent.ts";
import { cancelSignaturesTypedData, revokeAllTypedData, revokeTypedData } from "#sdk/eip712.ts";
import { consentRegistryAbi, remunerationTokenAbi, studyEscrowAbi } from "#sdk/generated/abis.ts";
import { joinTypedData, leaveTypedData } from "#sdk/study.ts";
import { parseRelayBody, relayBody, relayCallArgs, signedActionTypedData } from "#sdk/signed-actions.ts";
import { listAudit } from "../audit/log.ts";
import { RELAY_ACTIONS } from "./actions.ts";
import { rawRows } from "../store/database.ts";
import { testGateway, type TestGateway } from "../testing/gateway.ts";
import { said } from "../testing/outcomes.ts";

describe("relaying signed consent actions", function () {
  this.timeout(180_000);
  let gw: TestGateway;
  let patient: LocalAccount;
  let patientId: string;

  before(async () => {
    gw = await testGateway({ custodian: "lab" });
    const { patients } = await gw.ingest({ seed: "relay", patients: 1 });
    patientId = patients[0]!.id!;
    patient = gw.t.unfundedAccount(); // needs no ETH: the gateway pays
    await gw.link(patientId, patient);
  });
  after(() => gw.close());

  const domain = () => ({ chainId: gw.t.chainId, registry: gw.t.registry });
  const hospital = () => gw.t.actors.hospital.address;
  const relayed = async () =>
    Number((await rawRows<{ n: string }>(gw.store.db, sql`SELECT count(*) AS n FROM relay_usage`))[0]?.n);

  async function nonceOf(address: Address): Promise<bigint> {
    const [, nonce] = await gw.t.client.readContract({
      address: gw.t.registry,
      abi: consentRegistryAbi,
      functionName: "patientState",
      args: [address],
    });
    return BigInt(nonce);
  }

  async function revocationNonceOf(address: Address): Promise<bigint> {
    return gw.t.client.readContract({
      address: gw.t.registry,
      abi: consentRegistryAbi,
      functionName: "revocationNonce",
      args: [address],
    });
  }

  async function signedGrant(signer: LocalAccount, forPatient: Address = signer.address, deadlineIn = 600) {
    const now = await gw.t.now();
    const message = {
      patient: forPatient,
      grantee: hospital(),
      categories: categoriesToMask(["Observation", "Condition"]),
      purpose: encodePurpose("TREAT"),
      validFrom: 0,
      expiresAt: now + 3600,
      nonce: await nonceOf(forPatient),
      deadline: BigInt(now + deadlineIn),
    };
    const signature = await signer.signTypedData!(signedActionTypedData("grant", domain(), message));
    // Without its nonce field the gateway leaves the nonce to the contract, whose refusals these tests read.
    const { nonce: _leftToTheContract, ...body } = relayBody("grant", message, signature);
    return body;
  }

  const post = (action: string, payload: unknown, remoteAddress = "127.0.0.1") =>
    gw.app.inject({
      method: "POST",
      url: `/relay/${action}`,
      payload: payload as Record<string, unknown>,
      remoteAddress,
    });

  /** The relayed transaction's gas, checked against its row's limit (printed: gateway/README.md states it). */
  async function withinGasLimit(res: LightMyRequestResponse, action: keyof typeof RELAY_ACTIONS): Promise<void> {
    expect(res.statusCode, res.body).to.equal(200);
    const hash = (res.json() as { transactionHash: Hex }).transactionHash;
    const { gasUsed } = await gw.t.client.getTransactionReceipt({ hash });
    expect(gasUsed <= RELAY_ACTIONS[action].gasLimit.eoa, `${action}: ${gasUsed} gas`).to.equal(true);
    console.log(`      ${action} by an account: ${gasUsed} gas`);
  }

  const consent = (who: Address) =>
    verifyConsent(gw.t.client, {
      registry: gw.t.registry,
      patient: who,
      grantee: gw.t.actors.clinician.address,
      category: "Observation",
      purpose: "TREAT",
    });

  it("relays a linked patient's signed grant, paying the gas; audited on the patient's trail", async () => {
    const res = await post("grant", await signedGrant(patient));
    await withinGasLimit(res, "grant");
    const body = res.json() as { transactionHash: Hex; blockNumber: string; action: string };
    expect(body.action).to.equal("grant");
    expect(body.transactionHash).to.match(/^0x[0-9a-f]{64}$/);
    expect(await consent(patient.address)).to.include({ allowed: true });
    expect(await gw.t.client.getBalance({ address: patient.address })).to.equal(0n);
    const trail = await listAudit(gw.store.db, patientId);
    const event = trail.at(-1)!.event;
    expect(event.subtype?.[1]?.code).to.equal("relay-grant");
    expect(event.entity?.[0]?.detail?.find((d) => d.type === "transaction")?.valueString).to.equal(
      body.transactionHash,
    );
    expect(await relayed()).to.equal(1);
  });

  it("refuses, before sending anything, what the contract would refuse: in plain words, 422", async () => {
    const before = await relayed();
    const stranger = gw.t.unfundedAccount();
    // Signed by someone else than the patient.
    said(
      await post("grant", await signedGrant(stranger, patient.address)),
      422,
      /signature is not the patient's.*ConsentRegistryInvalidSignature/s,
    );
    // Past its deadline.
    const late = await signedGrant(patient, patient.address, 1);
    await gw.t.mine(10);
    said(await post("grant", late), 422, /The signature expired at .*ConsentRegistrySignatureExpired/s);
    // A signature for a nonce already used.
    said(
      await post("grant", { ...(await signedGrant(patient)), nonce: "0" }),
      409,
      /nonce 0, but the patient's current nonce is 1/,
    );
    expect(await relayed()).to.equal(before);
  });

  it("a forged relay (bad signature) writes nothing attributed to the patient: the sender is the agent", async () => {
    const did = `did:pkh:eip155:${gw.t.chainId}:${patient.address}`;
    const before = await listAudit(gw.store.db, patientId, { limit: 1000 });
    const forger = gw.t.unfundedAccount();
    said(
      await post("grant", await signedGrant(forger, patient.address), "198.51.100.7"),
      422,
      /ConsentRegistryInvalidSignature/,
    );
    const after = await listAudit(gw.store.db, patientId, { limit: 1000 });
    const added = after.slice(before.length).map((e) => e.event);
    expect(
      added.filter((e) => e.agent?.[0]?.who?.identifier?.value === did),
      "attributed to the patient",
    ).to.deep.equal([]);
    // The attempt is still audited: by the sender's address, naming the patient it claimed to be.
    const rows = await rawRows<{ event: { agent: Array<{ who?: unknown; network?: { address?: string } }> } }>(
      gw.store.db,
      sql`SELECT event FROM audit_events ORDER BY seq DESC LIMIT 1`,
    );
    const agent = rows[0]!.event.agent[0]!;
    expect(agent.network?.address).to.equal("198.51.100.7");
    expect(JSON.stringify(agent.who ?? {})).not.to.include(patient.address);
    expect(JSON.stringify(rows[0]!.event)).to.include(`claimed-signer`);
  });

  it("relays grants only for patients of this custodian; revocations for anyone", async () => {
    const stranger = await gw.t.newAccount();
    said(await post("grant", await signedGrant(stranger)), 403, /only for patients of Demo lab/);
    // The stranger's grant, relayed elsewhere (governance pays) …
    const g = await signedGrant(stranger);
    await gw.t.registryWrite(
      gw.t.actors.governance,
      "grantBySig",
      relayCallArgs("grant", parseRelayBody("grant", g)) as Parameters<typeof gw.t.registryWrite>[2],
    );
    expect(await consent(stranger.address)).to.include({ allowed: true });
    // … is revoked through this gateway all the same.
    const deadline = BigInt((await gw.t.now()) + 600);
    const message = {
      patient: stranger.address,
      grantee: hospital(),
      scope: purposeScope("TREAT"),
      nonce: await revocationNonceOf(stranger.address),
      deadline,
    };
    const signature = await stranger.signTypedData!(revokeTypedData(domain(), message));
    const res = await post("revoke", {
      patient: stranger.address,
      grantee: hospital(),
      scope: message.scope,
      deadline: deadline.toString(),
      signature,
    });
    expect(res.statusCode, res.body).to.equal(200);
    expect(await consent(stranger.address)).to.include({ allowed: false, reason: "NoGrant" });
    said(
      await post("revoke", {
        patient: stranger.address,
        grantee: hospital(),
        scope: message.scope,
        deadline: deadline.toString(),
        signature,
      }),
      422,
      /already used|no consent to revoke/i,
    );
  });

  it("relays revoke-all and signature cancellation", async () => {
    const deadline = BigInt((await gw.t.now()) + 600);
    const cancel = await patient.signTypedData!(
      cancelSignaturesTypedData(domain(), {
        patient: patient.address,
        nonce: await revocationNonceOf(patient.address),
        deadline,
      }),
    );
    const pending = await signedGrant(patient); // signed before the cancellation: void after it
    expect(
      (await post("cancel-signatures", { patient: patient.address, deadline: deadline.toString(), signature: cancel }))
        .statusCode,
    ).to.equal(200);
    said(await post("grant", pending), 422, /ConsentRegistryInvalidSignature/);

    expect(await consent(patient.address)).to.include({ allowed: true });
    const revokeAll = await patient.signTypedData!(
      revokeAllTypedData(domain(), {
        patient: patient.address,
        nonce: await revocationNonceOf(patient.address),
        deadline,
      }),
    );
    const res = await post("revoke-all", {
      patient: patient.address,
      deadline: deadline.toString(),
      signature: revokeAll,
      nonce: (await revocationNonceOf(patient.address)).toString(),
    });
    expect(res.statusCode, res.body).to.equal(200);
    expect(await consent(patient.address)).to.include({ allowed: false, reason: "RevokedByRevokeAll" });
  });

  it("relays a signed revocation after a grant signature sent first, and refuses a grant signed before revoke-all", async () => {
    const deadline = BigInt((await gw.t.now()) + 600);
    // Signed together, both at the patient's current nonces: a grant (update) and the revocation.
    const update = await signedGrant(patient);
    const revokeAll = await patient.signTypedData!(
      revokeAllTypedData(domain(), {
        patient: patient.address,
        nonce: await revocationNonceOf(patient.address),
        deadline,
      }),
    );
    // The grant is relayed first: the signed revocation still works (a nonce lane of its own).
    expect((await post("grant", update)).statusCode).to.equal(200);
    const pending = await signedGrant(patient); // signed before the revoke-all, never sent before it
    expect(await consent(patient.address)).to.include({ allowed: true });
    const res = await post("revoke-all", {
      patient: patient.address,
      deadline: deadline.toString(),
      signature: revokeAll,
      nonce: (await revocationNonceOf(patient.address)).toString(),
    });
    expect(res.statusCode, res.body).to.equal(200);
    expect(await consent(patient.address)).to.include({ allowed: false, reason: "RevokedByRevokeAll" });
    // The revoke-all voided every outstanding signature: the pending grant cannot re-grant.
    said(await post("grant", pending), 422, /ConsentRegistryInvalidSignature|signature/i);
    expect(await consent(patient.address)).to.include({ allowed: false, reason: "RevokedByRevokeAll" });
  });

  it("relays a linked patient's study join and leave to the StudyEscrow", async () => {
    const { research, governance, lab } = gw.t.actors;
    const now = await gw.t.now();
    const price = 10n ** 18n;
    await gw.t.write(governance, gw.t.token, remunerationTokenAbi, "mint", [research.address, 10n * price]);
    await gw.t.write(research, gw.t.token, remunerationTokenAbi, "approve", [gw.t.studyEscrow, 10n * price]);
    await gw.t.write(research, gw.t.studyEscrow, studyEscrowAbi, "createStudy", [
      {
        currency: gw.t.token,
        purpose: encodePurpose("HMB"),
        categories: categoriesToMask(["Observation", "Condition"]),
        price,
        maxParticipants: 10,
        enrolmentDeadline: now + 86_400,
        endTime: now + 30 * 86_400,
        protocolHash: `0x${"ab".repeat(32)}`,
        custodians: [{ custodian: lab.address, shareBps: 1000 }],
        attestedEnrolment: false,
      },
      10n * price,
    ]);
    const studyId = await gw.t.client.readContract({
      address: gw.t.studyEscrow,
      abi: studyEscrowAbi,
      functionName: "studyCount",
    });
    const escrowDomain = { chainId: gw.t.chainId, escrow: gw.t.studyEscrow };
    const terms = await gw.t.client.readContract({
      address: gw.t.studyEscrow,
      abi: studyEscrowAbi,
      functionName: "getStudy",
      args: [studyId],
    });
    const deadline = BigInt(now + 600);
    // A Join signed before the patient cancels her signatures in the registry is void: the gateway
    // cannot send it (the Join binds the registry's revocation nonce).
    const early = {
      studyId,
      patient: patient.address,
      registryNonce: await revocationNonceOf(patient.address),
      nonce: 0n,
      deadline,
      terms,
    };
    const earlyJoin = await patient.signTypedData!(signedActionTypedData("join", escrowDomain, early));
    const cancel = await patient.signTypedData!(
      cancelSignaturesTypedData(domain(), { patient: patient.address, nonce: early.registryNonce, deadline }),
    );
    expect(
      (await post("cancel-signatures", { patient: patient.address, deadline: deadline.toString(), signature: cancel }))
        .statusCode,
    ).to.equal(200);
    said(await post("join", relayBody("join", early, earlyJoin)), 422, /StudyEscrowInvalidSignature/);
    const joinMessage = { ...early, registryNonce: await revocationNonceOf(patient.address) };
    const join = await patient.signTypedData!(signedActionTypedData("join", escrowDomain, joinMessage));
    const joined = await post("join", relayBody("join", joinMessage, join));
    await withinGasLimit(joined, "join");
    const participant = await gw.t.client.readContract({
      address: gw.t.studyEscrow,
      abi: studyEscrowAbi,
      functionName: "getParticipant",
      args: [studyId, patient.address],
    });
    expect(participant.status).to.equal(1); // Joined

    // The study's research grant shows among the patient's Consents.
    const token = await gw.signIn(patient);
    const consents = (await gw.read(token, `/fhir/Consent?patient=${patientId}`)).json() as Bundle;
    const study = (consents.entry ?? [])
      .map((e) => e.resource as Consent)
      .find((c) => c.identifier?.some((i) => i.system === "urn:consentry:study"));
    expect(study?.status).to.equal("active");
    expect(study?.provision?.purpose?.map((p) => p.code)).to.include("DUO:0000006");

    // A replayed join is refused in words; a stranger's join is not relayed here.
    said(
      await post("join", {
        studyId: studyId.toString(),
        patient: patient.address,
        deadline: deadline.toString(),
        signature: join,
      }),
      422,
      /StudyEscrowInvalidSignature/,
    );
    const stranger = gw.t.unfundedAccount();
    const strangerJoin = await stranger.signTypedData!(
      joinTypedData(escrowDomain, {
        studyId,
        patient: stranger.address,
        registryNonce: 0n,
        nonce: 0n,
        deadline,
        terms,
      }),
    );
    said(
      await post("join", {
        studyId: studyId.toString(),
        patient: stranger.address,
        deadline: deadline.toString(),
        signature: strangerJoin,
      }),
      403,
      /Study joins are relayed only/,
    );

    const leave = await patient.signTypedData!(
      leaveTypedData(escrowDomain, { studyId, patient: patient.address, nonce: 1n, deadline }),
    );
    await withinGasLimit(
      await post("leave", {
        studyId: studyId.toString(),
        patient: patient.address,
        deadline: deadline.toString(),
        signature: leave,
      }),
      "leave",
    );
    said(
      await post("leave", {
        studyId: "999",
        patient: patient.address,
        deadline: deadline.toString(),
        signature: leave,
      }),
      422,
      /StudyEscrow/,
    );
  });

  let attestedStudyId = 0n;
  const PRICE = 10n ** 18n;

  it("relays a join to a study that requires custodian attestation: the gateway attests its linked patient in the same step", async () => {
    const { research, governance, lab } = gw.t.actors;
    const now = await gw.t.now();
    await gw.t.write(governance, gw.t.token, remunerationTokenAbi, "mint", [research.address, 10n * PRICE]);
    await gw.t.write(research, gw.t.token, remunerationTokenAbi, "approve", [gw.t.studyEscrow, 10n * PRICE]);
    await gw.t.write(research, gw.t.studyEscrow, studyEscrowAbi, "createStudy", [
      {
        currency: gw.t.token,
        purpose: encodePurpose("HMB"),
        categories: categoriesToMask(["Observation"]),
        price: PRICE,
        maxParticipants: 10,
        enrolmentDeadline: now + 86_400,
        endTime: now + 30 * 86_400,
        protocolHash: `0x${"cd".repeat(32)}`,
        custodians: [{ custodian: lab.address, shareBps: 1000 }],
        attestedEnrolment: true,
      },
      10n * PRICE,
    ]);
    const studyId = await gw.t.client.readContract({
      address: gw.t.studyEscrow,
      abi: studyEscrowAbi,
      functionName: "studyCount",
    });
    attestedStudyId = studyId;
    const escrowDomain = { chainId: gw.t.chainId, escrow: gw.t.studyEscrow };
    const terms = await gw.t.client.readContract({
      address: gw.t.studyEscrow,
      abi: studyEscrowAbi,
      functionName: "getStudy",
      args: [studyId],
    });
    expect(terms.attestedEnrolment).to.equal(true);
    const deadline = BigInt(now + 600);
    const join = await patient.signTypedData!(
      joinTypedData(escrowDomain, {
        studyId,
        patient: patient.address,
        registryNonce: await revocationNonceOf(patient.address),
        nonce: 0n,
        deadline,
        terms,
      }),
    );
    const joined = await post("join", {
      studyId: studyId.toString(),
      patient: patient.address,
      deadline: deadline.toString(),
      signature: join,
    });
    expect(joined.statusCode, joined.body).to.equal(200);
    const hash = (joined.json() as { transactionHash: Hex }).transactionHash;
    const { gasUsed } = await gw.t.client.getTransactionReceipt({ hash });
    expect(gasUsed <= RELAY_ACTIONS.join.attested.gasLimit.eoa, `${gasUsed}`).to.equal(true);
    console.log(`      attested join by an account: ${gasUsed} gas`);
    const participant = await gw.t.client.readContract({
      address: gw.t.studyEscrow,
      abi: studyEscrowAbi,
      functionName: "getParticipant",
      args: [studyId, patient.address],
    });
    expect(participant.status).to.equal(1); // Joined

    // A throw-away address is attested by no one: not relayed here, and refused on-chain without.
    const stranger = gw.t.unfundedAccount();
    const strangerJoin = await stranger.signTypedData!(
      joinTypedData(escrowDomain, {
        studyId,
        patient: stranger.address,
        registryNonce: 0n,
        nonce: 0n,
        deadline,
        terms,
      }),
    );
    said(
      await post("join", {
        studyId: studyId.toString(),
        patient: stranger.address,
        deadline: deadline.toString(),
        signature: strangerJoin,
      }),
      403,
      /Study joins are relayed only/,
    );

    // Signed in with Ethereum, a linked patient gets the attestation to join by itself; others do not.
    const { patients } = await gw.ingest({ seed: "attested", patients: 1 });
    const second = gw.t.unfundedAccount();
    await gw.link(patients[0]!.id!, second);
    const res = await gw.app.inject({
      method: "POST",
      url: "/enrolment-attestations",
      headers: { authorization: `Bearer ${await gw.signIn(second)}` },
      payload: { studyId: studyId.toString() },
    });
    expect(res.statusCode, res.body).to.equal(200);
    const attestation = res.json() as { custodian: Address; deadline: string; signature: Hex };
    expect(attestation.custodian).to.equal(lab.address);
    await gw.t.client.simulateContract({
      account: second.address,
      address: gw.t.studyEscrow,
      abi: studyEscrowAbi,
      functionName: "joinAttested",
      args: [studyId, { ...attestation, deadline: BigInt(attestation.deadline) }],
    });
    said(
      await gw.app.inject({
        method: "POST",
        url: "/enrolment-attestations",
        headers: { authorization: `Bearer ${await gw.signIn(stranger)}` },
        payload: { studyId: studyId.toString() },
      }),
      403,
      /attests only its own patients/,
    );
  });

  it("relays a signed withdrawal for the gateway's price, and refuses a smaller fee, another relayer or a replay", async () => {
    const { labGateway } = gw.t.actors;
    // The lab delivers the patient's data to the attested study: the patient earns 90 % of the price.
    await gw.t.write(labGateway, gw.t.studyEscrow, studyEscrowAbi, "reportDeliveries", [
      attestedStudyId,
      [patient.address],
    ]);
    const earned = PRICE - PRICE / 10n;
    const quote = await gw.app.inject({ method: "GET", url: "/relay/withdraw" });
    expect(quote.statusCode, quote.body).to.equal(200);
    const { relayer, fee } = quote.json() as { relayer: Address; fee: string };
    expect(relayer).to.equal(gw.chain.gatewayAddress);
    const escrowDomain = { chainId: gw.t.chainId, escrow: gw.t.studyEscrow };
    const deadline = BigInt((await gw.t.now()) + 600);
    const message = (f: bigint, via: Address, nonce = 0n) => ({
      patient: patient.address,
      token: gw.t.token,
      fee: f,
      relayer: via,
      nonce,
      deadline,
    });
    const sign = (f: bigint, via: Address, nonce = 0n) =>
      patient.signTypedData!(signedActionTypedData("withdraw", escrowDomain, message(f, via, nonce)));
    // The body names no relayer: the gateway sends it, and the escrow checks the signature names its sender.
    const body = (f: bigint, signature: Hex, nonce = 0n) =>
      relayBody("withdraw", message(f, gw.chain.gatewayAddress, nonce), signature);
    said(await post("withdraw", body(BigInt(fee) - 1n, await sign(BigInt(fee) - 1n, relayer))), 422, /at least/);
    said(
      await post("withdraw", body(BigInt(fee), await sign(BigInt(fee), gw.t.actors.alice.address))),
      422,
      /StudyEscrowInvalidSignature|signature/,
    );
    const signature = await sign(BigInt(fee), relayer);
    const before = await gw.t.client.readContract({
      address: gw.t.token,
      abi: remunerationTokenAbi,
      functionName: "balanceOf",
      args: [patient.address],
    });
    const res = await post("withdraw", body(BigInt(fee), signature));
    expect(res.statusCode, res.body).to.equal(200);
    const { gasUsed } = await gw.t.client.getTransactionReceipt({
      hash: (res.json() as { transactionHash: Hex }).transactionHash,
    });
    expect(gasUsed <= RELAY_ACTIONS.withdraw.gasLimit.eoa, `${gasUsed}`).to.equal(true);
    console.log(`      withdraw by an account: ${gasUsed} gas`);
    const after = await gw.t.client.readContract({
      address: gw.t.token,
      abi: remunerationTokenAbi,
      functionName: "balanceOf",
      args: [patient.address],
    });
    expect(after - before).to.equal(earned - BigInt(fee));
    said(await post("withdraw", body(BigInt(fee), signature)), 409, /withdrawal nonce/);
  });

  it("caps relays per patient address and in all per hour (in the database): 429", async () => {
    const capped = await testGateway({
      custodian: "lab",
      config: {
        relayLimits: {
          perAddressPerHour: 1,
          globalPerHour: 2,
          weiPerHour: 10n ** 24n,
          revocationWeiPerHour: 10n ** 23n,
        },
      },
    });
    try {
      const { patients } = await capped.ingest({ seed: "relay-caps", patients: 3 });
      const people = [capped.t.unfundedAccount(), capped.t.unfundedAccount(), capped.t.unfundedAccount()];
      for (let i = 0; i < 3; i++) await capped.link(patients[i]!.id!, people[i]!);
      const grantFor = async (who: LocalAccount) => {
        const body = await signedGrant(who);
        return capped.app.inject({ method: "POST", url: "/relay/grant", payload: body });
      };
      expect((await grantFor(people[0]!)).statusCode).to.equal(200);
      const again = await grantFor(people[0]!);
      said(again, 429, /at most 1 relayed transactions per hour/);
      expect(Number(again.headers["retry-after"])).to.be.within(1, 3600);
      expect((await grantFor(people[1]!)).statusCode).to.equal(200);
      said(await grantFor(people[2]!), 429, /at most 2 transactions per hour/);
    } finally {
      await capped.close();
    }
  });
});
