/**
 * PreventionRewards and PreventionBadge: programmes (create by a payer or public-health body, fund
 * with approve or permit, cancel, reclaim), opt-in and opt-out (direct and by relayed EIP-712
 * signature) with the programme's consent in the registry, confirmation reports by custodian
 * gateways (pay once per patient and period, every skip reason), withdrawals through the shared
 * core, badges locked to the patient; the attacks: a stranger or a non-custodian gateway
 * confirming, double pay, pay after opt-out, pay beyond the budget, a badge transfer, a claim
 * without a confirmation, a replayed or expired opt-in signature.
 */
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { expect } from "chai";
import { network } from "hardhat";

import PreventionRewardsModule from "../../ignition/modules/PreventionRewards.ts";
import { permitTypes } from "#sdk/escrow.ts";
import { CVX_SYSTEM, badgeId, criterionHash, preventionTypes, programmeKey } from "#sdk/prevention.ts";
import type {
  ConsentRegistry,
  PreventionBadge,
  PreventionRewards,
  RemunerationToken,
} from "../../types/ethers-contracts/index.js";

const { ethers, ignition, networkHelpers } = await network.connect();
const { time, loadFixture } = networkHelpers;

const HPAYMT = 3n;
const PUBHLTH = 5n;
const IMMUNIZATION = 5;
const PROVIDER = 1;
const RESEARCHER = 2;
const PAYER = 3;
const PUBLIC_HEALTH = 4;
const ADMIN = 1;
const GATEWAY = 3;

// IPreventionRewards enums and IConsentRegistry.Reason
const OPTED_IN = 1;
const OPTED_OUT = 2;
const NOT_OPTED_IN = 0;
const ALREADY_PAID = 1;
const BUDGET_EXHAUSTED = 2;
const NO_ACTIVE_CONSENT = 3;
const PERIOD_BEFORE_OPT_IN = 4;
const ALLOWED = 0;
const EXPIRED = 10;
const NO_GRANT = 7;
const REVOKED_BY_REVOKE_ALL = 8;

const DAY = 86_400;
const YEAR = 365 * DAY;
const REWARD = ethers.parseEther("5");
const BUDGET = REWARD * 2n; // two confirmations
const FLU_CODE = criterionHash("141"); // CVX 141: influenza, seasonal, injectable

const OPT_IN_TYPES = { OptIn: [...preventionTypes.OptIn], Terms: [...preventionTypes.Terms] };
const OPT_OUT_TYPES = { OptOut: [...preventionTypes.OptOut] };
const PERMIT_TYPES = { Permit: [...permitTypes.Permit] };

type Params = {
  currency: string;
  category: number;
  codeSystem: string;
  code: string;
  firstPeriodStart: number;
  periodLength: number;
  reward: bigint;
  endTime: number;
  custodians: string[];
};

/**
 * Deploys through the Ignition module; accredits a payer (with an ADMIN member), a public-health
 * body, a research organization, a hospital and a lab with gateways and a third provider in no
 * programme; the payer's admin creates programme 1 (flu vaccination, yearly, hospital and lab,
 * two rewards of budget) running two years from its first period, which starts now.
 */
async function deployPreventionFixture() {
  const signers = await ethers.getSigners();
  const names = [
    "deployer",
    "payer",
    "payerAdmin",
    "publicHealth",
    "researcher",
    "hospital",
    "hospitalGateway",
    "lab",
    "labGateway",
    "otherProvider",
    "otherGateway",
    "patient",
    "patient2",
    "patient3",
    "relayer",
    "stranger",
  ] as const;
  const s = Object.fromEntries(names.map((n, i) => [n, signers[i]!])) as Record<
    (typeof names)[number],
    HardhatEthersSigner
  >;
  const deployed = await ignition.deploy(PreventionRewardsModule);
  const registry = deployed.consentRegistry as unknown as ConsentRegistry;
  const token = deployed.remunerationToken as unknown as RemunerationToken;
  const rewards = deployed.preventionRewards as unknown as PreventionRewards;
  const badge = deployed.preventionBadge as unknown as PreventionBadge;

  await registry.accredit(s.payer.address, PAYER, "Example Health Insurance", "", ethers.ZeroHash);
  await registry.accredit(s.publicHealth.address, PUBLIC_HEALTH, "Example Public Health", "", ethers.ZeroHash);
  await registry.accredit(s.researcher.address, RESEARCHER, "Example Research Institute", "", ethers.ZeroHash);
  await registry.accredit(s.hospital.address, PROVIDER, "St. Example Hospital", "", ethers.ZeroHash);
  await registry.accredit(s.lab.address, PROVIDER, "Riverside Clinical Lab", "", ethers.ZeroHash);
  await registry.accredit(s.otherProvider.address, PROVIDER, "Elsewhere Clinic", "", ethers.ZeroHash);
  await registry.connect(s.payer).offerMembership(s.payer.address, s.payerAdmin.address, ADMIN);
  await registry.connect(s.payerAdmin).acceptMembership(s.payer.address, ADMIN);
  for (const [org, gw] of [
    [s.hospital, s.hospitalGateway],
    [s.lab, s.labGateway],
    [s.otherProvider, s.otherGateway],
  ] as const) {
    await registry.connect(org).offerMembership(org.address, gw.address, GATEWAY);
    await registry.connect(gw).acceptMembership(org.address, GATEWAY);
  }

  const rewardsAddress = await rewards.getAddress();
  const tokenAddress = await token.getAddress();
  for (const funder of [s.payer, s.payerAdmin, s.publicHealth]) {
    await token.mint(funder.address, ethers.parseEther("1000"));
    await token.connect(funder).approve(rewardsAddress, ethers.MaxUint256);
  }
  const now = await time.latest();
  const params: Params = {
    currency: tokenAddress,
    category: IMMUNIZATION,
    codeSystem: criterionHash(CVX_SYSTEM),
    code: FLU_CODE,
    firstPeriodStart: now,
    periodLength: YEAR,
    reward: REWARD,
    endTime: now + 2 * YEAR,
    custodians: [s.hospital.address, s.lab.address],
  };
  await rewards.connect(s.payerAdmin).createProgramme(params, BUDGET);
  const programmeId = 1n;
  const key = programmeKey(rewardsAddress as `0x${string}`, programmeId);
  const chainId = (await ethers.provider.getNetwork()).chainId;
  const domain = { name: "Consentry PreventionRewards", version: "1", chainId, verifyingContract: rewardsAddress };
  return { ...s, registry, token, rewards, badge, rewardsAddress, tokenAddress, params, programmeId, key, domain };
}

