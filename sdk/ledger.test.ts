import { expect } from "chai";
import { type Address, type PublicClient, BaseError, encodeErrorResult, getAddress, zeroAddress } from "viem";

import ConsentRegistryModule from "../ignition/modules/ConsentRegistry.ts";
import { sdkTestChain } from "./testing/chain.ts";
import {
  EMERGENCY_REASON_ON_CHAIN,
  KINDS,
  ROLES,
  categoriesToMask,
  emergencyReasonCommitment,
  encodePurpose,
  grantScope,
  newEmergencyReasonSalt,
  purposeScope,
} from "./codes.ts";
import { explainContractError, explainTransactionError } from "./errors.ts";
import { consentRegistryAbi } from "./generated/abis.ts";
import {
  NO_END,
  grantState,
  readDelegates,
  readEmergencyLog,
  readMembers,
  readMembershipOffers,
  readOpenEmergencies,
  readOrganizations,
  readPatientGrants,
  readPatientsActedFor,
  toConsentBundle,
  toGrantRecord,
} from "./ledger.ts";

// The patient's ledger as the wallet app and a gateway read it, against a real EDR chain.
describe("ledger reads and revert explanations (sdk) on a real chain", function () {
  this.timeout(60_000);
  let client: PublicClient;
  let registry: Address;
  let accounts: Address[];
  let write: (account: Address, functionName: string, args: readonly unknown[]) => Promise<void>;
  let mine: (seconds: number) => Promise<void>;
  let now: () => Promise<number>;

  const governance = () => accounts[0]!;
  const patient = () => accounts[1]!;
  const hospital = () => accounts[2]!;
  const clinician = () => accounts[3]!;
  const researcher = () => accounts[4]!;
  const caregiver = () => accounts[5]!;
  const other = () => accounts[6]!;

  before(async () => {
    const t = await sdkTestChain(ConsentRegistryModule);
    registry = getAddress(await t.deployed.consentRegistry.getAddress());
    ({ client, accounts, mine, now } = t);
    write = (account, functionName, args) => t.write(account, registry, consentRegistryAbi, functionName, args);
    const licence = `0x${"00".repeat(32)}`;
    await write(governance(), "accredit", [hospital(), KINDS.PROVIDER, "St. Example Hospital", "", licence]);
    await write(governance(), "accredit", [researcher(), KINDS.RESEARCHER, "Example Research Institute", "", licence]);
    await write(hospital(), "offerMembership", [hospital(), clinician(), ROLES.CLINICIAN]);
    await write(clinician(), "acceptMembership", [hospital(), ROLES.CLINICIAN]);
  });

  it("shows a cancelled study's grant ended when its manager ended it, and a DS grant keyed by its disease", async () => {
    const manager = other();
    const studyPatient = accounts[7]!;
    const role = await client.readContract({
      address: registry,
      abi: consentRegistryAbi,
      functionName: "STUDY_MANAGER_ROLE",
    });
    await write(governance(), "grantRole", [role, manager]);
    const studyKey = `0x${"ab".repeat(32)}` as const;
    const start = await now();
    const purpose = encodePurpose("HMB");
    await write(manager, "grantStudyConsent", [
      studyPatient,
      researcher(),
      studyKey,
      categoriesToMask(["Observation"]),
      purpose,
      start + 30 * 86_400,
    ]);
    const ds = encodePurpose({ purpose: "DS", disease: 4242, flags: ["NCU"] });
    await write(studyPatient, "grant", [researcher(), categoriesToMask(["Condition"]), ds, 0, start + 30 * 86_400]);
    const before = await readPatientGrants(client, { registry, patient: studyPatient });
    const study = before.grants.find((g) => g.studyKey === studyKey)!;
    expect(grantState(study, before.timestamp)).to.equal("active");
    const direct = before.grants.find((g) => g.purpose === ds)!;
    expect(direct.studyKey).to.equal(null);
    expect(direct.scope).to.equal(grantScope(ds));
    expect(BigInt(direct.scope)).to.equal(9n | (4242n << 16n));

    await write(manager, "endStudyConsents", [studyKey]);
    const after = await readPatientGrants(client, { registry, patient: studyPatient });
    const ended = after.grants.find((g) => g.studyKey === studyKey)!;
    expect(ended.expiresAt).to.be.at.most(after.timestamp);
    expect(grantState(ended, after.timestamp)).to.equal("expired");
    expect(
      grantState(
        after.grants.find((g) => g.purpose === ds)!,
        after.timestamp,
      ),
    ).to.equal("active");
    await write(studyPatient, "revoke", [researcher(), grantScope(ds)]);
  });

  it("lists organizations with kind, status and use profile", async () => {
    await write(governance(), "suspend", [researcher(), `0x${"00".repeat(32)}`]);
    const orgs = await readOrganizations(client, { registry });
    expect(orgs.map((o) => [o.name, o.kind, o.active])).to.deep.equal([
      ["St. Example Hospital", "PROVIDER", true],
      ["Example Research Institute", "RESEARCHER", false],
    ]);
    expect(orgs.map((o) => [o.commercial, o.forProfit])).to.deep.equal([
      [true, true],
      [true, true],
    ]); // no record: commercial and for-profit
    await write(governance(), "reinstate", [researcher()]);
    await write(governance(), "setUseProfile", [researcher(), false, true]);
    const [, recorded] = await readOrganizations(client, { registry });
    expect([recorded!.commercial, recorded!.forProfit]).to.deep.equal([false, true]);
    await write(governance(), "setUseProfile", [researcher(), true, true]);
  });

  it("follows each grant to active, not yet valid, expired, revoked and revoked-by-revoke-all", async () => {
    const t = await now();
    const obs = categoriesToMask(["Observation"]);
    await write(patient(), "grant", [hospital(), obs, encodePurpose("TREAT"), 0, t + 100]);
    await write(patient(), "grant", [hospital(), obs | 4, encodePurpose("HOPERAT"), t + 10_000, t + 20_000]);
    await write(patient(), "grant", [researcher(), obs, encodePurpose("GRU"), 0, t + 50_000]);
    await write(patient(), "revoke", [researcher(), purposeScope("GRU")]);

    let { grants } = await readPatientGrants(client, { registry, patient: patient() });
    const at = await now();
    const byPurpose = (p: bigint) => grants.find((g) => g.purpose === p)!;
    expect(grants).to.have.length(3);
    expect(grantState(byPurpose(encodePurpose("TREAT")), at)).to.equal("active");
    expect(grantState(byPurpose(encodePurpose("HOPERAT")), at)).to.equal("not-yet-valid");
    const revoked = byPurpose(encodePurpose("GRU"));
    expect(grantState(revoked, at)).to.equal("revoked");
    expect(revoked.revoked).to.deep.include({ all: false });
    expect(revoked.revoked!.by.toLowerCase()).to.equal(patient().toLowerCase());
    expect(revoked.categories, "a revoked grant keeps what it was").to.equal(obs);
    expect(grantState(byPurpose(encodePurpose("TREAT")), at + 200)).to.equal("expired");

    await mine(200);
    await write(patient(), "revokeAll", []);
    ({ grants } = await readPatientGrants(client, { registry, patient: patient() }));
    const hoperat = byPurpose(encodePurpose("HOPERAT"));
    expect(hoperat.revoked).to.deep.include({ all: true });
    expect(grantState(hoperat, await now())).to.equal("revoked");

    // Granting again after a revoke-all brings the grant back to life (the new epoch).
    const t2 = await now();
    await write(patient(), "grant", [hospital(), obs, encodePurpose("HOPERAT"), 0, t2 + 3600]);
    ({ grants } = await readPatientGrants(client, { registry, patient: patient() }));
    expect(grantState(byPurpose(encodePurpose("HOPERAT")), await now())).to.equal("active");
    expect(byPurpose(encodePurpose("HOPERAT")).validFrom).to.be.greaterThan(t2 - 1);
  });

  it("says when a consent was revoked, and keeps the earlier consents a new grant replaced", async () => {
    const obs = categoriesToMask(["Observation"]);
    const hmb = encodePurpose("HMB");
    const blockTime = async () => Number((await client.getBlock()).timestamp);
    const t = await now();
    await write(patient(), "grant", [researcher(), obs, hmb, 0, t + 1000]);
    const firstAt = await blockTime();
    await mine(10);
    await write(patient(), "grant", [researcher(), obs | 4, hmb, 0, t + 5000]);
    const replacedAt = await blockTime();
    await mine(10);
    await write(patient(), "revoke", [researcher(), purposeScope("HMB")]);
    const revokedAt = await blockTime();

    let { grants } = await readPatientGrants(client, { registry, patient: patient() });
    let grant = grants.find((g) => g.purpose === hmb)!;
    expect(grant.revoked).to.deep.include({ all: false, at: revokedAt });
    expect(grant.categories).to.equal(obs | 4);
    expect(grant.earlier).to.have.length(1);
    expect(grant.earlier![0]).to.deep.include({ categories: obs, validFrom: firstAt, expiresAt: t + 1000 });
    expect(grant.earlier![0]!.ended).to.deep.equal({ at: replacedAt, how: "replaced" });

    // Given again: the revoked one joins the earlier consents, ended when it was revoked.
    await mine(10);
    await write(patient(), "grant", [researcher(), obs, hmb, 0, (await now()) + 3600]);
    ({ grants } = await readPatientGrants(client, { registry, patient: patient() }));
    grant = grants.find((g) => g.purpose === hmb)!;
    expect(grant.revoked).to.equal(null);
    expect(grant.earlier!.map((e) => e.ended)).to.deep.equal([
      { at: replacedAt, how: "replaced" },
      { at: revokedAt, how: "revoked" },
    ]);
    // A grant given once has no earlier consents.
    expect(grants.find((g) => g.purpose === encodePurpose("GRU"))!.earlier).to.deep.equal([]);
  });

  it("exports grants as a FHIR Bundle of Consent resources", async () => {
    const { grants, timestamp } = await readPatientGrants(client, { registry, patient: patient() });
    const t = await now();
    expect(timestamp).to.equal(t);
    const bundle = toConsentBundle(
      grants.map((g) => toGrantRecord(g, { chainId: 31337, registry, now: t, granteeName: "St. Example Hospital" })),
    );
    expect(bundle.resourceType).to.equal("Bundle");
    expect(bundle.entry).to.have.length(grants.length);
    expect(new Set(bundle.entry.map((e) => e.fullUrl)).size).to.equal(grants.length);
    for (const e of bundle.entry) expect(e.fullUrl).to.match(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab]/);
    const statuses = bundle.entry.map((e) => e.resource.status).sort();
    expect(statuses).to.include("active").and.to.include("inactive");
  });

  it("reads delegates both ways, with no-end terms, leaving removed ones out", async () => {
    const t = await now();
    await write(patient(), "appointDelegate", [caregiver(), 0]);
    await write(patient(), "appointDelegate", [other(), t + 3600]);
    await write(other(), "appointDelegate", [caregiver(), t + 7200]);
    let delegates = await readDelegates(client, { registry, patient: patient() });
    expect(delegates.map((d) => [d.delegate, d.expiresAt])).to.deep.equal([
      [caregiver(), NO_END],
      [other(), t + 3600],
    ]);
    const actingFor = await readPatientsActedFor(client, { registry, delegate: caregiver() });
    expect(actingFor.map((d) => d.patient)).to.deep.equal([patient(), other()]);

    await write(patient(), "removeDelegate", [patient(), other()]);
    delegates = await readDelegates(client, { registry, patient: patient() });
    expect(delegates.map((d) => d.delegate)).to.deep.equal([caregiver()]);
  });

  it("reads open emergency access with its reason's commitment (never the reason), and drops it once closed", async () => {
    const chainId = await client.getChainId();
    const salt = newEmergencyReasonSalt();
    const commitment = emergencyReasonCommitment(
      { chainId, registry, patient: patient(), organization: hospital() },
      { reasonCode: 1, salt },
    );
    await write(clinician(), "openEmergencyAccess", [patient(), commitment, 3600]);
    let open = await readOpenEmergencies(client, { registry, patient: patient() });
    expect(open).to.have.length(1);
    expect(open[0]).to.include({ organization: hospital(), clinician: clinician(), reasonCommitment: commitment });
    expect(open[0]!.reason).to.equal(EMERGENCY_REASON_ON_CHAIN);
    await write(patient(), "closeEmergencyAccess", [patient(), hospital()]);
    open = await readOpenEmergencies(client, { registry, patient: patient() });
    expect(open).to.deep.equal([]);
  });

  it("logs every break-glass opening of every patient, newest first, with how it ended", async () => {
    // The one closed by the patient in the test before, then one left open.
    const commitment = emergencyReasonCommitment(
      { chainId: await client.getChainId(), registry, patient: caregiver(), organization: hospital() },
      { reasonCode: 2, salt: newEmergencyReasonSalt() },
    );
    await write(clinician(), "openEmergencyAccess", [caregiver(), commitment, 1800]);
    const log = await readEmergencyLog(client, { registry });
    expect(log.map((e) => [e.patient, e.state])).to.deep.equal([
      [caregiver(), "open"],
      [patient(), "closed"],
    ]);
    expect(log[0]).to.include({ organization: hospital(), clinician: clinician(), reasonCommitment: commitment });
    expect(log[0]!.closed).to.equal(null);
    expect(log[0]!.reason).to.equal(EMERGENCY_REASON_ON_CHAIN);
    expect(log[0]!.expiresAt - log[0]!.openedAt).to.equal(1800);
    expect(log[1]!.closed?.by).to.equal(patient());
    await mine(1801);
    expect((await readEmergencyLog(client, { registry }))[0]!.state).to.equal("expired");
  });

  it("reads an organization's current members from its events", async () => {
    expect(
      (await readMembers(client, { registry, organization: hospital() })).map((m) => [m.member, m.role]),
    ).to.deep.equal([[clinician(), ROLES.CLINICIAN]]);
    await write(hospital(), "offerMembership", [hospital(), other(), ROLES.ANALYST]);
    await write(hospital(), "offerMembership", [hospital(), other(), ROLES.ADMIN]);
    // An offer alone makes no member; it is listed as open, for the organization and the addressee.
    expect(
      (await readMembers(client, { registry, organization: hospital() })).map((m) => [m.member, m.role]),
    ).to.deep.equal([[clinician(), ROLES.CLINICIAN]]);
    const open = [[hospital(), other(), ROLES.ADMIN]];
    const offersOf = async (q: { organization?: Address; member?: Address }) =>
      (await readMembershipOffers(client, { registry, ...q } as Parameters<typeof readMembershipOffers>[1])).map(
        (o) => [o.organization, o.member, o.role],
      );
    expect(await offersOf({ organization: hospital() })).to.deep.equal(open);
    expect(await offersOf({ member: other() })).to.deep.equal(open);
    expect(await offersOf({ member: clinician() })).to.deep.equal([]);
    await write(other(), "acceptMembership", [hospital(), ROLES.ADMIN]);
    expect(await offersOf({ member: other() })).to.deep.equal([]);
    await write(hospital(), "offerMembership", [hospital(), caregiver(), ROLES.ANALYST]);
    await write(hospital(), "withdrawMembershipOffer", [hospital(), caregiver()]);
    expect(await offersOf({ organization: hospital() })).to.deep.equal([]);
    await write(hospital(), "removeMember", [hospital(), clinician()]);
    expect(
      (await readMembers(client, { registry, organization: hospital() })).map((m) => [m.member, m.role]),
    ).to.deep.equal([[other(), ROLES.ADMIN]]);
    await write(hospital(), "removeMember", [hospital(), other()]);
    await write(hospital(), "offerMembership", [hospital(), clinician(), ROLES.CLINICIAN]);
    await write(clinician(), "acceptMembership", [hospital(), ROLES.CLINICIAN]);
    expect(await readMembers(client, { registry, organization: researcher() })).to.deep.equal([]);
  });

  it("explains a simulated revert in plain words, from the decoded error or from raw revert data", async () => {
    const nameOf = (a: Address) =>
      a.toLowerCase() === researcher().toLowerCase() ? "Example Research Institute" : undefined;
    const t = await now();
    try {
      await client.simulateContract({
        account: patient(),
        address: registry,
        abi: consentRegistryAbi,
        functionName: "grant",
        args: [researcher(), 2, encodePurpose("TREAT"), 0, t + 3600],
      });
      expect.fail("the simulation should revert");
    } catch (error) {
      expect(error).to.be.instanceOf(BaseError);
      expect(explainTransactionError(error, { nameOf })).to.equal(
        "Example Research Institute is not an active, accredited healthcare provider, so it cannot receive consent for this purpose.",
      );
    }
    try {
      await client.simulateContract({
        account: patient(),
        address: registry,
        abi: consentRegistryAbi,
        functionName: "appointDelegate",
        args: [patient(), 0],
      });
      expect.fail("the simulation should revert");
    } catch (error) {
      expect(explainTransactionError(error)).to.equal(
        "You cannot appoint yourself as your own delegate; enter someone else's address.",
      );
    }
    // A wallet that returns only the raw revert data: decoded over the registry ABI.
    const data = encodeErrorResult({
      abi: consentRegistryAbi,
      errorName: "ConsentRegistryNoGrant",
      args: [`0x${"ab".repeat(32)}`],
    });
    const wrapped = new BaseError("execution reverted", { cause: Object.assign(new Error("reverted"), { data }) });
    expect(explainTransactionError(wrapped)).to.equal(
      "There is no consent to revoke: it may have been revoked already.",
    );
    expect(
      explainTransactionError(new BaseError("rejected", { cause: Object.assign(new Error("x"), { code: 4001 }) })),
    ).to.equal("You cancelled the request in your wallet.");
    expect(explainContractError("ConsentRegistryInvalidGrantee", [zeroAddress])).to.equal(
      "Choose who receives the consent.",
    );
    expect(explainContractError("SomethingNew", [])).to.equal("The contract refused the transaction (SomethingNew).");
  });
});
