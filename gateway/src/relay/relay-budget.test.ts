/**
 * The gateway pays for relays: a signer must not be able to make it pay much (a contract wallet
 * whose isValidSignature burns gas), nor spend its hourly budget so that a patient's revocation
 * is refused. Attacks over HTTP against the real app, on the real chain.
 */
import { expect } from "chai";
import { sql } from "drizzle-orm";
import type { LightMyRequestResponse } from "fastify";
import type { Address, Hex } from "viem";
import type { LocalAccount } from "viem/accounts";
import { categoriesToMask, encodePurpose, purposeScope } from "#sdk/codes.ts";
import { verifyConsent } from "#sdk/consent.ts";
import {
  cancelSignaturesTypedData,
  grantSignatureDeadline,
  grantTypedData,
  revokeAllTypedData,
  revokeTypedData,
} from "#sdk/eip712.ts";
import { consentRegistryAbi } from "#sdk/generated/abis.ts";
import { rawRows } from "../store/database.ts";
import { ADMIN, testGateway, type TestGateway } from "../testing/gateway.ts";
import { RELAY_ACTIONS } from "./actions.ts";
import { said } from "../testing/outcomes.ts";

describe("relay gas and budgets", function () {
  this.timeout(300_000);
  let gw: TestGateway;

  before(async () => {
    gw = await testGateway({ custodian: "lab" });
  });
  after(() => gw.close());

  const domain = () => ({ chainId: gw.t.chainId, registry: gw.t.registry });
  const post = (target: TestGateway, action: string, payload: unknown, remoteAddress = "127.0.0.1") =>
    target.app.inject({ method: "POST", url: `/relay/${action}`, payload: payload as never, remoteAddress });

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

  /** A grant of the hospital (TREAT, Observation) signed by `signer` for `patient`, sent by governance (who pays). */
  async function grantDirectly(signer: LocalAccount, patient: Address): Promise<void> {
    const now = await gw.t.now();
    const message = {
      patient,
      grantee: gw.t.actors.hospital.address,
      categories: categoriesToMask(["Observation"]),
      purpose: encodePurpose("TREAT"),
      validFrom: 0,
      expiresAt: now + 86_400,
      nonce: await nonceOf(patient),
      // as the app sets it: the signature's window opens after the latest block (this consent may
      // have been revoked before, which voids every Grant signature whose window opened earlier)
      deadline: grantSignatureDeadline(now, now), // the chain is the clock here (a loaded machine lags it)
    };
    const signature = await signer.signTypedData!(grantTypedData(domain(), message));
    await gw.t.registryWrite(gw.t.actors.governance, "grantBySig", [
      patient,
      message.grantee,
      message.categories,
      message.purpose,
      0,
      message.expiresAt,
      message.deadline,
      signature,
    ]);
  }

  async function signedRevokeAll(signer: LocalAccount, patient: Address = signer.address) {
    const deadline = BigInt((await gw.t.now()) + 600);
    const signature = await signer.signTypedData!(
      revokeAllTypedData(domain(), { patient, nonce: await revocationNonceOf(patient), deadline }),
    );
    return { patient, deadline: deadline.toString(), signature };
  }

  async function signedCancel(signer: LocalAccount, patient: Address = signer.address) {
    const deadline = BigInt((await gw.t.now()) + 600);
    const signature = await signer.signTypedData!(
      cancelSignaturesTypedData(domain(), { patient, nonce: await revocationNonceOf(patient), deadline }),
    );
    return { patient, deadline: deadline.toString(), signature };
  }

  const gatewayNonce = (target: TestGateway = gw) =>
    gw.t.client.getTransactionCount({ address: target.chain.gatewayAddress, blockTag: "pending" });

  const inForce = (patient: Address) =>
    verifyConsent(gw.t.client, {
      registry: gw.t.registry,
      patient,
      grantee: gw.t.actors.clinician.address,
      category: "Observation",
      purpose: "TREAT",
    });

  it("a contract wallet whose isValidSignature burns gas gets 422 in words, and nothing is sent", async () => {
    const owner = gw.t.unfundedAccount();
    // About 10 million gas per signature check (an honest relay: about 50,000).
    const wallet = await gw.t.deploy(gw.t.actors.governance, "GasBurningWallet", [owner.address, 20_000n]);
    await grantDirectly(owner, wallet);
    expect(await inForce(wallet)).to.include({ allowed: true });
    const sentBefore = await gatewayNonce();
    const res = await post(gw, "revoke-all", await signedRevokeAll(owner, wallet));
    said(res, 422, /revoke-all .*needs about [0-9,]+ gas.*at most [0-9,]+ gas/s);
    expect(await gatewayNonce(), "no transaction was sent").to.equal(sentBefore);
    expect(await inForce(wallet)).to.include({ allowed: true });
  });

  it("a contract wallet with nothing to revoke or cancel is refused before anything is sent", async () => {
    const owner = gw.t.unfundedAccount();
    const wallet = await gw.t.deploy(gw.t.actors.governance, "MockContractWallet", [owner.address]);
    const sentBefore = await gatewayNonce();
    said(await post(gw, "revoke-all", await signedRevokeAll(owner, wallet)), 422, /nothing to revoke/);
    said(await post(gw, "cancel-signatures", await signedCancel(owner, wallet)), 422, /nothing to cancel/);
    expect(await gatewayNonce()).to.equal(sentBefore);
  });

  it("an honest contract wallet's revocation is relayed within its gas cap", async () => {
    const owner = gw.t.unfundedAccount();
    const wallet = await gw.t.deploy(gw.t.actors.governance, "MockContractWallet", [owner.address]);
    await grantDirectly(owner, wallet);
    const res = await post(gw, "revoke-all", await signedRevokeAll(owner, wallet));
    expect(res.statusCode, res.body).to.equal(200);
    const receipt = await gw.t.client.getTransactionReceipt({
      hash: (res.json() as { transactionHash: Hex }).transactionHash,
    });
    const row = RELAY_ACTIONS["revoke-all"];
    expect(receipt.gasUsed <= row.gasLimit.contractWallet).to.equal(true);
    expect(await inForce(wallet)).to.include({ allowed: false });
  });

  it("throw-away relays fill the shared capacity, never a patient's revocation", async () => {
    const capped = await testGateway({
      custodian: "lab",
      keepDatabase: gw.store,
      config: {
        relayLimits: {
          perAddressPerHour: 5,
          globalPerHour: 3,
          weiPerHour: 10n ** 18n,
          revocationWeiPerHour: 5n * 10n ** 17n,
        },
      },
    });
    try {
      const patient = gw.t.unfundedAccount();
      await grantDirectly(patient, patient.address);
      // Fresh addresses with nothing to cancel: each within the per-address limit.
      const throwaway = [];
      for (let i = 0; i < 4; i++)
        throwaway.push(await post(capped, "cancel-signatures", await signedCancel(gw.t.unfundedAccount())));
      expect(throwaway.map((r) => r.statusCode)).to.deep.equal([200, 200, 200, 429]);
      // The patient's revocation still goes through.
      const res = await post(capped, "revoke-all", await signedRevokeAll(patient));
      expect(res.statusCode, res.body).to.equal(200);
      expect(await inForce(patient.address)).to.include({ allowed: false, reason: "RevokedByRevokeAll" });
    } finally {
      await capped.close();
    }
  });

  it("bounds the custodian's relay spend per hour in wei, logs it and shows it in /metrics", async () => {
    const price = await gw.t.client.getGasPrice();
    // Room for about two throw-away relays in the shared part, and one revocation of its own.
    const revoke = RELAY_ACTIONS["revoke-all"].gasLimit.eoa * price * 3n;
    const shared = RELAY_ACTIONS["cancel-signatures"].gasLimit.eoa * price * 5n;
    const capped = await testGateway({
      custodian: "lab",
      keepDatabase: gw.store,
      config: {
        relayLimits: {
          perAddressPerHour: 5,
          globalPerHour: 1000,
          weiPerHour: revoke + shared,
          revocationWeiPerHour: revoke,
        },
      },
    });
    try {
      const patient = gw.t.unfundedAccount();
      await grantDirectly(patient, patient.address);
      const statuses: number[] = [];
      for (let i = 0; i < 40 && !statuses.includes(429); i++) {
        const res = await post(capped, "cancel-signatures", await signedCancel(gw.t.unfundedAccount()));
        statuses.push(res.statusCode);
        if (res.statusCode === 429)
          said(res, 429, /at most .* ETH \([0-9]+ wei\) per hour on relays other than revocations/);
      }
      expect(statuses).to.include(429);
      expect(statuses[0]).to.equal(200);
      const res = await post(capped, "revoke-all", await signedRevokeAll(patient));
      expect(res.statusCode, res.body).to.equal(200);

      const metrics = await capped.app.inject({ method: "GET", url: "/metrics", headers: ADMIN });
      expect(metrics.statusCode, metrics.body).to.equal(200);
      expect(metrics.headers["content-type"]).to.match(/^text\/plain/);
      const value = (name: string) => {
        const m = new RegExp(`^${name.replace(/[{}]/g, "\\$&")} ([0-9]+)$`, "m").exec(metrics.body);
        return m ? BigInt(m[1]!) : undefined;
      };
      const spentShared = value('consentry_relay_spent_wei{budget="shared"}');
      const spentRevocation = value('consentry_relay_spent_wei{budget="revocation"}');
      expect(spentShared! > 0n && spentShared! <= shared).to.equal(true);
      expect(spentRevocation! > 0n && spentRevocation! <= revoke).to.equal(true);
      expect(value("consentry_relay_budget_wei_per_hour")).to.equal(revoke + shared);
      const [row] = await rawRows<{ wei: string }>(
        capped.store.db,
        sql`SELECT sum(wei)::text AS wei FROM relay_usage WHERE tx_hash IS NOT NULL AND created_at > now() - interval '1 hour'`,
      );
      expect(BigInt(row!.wei) >= spentShared! + spentRevocation!).to.equal(true);
      // Without the admin token: no metrics.
      expect((await capped.app.inject({ method: "GET", url: "/metrics" })).statusCode).to.equal(401);
    } finally {
      await capped.close();
    }
  });

  it("each relayed action's measured gas is within its stated limit", async () => {
    const measured: Record<string, { eoa: bigint; contractWallet?: bigint }> = {};
    const gasOf = async (res: LightMyRequestResponse) => {
      expect(res.statusCode, res.body).to.equal(200);
      const hash = (res.json() as { transactionHash: Hex }).transactionHash;
      return (await gw.t.client.getTransactionReceipt({ hash })).gasUsed;
    };
    // revoke, revoke-all, cancel-signatures by an EOA and by a contract wallet.
    for (const kind of ["eoa", "contractWallet"] as const) {
      const owner = gw.t.unfundedAccount();
      const patient =
        kind === "eoa"
          ? owner.address
          : await gw.t.deploy(gw.t.actors.governance, "MockContractWallet", [owner.address]);
      await grantDirectly(owner, patient);
      const deadline = BigInt((await gw.t.now()) + 600);
      const scope = purposeScope("TREAT");
      const revoke = await owner.signTypedData!(
        revokeTypedData(domain(), {
          patient,
          grantee: gw.t.actors.hospital.address,
          scope,
          nonce: await revocationNonceOf(patient),
          deadline,
        }),
      );
      const note = (action: string, gas: bigint) => {
        measured[action] ??= { eoa: 0n };
        measured[action]![kind] = gas;
      };
      note(
        "revoke",
        await gasOf(
          await post(gw, "revoke", {
            patient,
            grantee: gw.t.actors.hospital.address,
            scope,
            deadline: deadline.toString(),
            signature: revoke,
          }),
        ),
      );
      await grantDirectly(owner, patient);
      note("cancel-signatures", await gasOf(await post(gw, "cancel-signatures", await signedCancel(owner, patient))));
      note("revoke-all", await gasOf(await post(gw, "revoke-all", await signedRevokeAll(owner, patient))));
    }
    // A patient's first signature (its nonce's slot from zero): the dearest revoke-all.
    const first = await gw.t.newAccount();
    const now = await gw.t.now();
    await gw.t.registryWrite(first, "grant", [
      gw.t.actors.hospital.address,
      categoriesToMask(["Observation"]),
      encodePurpose("TREAT"),
      0,
      now + 86_400,
    ]);
    const firstGas = await gasOf(await post(gw, "revoke-all", await signedRevokeAll(first)));
    measured["revoke-all (first signature)"] = { eoa: firstGas };
    expect(firstGas <= RELAY_ACTIONS["revoke-all"].gasLimit.eoa).to.equal(true);
    delete measured["revoke-all (first signature)"];
    console.log(`      revoke-all as a patient's first signature: ${firstGas} gas`);
    for (const [action, gas] of Object.entries(measured)) {
      const limit = RELAY_ACTIONS[action as keyof typeof RELAY_ACTIONS].gasLimit;
      expect(gas.eoa <= limit.eoa, `${action} by an EOA: ${gas.eoa} > ${limit.eoa}`).to.equal(true);
      expect(gas.contractWallet! <= limit.contractWallet, `${action} by a contract wallet`).to.equal(true);
    }
    console.log(
      "      measured relay gas:",
      JSON.stringify(measured, (_k, v) => (typeof v === "bigint" ? Number(v) : v)),
    );
  });
});