type Fixture = Awaited<ReturnType<typeof deployPreventionFixture>>;

async function signOptIn(
  f: Fixture,
  signer: HardhatEthersSigner,
  programmeId: bigint,
  nonce: bigint,
  deadline: number,
  registryNonce?: bigint,
) {
  const p = await f.rewards.getProgramme(programmeId);
  return signer.signTypedData(f.domain, OPT_IN_TYPES, {
    programmeId,
    patient: signer.address,
    terms: {
      payer: p.payer,
      category: p.category,
      codeSystem: p.codeSystem,
      code: p.code,
      reward: p.reward,
      currency: p.currency,
      endTime: p.endTime,
    },
    registryNonce: registryNonce ?? (await f.registry.revocationNonce(signer.address)),
    nonce,
    deadline,
  });
}

/** The contract's accounted total equals the budgets plus the balances of these accounts, and its tokens cover it. */
async function expectAccounted(f: Fixture, programmes: bigint[], accounts: string[]) {
  let total = 0n;
  for (const id of programmes) total += (await f.rewards.getProgramme(id)).budget;
  for (const account of accounts) total += await f.rewards.balanceOf(f.tokenAddress, account);
  expect(await f.rewards.accounted(f.tokenAddress)).to.equal(total);
  expect(await f.token.balanceOf(f.rewardsAddress)).to.equal(total);
}

