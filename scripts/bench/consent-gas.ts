/**
 * Gas of the consent ledger's budgeted operations (ConsentRegistry), deployed through the
 * Ignition module on Hardhat's in-process EDR chain. `scripts/bench-gas.ts` prints the rows.
 */
import { network } from "hardhat";

import AuditAnchorModule from "../../ignition/modules/AuditAnchor.ts";
import { consentRegistryDomain, consentTypes } from "#sdk/eip712.ts";

export type GasRow = { what: string; gas: bigint; budget: bigint };

/* eslint-disable @typescript-eslint/no-explicit-any -- Ignition returns untyped contracts */
export async function measureConsentGas(): Promise<GasRow[]> {
  const { ethers, ignition } = await network.connect();
  const signers = await ethers.getSigners();
  const at = (i: number) => {
    const signer = signers[i];
    if (!signer) throw new Error(`no signer #${i}`);
    return signer;
  };
  const [patient, provider, clinician, researcher, manager, relayer, other, gateway] = [1, 2, 3, 4, 5, 6, 7, 8].map(at);
  const { consentRegistry, auditAnchor } = await ignition.deploy(AuditAnchorModule);
  const registry = consentRegistry as any;
  const anchor = auditAnchor as any;

  const PROVIDER = 1;
  const RESEARCHER = 2;
  const CLINICIAN = 2;
  const TREAT = 1n;
  const GRU = 7n;
  const OBSERVATION = 1;
  const CATEGORIES = 0b1111111111;
  const now = BigInt((await ethers.provider.getBlock("latest"))!.timestamp);
  const expiry = now + 365n * 86400n;

  const rows: GasRow[] = [];
  const record = (what: string, gas: bigint, budget: bigint) => rows.push({ what, gas, budget });
  async function gasOf(tx: Promise<{ wait(): Promise<{ gasUsed: bigint } | null> }>): Promise<bigint> {
    const receipt = await (await tx).wait();
    return receipt!.gasUsed;
  }

  await (
    await registry.accredit(
      provider.address,
      PROVIDER,
      "St. Example Hospital",
      "http://127.0.0.1:4001/fhir",
      ethers.ZeroHash,
    )
  ).wait();
  await (
    await registry.accredit(researcher.address, RESEARCHER, "Example Research Institute", "", ethers.ZeroHash)
  ).wait();
  await (await registry.connect(provider).offerMembership(provider.address, clinician.address, CLINICIAN)).wait();
  await (await registry.connect(clinician).acceptMembership(provider.address, CLINICIAN)).wait();
  await (await registry.connect(provider).offerMembership(provider.address, gateway.address, 3)).wait();
  await (await registry.connect(gateway).acceptMembership(provider.address, 3)).wait();
  await (await registry.grantRole(await registry.STUDY_MANAGER_ROLE(), manager.address)).wait();

  const probe = await ethers.deployContract("ConsentCheckProbe");
  async function checkGas(grantee: string): Promise<bigint> {
    const tx = await probe.measure(await registry.getAddress(), patient.address, grantee, OBSERVATION, TREAT);
    const receipt = await tx.wait();
    const log = probe.interface.parseLog(receipt!.logs[0]!);
    if (!log || log.args.allowed !== true) {
      const status = await registry.consentStatus(patient.address, grantee, OBSERVATION, TREAT);
      throw new Error(`benchmark set-up: the check did not pass (reason ${status[0]})`);
    }
    return log.args.gasUsed as bigint;
  }

  // A fresh grant: a new slot for this patient and organization.
  record(
    "grant (fresh)",
    await gasOf(registry.connect(patient).grant(provider.address, CATEGORIES, TREAT, 0, expiry)),
    56_000n,
  );
  record("check from a contract, organization, 1 grant", await checkGas(provider.address), 12_000n);
  record("check from a contract, member, 1 grant", await checkGas(clinician.address), 13_000n);

  // 999 more grants of that patient (study grants by a manager, one slot each).
  for (let i = 1; i < 1000; i++) {
    const key = ethers.zeroPadValue(ethers.toBeHex(1000n + BigInt(i)), 32);
    await registry
      .connect(manager)
      .grantStudyConsent(patient.address, researcher.address, key, CATEGORIES, GRU, expiry);
  }
  record("check from a contract, organization, 1,000 grants", await checkGas(provider.address), 12_000n);
  record("check from a contract, member, 1,000 grants", await checkGas(clinician.address), 13_000n);

  record(
    "revoke",
    await gasOf(registry.connect(patient).revoke(provider.address, ethers.zeroPadValue(ethers.toBeHex(TREAT), 32))),
    30_000n,
  );
  record("revoke-all (first)", await gasOf(registry.connect(patient).revokeAll()), 50_000n);
  record("revoke-all (later)", await gasOf(registry.connect(patient).revokeAll()), 30_000n);

  // A relayed, signed grant: the first action of a patient who has never used the registry.
  const domain = consentRegistryDomain({
    chainId: Number((await ethers.provider.getNetwork()).chainId),
    registry: await registry.getAddress(),
  });
  // ethers wants only the types reachable from the primary type.
  const types = { Grant: [...consentTypes.Grant] };
  const deadline = now + 3600n;
  const message = {
    patient: other.address,
    grantee: provider.address,
    categories: CATEGORIES,
    purpose: TREAT,
    validFrom: 0,
    expiresAt: expiry,
    nonce: 0,
    deadline,
  };
  const signature = await other.signTypedData(domain, types, message);
  record(
    "grant by signature, relayed (first of patient)",
    await gasOf(
      registry
        .connect(relayer)
        .grantBySig(other.address, provider.address, CATEGORIES, TREAT, 0, expiry, deadline, signature),
    ),
    85_000n,
  );

  // An audit batch anchored by a custodian's gateway: two fresh slots (root; sequences and time), the
  // first also opens the custodian's array. Our own budget: one transaction per batch of any size.
  record(
    "audit anchor, first batch",
    await gasOf(anchor.connect(gateway).anchor(ethers.id("batch 1"), 1, 500)),
    110_000n,
  );
  record(
    "audit anchor, later batch",
    await gasOf(anchor.connect(gateway).anchor(ethers.id("batch 2"), 501, 1000)),
    95_000n,
  );
  return rows;
}
