import { expect } from "chai";
import { type Address, type Hex, type PublicClient, parseSignature } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import ConsentRegistryModule from "../ignition/modules/ConsentRegistry.ts";
import { sdkTestChain } from "./testing/chain.ts";
import { KINDS, ROLES, categoriesToMask, encodePurpose, purposeScope } from "./codes.ts";
import { verifyConsent } from "./consent.ts";
import { GRANT_SIGNATURE_LIFETIME_SECONDS, grantSignatureDeadline, grantTypedData } from "./eip712.ts";
import { consentRegistryAbi } from "./generated/abis.ts";

// The verifyConsent() any provider's backend calls, against a real EDR chain and the real contract.
describe("verifyConsent (sdk) on a real chain", function () {
  this.timeout(60_000);
  let client: PublicClient;
  let registry: Address;
  let accounts: Address[];
  let write: (account: Address, functionName: string, args: readonly unknown[]) => Promise<void>;
  let mine: (seconds: number) => Promise<void>;
  let t: Awaited<ReturnType<typeof sdkTestChain>>;

  before(async () => {
    t = await sdkTestChain(ConsentRegistryModule);
    registry = (await t.deployed.consentRegistry.getAddress()) as Address;
    ({ client, accounts, mine } = t);
    write = (account, functionName, args) => t.write(account, registry, consentRegistryAbi, functionName, args);
  });

  const governance = () => accounts[0]!;
  const patient = () => accounts[1]!;
  const hospital = () => accounts[2]!;
  const clinician = () => accounts[3]!;

  it("follows a grant's life: no grant, allowed with expiry, member, wrong category, revoked, block pinned", async () => {
    await write(governance(), "accredit", [
      hospital(),
      KINDS.PROVIDER,
      "St. Example Hospital",
      "http://127.0.0.1:4001/fhir",
      `0x${"00".repeat(32)}`,
    ]);
    await write(hospital(), "offerMembership", [hospital(), clinician(), ROLES.CLINICIAN]);
    await write(clinician(), "acceptMembership", [hospital(), ROLES.CLINICIAN]);
    const base = {
      registry,
      patient: patient(),
      grantee: clinician(),
      category: "Observation",
      purpose: "TREAT",
    } as const;

    const before = await verifyConsent(client, base);
    expect(before).to.include({ allowed: false, reason: "NoGrant", emergency: false, expiresAt: null });
    expect(before.organization.toLowerCase()).to.equal(hospital().toLowerCase());

    const now = Number((await client.getBlock()).timestamp);
    await write(patient(), "grant", [
      hospital(),
      categoriesToMask(["Observation"]),
      encodePurpose("TREAT"),
      0,
      now + 3600,
    ]);
    const granted = await verifyConsent(client, base);
    expect(granted).to.include({ allowed: true, reason: "Allowed", expiresAt: now + 3600 });
    expect(granted.blockNumber).to.equal(await client.getBlockNumber({ cacheTime: 0 }));

    expect(await verifyConsent(client, { ...base, category: "Condition" })).to.include({
      allowed: false,
      reason: "CategoryNotGranted",
    });
    expect(await verifyConsent(client, { ...base, purpose: "ETREAT" })).to.include({
      allowed: true,
      reason: "Allowed",
    });
    expect(await verifyConsent(client, { ...base, purpose: "HPAYMT" })).to.include({
      allowed: false,
      reason: "WrongOrganizationKind",
    });

    const grantedAt = granted.blockNumber;
    await write(patient(), "revoke", [hospital(), purposeScope("TREAT")]);
    // The very next read after the revocation is mined is refused ...
    expect(await verifyConsent(client, base)).to.include({ allowed: false, reason: "NoGrant" });
    // ... while a read pinned at the earlier block still shows what was true then.
    expect(await verifyConsent(client, { ...base, blockNumber: grantedAt })).to.include({ allowed: true });
  });

  it("reports expiry, revoke-all and suspension", async () => {
    const base = {
      registry,
      patient: patient(),
      grantee: hospital(),
      category: "Observation",
      purpose: "TREAT",
    } as const;
    const now = Number((await client.getBlock()).timestamp);
    await write(patient(), "grant", [
      hospital(),
      categoriesToMask(["Observation"]),
      encodePurpose("TREAT"),
      0,
      now + 100,
    ]);
    expect(await verifyConsent(client, base)).to.include({ allowed: true });
    await mine(200);
    expect(await verifyConsent(client, base)).to.include({ allowed: false, reason: "Expired" });

    const later = Number((await client.getBlock()).timestamp);
    await write(patient(), "grant", [
      hospital(),
      categoriesToMask(["Observation"]),
      encodePurpose("TREAT"),
      0,
      later + 3600,
    ]);
    await write(patient(), "revokeAll", []);
    expect(await verifyConsent(client, base)).to.include({ allowed: false, reason: "RevokedByRevokeAll" });

    await write(patient(), "grant", [
      hospital(),
      categoriesToMask(["Observation"]),
      encodePurpose("TREAT"),
      0,
      later + 3600,
    ]);
    expect(await verifyConsent(client, base)).to.include({ allowed: true });
    await write(governance(), "suspend", [hospital(), `0x${"00".repeat(32)}`]);
    expect(await verifyConsent(client, base)).to.include({ allowed: false, reason: "OrganizationSuspended" });
    await write(governance(), "reinstate", [hospital()]);
    expect(await verifyConsent(client, base)).to.include({ allowed: true });
  });

  it("accepts a relayed grant signed with the sdk's EIP-712 typed data", async () => {
    const signer = privateKeyToAccount(`0x${"11".repeat(32)}` as Hex);
    const now = Number((await client.getBlock()).timestamp);
    const message = {
      patient: signer.address,
      grantee: hospital(),
      categories: categoriesToMask(["Condition"]),
      purpose: encodePurpose("TREAT"),
      validFrom: 0,
      expiresAt: now + 3600,
      nonce: 0n,
      deadline: grantSignatureDeadline(now, now), // the chain is the clock here (a loaded machine lags it)
    };
    const signature = await signer.signTypedData(grantTypedData({ chainId: 31337, registry }, message));
    expect(parseSignature(signature).r).to.match(/^0x/);
    await write(governance(), "grantBySig", [
      message.patient,
      message.grantee,
      message.categories,
      message.purpose,
      message.validFrom,
      message.expiresAt,
      message.deadline,
      signature,
    ]);
    const decision = await verifyConsent(client, {
      registry,
      patient: signer.address,
      grantee: hospital(),
      category: "Condition",
      purpose: "TREAT",
    });
    expect(decision).to.include({ allowed: true, expiresAt: now + 3600 });
  });

  it("a Grant signature made before a direct revoke never re-grants it; one made after, with grantSignatureDeadline, does", async () => {
    expect(
      await client.readContract({
        address: registry,
        abi: consentRegistryAbi,
        functionName: "GRANT_SIGNATURE_LIFETIME",
      }),
    ).to.equal(GRANT_SIGNATURE_LIFETIME_SECONDS);
    const p = accounts[5]!;
    const domain = { chainId: 31337, registry };
    const signGrant = async () => {
      const now = await t.now();
      const [, nonce] = await client.readContract({
        address: registry,
        abi: consentRegistryAbi,
        functionName: "patientState",
        args: [p],
      });
      const message = {
        patient: p,
        grantee: hospital(),
        categories: categoriesToMask(["Observation"]),
        purpose: encodePurpose("TREAT"),
        validFrom: 0,
        expiresAt: now + 30 * 86_400,
        nonce,
        deadline: grantSignatureDeadline(now, now), // the chain is the clock here (a loaded machine lags it)
      };
      const signature = await t.wallet.signTypedData({ account: p, ...grantTypedData(domain, message) });
      const args = [
        p,
        hospital(),
        message.categories,
        message.purpose,
        0,
        message.expiresAt,
        message.deadline,
        signature,
      ];
      return { message, args };
    };
    const relayed = (args: readonly unknown[]) =>
      client.simulateContract({
        account: governance(),
        address: registry,
        abi: consentRegistryAbi,
        functionName: "grantBySig",
        args: args as never,
      });
    const check = () =>
      verifyConsent(client, { registry, patient: p, grantee: hospital(), category: "Observation", purpose: "TREAT" });

    const kept = await signGrant(); // signed, never sent
    await write(p, "grant", [hospital(), kept.message.categories, kept.message.purpose, 0, kept.message.expiresAt]);
    await write(p, "revoke", [hospital(), purposeScope("TREAT")]);
    const refused = await relayed(kept.args).then(
      () => null,
      (error: Error) => error,
    );
    expect(refused?.message).to.match(/ConsentRegistrySignedBeforeRevocation/);
    expect(await check()).to.include({ allowed: false, reason: "NoGrant" });

    const fresh = await signGrant();
    await write(governance(), "grantBySig", fresh.args);
    expect(await check()).to.include({ allowed: true });
  });

  it("a commercial organization cannot read a non-commercial-only (NCU) grant by declaring its use non-commercial", async () => {
    const lab = accounts[6]!;
    const p = accounts[7]!;
    await write(governance(), "accredit", [lab, KINDS.RESEARCHER, "Example Pharma", "", `0x${"00".repeat(32)}`]);
    const now = await t.now();
    const ncu = encodePurpose({ purpose: "GRU", flags: ["NCU"] });
    await write(p, "grant", [lab, categoriesToMask(["Observation"]), ncu, 0, now + 30 * 86_400]);
    // The attack: the reader states a use without the commercial flag.
    const declared = { registry, patient: p, grantee: lab, category: "Observation", purpose: "GRU" } as const;
    expect(await verifyConsent(client, declared)).to.include({ allowed: false, reason: "PurposeNotCovered" });
    expect(await verifyConsent(client, { ...declared, purpose: encodePurpose("GRU") })).to.include({
      allowed: false,
      reason: "PurposeNotCovered",
    });
    expect(
      await client.readContract({
        address: registry,
        abi: consentRegistryAbi,
        functionName: "useProfile",
        args: [lab],
      }),
    ).to.deep.equal([true, true]);
    // Governance records it non-commercial (for profit still): the NCU grant passes, whatever is stated.
    await write(governance(), "setUseProfile", [lab, false, true]);
    expect(await verifyConsent(client, declared)).to.include({ allowed: true });
    const statedCommercial = { ...declared, purpose: encodePurpose({ purpose: "GRU", flags: ["NCU"] }) };
    expect(await verifyConsent(client, statedCommercial)).to.include({ allowed: true });
    await write(p, "grant", [
      lab,
      categoriesToMask(["Observation"]),
      encodePurpose({ purpose: "GRU", flags: ["NPU"] }),
      0,
      now + 30 * 86_400,
    ]);
    expect(await verifyConsent(client, declared)).to.include({ allowed: false, reason: "PurposeNotCovered" });
  });
});