describe("PreventionRewards", function () {
  describe("deployment", function () {
    it("holds the registry's STUDY_MANAGER_ROLE, allows the token and links the badge", async function () {
      const f = await loadFixture(deployPreventionFixture);
      expect(await f.registry.hasRole(await f.registry.STUDY_MANAGER_ROLE(), f.rewardsAddress)).to.equal(true);
      expect(await f.rewards.isCurrencyAllowed(f.tokenAddress)).to.equal(true);
      expect(await f.rewards.registry()).to.equal(await f.registry.getAddress());
      expect(await f.badge.rewards()).to.equal(f.rewardsAddress);
      expect(await f.badge.supportsInterface("0xb45a3c0e")).to.equal(true); // ERC-5192
      expect(await f.badge.supportsInterface("0x80ac58cd")).to.equal(true); // ERC-721
      const [, name, version, chainId, verifyingContract] = await f.rewards.eip712Domain();
      expect([name, version, chainId, verifyingContract]).to.deep.equal([
        "Consentry PreventionRewards",
        "1",
        f.domain.chainId,
        f.rewardsAddress,
      ]);
    });
  });

  describe("programmes", function () {
    it("creates a programme by a payer's ADMIN member: record, custodians, key, budget, events", async function () {
      const f = await loadFixture(deployPreventionFixture);
      const p = await f.rewards.getProgramme(f.programmeId);
      expect(p.payer).to.equal(f.payer.address);
      expect(p.purpose).to.equal(HPAYMT);
      expect(p.category).to.equal(IMMUNIZATION);
      expect(p.codeSystem).to.equal(f.params.codeSystem);
      expect(p.code).to.equal(FLU_CODE);
      expect(p.reward).to.equal(REWARD);
      expect(p.budget).to.equal(BUDGET);
      expect(p.periodLength).to.equal(YEAR);
      expect(p.custodianCount).to.equal(2);
      expect(await f.rewards.programmeCustodians(f.programmeId)).to.deep.equal(f.params.custodians);
      expect(await f.rewards.programmeKey(f.programmeId)).to.equal(f.key);
      expect(await f.rewards.programmeCount()).to.equal(1n);
      await expectAccounted(f, [1n], []);

      const params = { ...f.params, endTime: (await time.latest()) + YEAR };
      await expect(f.rewards.connect(f.payer).createProgramme(params, REWARD))
        .to.emit(f.rewards, "ProgrammeCreated")
        .withArgs(
          2n,
          f.payer.address,
          f.tokenAddress,
          programmeKey(f.rewardsAddress as `0x${string}`, 2n),
          HPAYMT,
          IMMUNIZATION,
          params.codeSystem,
          params.code,
          params.firstPeriodStart,
          params.periodLength,
          params.reward,
          params.endTime,
          f.payer.address,
        )
        .and.to.emit(f.rewards, "ProgrammeCustodianAllowed")
        .withArgs(2n, f.hospital.address)
        .and.to.emit(f.rewards, "ProgrammeFunded")
        .withArgs(2n, f.payer.address, REWARD, REWARD);
    });

    it("gives a public-health body's programme the purpose PUBHLTH", async function () {
      const f = await loadFixture(deployPreventionFixture);
      await f.rewards.connect(f.publicHealth).createProgramme(f.params, 0n);
      expect((await f.rewards.getProgramme(2n)).purpose).to.equal(PUBHLTH);
      await f.rewards.connect(f.patient).optIn(2n);
      const grant = await f.registry.getGrant(
        await f.registry.grantIdOf(
          f.patient.address,
          f.publicHealth.address,
          programmeKey(f.rewardsAddress as `0x${string}`, 2n),
        ),
      );
      expect(grant.purpose).to.equal(PUBHLTH);
    });

    it("funds by permit", async function () {
      const f = await loadFixture(deployPreventionFixture);
      await f.token.connect(f.payer).approve(f.rewardsAddress, 0n);
      const deadline = (await time.latest()) + DAY;
      const raw = await f.payer.signTypedData(
        { name: await f.token.name(), version: "1", chainId: f.domain.chainId, verifyingContract: f.tokenAddress },
        PERMIT_TYPES,
        {
          owner: f.payer.address,
          spender: f.rewardsAddress,
          value: REWARD,
          nonce: await f.token.nonces(f.payer.address),
          deadline,
        },
      );
      const sig = ethers.Signature.from(raw);
      await expect(f.rewards.connect(f.payer).fundWithPermit(f.programmeId, REWARD, deadline, sig.v, sig.r, sig.s))
        .to.emit(f.rewards, "ProgrammeFunded")
        .withArgs(f.programmeId, f.payer.address, REWARD, BUDGET + REWARD);
      await expectAccounted(f, [1n], []);
    });

    it("creates and funds by permit in one transaction; refuses a zero amount and a budget above uint128", async function () {
      const f = await loadFixture(deployPreventionFixture);
      await f.token.connect(f.publicHealth).approve(f.rewardsAddress, 0n);
      const deadline = (await time.latest()) + DAY;
      const raw = await f.publicHealth.signTypedData(
        { name: await f.token.name(), version: "1", chainId: f.domain.chainId, verifyingContract: f.tokenAddress },
        PERMIT_TYPES,
        {
          owner: f.publicHealth.address,
          spender: f.rewardsAddress,
          value: REWARD,
          nonce: await f.token.nonces(f.publicHealth.address),
          deadline,
        },
      );
      const sig = ethers.Signature.from(raw);
      await expect(
        f.rewards.connect(f.publicHealth).createProgrammeWithPermit(f.params, REWARD, deadline, sig.v, sig.r, sig.s),
      )
        .to.emit(f.rewards, "ProgrammeFunded")
        .withArgs(2n, f.publicHealth.address, REWARD, REWARD);
      await expectAccounted(f, [1n, 2n], []);
      await expect(f.rewards.connect(f.payer).fund(f.programmeId, 0n)).to.be.revertedWithCustomError(
        f.rewards,
        "StudyEscrowZeroAmount",
      );
      const max = (1n << 128n) - 1n;
      await f.token.mint(f.payer.address, max);
      await expect(f.rewards.connect(f.payer).fund(f.programmeId, max))
        .to.be.revertedWithCustomError(f.rewards, "PreventionRewardsBudgetOverflow")
        .withArgs(f.programmeId, BUDGET, max);
    });

    it("tells the period of a time, from the first period's start", async function () {
      const f = await loadFixture(deployPreventionFixture);
      const start = BigInt(f.params.firstPeriodStart);
      expect(await f.rewards.periodAt(f.programmeId, start)).to.equal(0n);
      expect(await f.rewards.periodAt(f.programmeId, start + BigInt(YEAR) - 1n)).to.equal(0n);
      expect(await f.rewards.periodAt(f.programmeId, start + BigInt(YEAR))).to.equal(1n);
      await expect(f.rewards.periodAt(f.programmeId, start - 1n))
        .to.be.revertedWithCustomError(f.rewards, "PreventionRewardsInvalidPeriod")
        .withArgs(f.programmeId, 0);
      await expect(f.rewards.periodAt(5n, start))
        .to.be.revertedWithCustomError(f.rewards, "PreventionRewardsUnknownProgramme")
        .withArgs(5n);
    });

    it("refuses a creator that is not a payer or public-health body, and bad terms", async function () {
      const f = await loadFixture(deployPreventionFixture);
      for (const caller of [f.researcher, f.stranger, f.hospital]) {
        await expect(f.rewards.connect(caller).createProgramme(f.params, 0n))
          .to.be.revertedWithCustomError(f.rewards, "PreventionRewardsNotPayer")
          .withArgs(caller.address);
      }
      const bad = async (overrides: Partial<Params>) =>
        f.rewards.connect(f.payer).createProgramme({ ...f.params, ...overrides }, 0n);
      await expect(bad({ category: 10 }))
        .to.be.revertedWithCustomError(f.rewards, "PreventionRewardsInvalidCategory")
        .withArgs(10);
      await expect(bad({ code: ethers.ZeroHash })).to.be.revertedWithCustomError(
        f.rewards,
        "PreventionRewardsInvalidCode",
      );
      await expect(bad({ reward: 0n })).to.be.revertedWithCustomError(f.rewards, "PreventionRewardsInvalidReward");
      await expect(bad({ periodLength: 0 })).to.be.revertedWithCustomError(
        f.rewards,
        "PreventionRewardsInvalidSchedule",
      );
      await expect(bad({ custodians: [] }))
        .to.be.revertedWithCustomError(f.rewards, "PreventionRewardsInvalidCustodianCount")
        .withArgs(0, 16);
      await expect(bad({ custodians: [f.hospital.address, f.hospital.address] }))
        .to.be.revertedWithCustomError(f.rewards, "PreventionRewardsDuplicateCustodian")
        .withArgs(f.hospital.address);
      await expect(bad({ custodians: [f.payer.address] }))
        .to.be.revertedWithCustomError(f.rewards, "PreventionRewardsCustodianNotProvider")
        .withArgs(f.payer.address);
      await expect(bad({ currency: f.rewardsAddress }))
        .to.be.revertedWithCustomError(f.rewards, "StudyEscrowCurrencyNotAllowed")
        .withArgs(f.rewardsAddress);
    });

    it("cancels (ending every consent at once) and reclaims to the payer; only its managers", async function () {
      const f = await loadFixture(deployPreventionFixture);
      await f.rewards.connect(f.patient).optIn(f.programmeId);
      await expect(f.rewards.connect(f.stranger).cancelProgramme(f.programmeId))
        .to.be.revertedWithCustomError(f.rewards, "PreventionRewardsNotManager")
        .withArgs(f.programmeId, f.stranger.address);
      await expect(f.rewards.connect(f.payer).reclaim(f.programmeId)).to.be.revertedWithCustomError(
        f.rewards,
        "PreventionRewardsProgrammeNotOver",
      );
      await expect(f.rewards.connect(f.payerAdmin).cancelProgramme(f.programmeId))
        .to.emit(f.rewards, "ProgrammeCancelled")
        .withArgs(f.programmeId, f.payerAdmin.address);
      const [reason] = await f.registry.scopeStatus(f.patient.address, f.payer.address, f.key, IMMUNIZATION);
      expect(reason).to.equal(EXPIRED);
      const before = await f.token.balanceOf(f.payer.address);
      await expect(f.rewards.connect(f.payerAdmin).reclaim(f.programmeId))
        .to.emit(f.rewards, "ProgrammeBudgetReclaimed")
        .withArgs(f.programmeId, f.payer.address, BUDGET);
      expect(await f.token.balanceOf(f.payer.address)).to.equal(before + BUDGET);
      await expect(f.rewards.connect(f.payer).reclaim(f.programmeId))
        .to.be.revertedWithCustomError(f.rewards, "PreventionRewardsNothingToReclaim")
        .withArgs(f.programmeId);
      await expect(f.rewards.connect(f.patient2).optIn(f.programmeId)).to.be.revertedWithCustomError(
        f.rewards,
        "PreventionRewardsProgrammeClosed",
      );
      await expectAccounted(f, [1n], [f.patient.address]);
    });
  });

  describe("opt-in and opt-out", function () {
    it("creates the programme's consent: the criterion's category, HPAYMT, the programme's end", async function () {
      const f = await loadFixture(deployPreventionFixture);
      await expect(f.rewards.connect(f.patient).optIn(f.programmeId))
        .to.emit(f.rewards, "OptedIn")
        .withArgs(f.programmeId, f.patient.address, f.patient.address)
        .and.to.emit(f.registry, "ConsentGranted");
      const grant = await f.registry.getGrant(await f.registry.grantIdOf(f.patient.address, f.payer.address, f.key));
      expect(grant.categories).to.equal(1 << IMMUNIZATION);
      expect(grant.purpose).to.equal(HPAYMT);
      expect(grant.expiresAt).to.equal(f.params.endTime);
      const [reason] = await f.registry.scopeStatus(f.patient.address, f.payer.address, f.key, IMMUNIZATION);
      expect(reason).to.equal(ALLOWED);
      const e = await f.rewards.getEnrolment(f.programmeId, f.patient.address);
      expect([e.index, e.status, e.nonce]).to.deep.equal([0n, BigInt(OPTED_IN), 0n]);
      // The consent opens no record: mayUse reads purpose scopes only.
      const [allowed] = await f.registry.mayUse(f.patient.address, f.payer.address, HPAYMT, IMMUNIZATION);
      expect(allowed).to.equal(false);
    });

    it("opts out at once: the consent is revoked and the nonce used up", async function () {
      const f = await loadFixture(deployPreventionFixture);
      await f.rewards.connect(f.patient).optIn(f.programmeId);
      await expect(f.rewards.connect(f.patient).optOut(f.programmeId))
        .to.emit(f.rewards, "OptedOut")
        .withArgs(f.programmeId, f.patient.address, f.patient.address)
        .and.to.emit(f.registry, "ConsentRevoked");
      const [reason] = await f.registry.scopeStatus(f.patient.address, f.payer.address, f.key, IMMUNIZATION);
      expect(reason).to.equal(NO_GRANT);
      const e = await f.rewards.getEnrolment(f.programmeId, f.patient.address);
      expect([e.status, e.nonce]).to.deep.equal([BigInt(OPTED_OUT), 1n]);
      await expect(f.rewards.connect(f.patient).optOut(f.programmeId))
        .to.be.revertedWithCustomError(f.rewards, "PreventionRewardsNotOptedIn")
        .withArgs(f.programmeId, f.patient.address);
      // Opting in again keeps the index.
      await f.rewards.connect(f.patient).optIn(f.programmeId);
      expect((await f.rewards.getEnrolment(f.programmeId, f.patient.address)).index).to.equal(0n);
    });

    it("opts in and out by a relayed signature; refuses a replayed, expired or foreign one", async function () {
      const f = await loadFixture(deployPreventionFixture);
      const deadline = (await time.latest()) + DAY;
      const sig = await signOptIn(f, f.patient, f.programmeId, 0n, deadline);
      await expect(f.rewards.connect(f.relayer).optInBySig(f.programmeId, f.patient.address, deadline, sig))
        .to.emit(f.rewards, "OptedIn")
        .withArgs(f.programmeId, f.patient.address, f.relayer.address);
      expect((await f.rewards.getEnrolment(f.programmeId, f.patient.address)).nonce).to.equal(1n);
      // Replayed: the nonce moved on.
      await expect(f.rewards.connect(f.relayer).optInBySig(f.programmeId, f.patient.address, deadline, sig))
        .to.be.revertedWithCustomError(f.rewards, "StudyEscrowInvalidSignature")
        .withArgs(f.patient.address, 1n);
      // Expired.
      const past = (await time.latest()) - 1;
      const old = await signOptIn(f, f.patient2, f.programmeId, 0n, past);
      await expect(
        f.rewards.connect(f.relayer).optInBySig(f.programmeId, f.patient2.address, past, old),
      ).to.be.revertedWithCustomError(f.rewards, "StudyEscrowSignatureExpired");
      // Someone else's signature for patient2.
      const foreign = await signOptIn(f, f.patient3, f.programmeId, 0n, deadline);
      await expect(
        f.rewards.connect(f.relayer).optInBySig(f.programmeId, f.patient2.address, deadline, foreign),
      ).to.be.revertedWithCustomError(f.rewards, "StudyEscrowInvalidSignature");
      // Signed opt-out.
      const out = await f.patient.signTypedData(f.domain, OPT_OUT_TYPES, {
        programmeId: f.programmeId,
        patient: f.patient.address,
        nonce: 1n,
        deadline,
      });
      await expect(f.rewards.connect(f.relayer).optOutBySig(f.programmeId, f.patient.address, deadline, out))
        .to.emit(f.rewards, "OptedOut")
        .withArgs(f.programmeId, f.patient.address, f.relayer.address);
      // A patient voids an outstanding signature.
      const pending = await signOptIn(f, f.patient2, f.programmeId, 0n, deadline);
      await expect(f.rewards.connect(f.patient2).cancelSignatures(f.programmeId))
        .to.emit(f.rewards, "ProgrammeSignaturesCancelled")
        .withArgs(f.programmeId, f.patient2.address, 1n);
      await expect(
        f.rewards.connect(f.relayer).optInBySig(f.programmeId, f.patient2.address, deadline, pending),
      ).to.be.revertedWithCustomError(f.rewards, "StudyEscrowInvalidSignature");
    });

    it("refuses an unknown programme", async function () {
      const f = await loadFixture(deployPreventionFixture);
      await expect(f.rewards.connect(f.patient).optIn(9n))
        .to.be.revertedWithCustomError(f.rewards, "PreventionRewardsUnknownProgramme")
        .withArgs(9n);
    });
  });

  describe("confirmations", function () {
    it("pays once per patient and period, and the patient withdraws through the shared core", async function () {
      const f = await loadFixture(deployPreventionFixture);
      await f.rewards.connect(f.patient).optIn(f.programmeId);
      await expect(f.rewards.connect(f.hospitalGateway).reportConfirmations(f.programmeId, 0, [f.patient.address]))
        .to.emit(f.rewards, "ConfirmationPaid")
        .withArgs(f.programmeId, f.patient.address, f.hospital.address, 0, REWARD)
        .and.to.emit(f.rewards, "ConfirmationsReported")
        .withArgs(f.programmeId, f.hospital.address, f.hospitalGateway.address, 0, 1n, 0n);
      expect(await f.rewards.isConfirmed(f.programmeId, f.patient.address, 0)).to.equal(true);
      expect(await f.rewards.isConfirmed(f.programmeId, f.patient.address, 1)).to.equal(false);
      expect(await f.rewards.balanceOf(f.tokenAddress, f.patient.address)).to.equal(REWARD);
      // Double pay: the same period again, by another custodian.
      await expect(f.rewards.connect(f.labGateway).reportConfirmations(f.programmeId, 0, [f.patient.address]))
        .to.emit(f.rewards, "ConfirmationSkipped")
        .withArgs(f.programmeId, f.patient.address, f.lab.address, 0, ALREADY_PAID, ALLOWED);
      expect(await f.rewards.balanceOf(f.tokenAddress, f.patient.address)).to.equal(REWARD);
      await expectAccounted(f, [1n], [f.patient.address]);

      // The next period pays again (once it started).
      await expect(
        f.rewards.connect(f.labGateway).reportConfirmations(f.programmeId, 1, [f.patient.address]),
      ).to.be.revertedWithCustomError(f.rewards, "PreventionRewardsInvalidPeriod");
      await time.increase(YEAR);
      expect(await f.rewards.periodAt(f.programmeId, await time.latest())).to.equal(1);
      await f.rewards.connect(f.labGateway).reportConfirmations(f.programmeId, 1, [f.patient.address]);
      expect(await f.rewards.balanceOf(f.tokenAddress, f.patient.address)).to.equal(REWARD * 2n);

      const before = await f.token.balanceOf(f.patient.address);
      await expect(f.rewards.connect(f.patient).withdraw(f.tokenAddress))
        .to.emit(f.rewards, "Withdrawn")
        .withArgs(f.patient.address, f.tokenAddress, REWARD * 2n);
      expect(await f.token.balanceOf(f.patient.address)).to.equal(before + REWARD * 2n);
      await expectAccounted(f, [1n], [f.patient.address]);
    });

    it("skips a patient not opted in, or opted out, or whose consent was revoked in the registry", async function () {
      const f = await loadFixture(deployPreventionFixture);
      await f.rewards.connect(f.patient).optIn(f.programmeId);
      await f.rewards.connect(f.patient2).optIn(f.programmeId);
      await f.rewards.connect(f.patient).optOut(f.programmeId);
      await f.registry.connect(f.patient2).revokeAll();
      const batch = [f.patient.address, f.patient2.address, f.patient3.address];
      const tx = f.rewards.connect(f.hospitalGateway).reportConfirmations(f.programmeId, 0, batch);
      await expect(tx)
        .to.emit(f.rewards, "ConfirmationSkipped")
        .withArgs(f.programmeId, f.patient.address, f.hospital.address, 0, NOT_OPTED_IN, ALLOWED);
      await expect(tx)
        .to.emit(f.rewards, "ConfirmationSkipped")
        .withArgs(f.programmeId, f.patient2.address, f.hospital.address, 0, NO_ACTIVE_CONSENT, REVOKED_BY_REVOKE_ALL);
      await expect(tx)
        .to.emit(f.rewards, "ConfirmationSkipped")
        .withArgs(f.programmeId, f.patient3.address, f.hospital.address, 0, NOT_OPTED_IN, ALLOWED);
      await expect(tx)
        .to.emit(f.rewards, "ConfirmationsReported")
        .withArgs(f.programmeId, f.hospital.address, f.hospitalGateway.address, 0, 0n, 3n);
      expect((await f.rewards.getProgramme(f.programmeId)).budget).to.equal(BUDGET);
    });

    it("never pays beyond the budget: skips, does not revert the batch", async function () {
      const f = await loadFixture(deployPreventionFixture);
      for (const p of [f.patient, f.patient2, f.patient3]) await f.rewards.connect(p).optIn(f.programmeId);
      const tx = f.rewards
        .connect(f.hospitalGateway)
        .reportConfirmations(f.programmeId, 0, [f.patient.address, f.patient2.address, f.patient3.address]);
      await expect(tx)
        .to.emit(f.rewards, "ConfirmationSkipped")
        .withArgs(f.programmeId, f.patient3.address, f.hospital.address, 0, BUDGET_EXHAUSTED, ALLOWED);
      await expect(tx)
        .to.emit(f.rewards, "ConfirmationsReported")
        .withArgs(f.programmeId, f.hospital.address, f.hospitalGateway.address, 0, 2n, 1n);
      expect((await f.rewards.getProgramme(f.programmeId)).budget).to.equal(0n);
      await expectAccounted(f, [1n], [f.patient.address, f.patient2.address, f.patient3.address]);
    });

    it("refuses a stranger, a gateway of a provider not in the programme, an empty batch, an ended programme", async function () {
      const f = await loadFixture(deployPreventionFixture);
      await f.rewards.connect(f.patient).optIn(f.programmeId);
      for (const caller of [f.stranger, f.hospital, f.payer, f.patient]) {
        await expect(f.rewards.connect(caller).reportConfirmations(f.programmeId, 0, [f.patient.address]))
          .to.be.revertedWithCustomError(f.rewards, "PreventionRewardsNotGateway")
          .withArgs(caller.address);
      }
      await expect(f.rewards.connect(f.otherGateway).reportConfirmations(f.programmeId, 0, [f.patient.address]))
        .to.be.revertedWithCustomError(f.rewards, "PreventionRewardsCustodianNotAllowed")
        .withArgs(f.programmeId, f.otherProvider.address);
      await expect(
        f.rewards.connect(f.hospitalGateway).reportConfirmations(f.programmeId, 0, []),
      ).to.be.revertedWithCustomError(f.rewards, "PreventionRewardsEmptyBatch");
      await expect(f.rewards.connect(f.hospitalGateway).reportConfirmations(7n, 0, [f.patient.address]))
        .to.be.revertedWithCustomError(f.rewards, "PreventionRewardsUnknownProgramme")
        .withArgs(7n);
      await time.increaseTo(f.params.endTime);
      await expect(
        f.rewards.connect(f.hospitalGateway).reportConfirmations(f.programmeId, 1, [f.patient.address]),
      ).to.be.revertedWithCustomError(f.rewards, "PreventionRewardsProgrammeClosed");
      expect(await f.rewards.balanceOf(f.tokenAddress, f.patient.address)).to.equal(0n);
    });
  });

  describe("badges", function () {
    it("claims one locked badge after a paid confirmation; no transfer, no approval, no second claim", async function () {
      const f = await loadFixture(deployPreventionFixture);
      await f.rewards.connect(f.patient).optIn(f.programmeId);
      await expect(f.badge.connect(f.patient).claim(f.programmeId, 0))
        .to.be.revertedWithCustomError(f.badge, "PreventionBadgeNotConfirmed")
        .withArgs(f.programmeId, f.patient.address, 0);
      await f.rewards.connect(f.hospitalGateway).reportConfirmations(f.programmeId, 0, [f.patient.address]);
      // Someone else cannot claim the patient's badge (nor one of their own without a confirmation).
      await expect(f.badge.connect(f.stranger).claim(f.programmeId, 0)).to.be.revertedWithCustomError(
        f.badge,
        "PreventionBadgeNotConfirmed",
      );
      const id = badgeId(f.programmeId, 0, f.patient.address as `0x${string}`);
      expect(await f.badge.badgeId(f.programmeId, 0, f.patient.address)).to.equal(id);
      await expect(f.badge.connect(f.patient).claim(f.programmeId, 0))
        .to.emit(f.badge, "Locked")
        .withArgs(id)
        .and.to.emit(f.badge, "BadgeClaimed")
        .withArgs(f.programmeId, f.patient.address, 0, id);
      expect(await f.badge.ownerOf(id)).to.equal(f.patient.address);
      expect(await f.badge.locked(id)).to.equal(true);
      expect(await f.badge.hasBadge(f.programmeId, 0, f.patient.address)).to.equal(true);
      await expect(f.badge.connect(f.patient).claim(f.programmeId, 0))
        .to.be.revertedWithCustomError(f.badge, "PreventionBadgeAlreadyClaimed")
        .withArgs(id);
      await expect(f.badge.connect(f.patient).transferFrom(f.patient.address, f.stranger.address, id))
        .to.be.revertedWithCustomError(f.badge, "PreventionBadgeLocked")
        .withArgs(id);
      await expect(
        f.badge.connect(f.patient).getFunction("safeTransferFrom(address,address,uint256)")(
          f.patient.address,
          f.stranger.address,
          id,
        ),
      ).to.be.revertedWithCustomError(f.badge, "PreventionBadgeLocked");
      await expect(f.badge.connect(f.patient).approve(f.stranger.address, id)).to.be.revertedWithCustomError(
        f.badge,
        "PreventionBadgeLocked",
      );
      await expect(
        f.badge.connect(f.patient).setApprovalForAll(f.stranger.address, true),
      ).to.be.revertedWithCustomError(f.badge, "PreventionBadgeLocked");
      // The patient may burn it (privacy), nobody else.
      await expect(f.badge.connect(f.stranger).burn(id))
        .to.be.revertedWithCustomError(f.badge, "PreventionBadgeNotOwner")
        .withArgs(id, f.stranger.address);
      await f.badge.connect(f.patient).burn(id);
      expect(await f.badge.hasBadge(f.programmeId, 0, f.patient.address)).to.equal(false);
      await expect(f.badge.locked(id)).to.be.revertedWithCustomError(f.badge, "ERC721NonexistentToken");
    });
  });

  describe("attacks of the security review", function () {
    it("L1: refuses a confirmation of a period that ended before the opt-in, also after an opt-out and a new opt-in", async function () {
      const f = await loadFixture(deployPreventionFixture);
      await time.increase(YEAR); // period 0 is over
      await f.rewards.connect(f.patient).optIn(f.programmeId);
      const optedInAt = await time.latest();
      expect((await f.rewards.getEnrolment(f.programmeId, f.patient.address)).optedInAt).to.equal(optedInAt);
      const tx = f.rewards.connect(f.hospitalGateway).reportConfirmations(f.programmeId, 0, [f.patient.address]);
      await expect(tx)
        .to.emit(f.rewards, "ConfirmationSkipped")
        .withArgs(f.programmeId, f.patient.address, f.hospital.address, 0, PERIOD_BEFORE_OPT_IN, ALLOWED);
      await expect(tx).not.to.emit(f.rewards, "ConfirmationPaid");
      expect(await f.rewards.isConfirmed(f.programmeId, f.patient.address, 0)).to.equal(false);
      expect((await f.rewards.getProgramme(f.programmeId)).budget).to.equal(BUDGET);
      // The period she opted in during counts.
      await expect(f.rewards.connect(f.hospitalGateway).reportConfirmations(f.programmeId, 1, [f.patient.address]))
        .to.emit(f.rewards, "ConfirmationPaid")
        .withArgs(f.programmeId, f.patient.address, f.hospital.address, 1, REWARD);

      // patient2: in during period 0, out for all of period 1, in again in period 2.
      await f.token.connect(f.payer).approve(f.rewardsAddress, ethers.MaxUint256);
      const now = await time.latest();
      await f.rewards
        .connect(f.payer)
        .createProgramme({ ...f.params, firstPeriodStart: now, endTime: now + 3 * YEAR }, REWARD * 4n);
      await f.rewards.connect(f.patient2).optIn(2n);
      await f.rewards.connect(f.patient2).optOut(2n);
      await time.increase(2 * YEAR);
      await f.rewards.connect(f.patient2).optIn(2n);
      for (const period of [0, 1]) {
        await expect(f.rewards.connect(f.labGateway).reportConfirmations(2n, period, [f.patient2.address]))
          .to.emit(f.rewards, "ConfirmationSkipped")
          .withArgs(2n, f.patient2.address, f.lab.address, period, PERIOD_BEFORE_OPT_IN, ALLOWED);
      }
      await expect(f.rewards.connect(f.labGateway).reportConfirmations(2n, 2, [f.patient2.address]))
        .to.emit(f.rewards, "ConfirmationPaid")
        .withArgs(2n, f.patient2.address, f.lab.address, 2, REWARD);
      expect(await f.rewards.balanceOf(f.tokenAddress, f.patient2.address)).to.equal(REWARD);
      await expectAccounted(f, [1n, 2n], [f.patient.address, f.patient2.address]);
    });

    for (const revocation of ["revokeAll", "cancelSignatures"] as const) {
      it(`L2: the registry's ${revocation} voids an opt-in signature not yet submitted`, async function () {
        const f = await loadFixture(deployPreventionFixture);
        const deadline = (await time.latest()) + DAY;
        const sig = await signOptIn(f, f.patient, f.programmeId, 0n, deadline);
        expect(await f.registry.revocationNonce(f.patient.address)).to.equal(0n);
        await f.registry.connect(f.patient)[revocation]();
        expect(await f.registry.revocationNonce(f.patient.address)).to.equal(1n);
        await expect(f.rewards.connect(f.relayer).optInBySig(f.programmeId, f.patient.address, deadline, sig))
          .to.be.revertedWithCustomError(f.rewards, "StudyEscrowInvalidSignature")
          .withArgs(f.patient.address, 0n);
        const [reason] = await f.registry.scopeStatus(f.patient.address, f.payer.address, f.key, IMMUNIZATION);
        expect(reason).to.equal(NO_GRANT);
        expect((await f.rewards.getEnrolment(f.programmeId, f.patient.address)).status).to.equal(0n);
        // A signature given after the revocation (the registry's new nonce) opts her in.
        const fresh = await signOptIn(f, f.patient, f.programmeId, 0n, deadline);
        await expect(
          f.rewards.connect(f.relayer).optInBySig(f.programmeId, f.patient.address, deadline, fresh),
        ).to.emit(f.rewards, "OptedIn");
        // A signature naming an older registry nonce never passes.
        await f.rewards.connect(f.patient).optOut(f.programmeId);
        const stale = await signOptIn(f, f.patient, f.programmeId, 2n, deadline, 0n);
        await expect(
          f.rewards.connect(f.relayer).optInBySig(f.programmeId, f.patient.address, deadline, stale),
        ).to.be.revertedWithCustomError(f.rewards, "StudyEscrowInvalidSignature");
      });
    }
  });
});
