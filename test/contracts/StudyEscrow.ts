/**
 * StudyEscrow: studies (create, fund with approve or permit, top up, cancel, reclaim), joins and
 * leaves (direct and by relayed EIP-712 signature, EOA and ERC-1271), delivery reports by custodian
 * gateways (payment, custodian share, every skip reason, retries), pulled withdrawals, currencies
 * and excess recovery by governance, reentrancy; every refusal with its custom error and arguments.
 */
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { anyValue } from "@nomicfoundation/hardhat-ethers-chai-matchers/withArgs";
import { expect } from "chai";
import type { Signature } from "ethers";
import { network } from "hardhat";

import StudyEscrowModule from "../../ignition/modules/StudyEscrow.ts";
import { custodianShare, MAX_CUSTODIAN_SHARE_BPS, MAX_CUSTODIANS, permitTypes, studyKey } from "#sdk/escrow.ts";
import { studyTypes } from "#sdk/study.ts";
import type {
  ConsentRegistry,
  MockContractWallet,
  MockDoubleEntryToken,
  MockFeeOnTransferToken,
  MockReentrantToken,
  RemunerationToken,
  StudyEscrow,
} from "../../types/ethers-contracts/index.js";

const { ethers, ignition, networkHelpers } = await network.connect();
const { time } = networkHelpers;

// ---------------------------------------------------------------- codes, mirrored

const TREAT = 1n;
const HRESCH = 6n;
const GRU = 7n;
const HMB = 8n;
const DS = 9n;
const OBSERVATION = 1;
const CONDITION = 2;
const cats = (...categories: number[]) => categories.reduce((bits, c) => bits | (1 << c), 0);
const CATEGORIES = cats(OBSERVATION, CONDITION);

const PROVIDER = 1;
const RESEARCHER = 2;
const ADMIN = 1;
const CLINICIAN = 2;
const GATEWAY = 3;
const ANALYST = 4;

// IStudyEscrow enums and IConsentRegistry.Reason
const OPEN = 1;
const CANCELLED = 2;
const JOINED = 1;
const LEFT = 2;
const NOT_PARTICIPANT = 0;
const ALREADY_DELIVERED = 1;
const BUDGET_EXHAUSTED = 2;
const NO_ACTIVE_GRANT = 3;
const ALLOWED = 0;
const ORGANIZATION_SUSPENDED = 3;
const NO_GRANT = 7;
const REVOKED_BY_REVOKE_ALL = 8;

const DAY = 86_400;
const PRICE = ethers.parseEther("10");
const HOSPITAL_SHARE_BPS = 1_000; // 10 %
const HOSPITAL_SHARE = (PRICE * BigInt(HOSPITAL_SHARE_BPS)) / 10_000n;
const PATIENT_AMOUNT = PRICE - HOSPITAL_SHARE;
const BUDGET = PRICE * 10n;
const PROTOCOL = ethers.id("protocol v1 + ethics approval");
const MAX_UINT128 = (1n << 128n) - 1n;

/** The sdk's EIP-712 types (sdk/study.ts, sdk/escrow.ts), as ethers takes them (mutable arrays). */
const JOIN_TYPES = { Join: [...studyTypes.Join], Terms: [...studyTypes.Terms] };
const LEAVE_TYPES = { Leave: [...studyTypes.Leave] };
const PERMIT_TYPES = { Permit: [...permitTypes.Permit] };

/** The node's first accounts under the given names (fails clearly if there are too few). */
async function namedSigners<const N extends readonly string[]>(...names: N) {
  const signers = await ethers.getSigners();
  if (signers.length < names.length) throw new Error(`need ${names.length} accounts, the node has ${signers.length}`);
  return Object.fromEntries(names.map((name, i) => [name, signers[i]!])) as Record<N[number], HardhatEthersSigner>;
}

type Params = {
  currency: string;
  purpose: bigint;
  categories: number;
  price: bigint;
  maxParticipants: number;
  enrolmentDeadline: number;
  endTime: number;
  protocolHash: string;
  custodians: { custodian: string; shareBps: number }[];
  attestedEnrolment: boolean;
};

/**
 * Deploys the registry, the token and the escrow through the Ignition module, accredits two
 * custodians with gateways (hospital with a 10 % share, lab with none), a third provider that is in
 * no study, and two research organizations; the first creates study 1 (3 participants at most,
 * 10 deliveries of budget) through its ADMIN member.
 */
async function deployStudyEscrowFixture() {
  const s = await namedSigners(
    "deployer",
    "researcher",
    "researchAdmin",
    "analyst",
    "hospital",
    "hospitalGateway",
    "clinician",
    "lab",
    "labGateway",
    "otherProvider",
    "otherGateway",
    "otherResearcher",
    "patient",
    "patient2",
    "patient3",
    "relayer",
    "stranger",
  );
  const deployed = await ignition.deploy(StudyEscrowModule);
  const registry = deployed.consentRegistry as unknown as ConsentRegistry;
  const token = deployed.remunerationToken as unknown as RemunerationToken;
  const escrow = deployed.studyEscrow as unknown as StudyEscrow;

  await registry.accredit(
    s.hospital.address,
    PROVIDER,
    "St. Example Hospital",
    "http://127.0.0.1:4001/fhir",
    ethers.ZeroHash,
  );
  await registry.accredit(s.lab.address, PROVIDER, "Riverside Clinical Lab", "", ethers.ZeroHash);
  await registry.accredit(s.otherProvider.address, PROVIDER, "Elsewhere Clinic", "", ethers.ZeroHash);
  await registry.accredit(s.researcher.address, RESEARCHER, "Example Research Institute", "", ethers.ZeroHash);
  await registry.accredit(s.otherResearcher.address, RESEARCHER, "Other Institute", "", ethers.ZeroHash);
  await registry.connect(s.researcher).offerMembership(s.researcher.address, s.researchAdmin.address, ADMIN);
  await registry.connect(s.researchAdmin).acceptMembership(s.researcher.address, ADMIN);
  await registry.connect(s.researcher).offerMembership(s.researcher.address, s.analyst.address, ANALYST);
  await registry.connect(s.analyst).acceptMembership(s.researcher.address, ANALYST);
  await registry.connect(s.hospital).offerMembership(s.hospital.address, s.hospitalGateway.address, GATEWAY);
  await registry.connect(s.hospitalGateway).acceptMembership(s.hospital.address, GATEWAY);
  await registry.connect(s.hospital).offerMembership(s.hospital.address, s.clinician.address, CLINICIAN);
  await registry.connect(s.clinician).acceptMembership(s.hospital.address, CLINICIAN);
  await registry.connect(s.lab).offerMembership(s.lab.address, s.labGateway.address, GATEWAY);
  await registry.connect(s.labGateway).acceptMembership(s.lab.address, GATEWAY);
  await registry.connect(s.otherProvider).offerMembership(s.otherProvider.address, s.otherGateway.address, GATEWAY);
  await registry.connect(s.otherGateway).acceptMembership(s.otherProvider.address, GATEWAY);

  const escrowAddress = await escrow.getAddress();
  const tokenAddress = await token.getAddress();
  for (const funder of [s.researcher, s.researchAdmin, s.otherResearcher]) {
    await token.mint(funder.address, ethers.parseEther("1000"));
    await token.connect(funder).approve(escrowAddress, ethers.MaxUint256);
  }

  const now = await time.latest();
  const params: Params = {
    currency: tokenAddress,
    purpose: HMB,
    categories: CATEGORIES,
    price: PRICE,
    maxParticipants: 3,
    enrolmentDeadline: now + 7 * DAY,
    endTime: now + 30 * DAY,
    protocolHash: PROTOCOL,
    custodians: [
      { custodian: s.hospital.address, shareBps: HOSPITAL_SHARE_BPS },
      { custodian: s.lab.address, shareBps: 0 },
    ],
    attestedEnrolment: false,
  };
  await escrow.connect(s.researchAdmin).createStudy(params, BUDGET);
  const studyId = 1n;
  const key = ethers.keccak256(
    ethers.AbiCoder.defaultAbiCoder().encode(["address", "uint256"], [escrowAddress, studyId]),
  );
  const chainId = (await ethers.provider.getNetwork()).chainId;
  const domain = { name: "Consentry StudyEscrow", version: "1", chainId, verifyingContract: escrowAddress };
  return { ...s, registry, token, escrow, escrowAddress, tokenAddress, params, studyId, key, domain };
}

type Fixture = Awaited<ReturnType<typeof deployStudyEscrowFixture>>;

/** Fresh study parameters (times relative to the latest block), with overrides. */
async function paramsFor(f: Fixture, overrides: Partial<Params> = {}): Promise<Params> {
  const now = await time.latest();
  return { ...f.params, enrolmentDeadline: now + 7 * DAY, endTime: now + 30 * DAY, ...overrides };
}

/**
 * The patient's Join signature over the study's terms as the escrow holds them (or `terms`) and
 * the patient's revocation nonce in the registry now (or `registryNonce`).
 */
async function signJoin(
  f: Fixture,
  signer: HardhatEthersSigner,
  studyId: bigint,
  nonce: bigint,
  deadline: number,
  terms: Partial<{
    researcher: string;
    purpose: bigint;
    categories: bigint;
    price: bigint;
    endTime: bigint;
    protocolHash: string;
  }> = {},
  registryNonce?: bigint,
) {
  const study = await f.escrow.getStudy(studyId);
  return signer.signTypedData(f.domain, JOIN_TYPES, {
    studyId,
    patient: signer.address,
    terms: {
      researcher: study.researcher,
      purpose: study.purpose,
      categories: study.categories,
      price: study.price,
      endTime: study.endTime,
      protocolHash: study.protocolHash,
      ...terms,
    },
    registryNonce: registryNonce ?? (await f.registry.revocationNonce(signer.address)),
    nonce,
    deadline,
  });
}

async function signLeave(f: Fixture, signer: HardhatEthersSigner, studyId: bigint, nonce: bigint, deadline: number) {
  return signer.signTypedData(f.domain, LEAVE_TYPES, { studyId, patient: signer.address, nonce, deadline });
}

async function signPermit(f: Fixture, owner: HardhatEthersSigner, value: bigint, deadline: number): Promise<Signature> {
  const domain = {
    name: await f.token.name(),
    version: "1",
    chainId: f.domain.chainId,
    verifyingContract: f.tokenAddress,
  };
  const nonce = await f.token.nonces(owner.address);
  const raw = await owner.signTypedData(domain, PERMIT_TYPES, {
    owner: owner.address,
    spender: f.escrowAddress,
    value,
    nonce,
    deadline,
  });
  return ethers.Signature.from(raw);
}

/** The escrow's tracked total must equal the study budgets plus the balances of these accounts. */
async function expectAccounted(f: Fixture, studies: bigint[], accounts: string[]) {
  let total = 0n;
  for (const id of studies) total += (await f.escrow.getStudy(id)).budget;
  for (const account of accounts) total += await f.escrow.balanceOf(f.tokenAddress, account);
  expect(await f.escrow.accounted(f.tokenAddress)).to.equal(total);
  expect(await f.token.balanceOf(f.escrowAddress)).to.be.greaterThanOrEqual(total);
}

async function joined(f: Fixture, ...patients: HardhatEthersSigner[]) {
  for (const p of patients) await f.escrow.connect(p).join(f.studyId);
}

describe("StudyEscrow", function () {
  describe("deployment (Ignition module)", function () {
    it("wires the escrow to the registry, the token and the roles", async function () {
      const { escrow, registry, token, deployer, escrowAddress, tokenAddress } =
        await networkHelpers.loadFixture(deployStudyEscrowFixture);
      expect(await escrow.registry()).to.equal(await registry.getAddress());
      expect(await registry.hasRole(await registry.STUDY_MANAGER_ROLE(), escrowAddress)).to.equal(true);
      expect(await escrow.isCurrencyAllowed(tokenAddress)).to.equal(true);
      expect(await escrow.hasRole(ethers.ZeroHash, deployer.address)).to.equal(true);
      expect(await escrow.hasRole(await escrow.GOVERNANCE_ROLE(), deployer.address)).to.equal(true);
      expect(await escrow.GOVERNANCE_ROLE()).to.equal(ethers.id("GOVERNANCE_ROLE"));
      expect(await token.hasRole(await token.MINTER_ROLE(), deployer.address)).to.equal(true);
      expect(await token.symbol()).to.equal("CRC");
    });

    it("exposes its constants, typehashes and EIP-712 domain", async function () {
      const { escrow, domain } = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      expect(await escrow.MAX_CUSTODIANS()).to.equal(16n);
      expect(await escrow.MAX_CUSTODIAN_SHARE_BPS()).to.equal(3_000n);
      expect(await escrow.MAX_PARTICIPANTS()).to.equal(2n ** 24n - 1n);
      expect(await escrow.MAX_STUDY_DURATION()).to.equal(3_650n * 86_400n);
      expect(await escrow.JOIN_TYPEHASH()).to.equal(
        ethers.id(
          "Join(uint256 studyId,address patient,Terms terms,uint64 registryNonce,uint64 nonce,uint256 deadline)" +
            "Terms(address researcher,uint64 purpose,uint32 categories,uint128 price,uint40 endTime,bytes32 protocolHash)",
        ),
      );
      expect(await escrow.LEAVE_TYPEHASH()).to.equal(
        ethers.id("Leave(uint256 studyId,address patient,uint64 nonce,uint256 deadline)"),
      );
      expect(await escrow.domainSeparator()).to.equal(ethers.TypedDataEncoder.hashDomain(domain));
    });
  });

  describe("currencies (governance)", function () {
    it("allows and disallows a token, with an event", async function () {
      const { escrow, deployer } = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      const other = await ethers.deployContract("MockFeeOnTransferToken", [0]);
      await expect(escrow.setCurrencyAllowed(other, true))
        .to.emit(escrow, "CurrencyAllowed")
        .withArgs(await other.getAddress(), true, deployer.address);
      expect(await escrow.isCurrencyAllowed(other)).to.equal(true);
      await expect(escrow.setCurrencyAllowed(other, false))
        .to.emit(escrow, "CurrencyAllowed")
        .withArgs(await other.getAddress(), false, deployer.address);
      expect(await escrow.isCurrencyAllowed(other)).to.equal(false);
    });

    it("refuses an address without code", async function () {
      const { escrow, stranger } = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      await expect(escrow.setCurrencyAllowed(stranger.address, true))
        .to.be.revertedWithCustomError(escrow, "StudyEscrowInvalidCurrency")
        .withArgs(stranger.address);
    });

    it("refuses anyone but governance", async function () {
      const { escrow, stranger, tokenAddress } = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      await expect(escrow.connect(stranger).setCurrencyAllowed(tokenAddress, false))
        .to.be.revertedWithCustomError(escrow, "AccessControlUnauthorizedAccount")
        .withArgs(stranger.address, await escrow.GOVERNANCE_ROLE());
    });
  });

  describe("createStudy", function () {
    it("creates and funds a study by an ADMIN member: events, record, custodians, key, budget", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      const params = await paramsFor(f);
      const tx = f.escrow.connect(f.researchAdmin).createStudy(params, BUDGET);
      const key2 = ethers.keccak256(
        ethers.AbiCoder.defaultAbiCoder().encode(["address", "uint256"], [f.escrowAddress, 2n]),
      );
      await expect(tx)
        .to.emit(f.escrow, "StudyCreated")
        .withArgs(
          2n,
          f.researcher.address,
          f.tokenAddress,
          key2,
          HMB,
          CATEGORIES,
          PRICE,
          3,
          params.enrolmentDeadline,
          params.endTime,
          PROTOCOL,
          f.researchAdmin.address,
        );
      await expect(tx)
        .to.emit(f.escrow, "StudyCustodianAllowed")
        .withArgs(2n, f.hospital.address, 0, HOSPITAL_SHARE_BPS);
      await expect(tx).to.emit(f.escrow, "StudyCustodianAllowed").withArgs(2n, f.lab.address, 1, 0);
      await expect(tx).to.emit(f.escrow, "StudyFunded").withArgs(2n, f.researchAdmin.address, BUDGET, BUDGET);
      await expect(tx).to.changeTokenBalances(ethers, f.token, [f.researchAdmin, f.escrowAddress], [-BUDGET, BUDGET]);

      expect(await f.escrow.studyCount()).to.equal(2n);
      expect(await f.escrow.studyKey(2n)).to.equal(key2);
      const study = await f.escrow.getStudy(2n);
      expect(study.researcher).to.equal(f.researcher.address);
      expect(study.purpose).to.equal(HMB);
      expect(study.categories).to.equal(CATEGORIES);
      expect(study.currency).to.equal(f.tokenAddress);
      expect(study.enrolmentDeadline).to.equal(params.enrolmentDeadline);
      expect(study.endTime).to.equal(params.endTime);
      expect(study.status).to.equal(OPEN);
      expect(study.price).to.equal(PRICE);
      expect(study.budget).to.equal(BUDGET);
      expect(study.maxParticipants).to.equal(3);
      expect(study.participants).to.equal(0);
      expect(study.custodianCount).to.equal(2);
      expect(study.protocolHash).to.equal(PROTOCOL);
      const custodians = await f.escrow.studyCustodians(2n);
      expect(custodians.map((c) => [c.custodian, c.shareBps])).to.deep.equal([
        [f.hospital.address, BigInt(HOSPITAL_SHARE_BPS)],
        [f.lab.address, 0n],
      ]);
      await expectAccounted(f, [1n, 2n], []);
    });

    it("creates an unfunded study by the organization itself, with a DUO disease-specific purpose", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      const purpose = DS | (1n << 8n) | (1234n << 16n); // DS, NCU, disease 1234
      const tx = f.escrow.connect(f.researcher).createStudy(await paramsFor(f, { purpose }), 0);
      await expect(tx).to.emit(f.escrow, "StudyCreated");
      await expect(tx).not.to.emit(f.escrow, "StudyFunded");
      const study = await f.escrow.getStudy(2n);
      expect(study.purpose).to.equal(purpose);
      expect(study.budget).to.equal(0n);
    });

    it("accepts the boundaries: HRESCH, all categories, the share cap, 16 custodians, the longest study", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      const custodians = [];
      for (let i = 0; i < 16; i++) {
        const org = ethers.Wallet.createRandom().address;
        await f.registry.accredit(org, PROVIDER, `Provider ${i}`, "", ethers.ZeroHash);
        custodians.push({ custodian: org, shareBps: 3_000 });
      }
      const now = await time.latest();
      const params = await paramsFor(f, {
        purpose: HRESCH,
        categories: 0x3ff,
        custodians,
        maxParticipants: 2 ** 24 - 1,
        endTime: now + 1 + 3_650 * DAY,
      });
      await expect(f.escrow.connect(f.researcher).createStudy(params, 0)).to.emit(f.escrow, "StudyCreated");
      expect((await f.escrow.getStudy(2n)).custodianCount).to.equal(16);
    });

    describe("refusals", function () {
      it("a caller that is not an active researcher organization or its ADMIN", async function () {
        const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
        const params = await paramsFor(f);
        for (const caller of [f.stranger, f.analyst, f.hospital, f.hospitalGateway]) {
          await expect(f.escrow.connect(caller).createStudy(params, 0))
            .to.be.revertedWithCustomError(f.escrow, "StudyEscrowNotResearcher")
            .withArgs(caller.address);
        }
        await f.registry.suspend(f.researcher.address, ethers.ZeroHash);
        await expect(f.escrow.connect(f.researcher).createStudy(params, 0))
          .to.be.revertedWithCustomError(f.escrow, "StudyEscrowNotResearcher")
          .withArgs(f.researcher.address);
      });

      it("a currency governance does not allow", async function () {
        const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
        const other = await ethers.deployContract("MockFeeOnTransferToken", [0]);
        const params = await paramsFor(f, { currency: await other.getAddress() });
        await expect(f.escrow.connect(f.researcher).createStudy(params, 0))
          .to.be.revertedWithCustomError(f.escrow, "StudyEscrowCurrencyNotAllowed")
          .withArgs(await other.getAddress());
      });

      it("a purpose that is not a well-formed research purpose", async function () {
        const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
        for (const purpose of [0n, TREAT, 10n, DS, GRU | (4n << 8n), HMB | (1n << 48n)]) {
          await expect(f.escrow.connect(f.researcher).createStudy(await paramsFor(f, { purpose }), 0))
            .to.be.revertedWithCustomError(f.escrow, "StudyEscrowInvalidPurpose")
            .withArgs(purpose);
        }
      });

      it("no categories or unknown category bits", async function () {
        const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
        for (const categories of [0, 1 << 10, CATEGORIES + 2 ** 31]) {
          await expect(f.escrow.connect(f.researcher).createStudy(await paramsFor(f, { categories }), 0))
            .to.be.revertedWithCustomError(f.escrow, "StudyEscrowInvalidCategories")
            .withArgs(categories);
        }
      });

      it("a zero price", async function () {
        const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
        await expect(f.escrow.connect(f.researcher).createStudy(await paramsFor(f, { price: 0n }), 0))
          .to.be.revertedWithCustomError(f.escrow, "StudyEscrowInvalidPrice")
          .withArgs(0n);
      });

      it("zero participants or more than MAX_PARTICIPANTS", async function () {
        const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
        for (const maxParticipants of [0, 2 ** 24]) {
          await expect(f.escrow.connect(f.researcher).createStudy(await paramsFor(f, { maxParticipants }), 0))
            .to.be.revertedWithCustomError(f.escrow, "StudyEscrowInvalidMaxParticipants")
            .withArgs(maxParticipants);
        }
      });

      it("a schedule with a past deadline, an end not after it, or an end too far away", async function () {
        const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
        for (const [deadlineIn, endIn] of [
          [0, DAY],
          [DAY, DAY],
          [DAY, 1 + 3_650 * DAY],
        ] as const) {
          const next = (await time.latest()) + 10; // the timestamp of the next block
          const enrolmentDeadline = next + deadlineIn;
          const endTime = next + endIn;
          const params = await paramsFor(f, { enrolmentDeadline, endTime });
          await time.setNextBlockTimestamp(next);
          await expect(f.escrow.connect(f.researcher).createStudy(params, 0))
            .to.be.revertedWithCustomError(f.escrow, "StudyEscrowInvalidSchedule")
            .withArgs(enrolmentDeadline, endTime, next);
        }
      });

      it("a missing protocol hash", async function () {
        const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
        await expect(
          f.escrow.connect(f.researcher).createStudy(await paramsFor(f, { protocolHash: ethers.ZeroHash }), 0),
        ).to.be.revertedWithCustomError(f.escrow, "StudyEscrowMissingProtocolHash");
      });

      it("no custodian or more than 16", async function () {
        const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
        await expect(f.escrow.connect(f.researcher).createStudy(await paramsFor(f, { custodians: [] }), 0))
          .to.be.revertedWithCustomError(f.escrow, "StudyEscrowInvalidCustodianCount")
          .withArgs(0, 16);
        const custodians = Array.from({ length: 17 }, () => ({ custodian: f.hospital.address, shareBps: 0 }));
        await expect(f.escrow.connect(f.researcher).createStudy(await paramsFor(f, { custodians }), 0))
          .to.be.revertedWithCustomError(f.escrow, "StudyEscrowInvalidCustodianCount")
          .withArgs(17, 16);
      });

      it("a custodian that is not an active PROVIDER organization", async function () {
        const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
        for (const custodian of [
          f.researcher.address,
          f.hospitalGateway.address,
          f.stranger.address,
          ethers.ZeroAddress,
        ]) {
          const params = await paramsFor(f, { custodians: [{ custodian, shareBps: 0 }] });
          await expect(f.escrow.connect(f.researcher).createStudy(params, 0))
            .to.be.revertedWithCustomError(f.escrow, "StudyEscrowCustodianNotProvider")
            .withArgs(custodian);
        }
        await f.registry.suspend(f.lab.address, ethers.ZeroHash);
        await expect(f.escrow.connect(f.researcher).createStudy(await paramsFor(f), 0))
          .to.be.revertedWithCustomError(f.escrow, "StudyEscrowCustodianNotProvider")
          .withArgs(f.lab.address);
      });

      it("a share above the cap", async function () {
        const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
        const params = await paramsFor(f, { custodians: [{ custodian: f.lab.address, shareBps: 3_001 }] });
        await expect(f.escrow.connect(f.researcher).createStudy(params, 0))
          .to.be.revertedWithCustomError(f.escrow, "StudyEscrowShareTooHigh")
          .withArgs(f.lab.address, 3_001, 3_000);
      });

      it("a custodian listed twice", async function () {
        const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
        const custodians = [
          { custodian: f.lab.address, shareBps: 0 },
          { custodian: f.lab.address, shareBps: 100 },
        ];
        await expect(f.escrow.connect(f.researcher).createStudy(await paramsFor(f, { custodians }), 0))
          .to.be.revertedWithCustomError(f.escrow, "StudyEscrowDuplicateCustodian")
          .withArgs(f.lab.address);
      });

      it("a fee-on-transfer token", async function () {
        const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
        const fee = (await ethers.deployContract("MockFeeOnTransferToken", [100])) as unknown as MockFeeOnTransferToken;
        await f.escrow.setCurrencyAllowed(fee, true);
        await fee.mint(f.researcher.address, BUDGET);
        await fee.connect(f.researcher).approve(f.escrowAddress, BUDGET);
        const params = await paramsFor(f, { currency: await fee.getAddress() });
        await expect(f.escrow.connect(f.researcher).createStudy(params, BUDGET))
          .to.be.revertedWithCustomError(f.escrow, "StudyEscrowFeeOnTransfer")
          .withArgs(await fee.getAddress(), BUDGET, BUDGET - BUDGET / 100n);
      });
    });
  });

  describe("createStudyWithPermit and fundWithPermit", function () {
    it("funds through a permit in the same transaction", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      await f.token.connect(f.researcher).approve(f.escrowAddress, 0);
      const deadline = (await time.latest()) + DAY;
      const sig = await signPermit(f, f.researcher, BUDGET, deadline);
      const tx = f.escrow
        .connect(f.researcher)
        .createStudyWithPermit(await paramsFor(f), BUDGET, deadline, sig.v, sig.r, sig.s);
      await expect(tx).to.emit(f.escrow, "StudyFunded").withArgs(2n, f.researcher.address, BUDGET, BUDGET);
      await expect(tx).to.changeTokenBalances(ethers, f.token, [f.researcher, f.escrowAddress], [-BUDGET, BUDGET]);
      expect(await f.token.allowance(f.researcher.address, f.escrowAddress)).to.equal(0n);
      expect(await f.token.nonces(f.researcher.address)).to.equal(1n);
    });

    it("still funds when someone submitted the permit first (front-run)", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      await f.token.connect(f.researcher).approve(f.escrowAddress, 0);
      const deadline = (await time.latest()) + DAY;
      const sig = await signPermit(f, f.researcher, BUDGET, deadline);
      await f.token
        .connect(f.stranger)
        .permit(f.researcher.address, f.escrowAddress, BUDGET, deadline, sig.v, sig.r, sig.s);
      await expect(f.escrow.connect(f.researcher).fundWithPermit(f.studyId, BUDGET, deadline, sig.v, sig.r, sig.s))
        .to.emit(f.escrow, "StudyFunded")
        .withArgs(f.studyId, f.researcher.address, BUDGET, 2n * BUDGET);
    });

    it("funds in a token without permit when the allowance covers the amount", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      const plain = (await ethers.deployContract("MockFeeOnTransferToken", [0])) as unknown as MockFeeOnTransferToken;
      await f.escrow.setCurrencyAllowed(plain, true);
      await plain.mint(f.researcher.address, BUDGET);
      await plain.connect(f.researcher).approve(f.escrowAddress, BUDGET);
      const params = await paramsFor(f, { currency: await plain.getAddress() });
      await expect(
        f.escrow.connect(f.researcher).createStudyWithPermit(params, BUDGET, 0, 0, ethers.ZeroHash, ethers.ZeroHash),
      )
        .to.emit(f.escrow, "StudyFunded")
        .withArgs(2n, f.researcher.address, BUDGET, BUDGET);
    });

    it("refuses when the permit fails and the allowance does not cover the amount", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      await f.token.connect(f.researcher).approve(f.escrowAddress, PRICE);
      const deadline = (await time.latest()) + DAY;
      const sig = await signPermit(f, f.stranger, BUDGET, deadline); // not the funder's signature
      await expect(f.escrow.connect(f.researcher).fundWithPermit(f.studyId, BUDGET, deadline, sig.v, sig.r, sig.s))
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowPermitFailed")
        .withArgs(f.tokenAddress, f.researcher.address, PRICE, BUDGET);
      await expect(
        f.escrow.connect(f.researcher).createStudyWithPermit(await paramsFor(f), BUDGET, deadline, sig.v, sig.r, sig.s),
      )
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowPermitFailed")
        .withArgs(f.tokenAddress, f.researcher.address, PRICE, BUDGET);
    });

    it("refuses a zero amount", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      await expect(
        f.escrow
          .connect(f.researcher)
          .createStudyWithPermit(await paramsFor(f), 0, 0, 0, ethers.ZeroHash, ethers.ZeroHash),
      ).to.be.revertedWithCustomError(f.escrow, "StudyEscrowZeroAmount");
    });
  });

  describe("fund (top up)", function () {
    it("tops up by the organization or an ADMIN member", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      await expect(f.escrow.connect(f.researcher).fund(f.studyId, PRICE))
        .to.emit(f.escrow, "StudyFunded")
        .withArgs(f.studyId, f.researcher.address, PRICE, BUDGET + PRICE);
      await expect(f.escrow.connect(f.researchAdmin).fund(f.studyId, PRICE))
        .to.emit(f.escrow, "StudyFunded")
        .withArgs(f.studyId, f.researchAdmin.address, PRICE, BUDGET + 2n * PRICE);
      await expectAccounted(f, [1n], []);
    });

    it("refuses a caller that does not manage the study", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      for (const caller of [f.stranger, f.analyst, f.otherResearcher, f.hospital]) {
        await expect(f.escrow.connect(caller).fund(f.studyId, PRICE))
          .to.be.revertedWithCustomError(f.escrow, "StudyEscrowNotStudyManager")
          .withArgs(f.studyId, caller.address);
      }
    });

    it("refuses an unknown study, a zero amount, an ended or cancelled study", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      await expect(f.escrow.connect(f.researcher).fund(9n, PRICE))
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowUnknownStudy")
        .withArgs(9n);
      await expect(f.escrow.connect(f.researcher).fund(f.studyId, 0)).to.be.revertedWithCustomError(
        f.escrow,
        "StudyEscrowZeroAmount",
      );
      await time.increaseTo(f.params.endTime);
      await expect(f.escrow.connect(f.researcher).fund(f.studyId, PRICE))
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowStudyClosed")
        .withArgs(f.studyId, OPEN, f.params.endTime);
    });

    it("refuses a budget above uint128", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      await f.token.mint(f.researcher.address, MAX_UINT128);
      await expect(f.escrow.connect(f.researcher).fund(f.studyId, MAX_UINT128))
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowBudgetOverflow")
        .withArgs(f.studyId, BUDGET, MAX_UINT128);
      await f.escrow.connect(f.researcher).fund(f.studyId, MAX_UINT128 - BUDGET);
      expect((await f.escrow.getStudy(f.studyId)).budget).to.equal(MAX_UINT128);
    });

    it("refuses a token that starts taking a fee", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      const fee = (await ethers.deployContract("MockFeeOnTransferToken", [0])) as unknown as MockFeeOnTransferToken;
      await f.escrow.setCurrencyAllowed(fee, true);
      await fee.mint(f.researcher.address, BUDGET);
      await fee.connect(f.researcher).approve(f.escrowAddress, BUDGET);
      await f.escrow.connect(f.researcher).createStudy(await paramsFor(f, { currency: await fee.getAddress() }), PRICE);
      await fee.setFee(50);
      await expect(f.escrow.connect(f.researcher).fund(2n, PRICE))
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowFeeOnTransfer")
        .withArgs(await fee.getAddress(), PRICE, PRICE - PRICE / 200n);
    });
  });

  describe("cancelStudy and reclaim", function () {
    it("cancels: no more joins, deliveries or funding; the budget is reclaimable at once", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      await joined(f, f.patient);
      const tx = await f.escrow.connect(f.researchAdmin).cancelStudy(f.studyId);
      await expect(tx).to.emit(f.escrow, "StudyCancelled").withArgs(f.studyId, f.researchAdmin.address);
      const at = (await ethers.provider.getBlock(tx.blockNumber!))!.timestamp;
      const study = await f.escrow.getStudy(f.studyId);
      expect(study.status).to.equal(CANCELLED);
      expect(study.endTime).to.equal(at);
      expect(study.enrolmentDeadline).to.equal(at);
      await expect(f.escrow.connect(f.patient2).join(f.studyId))
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowEnrolmentClosed")
        .withArgs(f.studyId, at);
      await expect(f.escrow.connect(f.hospitalGateway).reportDeliveries(f.studyId, [f.patient.address]))
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowStudyClosed")
        .withArgs(f.studyId, CANCELLED, at);
      await expect(f.escrow.connect(f.researcher).fund(f.studyId, PRICE))
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowStudyClosed")
        .withArgs(f.studyId, CANCELLED, at);
      await expect(f.escrow.connect(f.researcher).cancelStudy(f.studyId))
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowStudyClosed")
        .withArgs(f.studyId, CANCELLED, at);

      const reclaim = f.escrow.connect(f.researcher).reclaim(f.studyId);
      await expect(reclaim).to.emit(f.escrow, "BudgetReclaimed").withArgs(f.studyId, f.researcher.address, BUDGET);
      await expect(reclaim).to.changeTokenBalances(ethers, f.token, [f.escrowAddress, f.researcher], [-BUDGET, BUDGET]);
      expect((await f.escrow.getStudy(f.studyId)).budget).to.equal(0n);
      await expectAccounted(f, [1n], [f.patient.address]);
    });

    it("cancelling after the enrolment deadline keeps that deadline", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      await time.increaseTo(f.params.enrolmentDeadline + DAY);
      await f.escrow.connect(f.researcher).cancelStudy(f.studyId);
      expect((await f.escrow.getStudy(f.studyId)).enrolmentDeadline).to.equal(f.params.enrolmentDeadline);
    });

    it("reclaims what is unspent after the end time, at an ADMIN member's request, to the organization", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      await joined(f, f.patient);
      await f.escrow.connect(f.hospitalGateway).reportDeliveries(f.studyId, [f.patient.address]);
      await expect(f.escrow.connect(f.researcher).reclaim(f.studyId))
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowStudyNotOver")
        .withArgs(f.studyId, f.params.endTime);
      await time.increaseTo(f.params.endTime);
      await expect(f.escrow.connect(f.researchAdmin).reclaim(f.studyId))
        .to.emit(f.escrow, "BudgetReclaimed")
        .withArgs(f.studyId, f.researcher.address, BUDGET - PRICE);
      await expect(f.escrow.connect(f.researchAdmin).reclaim(f.studyId))
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowNothingToReclaim")
        .withArgs(f.studyId);
      // What the patient and the custodian earned stays theirs.
      expect(await f.escrow.balanceOf(f.tokenAddress, f.patient.address)).to.equal(PATIENT_AMOUNT);
      expect(await f.escrow.balanceOf(f.tokenAddress, f.hospital.address)).to.equal(HOSPITAL_SHARE);
      await expectAccounted(f, [1n], [f.patient.address, f.hospital.address]);
    });

    it("refuses a caller that does not manage the study, or an unknown study", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      await expect(f.escrow.connect(f.analyst).cancelStudy(f.studyId))
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowNotStudyManager")
        .withArgs(f.studyId, f.analyst.address);
      await expect(f.escrow.connect(f.otherResearcher).reclaim(f.studyId))
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowNotStudyManager")
        .withArgs(f.studyId, f.otherResearcher.address);
      await expect(f.escrow.connect(f.researcher).cancelStudy(5n))
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowUnknownStudy")
        .withArgs(5n);
      await expect(f.escrow.connect(f.researcher).reclaim(5n))
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowUnknownStudy")
        .withArgs(5n);
    });

    it("lets a suspended researcher still reclaim its budget", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      await f.registry.suspend(f.researcher.address, ethers.ZeroHash);
      await f.escrow.connect(f.researcher).cancelStudy(f.studyId);
      await expect(f.escrow.connect(f.researcher).reclaim(f.studyId))
        .to.emit(f.escrow, "BudgetReclaimed")
        .withArgs(f.studyId, f.researcher.address, BUDGET);
    });
  });

  describe("sponsor (third-party funding) and pro-rata reclaims", function () {
    /** The stranger, with 1,000 CRC and an allowance, sponsors study 1 with `amount`. */
    async function sponsored(f: Fixture, amount: bigint) {
      await f.token.mint(f.stranger.address, ethers.parseEther("1000"));
      await f.token.connect(f.stranger).approve(f.escrowAddress, ethers.MaxUint256);
      return f.escrow.connect(f.stranger).sponsor(f.studyId, amount);
    }

    it("takes a third party's funding of an open study, recorded per sponsor, with its own event", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      const amount = PRICE * 5n;
      const tx = sponsored(f, amount);
      await expect(tx)
        .to.emit(f.escrow, "StudyFunded")
        .withArgs(f.studyId, f.stranger.address, amount, BUDGET + amount);
      await expect(tx).to.emit(f.escrow, "StudySponsored").withArgs(f.studyId, f.stranger.address, amount);
      expect((await f.escrow.getStudy(f.studyId)).budget).to.equal(BUDGET + amount);
      expect(await f.escrow.sponsorshipOf(f.studyId, f.stranger.address)).to.equal(amount);
      expect(await f.escrow.sponsorshipOf(f.studyId, f.researcher.address)).to.equal(0n);
      expect(await f.escrow.sponsorshipOf(f.studyId, ethers.ZeroAddress)).to.equal(0n);
      await expectAccounted(f, [1n], []);
    });

    it("splits the unspent budget pro rata between researcher and sponsor, to the last unit", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      // 100 CRC by the researcher, 50 by the sponsor; one delivery spends 10: 140 left to share.
      const sponsorship = PRICE * 5n;
      await sponsored(f, sponsorship);
      await joined(f, f.patient);
      await f.escrow.connect(f.hospitalGateway).reportDeliveries(f.studyId, [f.patient.address]);
      await expect(f.escrow.connect(f.stranger).reclaimSponsorship(f.studyId))
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowStudyNotOver")
        .withArgs(f.studyId, f.params.endTime);
      await time.increaseTo(f.params.endTime);
      const unspent = BUDGET + sponsorship - PRICE;
      const sponsorPart = (unspent * sponsorship) / (BUDGET + sponsorship); // rounded down
      const tx = f.escrow.connect(f.stranger).reclaimSponsorship(f.studyId);
      await expect(tx).to.emit(f.escrow, "BudgetReclaimed").withArgs(f.studyId, f.stranger.address, sponsorPart);
      await expect(tx).to.changeTokenBalances(
        ethers,
        f.token,
        [f.escrowAddress, f.stranger],
        [-sponsorPart, sponsorPart],
      );
      // The researcher, the last funder, takes the rest: the parts add up to the unspent budget.
      await expect(f.escrow.connect(f.researchAdmin).reclaim(f.studyId))
        .to.emit(f.escrow, "BudgetReclaimed")
        .withArgs(f.studyId, f.researcher.address, unspent - sponsorPart);
      expect((await f.escrow.getStudy(f.studyId)).budget).to.equal(0n);
      expect(unspent - sponsorPart).to.be.lessThanOrEqual((unspent * BUDGET) / (BUDGET + sponsorship) + 1n);
      await expect(f.escrow.connect(f.stranger).reclaimSponsorship(f.studyId))
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowNothingToReclaim")
        .withArgs(f.studyId);
      await expect(f.escrow.connect(f.researcher).reclaim(f.studyId))
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowNothingToReclaim")
        .withArgs(f.studyId);
      await expectAccounted(f, [1n], [f.patient.address, f.hospital.address]);
    });

    it("pays the researcher first its own part only, the sponsor the rest, after a cancellation", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      const sponsorship = 7n; // odd amounts: the researcher's part rounds down
      await sponsored(f, sponsorship);
      await f.escrow.connect(f.researcher).cancelStudy(f.studyId);
      await expect(f.escrow.connect(f.researcher).reclaim(f.studyId))
        .to.emit(f.escrow, "BudgetReclaimed")
        .withArgs(f.studyId, f.researcher.address, BUDGET);
      await expect(f.escrow.connect(f.stranger).reclaimSponsorship(f.studyId))
        .to.emit(f.escrow, "BudgetReclaimed")
        .withArgs(f.studyId, f.stranger.address, sponsorship);
      expect(await f.escrow.sponsorshipOf(f.studyId, f.stranger.address)).to.equal(0n);
      await expectAccounted(f, [1n], []);
    });

    it("refuses a sponsorship of a closed or unknown study, of zero, and a reclaim by a non-sponsor", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      await expect(sponsored(f, 0n)).to.be.revertedWithCustomError(f.escrow, "StudyEscrowZeroAmount");
      await expect(f.escrow.connect(f.stranger).sponsor(5n, PRICE))
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowUnknownStudy")
        .withArgs(5n);
      await time.increaseTo(f.params.endTime);
      await expect(f.escrow.connect(f.stranger).sponsor(f.studyId, PRICE))
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowStudyClosed")
        .withArgs(f.studyId, OPEN, f.params.endTime);
      await expect(f.escrow.connect(f.stranger).reclaimSponsorship(f.studyId))
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowNothingToReclaim")
        .withArgs(f.studyId);
      await expect(f.escrow.connect(f.stranger).reclaimSponsorship(5n))
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowUnknownStudy")
        .withArgs(5n);
    });

    it("attack (review H1): money comes into a sponsored study only while none is spent, so no funder pays for another's spending", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      // Spent first, then a sponsor: refused (its money would pay the researcher's part of the spending).
      await joined(f, f.patient);
      await f.escrow.connect(f.hospitalGateway).reportDeliveries(f.studyId, [f.patient.address]);
      await expect(sponsored(f, PRICE * 5n))
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowFundingSpent")
        .withArgs(f.studyId, BUDGET - PRICE, BUDGET);
      // A study nobody sponsors: the researcher still adds to it after spending (it is the only funder).
      await f.escrow.connect(f.researcher).fund(f.studyId, PRICE);

      // Sponsored before anything was spent: the researcher may add then, not once spending began.
      const params = await paramsFor(f);
      await f.escrow.connect(f.researcher).createStudy(params, BUDGET);
      await f.escrow.connect(f.stranger).sponsor(2n, PRICE * 5n);
      await f.escrow.connect(f.researcher).fund(2n, PRICE);
      await f.escrow.connect(f.patient).join(2n);
      await f.escrow.connect(f.hospitalGateway).reportDeliveries(2n, [f.patient.address]);
      const funded = BUDGET + PRICE * 6n;
      await expect(f.escrow.connect(f.researcher).fund(2n, PRICE))
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowFundingSpent")
        .withArgs(2n, funded - PRICE, funded);
      await expect(f.escrow.connect(f.stranger).sponsor(2n, PRICE)).to.be.revertedWithCustomError(
        f.escrow,
        "StudyEscrowFundingSpent",
      );
    });

    it("settles a sponsor with 0 when the budget was spent to the last unit", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      const params = await paramsFor(f);
      await f.escrow.connect(f.researcher).createStudy(params, PRICE - 1n);
      await f.token.mint(f.stranger.address, PRICE);
      await f.token.connect(f.stranger).approve(f.escrowAddress, PRICE);
      await f.escrow.connect(f.stranger).sponsor(2n, 1n);
      await f.escrow.connect(f.patient).join(2n);
      await f.escrow.connect(f.hospitalGateway).reportDeliveries(2n, [f.patient.address]);
      expect((await f.escrow.getStudy(2n)).budget).to.equal(0n);
      await time.increaseTo(params.endTime);
      await expect(f.escrow.connect(f.stranger).reclaimSponsorship(2n))
        .to.emit(f.escrow, "BudgetReclaimed")
        .withArgs(2n, f.stranger.address, 0n);
      expect(await f.escrow.sponsorshipOf(2n, f.stranger.address)).to.equal(0n);
      await expect(f.escrow.connect(f.researcher).reclaim(2n))
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowNothingToReclaim")
        .withArgs(2n);
    });
  });

  describe("join", function () {
    it("joins: the research grant in the registry, the participant, the count; pays nothing", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      const grantId = await f.registry.grantIdOf(f.patient.address, f.researcher.address, f.key);
      const tx = f.escrow.connect(f.patient).join(f.studyId);
      await expect(tx).to.emit(f.escrow, "StudyJoined").withArgs(f.studyId, f.patient.address, f.patient.address);
      await expect(tx)
        .to.emit(f.registry, "ConsentGranted")
        .withArgs(
          grantId,
          f.patient.address,
          f.researcher.address,
          f.key,
          HMB,
          CATEGORIES,
          anyValue,
          f.params.endTime,
          f.escrowAddress,
        );
      await expect(tx).to.changeTokenBalances(ethers, f.token, [f.patient, f.escrowAddress], [0n, 0n]);
      const participant = await f.escrow.getParticipant(f.studyId, f.patient.address);
      expect([participant.index, participant.status, participant.nonce]).to.deep.equal([0n, BigInt(JOINED), 0n]);
      expect((await f.escrow.getStudy(f.studyId)).participants).to.equal(1);
      expect(await f.escrow.balanceOf(f.tokenAddress, f.patient.address)).to.equal(0n);
      const grant = await f.registry.getGrant(grantId);
      expect([grant.categories, grant.purpose, grant.expiresAt]).to.deep.equal([
        BigInt(CATEGORIES),
        HMB,
        BigInt(f.params.endTime),
      ]);
      for (const category of [OBSERVATION, CONDITION]) {
        expect((await f.registry.scopeStatus(f.patient.address, f.researcher.address, f.key, category))[0]).to.equal(
          ALLOWED,
        );
      }

      await f.escrow.connect(f.patient2).join(f.studyId);
      expect((await f.escrow.getParticipant(f.studyId, f.patient2.address)).index).to.equal(1n);
    });

    it("joining again refreshes the grant (e.g. after a revoke-all) without a new place", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      await joined(f, f.patient);
      await f.registry.connect(f.patient).revokeAll();
      expect((await f.registry.scopeStatus(f.patient.address, f.researcher.address, f.key, OBSERVATION))[0]).to.equal(
        REVOKED_BY_REVOKE_ALL,
      );
      await expect(f.escrow.connect(f.patient).join(f.studyId)).to.emit(f.escrow, "StudyJoined");
      expect((await f.registry.scopeStatus(f.patient.address, f.researcher.address, f.key, OBSERVATION))[0]).to.equal(
        ALLOWED,
      );
      expect((await f.escrow.getStudy(f.studyId)).participants).to.equal(1);
    });

    it("refuses an unknown study, a closed enrolment, a full study", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      await expect(f.escrow.connect(f.patient).join(7n))
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowUnknownStudy")
        .withArgs(7n);
      await joined(f, f.patient, f.patient2, f.patient3);
      await expect(f.escrow.connect(f.stranger).join(f.studyId))
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowStudyFull")
        .withArgs(f.studyId, 3);
      await time.increaseTo(f.params.enrolmentDeadline);
      await expect(f.escrow.connect(f.patient).join(f.studyId))
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowEnrolmentClosed")
        .withArgs(f.studyId, f.params.enrolmentDeadline);
    });

    it("bubbles the registry's refusal when the researcher is suspended", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      await f.registry.suspend(f.researcher.address, ethers.ZeroHash);
      await expect(f.escrow.connect(f.patient).join(f.studyId))
        .to.be.revertedWithCustomError(f.registry, "ConsentRegistryGranteeNotAccredited")
        .withArgs(f.researcher.address, RESEARCHER);
    });

    describe("joinBySig (relayed)", function () {
      it("joins with the patient's EIP-712 signature; the nonce is consumed", async function () {
        const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
        const deadline = (await time.latest()) + DAY;
        const sig = await signJoin(f, f.patient, f.studyId, 0n, deadline);
        const tx = f.escrow.connect(f.relayer).joinBySig(f.studyId, f.patient.address, deadline, sig);
        await expect(tx).to.emit(f.escrow, "StudyJoined").withArgs(f.studyId, f.patient.address, f.relayer.address);
        await expect(tx).to.emit(f.registry, "ConsentGranted");
        expect(await f.escrow.getParticipant(f.studyId, f.patient.address)).to.deep.equal([0n, BigInt(JOINED), 1n]);
        await expect(f.escrow.connect(f.relayer).joinBySig(f.studyId, f.patient.address, deadline, sig))
          .to.be.revertedWithCustomError(f.escrow, "StudyEscrowInvalidSignature")
          .withArgs(f.patient.address, 1n);
      });

      it("joins for a contract wallet (ERC-1271)", async function () {
        const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
        const wallet = (await ethers.deployContract("MockContractWallet", [
          f.patient.address,
        ])) as unknown as MockContractWallet;
        const walletAddress = await wallet.getAddress();
        const deadline = (await time.latest()) + DAY;
        const study = await f.escrow.getStudy(f.studyId);
        const terms = {
          researcher: study.researcher,
          purpose: study.purpose,
          categories: study.categories,
          price: study.price,
          endTime: study.endTime,
          protocolHash: study.protocolHash,
        };
        const sig = await f.patient.signTypedData(f.domain, JOIN_TYPES, {
          studyId: f.studyId,
          patient: walletAddress,
          terms,
          registryNonce: 0n,
          nonce: 0n,
          deadline,
        });
        await expect(f.escrow.connect(f.relayer).joinBySig(f.studyId, walletAddress, deadline, sig))
          .to.emit(f.escrow, "StudyJoined")
          .withArgs(f.studyId, walletAddress, f.relayer.address);
        const bad = await f.stranger.signTypedData(f.domain, JOIN_TYPES, {
          studyId: f.studyId,
          patient: walletAddress,
          terms,
          registryNonce: 0n,
          nonce: 1n,
          deadline,
        });
        await expect(f.escrow.connect(f.relayer).joinBySig(f.studyId, walletAddress, deadline, bad))
          .to.be.revertedWithCustomError(f.escrow, "StudyEscrowInvalidSignature")
          .withArgs(walletAddress, 1n);
      });

      it("refuses an expired signature, another signer, another study, a leave signature, a zero patient", async function () {
        const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
        const now = await time.latest();
        const expired = await signJoin(f, f.patient, f.studyId, 0n, now);
        await time.setNextBlockTimestamp(now + 1);
        await expect(f.escrow.connect(f.relayer).joinBySig(f.studyId, f.patient.address, now, expired))
          .to.be.revertedWithCustomError(f.escrow, "StudyEscrowSignatureExpired")
          .withArgs(now, now + 1);
        const deadline = now + DAY;
        for (const sig of [
          await signJoin(f, f.stranger, f.studyId, 0n, deadline),
          await signJoin(f, f.patient, 2n, 0n, deadline),
          await signLeave(f, f.patient, f.studyId, 0n, deadline),
          "0x1234",
        ]) {
          await expect(f.escrow.connect(f.relayer).joinBySig(f.studyId, f.patient.address, deadline, sig))
            .to.be.revertedWithCustomError(f.escrow, "StudyEscrowInvalidSignature")
            .withArgs(f.patient.address, 0n);
        }
        await expect(f.escrow.connect(f.relayer).joinBySig(f.studyId, ethers.ZeroAddress, deadline, "0x"))
          .to.be.revertedWithCustomError(f.escrow, "StudyEscrowInvalidPatient")
          .withArgs(ethers.ZeroAddress);
      });

      it("cancelSignatures voids a signature already given", async function () {
        const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
        const deadline = (await time.latest()) + DAY;
        const sig = await signJoin(f, f.patient, f.studyId, 0n, deadline);
        await expect(f.escrow.connect(f.patient).cancelSignatures(f.studyId))
          .to.emit(f.escrow, "SignaturesCancelled")
          .withArgs(f.studyId, f.patient.address, 1n);
        await expect(f.escrow.connect(f.relayer).joinBySig(f.studyId, f.patient.address, deadline, sig))
          .to.be.revertedWithCustomError(f.escrow, "StudyEscrowInvalidSignature")
          .withArgs(f.patient.address, 1n);
        // The next nonce works, and the patient still gets the first place.
        const next = await signJoin(f, f.patient, f.studyId, 1n, deadline);
        await f.escrow.connect(f.relayer).joinBySig(f.studyId, f.patient.address, deadline, next);
        expect(await f.escrow.getParticipant(f.studyId, f.patient.address)).to.deep.equal([0n, BigInt(JOINED), 2n]);
      });

      it("attack (security finding): a Join signed before a revoke-all or a signature cancellation in the registry is refused", async function () {
        for (const revoke of ["revokeAll", "cancelSignatures"] as const) {
          const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
          const deadline = (await time.latest()) + DAY;
          const sig = await signJoin(f, f.patient, f.studyId, 0n, deadline);
          await f.registry.connect(f.patient)[revoke]();
          // The Join binds the registry's revocation nonce, which the revocation moved on.
          await expect(f.escrow.connect(f.relayer).joinBySig(f.studyId, f.patient.address, deadline, sig))
            .to.be.revertedWithCustomError(f.escrow, "StudyEscrowInvalidSignature")
            .withArgs(f.patient.address, 0n);
          const [reason] = await f.registry.scopeStatus(
            f.patient.address,
            f.researcher.address,
            await f.escrow.studyKey(f.studyId),
            1,
          );
          expect(reason, revoke).to.not.equal(0n);
          expect((await f.escrow.getParticipant(f.studyId, f.patient.address)).status, revoke).to.equal(0n);
          // A Join signed after the revocation joins.
          const again = await signJoin(f, f.patient, f.studyId, 0n, deadline);
          await expect(f.escrow.connect(f.relayer).joinBySig(f.studyId, f.patient.address, deadline, again))
            .to.emit(f.escrow, "StudyJoined")
            .withArgs(f.studyId, f.patient.address, f.relayer.address);
        }
      });
    });
  });

  describe("leave", function () {
    it("leaves: the study grant is revoked, the earnings stay, deliveries stop", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      await joined(f, f.patient);
      await f.escrow.connect(f.hospitalGateway).reportDeliveries(f.studyId, [f.patient.address]);
      const grantId = await f.registry.grantIdOf(f.patient.address, f.researcher.address, f.key);
      const tx = f.escrow.connect(f.patient).leave(f.studyId);
      await expect(tx).to.emit(f.escrow, "StudyLeft").withArgs(f.studyId, f.patient.address, f.patient.address);
      await expect(tx)
        .to.emit(f.registry, "ConsentRevoked")
        .withArgs(grantId, f.patient.address, f.researcher.address, f.escrowAddress);
      expect((await f.escrow.getParticipant(f.studyId, f.patient.address)).status).to.equal(LEFT);
      expect((await f.registry.scopeStatus(f.patient.address, f.researcher.address, f.key, OBSERVATION))[0]).to.equal(
        NO_GRANT,
      );
      expect(await f.escrow.balanceOf(f.tokenAddress, f.patient.address)).to.equal(PATIENT_AMOUNT);
      await expect(f.escrow.connect(f.labGateway).reportDeliveries(f.studyId, [f.patient.address]))
        .to.emit(f.escrow, "DeliverySkipped")
        .withArgs(f.studyId, f.patient.address, f.lab.address, NOT_PARTICIPANT, ALLOWED);
      await expect(f.escrow.connect(f.patient).leave(f.studyId))
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowNotJoined")
        .withArgs(f.studyId, f.patient.address);
    });

    it("leaving one study revokes that study's grant only", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      await f.escrow.connect(f.researcher).createStudy(await paramsFor(f), BUDGET);
      const key2 = await f.escrow.studyKey(2n);
      await f.escrow.connect(f.patient).join(f.studyId);
      await f.escrow.connect(f.patient).join(2n);
      await f.escrow.connect(f.patient).leave(f.studyId);
      expect((await f.registry.scopeStatus(f.patient.address, f.researcher.address, key2, OBSERVATION))[0]).to.equal(
        ALLOWED,
      );
    });

    it("leaves even when the patient already revoked the grant in the registry", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      await joined(f, f.patient);
      await f.registry.connect(f.patient).revoke(f.researcher.address, f.key);
      const tx = f.escrow.connect(f.patient).leave(f.studyId);
      await expect(tx).to.emit(f.escrow, "StudyLeft");
      await expect(tx).not.to.emit(f.registry, "ConsentRevoked");
    });

    it("refuses a patient that never joined", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      await expect(f.escrow.connect(f.stranger).leave(f.studyId))
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowNotJoined")
        .withArgs(f.studyId, f.stranger.address);
    });

    it("re-joining keeps the place, so a custodian's delivery is never paid twice", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      await joined(f, f.patient, f.patient2);
      await f.escrow.connect(f.hospitalGateway).reportDeliveries(f.studyId, [f.patient.address]);
      await f.escrow.connect(f.patient).leave(f.studyId);
      await f.escrow.connect(f.patient).join(f.studyId);
      // the leave used up the nonce (voiding any Join signed before it)
      expect(await f.escrow.getParticipant(f.studyId, f.patient.address)).to.deep.equal([0n, BigInt(JOINED), 1n]);
      expect((await f.escrow.getStudy(f.studyId)).participants).to.equal(2);
      await expect(f.escrow.connect(f.hospitalGateway).reportDeliveries(f.studyId, [f.patient.address]))
        .to.emit(f.escrow, "DeliverySkipped")
        .withArgs(f.studyId, f.patient.address, f.hospital.address, ALREADY_DELIVERED, ALLOWED);
    });

    describe("leaveBySig (relayed)", function () {
      it("leaves with the patient's signature", async function () {
        const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
        await joined(f, f.patient);
        const deadline = (await time.latest()) + DAY;
        const sig = await signLeave(f, f.patient, f.studyId, 0n, deadline);
        await expect(f.escrow.connect(f.relayer).leaveBySig(f.studyId, f.patient.address, deadline, sig))
          .to.emit(f.escrow, "StudyLeft")
          .withArgs(f.studyId, f.patient.address, f.relayer.address);
        expect(await f.escrow.getParticipant(f.studyId, f.patient.address)).to.deep.equal([0n, BigInt(LEFT), 1n]);
      });

      it("refuses a join signature or a stale nonce", async function () {
        const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
        await joined(f, f.patient);
        const deadline = (await time.latest()) + DAY;
        const joinSig = await signJoin(f, f.patient, f.studyId, 0n, deadline);
        await expect(f.escrow.connect(f.relayer).leaveBySig(f.studyId, f.patient.address, deadline, joinSig))
          .to.be.revertedWithCustomError(f.escrow, "StudyEscrowInvalidSignature")
          .withArgs(f.patient.address, 0n);
        await f.escrow.connect(f.patient).cancelSignatures(f.studyId);
        const stale = await signLeave(f, f.patient, f.studyId, 0n, deadline);
        await expect(f.escrow.connect(f.relayer).leaveBySig(f.studyId, f.patient.address, deadline, stale))
          .to.be.revertedWithCustomError(f.escrow, "StudyEscrowInvalidSignature")
          .withArgs(f.patient.address, 1n);
      });
    });
  });

  describe("reportDeliveries", function () {
    it("pays each delivery: the price from the budget, the share to the custodian, the rest to the patient", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      await joined(f, f.patient, f.patient2);
      const patients = [f.patient.address, f.patient2.address];
      expect(await f.escrow.connect(f.hospitalGateway).reportDeliveries.staticCall(f.studyId, patients)).to.deep.equal([
        2n,
        2n * HOSPITAL_SHARE,
      ]);
      const tx = f.escrow.connect(f.hospitalGateway).reportDeliveries(f.studyId, patients);
      for (const p of patients) {
        await expect(tx)
          .to.emit(f.escrow, "DeliveryPaid")
          .withArgs(f.studyId, p, f.hospital.address, PATIENT_AMOUNT, HOSPITAL_SHARE);
      }
      await expect(tx)
        .to.emit(f.escrow, "DeliveriesReported")
        .withArgs(f.studyId, f.hospital.address, f.hospitalGateway.address, 2n, 0n, 2n * HOSPITAL_SHARE);
      await expect(tx).to.changeTokenBalances(ethers, f.token, [f.escrowAddress], [0n]);
      expect((await f.escrow.getStudy(f.studyId)).budget).to.equal(BUDGET - 2n * PRICE);
      expect(await f.escrow.balanceOf(f.tokenAddress, f.patient.address)).to.equal(PATIENT_AMOUNT);
      expect(await f.escrow.balanceOf(f.tokenAddress, f.patient2.address)).to.equal(PATIENT_AMOUNT);
      expect(await f.escrow.balanceOf(f.tokenAddress, f.hospital.address)).to.equal(2n * HOSPITAL_SHARE);
      expect(await f.escrow.isDelivered(f.studyId, f.patient.address, f.hospital.address)).to.equal(true);
      expect(await f.escrow.isDelivered(f.studyId, f.patient.address, f.lab.address)).to.equal(false);
      await expectAccounted(f, [1n], [f.patient.address, f.patient2.address, f.hospital.address]);
    });

    it("pays another custodian's delivery of the same patient; a custodian without share takes nothing", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      await joined(f, f.patient);
      await f.escrow.connect(f.hospitalGateway).reportDeliveries(f.studyId, [f.patient.address]);
      const tx = f.escrow.connect(f.labGateway).reportDeliveries(f.studyId, [f.patient.address]);
      await expect(tx)
        .to.emit(f.escrow, "DeliveryPaid")
        .withArgs(f.studyId, f.patient.address, f.lab.address, PRICE, 0n);
      await expect(tx)
        .to.emit(f.escrow, "DeliveriesReported")
        .withArgs(f.studyId, f.lab.address, f.labGateway.address, 1n, 0n, 0n);
      expect(await f.escrow.balanceOf(f.tokenAddress, f.patient.address)).to.equal(PATIENT_AMOUNT + PRICE);
      expect(await f.escrow.balanceOf(f.tokenAddress, f.lab.address)).to.equal(0n);
      expect(await f.escrow.isDelivered(f.studyId, f.patient.address, f.lab.address)).to.equal(true);
    });

    it("a retried report, or a patient twice in one batch, pays nothing more", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      await joined(f, f.patient);
      const tx = f.escrow
        .connect(f.hospitalGateway)
        .reportDeliveries(f.studyId, [f.patient.address, f.patient.address]);
      await expect(tx)
        .to.emit(f.escrow, "DeliverySkipped")
        .withArgs(f.studyId, f.patient.address, f.hospital.address, ALREADY_DELIVERED, ALLOWED);
      await expect(tx)
        .to.emit(f.escrow, "DeliveriesReported")
        .withArgs(f.studyId, f.hospital.address, f.hospitalGateway.address, 1n, 1n, HOSPITAL_SHARE);
      const retry = f.escrow.connect(f.hospitalGateway).reportDeliveries(f.studyId, [f.patient.address]);
      await expect(retry).not.to.emit(f.escrow, "DeliveryPaid");
      await expect(retry)
        .to.emit(f.escrow, "DeliveriesReported")
        .withArgs(f.studyId, f.hospital.address, f.hospitalGateway.address, 0n, 1n, 0n);
      expect(await f.escrow.balanceOf(f.tokenAddress, f.patient.address)).to.equal(PATIENT_AMOUNT);
      expect(await f.escrow.balanceOf(f.tokenAddress, f.hospital.address)).to.equal(HOSPITAL_SHARE);
    });

    it("skips a patient who never joined", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      await expect(f.escrow.connect(f.hospitalGateway).reportDeliveries(f.studyId, [f.stranger.address]))
        .to.emit(f.escrow, "DeliverySkipped")
        .withArgs(f.studyId, f.stranger.address, f.hospital.address, NOT_PARTICIPANT, ALLOWED);
      expect(await f.escrow.balanceOf(f.tokenAddress, f.stranger.address)).to.equal(0n);
    });

    it("skips a patient without an active research grant now, with the registry's reason", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      await joined(f, f.patient, f.patient2);
      await f.registry.connect(f.patient).revoke(f.researcher.address, f.key);
      await f.registry.connect(f.patient2).revokeAll();
      const tx = f.escrow
        .connect(f.hospitalGateway)
        .reportDeliveries(f.studyId, [f.patient.address, f.patient2.address]);
      await expect(tx)
        .to.emit(f.escrow, "DeliverySkipped")
        .withArgs(f.studyId, f.patient.address, f.hospital.address, NO_ACTIVE_GRANT, NO_GRANT);
      await expect(tx)
        .to.emit(f.escrow, "DeliverySkipped")
        .withArgs(f.studyId, f.patient2.address, f.hospital.address, NO_ACTIVE_GRANT, REVOKED_BY_REVOKE_ALL);
      await expect(tx).not.to.emit(f.escrow, "DeliveryPaid");
      expect((await f.escrow.getStudy(f.studyId)).budget).to.equal(BUDGET);
      // Not marked delivered: once the patient joins again, the delivery pays.
      await f.escrow.connect(f.patient).join(f.studyId);
      await expect(f.escrow.connect(f.hospitalGateway).reportDeliveries(f.studyId, [f.patient.address])).to.emit(
        f.escrow,
        "DeliveryPaid",
      );
    });

    it("a commercial or for-profit researcher is not paid data under an NCU or NPU grant (item 9, studies)", async function () {
      // Attack: a researcher that governance records as commercial (or has no record: commercial
      // and for-profit) creates a study whose purpose carries DUO NCU ("non-commercial use
      // only"); patients join, and the custodians' deliveries paid it the data.
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      const NCU = 1n << 8n;
      const NPU = 2n << 8n;
      const PURPOSE_NOT_COVERED = 12;
      for (const [restriction, commercial, forProfit] of [
        [NCU, true, false], // recorded commercial: NCU refuses it
        [NPU, false, true], // recorded for-profit: NPU refuses it
        [NCU | NPU, false, false], // recorded neither: the restrictions are met
      ] as const) {
        const snapshot = await networkHelpers.takeSnapshot();
        await f.registry.setUseProfile(f.researcher.address, commercial, forProfit);
        await f.escrow.connect(f.researcher).createStudy(await paramsFor(f, { purpose: HMB | restriction }), BUDGET);
        const key2 = await f.escrow.studyKey(2n);
        await f.escrow.connect(f.patient).join(2n);
        const refused = commercial || forProfit;
        const expected = refused ? PURPOSE_NOT_COVERED : ALLOWED;
        for (const grantee of [f.researcher.address, f.analyst.address]) {
          expect((await f.registry.scopeStatus(f.patient.address, grantee, key2, OBSERVATION))[0]).to.equal(expected);
        }
        const tx = f.escrow.connect(f.hospitalGateway).reportDeliveries(2n, [f.patient.address]);
        if (refused) {
          await expect(tx)
            .to.emit(f.escrow, "DeliverySkipped")
            .withArgs(2n, f.patient.address, f.hospital.address, NO_ACTIVE_GRANT, PURPOSE_NOT_COVERED);
          await expect(tx).not.to.emit(f.escrow, "DeliveryPaid");
        } else {
          await expect(tx).to.emit(f.escrow, "DeliveryPaid");
        }
        await snapshot.restore();
      }
      // No record at all: commercial and for-profit, so an NCU study of that researcher pays nothing.
      await f.escrow.connect(f.otherResearcher).createStudy(await paramsFor(f, { purpose: HMB | NCU }), BUDGET);
      await f.escrow.connect(f.patient).join(2n);
      await expect(f.escrow.connect(f.hospitalGateway).reportDeliveries(2n, [f.patient.address]))
        .to.emit(f.escrow, "DeliverySkipped")
        .withArgs(2n, f.patient.address, f.hospital.address, NO_ACTIVE_GRANT, PURPOSE_NOT_COVERED);
    });

    it("skips every delivery while the researcher organization is suspended", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      await joined(f, f.patient);
      await f.registry.suspend(f.researcher.address, ethers.ZeroHash);
      await expect(f.escrow.connect(f.hospitalGateway).reportDeliveries(f.studyId, [f.patient.address]))
        .to.emit(f.escrow, "DeliverySkipped")
        .withArgs(f.studyId, f.patient.address, f.hospital.address, NO_ACTIVE_GRANT, ORGANIZATION_SUSPENDED);
    });

    it("never pays beyond the budget; a top-up lets a retry pay the rest", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      await f.escrow.connect(f.researcher).createStudy(await paramsFor(f), PRICE);
      for (const p of [f.patient, f.patient2]) await f.escrow.connect(p).join(2n);
      const batch = [f.patient.address, f.patient2.address];
      const tx = f.escrow.connect(f.hospitalGateway).reportDeliveries(2n, batch);
      await expect(tx)
        .to.emit(f.escrow, "DeliverySkipped")
        .withArgs(2n, f.patient2.address, f.hospital.address, BUDGET_EXHAUSTED, ALLOWED);
      await expect(tx)
        .to.emit(f.escrow, "DeliveriesReported")
        .withArgs(2n, f.hospital.address, f.hospitalGateway.address, 1n, 1n, HOSPITAL_SHARE);
      expect((await f.escrow.getStudy(2n)).budget).to.equal(0n);
      await f.escrow.connect(f.researcher).fund(2n, PRICE);
      await expect(f.escrow.connect(f.hospitalGateway).reportDeliveries(2n, batch))
        .to.emit(f.escrow, "DeliveriesReported")
        .withArgs(2n, f.hospital.address, f.hospitalGateway.address, 1n, 1n, HOSPITAL_SHARE);
      await expectAccounted(f, [1n, 2n], [f.patient.address, f.patient2.address, f.hospital.address]);
    });

    it("refuses an empty batch, an unknown study, an ended study", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      await expect(f.escrow.connect(f.hospitalGateway).reportDeliveries(f.studyId, [])).to.be.revertedWithCustomError(
        f.escrow,
        "StudyEscrowEmptyBatch",
      );
      await expect(f.escrow.connect(f.hospitalGateway).reportDeliveries(4n, [f.patient.address]))
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowUnknownStudy")
        .withArgs(4n);
      await time.increaseTo(f.params.endTime);
      await expect(f.escrow.connect(f.hospitalGateway).reportDeliveries(f.studyId, [f.patient.address]))
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowStudyClosed")
        .withArgs(f.studyId, OPEN, f.params.endTime);
    });

    it("refuses a caller that is not an active GATEWAY member of an active provider", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      await f.registry.connect(f.researcher).offerMembership(f.researcher.address, f.relayer.address, GATEWAY);
      await f.registry.connect(f.relayer).acceptMembership(f.researcher.address, GATEWAY);
      for (const caller of [f.stranger, f.clinician, f.hospital, f.relayer, f.analyst]) {
        await expect(f.escrow.connect(caller).reportDeliveries(f.studyId, [f.patient.address]))
          .to.be.revertedWithCustomError(f.escrow, "StudyEscrowNotGateway")
          .withArgs(caller.address);
      }
      await f.registry.suspend(f.hospital.address, ethers.ZeroHash);
      await expect(f.escrow.connect(f.hospitalGateway).reportDeliveries(f.studyId, [f.patient.address]))
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowNotGateway")
        .withArgs(f.hospitalGateway.address);
    });

    it("refuses the gateway of a custodian the study does not allow", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      await expect(f.escrow.connect(f.otherGateway).reportDeliveries(f.studyId, [f.patient.address]))
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowCustodianNotAllowed")
        .withArgs(f.studyId, f.otherProvider.address);
      expect(await f.escrow.isDelivered(f.studyId, f.patient.address, f.otherProvider.address)).to.equal(false);
    });
  });

  describe("withdraw", function () {
    it("pays a patient's and a custodian's whole balance, once", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      await joined(f, f.patient);
      await f.escrow.connect(f.hospitalGateway).reportDeliveries(f.studyId, [f.patient.address]);
      await f.escrow.connect(f.labGateway).reportDeliveries(f.studyId, [f.patient.address]);
      const earned = PATIENT_AMOUNT + PRICE;
      expect(await f.escrow.connect(f.patient).withdraw.staticCall(f.tokenAddress)).to.equal(earned);
      const tx = f.escrow.connect(f.patient).withdraw(f.tokenAddress);
      await expect(tx).to.emit(f.escrow, "Withdrawn").withArgs(f.patient.address, f.tokenAddress, earned);
      await expect(tx).to.changeTokenBalances(ethers, f.token, [f.escrowAddress, f.patient], [-earned, earned]);
      expect(await f.escrow.balanceOf(f.tokenAddress, f.patient.address)).to.equal(0n);
      await expect(f.escrow.connect(f.patient).withdraw(f.tokenAddress))
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowNothingToWithdraw")
        .withArgs(f.patient.address, f.tokenAddress);

      await expect(f.escrow.connect(f.hospital).withdraw(f.tokenAddress))
        .to.emit(f.escrow, "Withdrawn")
        .withArgs(f.hospital.address, f.tokenAddress, HOSPITAL_SHARE);
      await expectAccounted(f, [1n], [f.patient.address, f.hospital.address]);
    });

    it("credits a delivery after a withdrawal (the balance reopens)", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      await joined(f, f.patient);
      await f.escrow.connect(f.hospitalGateway).reportDeliveries(f.studyId, [f.patient.address]);
      await f.escrow.connect(f.patient).withdraw(f.tokenAddress);
      await f.escrow.connect(f.labGateway).reportDeliveries(f.studyId, [f.patient.address]);
      expect(await f.escrow.balanceOf(f.tokenAddress, f.patient.address)).to.equal(PRICE);
      await expect(f.escrow.connect(f.patient).withdraw(f.tokenAddress))
        .to.emit(f.escrow, "Withdrawn")
        .withArgs(f.patient.address, f.tokenAddress, PRICE);
    });

    it("refuses an account with nothing to withdraw: never paid, or joined but not yet paid", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      await joined(f, f.patient);
      for (const account of [f.patient, f.stranger]) {
        await expect(f.escrow.connect(account).withdraw(f.tokenAddress))
          .to.be.revertedWithCustomError(f.escrow, "StudyEscrowNothingToWithdraw")
          .withArgs(account.address, f.tokenAddress);
      }
    });
  });

  describe("recoverExcess (governance)", function () {
    it("recovers exactly what was sent to the escrow directly, never a budget or a balance", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      await joined(f, f.patient);
      await f.escrow.connect(f.hospitalGateway).reportDeliveries(f.studyId, [f.patient.address]);
      await expect(f.escrow.recoverExcess(f.tokenAddress, f.deployer.address))
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowNoExcess")
        .withArgs(f.tokenAddress);
      const stray = ethers.parseEther("3");
      await f.token.connect(f.researcher).transfer(f.escrowAddress, stray);
      await f.escrow.connect(f.patient).withdraw(f.tokenAddress);
      const tx = f.escrow.recoverExcess(f.tokenAddress, f.stranger.address);
      await expect(tx)
        .to.emit(f.escrow, "ExcessRecovered")
        .withArgs(f.tokenAddress, f.stranger.address, stray, f.deployer.address);
      await expect(tx).to.changeTokenBalances(ethers, f.token, [f.escrowAddress, f.stranger], [-stray, stray]);
      await expectAccounted(f, [1n], [f.patient.address, f.hospital.address]);
      expect(await f.token.balanceOf(f.escrowAddress)).to.equal(await f.escrow.accounted(f.tokenAddress));
    });

    it("recovers a token that is no study's currency", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      const other = (await ethers.deployContract("MockFeeOnTransferToken", [0])) as unknown as MockFeeOnTransferToken;
      await other.mint(f.escrowAddress, 5n);
      await expect(f.escrow.recoverExcess(other, f.deployer.address))
        .to.emit(f.escrow, "ExcessRecovered")
        .withArgs(await other.getAddress(), f.deployer.address, 5n, f.deployer.address);
    });

    it("refuses the zero recipient and anyone but governance", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      await expect(f.escrow.recoverExcess(f.tokenAddress, ethers.ZeroAddress))
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowInvalidRecipient")
        .withArgs(ethers.ZeroAddress);
      await expect(f.escrow.connect(f.stranger).recoverExcess(f.tokenAddress, f.stranger.address))
        .to.be.revertedWithCustomError(f.escrow, "AccessControlUnauthorizedAccount")
        .withArgs(f.stranger.address, await f.escrow.GOVERNANCE_ROLE());
    });
  });

  describe("reentrancy", function () {
    async function hostileStudy(f: Fixture) {
      const hostile = (await ethers.deployContract("MockReentrantToken")) as unknown as MockReentrantToken;
      await f.escrow.setCurrencyAllowed(hostile, true);
      await hostile.mint(f.researcher.address, BUDGET);
      await hostile.connect(f.researcher).approve(f.escrowAddress, BUDGET);
      await f.escrow
        .connect(f.researcher)
        .createStudy(await paramsFor(f, { currency: await hostile.getAddress() }), 2n * PRICE);
      return hostile;
    }

    it("a token cannot re-enter the escrow while it is funded", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      const hostile = await hostileStudy(f);
      await hostile.arm(
        f.escrowAddress,
        f.escrow.interface.encodeFunctionData("withdraw", [await hostile.getAddress()]),
      );
      await expect(f.escrow.connect(f.researcher).fund(2n, PRICE)).to.be.revertedWithCustomError(
        f.escrow,
        "ReentrancyGuardReentrantCall",
      );
    });

    it("a token cannot re-enter the escrow during a withdrawal or a reclaim", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      const hostile = await hostileStudy(f);
      await f.escrow.connect(f.patient).join(2n);
      await f.escrow.connect(f.hospitalGateway).reportDeliveries(2n, [f.patient.address]);
      const reenter = f.escrow.interface.encodeFunctionData("reportDeliveries", [2n, [f.patient.address]]);
      await hostile.arm(f.escrowAddress, reenter);
      await expect(f.escrow.connect(f.patient).withdraw(hostile)).to.be.revertedWithCustomError(
        f.escrow,
        "ReentrancyGuardReentrantCall",
      );
      await f.escrow.connect(f.researcher).cancelStudy(2n);
      await expect(f.escrow.connect(f.researcher).reclaim(2n)).to.be.revertedWithCustomError(
        f.escrow,
        "ReentrancyGuardReentrantCall",
      );
    });
  });

  describe("reentrancy by a hostile token into join, leave, cancelStudy, withdraw and reclaim", function () {
    it("each re-entry is refused, or harmless: the accounting still holds and the patient is paid exactly", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      const hostile = (await ethers.deployContract("MockReentrantToken")) as unknown as MockReentrantToken;
      const hostileAddress = await hostile.getAddress();
      await f.escrow.setCurrencyAllowed(hostile, true);
      await hostile.mint(f.researcher.address, BUDGET);
      await hostile.connect(f.researcher).approve(f.escrowAddress, BUDGET);
      await f.escrow.connect(f.researcher).createStudy(await paramsFor(f, { currency: hostileAddress }), BUDGET);
      const study = 2n;
      await f.escrow.connect(f.patient).join(study);
      await f.escrow.connect(f.hospitalGateway).reportDeliveries(study, [f.patient.address]);
      const abi = new ethers.Interface(f.escrow.interface.fragments);
      const call = (name: string, args: unknown[]) => abi.encodeFunctionData(name, args);
      const holds = async () => {
        const s = await f.escrow.getStudy(study);
        const owed =
          s.budget +
          (await f.escrow.balanceOf(hostileAddress, f.patient.address)) +
          (await f.escrow.balanceOf(hostileAddress, f.hospital.address));
        expect(await f.escrow.accounted(hostileAddress)).to.equal(owed);
        expect(await hostile.balanceOf(f.escrowAddress)).to.equal(owed);
      };
      // During a withdrawal: withdraw and reclaim are refused by the guard; cancelStudy and leave are
      // refused (the token manages no study and is no participant); join is harmless (the token
      // joins in its own name, moving no money).
      const refusals: [string, unknown[], string][] = [
        ["withdraw", [hostileAddress], "ReentrancyGuardReentrantCall"],
        ["reclaim", [study], "ReentrancyGuardReentrantCall"],
        ["cancelStudy", [study], "StudyEscrowNotStudyManager"],
        ["leave", [study], "StudyEscrowNotJoined"],
      ];
      for (const [name, args, error] of refusals) {
        await hostile.arm(f.escrowAddress, call(name, args));
        await expect(f.escrow.connect(f.patient).withdraw(hostileAddress)).to.be.revertedWithCustomError(
          f.escrow,
          error,
        );
        await holds();
      }
      await hostile.arm(f.escrowAddress, call("join", [study]));
      await expect(f.escrow.connect(f.patient).withdraw(hostileAddress)).to.changeTokenBalances(
        ethers,
        hostile,
        [f.escrowAddress, f.patient],
        [-PATIENT_AMOUNT, PATIENT_AMOUNT],
      );
      expect((await f.escrow.getParticipant(study, hostileAddress)).status).to.equal(JOINED);
      await holds();
      // The token, now a participant, leaves during a reclaim: harmless, the reclaim pays the
      // organization exactly the budget; withdraw and reclaim re-entered during a reclaim are refused.
      await f.escrow.connect(f.researcher).cancelStudy(study);
      for (const [name, args] of [
        ["withdraw", [hostileAddress]],
        ["reclaim", [study]],
      ] as const) {
        await hostile.arm(f.escrowAddress, call(name, [...args]));
        await expect(f.escrow.connect(f.researchAdmin).reclaim(study)).to.be.revertedWithCustomError(
          f.escrow,
          "ReentrancyGuardReentrantCall",
        );
      }
      await hostile.arm(f.escrowAddress, call("leave", [study]));
      const budget = (await f.escrow.getStudy(study)).budget;
      await expect(f.escrow.connect(f.researchAdmin).reclaim(study)).to.changeTokenBalances(
        ethers,
        hostile,
        [f.escrowAddress, f.researcher, f.researchAdmin],
        [-budget, budget, 0n],
      );
      expect((await f.escrow.getParticipant(study, hostileAddress)).status).to.equal(LEFT);
      await holds();
    });
  });

  describe("sdk", function () {
    it("agrees with the contract on study keys, shares, limits and typed data", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      expect(studyKey(f.escrowAddress as `0x${string}`, f.studyId)).to.equal(await f.escrow.studyKey(f.studyId));
      expect(studyKey(f.escrowAddress as `0x${string}`, f.studyId)).to.equal(f.key);
      expect(custodianShare(PRICE, HOSPITAL_SHARE_BPS)).to.deep.equal({
        custodian: HOSPITAL_SHARE,
        patient: PATIENT_AMOUNT,
      });
      expect(BigInt(MAX_CUSTODIAN_SHARE_BPS)).to.equal(await f.escrow.MAX_CUSTODIAN_SHARE_BPS());
      expect(BigInt(MAX_CUSTODIANS)).to.equal(await f.escrow.MAX_CUSTODIANS());
      // The Terms, Withdraw and EnrolmentAttestation typehashes are private (bytecode size): the
      // signatures the tests make with the sdk's types, which the contract accepts, check them.
      for (const [name, typehash] of [
        ["Join", await f.escrow.JOIN_TYPEHASH()],
        ["Leave", await f.escrow.LEAVE_TYPEHASH()],
      ] as const) {
        const types: Record<string, { name: string; type: string }[]> =
          name === "Join"
            ? { Join: [...studyTypes.Join], Terms: [...studyTypes.Terms] }
            : { [name]: [...studyTypes[name]] };
        const encoder = ethers.TypedDataEncoder.from(types);
        expect(ethers.id(encoder.encodeType(name))).to.equal(typehash);
      }
      // The stored terms hash is the EIP-712 hash of the terms the wallet shows.
      const study = await f.escrow.getStudy(f.studyId);
      const terms = {
        researcher: study.researcher,
        purpose: study.purpose,
        categories: study.categories,
        price: study.price,
        endTime: study.endTime,
        protocolHash: study.protocolHash,
      };
      const sdkSigned = await f.patient.signTypedData(
        f.domain,
        { Join: [...studyTypes.Join], Terms: [...studyTypes.Terms] },
        {
          studyId: f.studyId,
          patient: f.patient.address,
          terms,
          registryNonce: 0n,
          nonce: 0n,
          deadline: (await time.latest()) + DAY,
        },
      );
      expect(sdkSigned).to.equal(await signJoin(f, f.patient, f.studyId, 0n, (await time.latest()) + DAY));
    });
  });

  describe("views", function () {
    it("answer for unknown studies, participants and custodians", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      expect((await f.escrow.getStudy(42n)).status).to.equal(0);
      expect(await f.escrow.studyCustodians(42n)).to.deep.equal([]);
      expect(await f.escrow.getParticipant(f.studyId, f.stranger.address)).to.deep.equal([0n, 0n, 0n]);
      expect(await f.escrow.isDelivered(f.studyId, f.stranger.address, f.hospital.address)).to.equal(false);
      expect(await f.escrow.balanceOf(f.tokenAddress, f.stranger.address)).to.equal(0n);
      expect(await f.escrow.accounted(f.stranger.address)).to.equal(0n);
      expect(await f.escrow.isCurrencyAllowed(f.stranger.address)).to.equal(false);
    });
  });

  describe("issue 11 attacks (each refused)", function () {
    it("item 4: an ADMIN member who cancels and reclaims gets nothing; the organization gets the budget", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      await f.escrow.connect(f.researchAdmin).cancelStudy(f.studyId);
      const reclaim = f.escrow.connect(f.researchAdmin).reclaim(f.studyId);
      await expect(reclaim).to.changeTokenBalances(
        ethers,
        f.token,
        [f.escrowAddress, f.researchAdmin, f.researcher],
        [-BUDGET, 0n, BUDGET],
      );
      await expect(reclaim).to.emit(f.escrow, "BudgetReclaimed").withArgs(f.studyId, f.researcher.address, BUDGET);
    });

    it("item 8: recovery through a double-entry token's second address cannot sweep what the escrow owes", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      const dbl = (await ethers.deployContract("MockDoubleEntryToken")) as unknown as MockDoubleEntryToken;
      const dblAddress = await dbl.getAddress();
      const second = await dbl.secondEntry();
      await f.escrow.setCurrencyAllowed(dblAddress, true);
      await dbl.mint(f.researcher.address, BUDGET);
      await dbl.connect(f.researcher).approve(f.escrowAddress, BUDGET);
      await f.escrow.connect(f.researcher).createStudy(await paramsFor(f, { currency: dblAddress }), BUDGET);
      const owedBefore = await dbl.balanceOf(f.escrowAddress);
      expect(owedBefore).to.equal(BUDGET);
      await expect(f.escrow.recoverExcess(second, f.deployer.address))
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowRecoveryLowersOwed")
        .withArgs(dblAddress, BUDGET, 0n);
      expect(await dbl.balanceOf(f.escrowAddress)).to.equal(owedBefore);
      // a genuine excess sent to the second address's shared balance is recoverable through the main one
      await dbl.mint(f.escrowAddress, 5n);
      await expect(f.escrow.recoverExcess(dblAddress, f.deployer.address)).to.changeTokenBalances(
        ethers,
        dbl,
        [f.escrowAddress, f.deployer],
        [-5n, 5n],
      );
    });

    it("item 6: after a direct leave, an older Join signature cannot re-enrol", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      const deadline = (await time.latest()) + DAY;
      const sig = await signJoin(f, f.patient, f.studyId, 0n, deadline);
      await f.escrow.connect(f.patient).join(f.studyId);
      await f.escrow.connect(f.patient).leave(f.studyId);
      await expect(
        f.escrow.connect(f.relayer).joinBySig(f.studyId, f.patient.address, deadline, sig),
      ).to.be.revertedWithCustomError(f.escrow, "StudyEscrowInvalidSignature");
      expect((await f.escrow.getParticipant(f.studyId, f.patient.address)).status).to.equal(LEFT);
    });

    it("item 13: a Join signature binds the study's terms; signed for other terms it joins nothing", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      const deadline = (await time.latest()) + DAY;
      // The patient agreed to study 1 as it was shown: its terms at a lower price, another protocol,
      // another researcher, a later end. None of these signatures joins study 1 as it is.
      for (const terms of [
        { price: PRICE * 2n },
        { protocolHash: ethers.id("another protocol") },
        { researcher: f.otherResearcher.address },
        { endTime: BigInt(f.params.endTime + DAY) },
        { purpose: GRU },
        { categories: BigInt(cats(OBSERVATION)) },
      ]) {
        const sig = await signJoin(f, f.patient, f.studyId, 0n, deadline, terms);
        await expect(f.escrow.connect(f.relayer).joinBySig(f.studyId, f.patient.address, deadline, sig))
          .to.be.revertedWithCustomError(f.escrow, "StudyEscrowInvalidSignature")
          .withArgs(f.patient.address, 0n);
      }
      // Signed for study 1's terms, it cannot join a study 2 with other terms (a reorganisation).
      await f.escrow.connect(f.researcher).createStudy(await paramsFor(f, { price: PRICE * 2n }), BUDGET);
      const forStudy1 = await signJoin(f, f.patient, 1n, 0n, deadline);
      const asStudy2 = await signJoin(f, f.patient, 2n, 0n, deadline, { price: PRICE });
      await expect(
        f.escrow.connect(f.relayer).joinBySig(2n, f.patient.address, deadline, asStudy2),
      ).to.be.revertedWithCustomError(f.escrow, "StudyEscrowInvalidSignature");
      await f.escrow.connect(f.relayer).joinBySig(1n, f.patient.address, deadline, forStudy1);
      expect((await f.escrow.getParticipant(1n, f.patient.address)).status).to.equal(JOINED);
    });

    it("item 3: leaving frees the place for another patient; a patient who left and rejoins retakes one", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      await f.escrow.connect(f.researcher).createStudy(await paramsFor(f, { maxParticipants: 1 }), BUDGET);
      await f.escrow.connect(f.patient).join(2n);
      await expect(f.escrow.connect(f.patient2).join(2n))
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowStudyFull")
        .withArgs(2n, 1n);
      await f.escrow.connect(f.patient).leave(2n);
      expect((await f.escrow.getStudy(2n)).participants).to.equal(0n);
      await f.escrow.connect(f.patient2).join(2n);
      expect((await f.escrow.getStudy(2n)).participants).to.equal(1n);
      await expect(f.escrow.connect(f.patient).join(2n))
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowStudyFull")
        .withArgs(2n, 1n);
      // indices are never reused: the new participant's deliveries are its own
      expect((await f.escrow.getParticipant(2n, f.patient2.address)).index).to.equal(1n);
      await f.escrow.connect(f.patient2).leave(2n);
      await f.escrow.connect(f.patient).join(2n);
      expect((await f.escrow.getParticipant(2n, f.patient.address)).index).to.equal(0n);
      expect((await f.escrow.getStudy(2n)).participants).to.equal(1n);
    });
  });

  describe("custodian-attested enrolment (issue 11 item 3)", function () {
    const ATTESTATION_TYPES = {
      EnrolmentAttestation: [
        { name: "patient", type: "address" },
        { name: "studyId", type: "uint256" },
        { name: "custodian", type: "address" },
        { name: "deadline", type: "uint256" },
      ],
    };

    /** Study 2: like study 1, but every join needs a custodian's attestation. */
    async function attestedStudyFixture() {
      const f = await deployStudyEscrowFixture();
      await f.escrow.connect(f.researcher).createStudy(await paramsFor(f, { attestedEnrolment: true }), BUDGET);
      return { ...f, attestedId: 2n };
    }

    async function attest(
      f: Fixture,
      signer: HardhatEthersSigner,
      patient: string,
      studyId: bigint,
      custodian: string,
      deadline?: number,
    ) {
      const until = deadline ?? (await time.latest()) + DAY;
      const signature = await signer.signTypedData(f.domain, ATTESTATION_TYPES, {
        patient,
        studyId,
        custodian,
        deadline: until,
      });
      return { custodian, deadline: until, signature };
    }

    it("shows the requirement in getStudy and the StudyRequiresAttestation event", async function () {
      const f = await networkHelpers.loadFixture(deployStudyEscrowFixture);
      await expect(f.escrow.connect(f.researcher).createStudy(await paramsFor(f, { attestedEnrolment: true }), 0))
        .to.emit(f.escrow, "StudyRequiresAttestation")
        .withArgs(2n);
      const study = await f.escrow.getStudy(2n);
      expect(study.attestedEnrolment).to.equal(true);
      expect(study.categories).to.equal(BigInt(CATEGORIES));
      expect((await f.escrow.getStudy(f.studyId)).attestedEnrolment).to.equal(false);
    });

    it("attack: a throw-away address joins an attested study without an attestation: refused, direct or signed", async function () {
      const f = await networkHelpers.loadFixture(attestedStudyFixture);
      await expect(f.escrow.connect(f.stranger).join(f.attestedId))
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowAttestationRequired")
        .withArgs(f.attestedId);
      const deadline = (await time.latest()) + DAY;
      const sig = await signJoin(f, f.stranger, f.attestedId, 0n, deadline);
      await expect(f.escrow.connect(f.relayer).joinBySig(f.attestedId, f.stranger.address, deadline, sig))
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowAttestationRequired")
        .withArgs(f.attestedId);
    });

    it("attack: a forged attestation (signed by the patient, a clinician, another provider's gateway, the custodian's own key) is refused", async function () {
      const f = await networkHelpers.loadFixture(attestedStudyFixture);
      for (const [signer, custodian] of [
        [f.stranger, f.hospital.address],
        [f.clinician, f.hospital.address],
        [f.otherGateway, f.hospital.address],
        [f.hospital, f.hospital.address],
        [f.otherGateway, f.otherProvider.address],
      ] as const) {
        const attestation = await attest(f, signer, f.stranger.address, f.attestedId, custodian);
        await expect(f.escrow.connect(f.stranger).joinAttested(f.attestedId, attestation))
          .to.be.revertedWithCustomError(f.escrow, "StudyEscrowInvalidAttestation")
          .withArgs(f.attestedId, f.stranger.address, custodian);
      }
      // Not a signature at all.
      await expect(
        f.escrow.connect(f.stranger).joinAttested(f.attestedId, {
          custodian: f.hospital.address,
          deadline: (await time.latest()) + DAY,
          signature: "0x1234",
        }),
      ).to.be.revertedWithCustomError(f.escrow, "StudyEscrowInvalidAttestation");
    });

    it("attack: another study's, another patient's, another chain's attestation is refused", async function () {
      const f = await networkHelpers.loadFixture(attestedStudyFixture);
      const forStudy1 = await attest(f, f.hospitalGateway, f.stranger.address, f.studyId, f.hospital.address);
      await expect(f.escrow.connect(f.stranger).joinAttested(f.attestedId, forStudy1)).to.be.revertedWithCustomError(
        f.escrow,
        "StudyEscrowInvalidAttestation",
      );
      const forPatient = await attest(f, f.hospitalGateway, f.patient.address, f.attestedId, f.hospital.address);
      await expect(f.escrow.connect(f.stranger).joinAttested(f.attestedId, forPatient)).to.be.revertedWithCustomError(
        f.escrow,
        "StudyEscrowInvalidAttestation",
      );
      const deadline = (await time.latest()) + DAY;
      const otherChain = await f.hospitalGateway.signTypedData({ ...f.domain, chainId: 1n }, ATTESTATION_TYPES, {
        patient: f.stranger.address,
        studyId: f.attestedId,
        custodian: f.hospital.address,
        deadline,
      });
      await expect(
        f.escrow
          .connect(f.stranger)
          .joinAttested(f.attestedId, { custodian: f.hospital.address, deadline, signature: otherChain }),
      ).to.be.revertedWithCustomError(f.escrow, "StudyEscrowInvalidAttestation");
      // The deadline is signed: moving it forges nothing.
      const moved = { ...forPatient, deadline: forPatient.deadline + 1 };
      await expect(f.escrow.connect(f.patient).joinAttested(f.attestedId, moved)).to.be.revertedWithCustomError(
        f.escrow,
        "StudyEscrowInvalidAttestation",
      );
    });

    it("an attestation of a custodian the study does not allow, or past its deadline, is refused", async function () {
      const f = await networkHelpers.loadFixture(attestedStudyFixture);
      const elsewhere = await attest(f, f.otherGateway, f.patient.address, f.attestedId, f.otherProvider.address);
      await expect(f.escrow.connect(f.patient).joinAttested(f.attestedId, elsewhere))
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowInvalidAttestation")
        .withArgs(f.attestedId, f.patient.address, f.otherProvider.address);
      const soon = (await time.latest()) + 60;
      const expiring = await attest(f, f.hospitalGateway, f.patient.address, f.attestedId, f.hospital.address, soon);
      await time.increaseTo(soon + 1);
      await expect(f.escrow.connect(f.patient).joinAttested(f.attestedId, expiring))
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowAttestationExpired")
        .withArgs(soon, anyValue);
    });

    it("an attestation is useless once its signer is removed or its organization suspended", async function () {
      const f = await networkHelpers.loadFixture(attestedStudyFixture);
      const byHospital = await attest(f, f.hospitalGateway, f.patient.address, f.attestedId, f.hospital.address);
      const byLab = await attest(f, f.labGateway, f.patient2.address, f.attestedId, f.lab.address);
      await f.registry.connect(f.hospital).removeMember(f.hospital.address, f.hospitalGateway.address);
      await f.registry.suspend(f.lab.address, ethers.id("audit"));
      await expect(f.escrow.connect(f.patient).joinAttested(f.attestedId, byHospital)).to.be.revertedWithCustomError(
        f.escrow,
        "StudyEscrowInvalidAttestation",
      );
      await expect(f.escrow.connect(f.patient2).joinAttested(f.attestedId, byLab)).to.be.revertedWithCustomError(
        f.escrow,
        "StudyEscrowInvalidAttestation",
      );
    });

    it("a patient its custodian attests joins, directly or relayed in one step", async function () {
      const f = await networkHelpers.loadFixture(attestedStudyFixture);
      const direct = await attest(f, f.hospitalGateway, f.patient.address, f.attestedId, f.hospital.address);
      await expect(f.escrow.connect(f.patient).joinAttested(f.attestedId, direct))
        .to.emit(f.escrow, "StudyJoined")
        .withArgs(f.attestedId, f.patient.address, f.patient.address);
      const deadline = (await time.latest()) + DAY;
      const sig = await signJoin(f, f.patient2, f.attestedId, 0n, deadline);
      const byLab = await attest(f, f.labGateway, f.patient2.address, f.attestedId, f.lab.address);
      await expect(
        f.escrow.connect(f.labGateway).joinBySigAttested(f.attestedId, f.patient2.address, deadline, sig, byLab),
      )
        .to.emit(f.escrow, "StudyJoined")
        .withArgs(f.attestedId, f.patient2.address, f.labGateway.address);
      expect((await f.escrow.getParticipant(f.attestedId, f.patient2.address)).nonce).to.equal(1n);
      // The patient's Join signature is still needed: the attestation alone joins nobody by signature.
      const strangerAttested = await attest(f, f.hospitalGateway, f.stranger.address, f.attestedId, f.hospital.address);
      await expect(
        f.escrow
          .connect(f.hospitalGateway)
          .joinBySigAttested(f.attestedId, f.stranger.address, deadline, sig, strangerAttested),
      ).to.be.revertedWithCustomError(f.escrow, "StudyEscrowInvalidSignature");
      // A study without the requirement takes an attested join too.
      const plain = await attest(f, f.hospitalGateway, f.patient3.address, f.studyId, f.hospital.address);
      await f.escrow.connect(f.patient3).joinAttested(f.studyId, plain);
      expect((await f.escrow.getParticipant(f.studyId, f.patient3.address)).status).to.equal(JOINED);
    });

    it("attack (security finding): a custodian cannot relay a Join signed before the patient's revoke-all in the registry", async function () {
      const f = await networkHelpers.loadFixture(attestedStudyFixture);
      const deadline = (await time.latest()) + DAY;
      const sig = await signJoin(f, f.patient, f.attestedId, 0n, deadline);
      const attestation = await attest(f, f.hospitalGateway, f.patient.address, f.attestedId, f.hospital.address);
      await f.registry.connect(f.patient).revokeAll();
      const relayOld = f.escrow
        .connect(f.hospitalGateway)
        .joinBySigAttested(f.attestedId, f.patient.address, deadline, sig, attestation);
      await expect(relayOld)
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowInvalidSignature")
        .withArgs(f.patient.address, 0n);
      expect((await f.escrow.getParticipant(f.attestedId, f.patient.address)).status).to.equal(0n);
      // Signed after the revoke-all, the same attestation joins.
      const again = await signJoin(f, f.patient, f.attestedId, 0n, deadline);
      await expect(
        f.escrow
          .connect(f.hospitalGateway)
          .joinBySigAttested(f.attestedId, f.patient.address, deadline, again, attestation),
      )
        .to.emit(f.escrow, "StudyJoined")
        .withArgs(f.attestedId, f.patient.address, f.hospitalGateway.address);
    });
  });

  describe("withdrawBySig (a patient without ETH; issue 11)", function () {
    const WITHDRAW_TYPES = {
      Withdraw: [
        { name: "patient", type: "address" },
        { name: "token", type: "address" },
        { name: "fee", type: "uint256" },
        { name: "relayer", type: "address" },
        { name: "nonce", type: "uint64" },
        { name: "deadline", type: "uint256" },
      ],
    };
    const CAP = ethers.parseEther("1");
    const FEE = ethers.parseEther("0.5");

    /** The patient earned one delivery (PATIENT_AMOUNT); governance caps relayers' fees at CAP. */
    async function earnedFixture() {
      const f = await deployStudyEscrowFixture();
      await f.escrow.connect(f.patient).join(f.studyId);
      await f.escrow.connect(f.hospitalGateway).reportDeliveries(f.studyId, [f.patient.address]);
      await f.escrow.setWithdrawFeeCap(f.tokenAddress, CAP);
      return f;
    }

    async function signWithdraw(
      f: Fixture,
      signer: HardhatEthersSigner,
      relayer: string,
      fee: bigint,
      nonce = 0n,
      deadline?: number,
    ) {
      const until = deadline ?? (await time.latest()) + DAY;
      const signature = await signer.signTypedData(f.domain, WITHDRAW_TYPES, {
        patient: signer.address,
        token: f.tokenAddress,
        fee,
        relayer,
        nonce,
        deadline: until,
      });
      return { signature, deadline: until };
    }

    it("pays the relayer its signed fee and the patient the rest, and closes the balance", async function () {
      const f = await networkHelpers.loadFixture(earnedFixture);
      const { signature, deadline } = await signWithdraw(f, f.patient, f.relayer.address, FEE);
      const tx = f.escrow.connect(f.relayer).withdrawBySig(f.tokenAddress, f.patient.address, FEE, deadline, signature);
      await expect(tx).to.emit(f.escrow, "Withdrawn").withArgs(f.patient.address, f.tokenAddress, PATIENT_AMOUNT);
      await expect(tx)
        .to.emit(f.escrow, "WithdrawalRelayed")
        .withArgs(f.patient.address, f.tokenAddress, f.relayer.address, FEE);
      await expect(tx).to.changeTokenBalances(
        ethers,
        f.token,
        [f.escrowAddress, f.patient, f.relayer],
        [-PATIENT_AMOUNT, PATIENT_AMOUNT - FEE, FEE],
      );
      expect(await f.escrow.balanceOf(f.tokenAddress, f.patient.address)).to.equal(0n);
      expect((await f.escrow.getParticipant(0n, f.patient.address)).nonce).to.equal(1n);
      await expectAccounted(f, [1n], [f.patient.address, f.hospital.address]);
    });

    it("attack: replaying a relayed withdrawal is refused (its nonce is used up)", async function () {
      const f = await networkHelpers.loadFixture(earnedFixture);
      const { signature, deadline } = await signWithdraw(f, f.patient, f.relayer.address, FEE);
      await f.escrow.connect(f.relayer).withdrawBySig(f.tokenAddress, f.patient.address, FEE, deadline, signature);
      await f.escrow.connect(f.labGateway).reportDeliveries(f.studyId, [f.patient.address]); // earns again
      await expect(
        f.escrow.connect(f.relayer).withdrawBySig(f.tokenAddress, f.patient.address, FEE, deadline, signature),
      )
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowInvalidSignature")
        .withArgs(f.patient.address, 1n);
    });

    it("attack: another relayer sends the signature to take the fee: refused", async function () {
      const f = await networkHelpers.loadFixture(earnedFixture);
      const { signature, deadline } = await signWithdraw(f, f.patient, f.relayer.address, FEE);
      await expect(
        f.escrow.connect(f.stranger).withdrawBySig(f.tokenAddress, f.patient.address, FEE, deadline, signature),
      )
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowInvalidSignature")
        .withArgs(f.patient.address, 0n);
    });

    it("attack: a relayer raises the fee, or asks a fee above the cap or the amount: refused", async function () {
      const f = await networkHelpers.loadFixture(earnedFixture);
      const { signature, deadline } = await signWithdraw(f, f.patient, f.relayer.address, FEE);
      await expect(
        f.escrow.connect(f.relayer).withdrawBySig(f.tokenAddress, f.patient.address, CAP, deadline, signature),
      ).to.be.revertedWithCustomError(f.escrow, "StudyEscrowInvalidSignature");
      const aboveCap = await signWithdraw(f, f.patient, f.relayer.address, CAP + 1n);
      await expect(
        f.escrow
          .connect(f.relayer)
          .withdrawBySig(f.tokenAddress, f.patient.address, CAP + 1n, aboveCap.deadline, aboveCap.signature),
      )
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowFeeAboveCap")
        .withArgs(f.tokenAddress, CAP + 1n, CAP);
      // With a cap above what the patient has, a fee taking it all is still refused.
      await f.escrow.setWithdrawFeeCap(f.tokenAddress, PRICE * 2n);
      const all = await signWithdraw(f, f.patient, f.relayer.address, PATIENT_AMOUNT);
      await expect(
        f.escrow
          .connect(f.relayer)
          .withdrawBySig(f.tokenAddress, f.patient.address, PATIENT_AMOUNT, all.deadline, all.signature),
      )
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowFeeAboveAmount")
        .withArgs(PATIENT_AMOUNT, PATIENT_AMOUNT);
    });

    it("attack: a signature the patient cancelled (cancelSignatures(0)), or past its deadline, is refused", async function () {
      const f = await networkHelpers.loadFixture(earnedFixture);
      const { signature, deadline } = await signWithdraw(f, f.patient, f.relayer.address, FEE);
      await expect(f.escrow.connect(f.patient).cancelSignatures(0n))
        .to.emit(f.escrow, "SignaturesCancelled")
        .withArgs(0n, f.patient.address, 1n);
      await expect(
        f.escrow.connect(f.relayer).withdrawBySig(f.tokenAddress, f.patient.address, FEE, deadline, signature),
      )
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowInvalidSignature")
        .withArgs(f.patient.address, 1n);
      const soon = (await time.latest()) + 60;
      const expiring = await signWithdraw(f, f.patient, f.relayer.address, FEE, 1n, soon);
      await time.increaseTo(soon + 1);
      await expect(
        f.escrow.connect(f.relayer).withdrawBySig(f.tokenAddress, f.patient.address, FEE, soon, expiring.signature),
      ).to.be.revertedWithCustomError(f.escrow, "StudyEscrowSignatureExpired");
    });

    it("a study's Join signature cannot withdraw, nor a withdrawal signature join (separate types and lanes)", async function () {
      const f = await networkHelpers.loadFixture(earnedFixture);
      const { signature, deadline } = await signWithdraw(f, f.patient, f.relayer.address, 0n);
      await expect(
        f.escrow.connect(f.relayer).joinBySig(f.studyId, f.patient.address, deadline, signature),
      ).to.be.revertedWithCustomError(f.escrow, "StudyEscrowInvalidSignature");
      // A zero fee needs no cap; nothing to withdraw is refused.
      await f.escrow.connect(f.relayer).withdrawBySig(f.tokenAddress, f.patient.address, 0n, deadline, signature);
      const next = await signWithdraw(f, f.patient, f.relayer.address, 0n, 1n);
      await expect(
        f.escrow.connect(f.relayer).withdrawBySig(f.tokenAddress, f.patient.address, 0n, next.deadline, next.signature),
      )
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowNothingToWithdraw")
        .withArgs(f.patient.address, f.tokenAddress);
    });

    it("withdraws for a contract wallet (ERC-1271) and only governance sets the cap", async function () {
      const f = await networkHelpers.loadFixture(earnedFixture);
      await expect(f.escrow.connect(f.stranger).setWithdrawFeeCap(f.tokenAddress, 1n)).to.be.revertedWithCustomError(
        f.escrow,
        "AccessControlUnauthorizedAccount",
      );
      await expect(f.escrow.setWithdrawFeeCap(f.tokenAddress, CAP))
        .to.emit(f.escrow, "WithdrawFeeCapSet")
        .withArgs(f.tokenAddress, CAP, f.deployer.address);
      expect(await f.escrow.withdrawFeeCap(f.tokenAddress)).to.equal(CAP);
      const wallet = (await ethers.deployContract("MockContractWallet", [
        f.patient2.address,
      ])) as unknown as MockContractWallet;
      const walletAddress = await wallet.getAddress();
      await wallet
        .connect(f.patient2)
        .execute(f.escrowAddress, f.escrow.interface.encodeFunctionData("join", [f.studyId]));
      await f.escrow.connect(f.hospitalGateway).reportDeliveries(f.studyId, [walletAddress]);
      const deadline = (await time.latest()) + DAY;
      const signature = await f.patient2.signTypedData(f.domain, WITHDRAW_TYPES, {
        patient: walletAddress,
        token: f.tokenAddress,
        fee: FEE,
        relayer: f.relayer.address,
        nonce: 0n,
        deadline,
      });
      await expect(
        f.escrow.connect(f.relayer).withdrawBySig(f.tokenAddress, walletAddress, FEE, deadline, signature),
      ).to.changeTokenBalances(ethers, f.token, [walletAddress, f.relayer], [PATIENT_AMOUNT - FEE, FEE]);
    });
  });
});
