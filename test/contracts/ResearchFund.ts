/**
 * ResearchFund (a DAO per cause) with its Governor and TimelockController: creation by anyone through
 * the ResearchFundFactory within bounds,
 * contributions for non-transferable self-delegated shares, proposals that sponsor a StudyEscrow
 * study through the timelock, ragequit before a passed proposal executes (Moloch v2), closing and
 * dissolution with pro-rata redemption; every refusal with its custom error and arguments.
 */
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { expect } from "chai";
import { network } from "hardhat";

import ResearchFundModule from "../../ignition/modules/ResearchFund.ts";
import { FUND_BOUNDS } from "#sdk/fund-settings.ts";
import type {
  ConsentRegistry,
  RemunerationToken,
  ResearchFund,
  ResearchFundFactory,
  ResearchFundGovernor,
  ResearchFundGovernorDeployer,
  ResearchFundTimelockDeployer,
  StudyEscrow,
  TimelockController,
} from "../../types/ethers-contracts/index.js";

const { ethers, ignition, networkHelpers } = await network.connect();
const { time } = networkHelpers;

const DAY = 86_400;
const HOUR = 3_600;
const PROVIDER = 1;
const RESEARCHER = 2;
const HMB = 8n;
const CATEGORIES = (1 << 1) | (1 << 2);
const PRICE = ethers.parseEther("10");
const PROTOCOL = ethers.id("protocol v1 + ethics approval");
const GOAL = ethers.parseEther("1000");
const VOTING_PERIOD = 3 * DAY;
const TIMELOCK_DELAY = 2 * DAY;
const QUORUM_PERCENT = 20;

// IGovernor.ProposalState and GovernorCountingSimple.VoteType
const ACTIVE = 1n;
const SUCCEEDED = 4n;
const QUEUED = 5n;
const EXECUTED = 7n;
const AGAINST = 0;
const FOR = 1;

/**
 * The escrow stack, the factory and one fund created through it by the Ignition module (cause "Rare disease X", goal 1,000
 * CRC, 60 days, quorum 20 %, 3-day votes, 2-day timelock); an accredited researcher with study 1
 * (funded with 100 CRC, open 30 days); alice, bob and carol hold 500 CRC each with an allowance.
 */
async function deployResearchFundFixture() {
  const [deployer, researcher, hospital, alice, bob, carol, stranger] = await ethers.getSigners();
  const end = (await time.latest()) + 60 * DAY;
  const deployed = await ignition.deploy(ResearchFundModule, {
    parameters: {
      ResearchFundModule: {
        cause: "Rare disease X",
        end,
        goal: GOAL,
        quorumPercent: QUORUM_PERCENT,
        votingPeriod: VOTING_PERIOD,
        timelockDelay: TIMELOCK_DELAY,
      },
    },
  });
  const escrow = deployed.studyEscrow as unknown as StudyEscrow;
  const token = deployed.remunerationToken as unknown as RemunerationToken;
  const fund = deployed.researchFund as unknown as ResearchFund;
  const factory = deployed.researchFundFactory as unknown as ResearchFundFactory;
  const registry = (await ethers.getContractAt(
    "ConsentRegistry",
    await escrow.registry(),
  )) as unknown as ConsentRegistry;
  const governor = (await ethers.getContractAt(
    "ResearchFundGovernor",
    await fund.governor(),
  )) as unknown as ResearchFundGovernor;
  const timelock = (await ethers.getContractAt(
    "TimelockController",
    await fund.timelock(),
  )) as unknown as TimelockController;

  await registry.accredit(hospital.address, PROVIDER, "St. Example Hospital", "", ethers.ZeroHash);
  await registry.accredit(researcher.address, RESEARCHER, "Example Research Institute", "", ethers.ZeroHash);
  const escrowAddress = await escrow.getAddress();
  const fundAddress = await fund.getAddress();
  await token.mint(researcher.address, ethers.parseEther("1000"));
  await token.connect(researcher).approve(escrowAddress, ethers.MaxUint256);
  for (const member of [alice, bob, carol, stranger]) {
    await token.mint(member.address, ethers.parseEther("500"));
    await token.connect(member).approve(fundAddress, ethers.MaxUint256);
  }
  const now = await time.latest();
  const params = {
    currency: await token.getAddress(),
    purpose: HMB,
    categories: CATEGORIES,
    price: PRICE,
    maxParticipants: 3,
    enrolmentDeadline: now + 7 * DAY,
    endTime: now + 30 * DAY,
    protocolHash: PROTOCOL,
    custodians: [{ custodian: hospital.address, shareBps: 0 }],
    attestedEnrolment: false,
  };
  await escrow.connect(researcher).createStudy(params, PRICE * 10n);
  return {
    deployer,
    researcher,
    hospital,
    alice,
    bob,
    carol,
    stranger,
    escrow,
    token,
    fund,
    factory,
    governor,
    timelock,
    registry,
    fundAddress,
    escrowAddress,
    end,
    params,
    studyId: 1n,
  };
}

type Fixture = Awaited<ReturnType<typeof deployResearchFundFixture>>;

/** alice, bob and carol contribute 100, 100 and 200 CRC; one second passes so their shares vote. */
async function withMembers(f: Fixture) {
  await f.fund.connect(f.alice).contribute(ethers.parseEther("100"));
  await f.fund.connect(f.bob).contribute(ethers.parseEther("100"));
  await f.fund.connect(f.carol).contribute(ethers.parseEther("200"));
  await time.increase(1);
}

function sponsorCall(f: Fixture, studyId: bigint, amount: bigint, protocolHash = PROTOCOL) {
  return f.fund.interface.encodeFunctionData("sponsorStudy", [studyId, amount, protocolHash]);
}

type Proposal = { targets: string[]; values: bigint[]; calldatas: string[]; description: string; id: bigint };

/** `proposer` proposes one call on the fund; returns the proposal with its id. */
async function propose(f: Fixture, proposer: HardhatEthersSigner, calldata: string, description = "Fund study 1") {
  const p = { targets: [f.fundAddress], values: [0n], calldatas: [calldata], description };
  const id = await f.governor.hashProposal(p.targets, p.values, p.calldatas, ethers.id(description));
  await f.governor.connect(proposer).propose(p.targets, p.values, p.calldatas, description);
  return { ...p, id } as Proposal;
}

const descriptionHash = (p: Proposal) => ethers.id(p.description);

/** The proposal passes (alice and carol vote For, 300 of 400) and is queued in the timelock. */
async function passAndQueue(f: Fixture, p: Proposal) {
  await time.increase(1);
  await f.governor.connect(f.alice).castVote(p.id, FOR);
  await f.governor.connect(f.carol).castVote(p.id, FOR);
  await time.increase(VOTING_PERIOD);
  await f.governor.queue(p.targets, p.values, p.calldatas, descriptionHash(p));
}

async function execute(f: Fixture, p: Proposal) {
  return f.governor.execute(p.targets, p.values, p.calldatas, descriptionHash(p));
}

/** Fresh, valid constructor parameters (times relative to the latest block), with overrides. */
async function fundParams(f: Fixture, overrides: Record<string, unknown> = {}) {
  return {
    cause: "Cohort Y",
    currency: await f.token.getAddress(),
    goal: GOAL,
    end: (await time.latest()) + 30 * DAY,
    quorumPercent: 10,
    votingPeriod: DAY,
    timelockDelay: DAY,
    ...overrides,
  };
}

describe("ResearchFund", function () {
  describe("creation (the factory, through the Ignition module)", function () {
    it("deploys the Governor and the timelock, wired: the Governor proposes and executes (anyone may ask it to), nobody administers", async function () {
      const f = await networkHelpers.loadFixture(deployResearchFundFixture);
      const governorAddress = await f.governor.getAddress();
      const timelockAddress = await f.timelock.getAddress();
      expect(await f.governor.fund()).to.equal(f.fundAddress);
      expect(await f.governor.token()).to.equal(f.fundAddress);
      expect(await f.governor.timelock()).to.equal(timelockAddress);
      expect(await f.timelock.hasRole(await f.timelock.PROPOSER_ROLE(), governorAddress)).to.equal(true);
      expect(await f.timelock.hasRole(await f.timelock.CANCELLER_ROLE(), governorAddress)).to.equal(true);
      // The Governor alone executes (its execute is open to anyone): a proposal past its window never does.
      expect(await f.timelock.hasRole(await f.timelock.EXECUTOR_ROLE(), governorAddress)).to.equal(true);
      expect(await f.timelock.hasRole(await f.timelock.EXECUTOR_ROLE(), ethers.ZeroAddress)).to.equal(false);
      const admin = await f.timelock.DEFAULT_ADMIN_ROLE();
      for (const account of [f.fundAddress, f.deployer.address, governorAddress]) {
        expect(await f.timelock.hasRole(admin, account)).to.equal(false);
      }
      expect(await f.timelock.getMinDelay()).to.equal(TIMELOCK_DELAY);
      expect(await f.governor.votingPeriod()).to.equal(VOTING_PERIOD);
      expect(await f.governor.votingDelay()).to.equal(0n);
      expect(await f.governor.quorumPercent()).to.equal(QUORUM_PERCENT);
      expect(await f.governor.CLOCK_MODE()).to.equal("mode=timestamp");
      const info = await f.fund.info();
      expect([info.cause, info.goal, info.end, info.raised, info.closed]).to.deep.equal([
        "Rare disease X",
        GOAL,
        BigInt(f.end),
        0n,
        false,
      ]);
      expect(await f.fund.decimals()).to.equal(18n);
      expect(await f.fund.isOpen()).to.equal(true);
    });

    it("announces the fund with its settings (FundCreated): anyone creates one, and gets no power over it", async function () {
      const f = await networkHelpers.loadFixture(deployResearchFundFixture);
      const p = await fundParams(f);
      const before = await f.factory.fundCount();
      const tx = f.factory.connect(f.stranger).createFund(p);
      const receipt = await (await tx).wait();
      const event = receipt!.logs
        .map((log) => f.factory.interface.parseLog(log))
        .find((e) => e?.name === "FundCreated");
      const created = (await ethers.getContractAt("ResearchFund", event!.args.fund)) as unknown as ResearchFund;
      await expect(tx)
        .to.emit(f.factory, "FundCreated")
        .withArgs(
          event!.args.fund,
          f.stranger.address,
          p.currency,
          await created.governor(),
          await created.timelock(),
          "Cohort Y",
          GOAL,
          p.end,
          10,
          DAY,
          DAY,
        );
      expect(await f.factory.isFund(event!.args.fund)).to.equal(true);
      expect(await f.factory.fundCount()).to.equal(before + 1n);
      expect(await created.escrow()).to.equal(f.escrowAddress);
      expect(await f.factory.escrow()).to.equal(f.escrowAddress);
      // The creator holds no share and no role; nor does the factory.
      expect(await created.balanceOf(f.stranger.address)).to.equal(0n);
      const timelock = (await ethers.getContractAt(
        "TimelockController",
        await created.timelock(),
      )) as unknown as TimelockController;
      const factoryAddress = await f.factory.getAddress();
      for (const role of [
        await timelock.DEFAULT_ADMIN_ROLE(),
        await timelock.PROPOSER_ROLE(),
        await timelock.CANCELLER_ROLE(),
        await timelock.EXECUTOR_ROLE(),
      ]) {
        for (const account of [f.stranger.address, factoryAddress, event!.args.fund]) {
          expect(await timelock.hasRole(role, account)).to.equal(false);
        }
      }
      expect(await timelock.hasRole(await timelock.PROPOSER_ROLE(), await created.governor())).to.equal(true);
    });

    it("refuses settings outside the bounds, each with its own error", async function () {
      const f = await networkHelpers.loadFixture(deployResearchFundFixture);
      const create = async (overrides: Record<string, unknown>) => f.factory.createFund(await fundParams(f, overrides));
      // The fund's constructor refuses; its error comes back from createFund.
      const fund = f.fund;
      await expect(create({ cause: "" })).to.be.revertedWithCustomError(fund, "ResearchFundEmptyCause");
      // attack: a cause is a heading in every list of funds, not a document
      await expect(create({ cause: "x".repeat(201) }))
        .to.be.revertedWithCustomError(fund, "ResearchFundCauseTooLong")
        .withArgs(201, 200);
      await expect(create({ cause: "é".repeat(101) })) // 202 bytes of UTF-8
        .to.be.revertedWithCustomError(fund, "ResearchFundCauseTooLong")
        .withArgs(202, 200);
      await expect(create({ currency: f.fundAddress }))
        .to.be.revertedWithCustomError(fund, "ResearchFundCurrencyNotAllowed")
        .withArgs(f.fundAddress);
      await expect(create({ goal: 0n }))
        .to.be.revertedWithCustomError(fund, "ResearchFundInvalidGoal")
        .withArgs(0n);
      await expect(create({ goal: 2n ** 128n }))
        .to.be.revertedWithCustomError(fund, "ResearchFundInvalidGoal")
        .withArgs(2n ** 128n);
      await expect(create({ quorumPercent: 3 }))
        .to.be.revertedWithCustomError(fund, "ResearchFundInvalidQuorum")
        .withArgs(3, 4, 100);
      await expect(create({ quorumPercent: 101 }))
        .to.be.revertedWithCustomError(fund, "ResearchFundInvalidQuorum")
        .withArgs(101, 4, 100);
      await expect(create({ votingPeriod: HOUR - 1 }))
        .to.be.revertedWithCustomError(fund, "ResearchFundInvalidVotingPeriod")
        .withArgs(HOUR - 1, HOUR, 30 * DAY);
      await expect(create({ votingPeriod: 30 * DAY + 1 }))
        .to.be.revertedWithCustomError(fund, "ResearchFundInvalidVotingPeriod")
        .withArgs(30 * DAY + 1, HOUR, 30 * DAY);
      await expect(create({ timelockDelay: HOUR - 1 }))
        .to.be.revertedWithCustomError(fund, "ResearchFundInvalidTimelockDelay")
        .withArgs(HOUR - 1, HOUR, 30 * DAY);
      await expect(create({ timelockDelay: 30 * DAY + 1 }))
        .to.be.revertedWithCustomError(fund, "ResearchFundInvalidTimelockDelay")
        .withArgs(30 * DAY + 1, HOUR, 30 * DAY);
      // The end must leave room for one vote and one timelock delay, and be within ten years.
      const soon = (await time.latest()) + 2 * DAY;
      await expect(create({ end: soon })).to.be.revertedWithCustomError(fund, "ResearchFundInvalidEnd");
      await expect(create({ end: (await time.latest()) + 3_651 * DAY })).to.be.revertedWithCustomError(
        fund,
        "ResearchFundInvalidEnd",
      );
      // At the bounds themselves a fund is created.
      const latest = await time.latest();
      await expect(
        create({
          cause: "x".repeat(200),
          quorumPercent: 4,
          votingPeriod: HOUR,
          timelockDelay: 30 * DAY,
          end: latest + 1 + HOUR + 30 * DAY + 1,
        }),
      ).to.emit(f.factory, "FundCreated");
      await expect(
        create({ quorumPercent: 100, votingPeriod: 30 * DAY, timelockDelay: HOUR, end: latest + 40 * DAY }),
      ).to.emit(f.factory, "FundCreated");
    });

    it("has the bounds the sdk checks before anything is signed (sdk/fund-settings.ts)", async function () {
      const f = await networkHelpers.loadFixture(deployResearchFundFixture);
      expect({
        maxCauseBytes: await f.fund.MAX_CAUSE_BYTES(),
        minQuorumPercent: await f.fund.MIN_QUORUM_PERCENT(),
        maxQuorumPercent: await f.fund.MAX_QUORUM_PERCENT(),
        minVotingPeriod: await f.fund.MIN_VOTING_PERIOD(),
        maxVotingPeriod: await f.fund.MAX_VOTING_PERIOD(),
        minTimelockDelay: await f.fund.MIN_TIMELOCK_DELAY(),
        maxTimelockDelay: await f.fund.MAX_TIMELOCK_DELAY(),
        maxDuration: await f.fund.MAX_DURATION(),
      }).to.deep.equal(
        Object.fromEntries(
          Object.entries(FUND_BOUNDS)
            .filter(([name]) => name !== "maxGoal")
            .map(([name, value]) => [name, BigInt(value)]),
        ),
      );
      // The goal's bound is the type's: 2^128 - 1 is taken, one more is refused (above).
      await expect(f.factory.createFund(await fundParams(f, { goal: FUND_BOUNDS.maxGoal }))).to.emit(
        f.factory,
        "FundCreated",
      );
    });

    it("attack: a fund deployed outside the factory is not one of its funds, and a Governor a stranger deploys for a real fund holds no power", async function () {
      const f = await networkHelpers.loadFixture(deployResearchFundFixture);
      await withMembers(f);
      // The same code, deployed directly with the factory's own deployers: not listed.
      const direct = await ethers.deployContract(
        "ResearchFund",
        [f.escrowAddress, await fundParams(f), await f.factory.timelockDeployer(), await f.factory.governorDeployer()],
        f.stranger,
      );
      expect(await f.factory.isFund(await direct.getAddress())).to.equal(false);
      expect(await f.factory.isFund(f.stranger.address)).to.equal(false);

      // The deployers serve anyone, but what they deploy for a stranger is bound to nothing: a Governor
      // over the real fund's shares and timelock cannot schedule there (only the fund's own Governor
      // was made a proposer, and nobody administers the timelock).
      const governors = (await ethers.getContractAt(
        "ResearchFundGovernorDeployer",
        await f.factory.governorDeployer(),
      )) as unknown as ResearchFundGovernorDeployer;
      const timelockAddress = await f.timelock.getAddress();
      const args = [f.fundAddress, timelockAddress, HOUR, 4] as const;
      const rogueAddress = await governors.connect(f.stranger).deployGovernor.staticCall(...args);
      await governors.connect(f.stranger).deployGovernor(...args);
      const rogue = (await ethers.getContractAt(
        "ResearchFundGovernor",
        rogueAddress,
      )) as unknown as ResearchFundGovernor;
      const steal = sponsorCall(f, f.studyId, ethers.parseEther("400"));
      const description = "Send everything to study 1";
      await rogue.connect(f.alice).propose([f.fundAddress], [0n], [steal], description);
      const id = await rogue.hashProposal([f.fundAddress], [0n], [steal], ethers.id(description));
      await time.increase(1);
      await rogue.connect(f.alice).castVote(id, FOR);
      await rogue.connect(f.carol).castVote(id, FOR);
      await time.increase(HOUR);
      await expect(rogue.queue([f.fundAddress], [0n], [steal], ethers.id(description)))
        .to.be.revertedWithCustomError(f.timelock, "AccessControlUnauthorizedAccount")
        .withArgs(rogueAddress, await f.timelock.PROPOSER_ROLE());
      await expect(f.timelock.connect(f.stranger).grantRole(await f.timelock.PROPOSER_ROLE(), f.stranger.address))
        .to.be.revertedWithCustomError(f.timelock, "AccessControlUnauthorizedAccount")
        .withArgs(f.stranger.address, await f.timelock.DEFAULT_ADMIN_ROLE());
      // A timelock the deployer makes for a stranger is the stranger's, not any fund's.
      const timelocks = (await ethers.getContractAt(
        "ResearchFundTimelockDeployer",
        await f.factory.timelockDeployer(),
      )) as unknown as ResearchFundTimelockDeployer;
      const own = await timelocks.connect(f.stranger).deployTimelock.staticCall(HOUR);
      await timelocks.connect(f.stranger).deployTimelock(HOUR);
      const ownTimelock = (await ethers.getContractAt("TimelockController", own)) as unknown as TimelockController;
      expect(await ownTimelock.hasRole(await ownTimelock.DEFAULT_ADMIN_ROLE(), f.stranger.address)).to.equal(true);
      expect(own).to.not.equal(timelockAddress);
    });
  });

  describe("contribute", function () {
    it("mints shares 1:1, self-delegated: they vote from the next second", async function () {
      const f = await networkHelpers.loadFixture(deployResearchFundFixture);
      const amount = ethers.parseEther("100");
      const tx = f.fund.connect(f.alice).contribute(amount);
      await expect(tx).to.emit(f.fund, "Contributed").withArgs(f.alice.address, amount, amount);
      await expect(tx).to.changeTokenBalances(ethers, f.token, [f.alice, f.fund], [-amount, amount]);
      expect(await f.fund.balanceOf(f.alice.address)).to.equal(amount);
      expect(await f.fund.delegates(f.alice.address)).to.equal(f.alice.address);
      expect(await f.fund.getVotes(f.alice.address)).to.equal(amount);
      await f.fund.connect(f.alice).contribute(amount);
      expect((await f.fund.info()).raised).to.equal(amount * 2n);
      expect(await f.fund.getVotes(f.alice.address)).to.equal(amount * 2n);
    });

    it("refuses zero, beyond the goal, and after the end", async function () {
      const f = await networkHelpers.loadFixture(deployResearchFundFixture);
      await expect(f.fund.connect(f.alice).contribute(0n)).to.be.revertedWithCustomError(
        f.fund,
        "ResearchFundZeroAmount",
      );
      await f.fund.connect(f.alice).contribute(ethers.parseEther("500"));
      await f.fund.connect(f.bob).contribute(ethers.parseEther("400"));
      await expect(f.fund.connect(f.carol).contribute(ethers.parseEther("100") + 1n))
        .to.be.revertedWithCustomError(f.fund, "ResearchFundGoalExceeded")
        .withArgs(GOAL, ethers.parseEther("900"), ethers.parseEther("100") + 1n);
      await f.fund.connect(f.carol).contribute(ethers.parseEther("100")); // exactly the goal
      // attack (review M3): a contribution taken back at once does not close the fund to others
      await f.fund.connect(f.carol).ragequit(ethers.parseEther("100"));
      await f.fund.connect(f.stranger).contribute(ethers.parseEther("100"));
      await time.increaseTo(f.end);
      await expect(f.fund.connect(f.stranger).contribute(1n))
        .to.be.revertedWithCustomError(f.fund, "ResearchFundNotOpen")
        .withArgs(f.end, false);
    });

    it("attack: shares cannot be transferred, approved away or delegated", async function () {
      const f = await networkHelpers.loadFixture(deployResearchFundFixture);
      await withMembers(f);
      await expect(f.fund.connect(f.alice).transfer(f.stranger.address, 1n)).to.be.revertedWithCustomError(
        f.fund,
        "ResearchFundSharesNonTransferable",
      );
      await f.fund.connect(f.alice).approve(f.stranger.address, 1n);
      await expect(
        f.fund.connect(f.stranger).transferFrom(f.alice.address, f.stranger.address, 1n),
      ).to.be.revertedWithCustomError(f.fund, "ResearchFundSharesNonTransferable");
      await expect(f.fund.connect(f.alice).delegate(f.bob.address)).to.be.revertedWithCustomError(
        f.fund,
        "ResearchFundDelegationDisabled",
      );
      await expect(f.fund.connect(f.stranger).delegate(f.stranger.address)).to.be.revertedWithCustomError(
        f.fund,
        "ResearchFundDelegationDisabled",
      );
    });
  });

  describe("proposals: sponsoring a study through the timelock", function () {
    it("three members fund, a proposal passes, executes after the timelock and sponsors the study", async function () {
      const f = await networkHelpers.loadFixture(deployResearchFundFixture);
      await withMembers(f);
      const amount = ethers.parseEther("150");
      const p = await propose(f, f.bob, sponsorCall(f, f.studyId, amount));
      expect(await f.governor.state(p.id)).to.equal(0n); // Pending in its own second
      await time.increase(1);
      expect(await f.governor.state(p.id)).to.equal(ACTIVE);
      await f.governor.connect(f.alice).castVote(p.id, FOR);
      await f.governor.connect(f.carol).castVote(p.id, FOR);
      await f.governor.connect(f.bob).castVote(p.id, AGAINST);
      const votes = await f.governor.proposalVotes(p.id);
      expect([votes.againstVotes, votes.forVotes]).to.deep.equal([ethers.parseEther("100"), ethers.parseEther("300")]);
      await time.increase(VOTING_PERIOD);
      expect(await f.governor.state(p.id)).to.equal(SUCCEEDED);
      await f.governor.queue(p.targets, p.values, p.calldatas, descriptionHash(p));
      expect(await f.governor.state(p.id)).to.equal(QUEUED);

      // attack: executing before the timelock's delay, through the Governor or the timelock itself
      await expect(execute(f, p)).to.be.revertedWithCustomError(f.timelock, "TimelockUnexpectedOperationState");
      // GovernorTimelockControl's salt: the Governor's address (left-aligned) xor the description hash
      const salt = ethers.toBeHex((BigInt(await f.governor.getAddress()) << 96n) ^ BigInt(descriptionHash(p)), 32);
      const operation = await f.timelock.hashOperationBatch(p.targets, p.values, p.calldatas, ethers.ZeroHash, salt);
      expect(await f.timelock.isOperationPending(operation)).to.equal(true);
      expect(await f.timelock.isOperationReady(operation)).to.equal(false);
      await expect(
        f.timelock.connect(f.stranger).executeBatch(p.targets, p.values, p.calldatas, ethers.ZeroHash, salt),
      ).to.be.revertedWithCustomError(f.timelock, "AccessControlUnauthorizedAccount");
      await time.increase(TIMELOCK_DELAY);
      const budget = (await f.escrow.getStudy(f.studyId)).budget;
      const tx = execute(f, p);
      await expect(tx).to.emit(f.fund, "SponsoredStudy").withArgs(f.studyId, amount, PROTOCOL);
      await expect(tx).to.emit(f.escrow, "StudySponsored").withArgs(f.studyId, f.fundAddress, amount);
      await expect(tx).to.changeTokenBalances(ethers, f.token, [f.fund, f.escrow], [-amount, amount]);
      expect(await f.governor.state(p.id)).to.equal(EXECUTED);
      expect((await f.escrow.getStudy(f.studyId)).budget).to.equal(budget + amount);
      expect(await f.escrow.sponsorshipOf(f.studyId, f.fundAddress)).to.equal(amount);
      expect((await f.fund.info()).outstandingStudies).to.equal(1n);
      // attack (review M2): once the fund has paid for a study, a newcomer's money would pay for it too
      await expect(f.fund.connect(f.alice).contribute(1n)).to.be.revertedWithCustomError(
        f.fund,
        "ResearchFundSpendingStarted",
      );
    });

    it("attack: a non-member cannot propose nor vote; shares bought after the proposal do not vote", async function () {
      const f = await networkHelpers.loadFixture(deployResearchFundFixture);
      await withMembers(f);
      const call = sponsorCall(f, f.studyId, PRICE);
      await expect(
        f.governor.connect(f.stranger).propose([f.fundAddress], [0n], [call], "mine"),
      ).to.be.revertedWithCustomError(f.governor, "ResearchFundGovernorNotMember");
      const p = await propose(f, f.alice, call);
      await expect(f.governor.connect(f.stranger).castVote(p.id, FOR))
        .to.be.revertedWithCustomError(f.governor, "ResearchFundGovernorNoVotes")
        .withArgs(f.stranger.address, p.id);
      // flash contribution: the stranger buys 500 shares after the proposal, and bob buys more
      await f.fund.connect(f.stranger).contribute(ethers.parseEther("500"));
      await f.fund.connect(f.bob).contribute(ethers.parseEther("100"));
      await time.increase(1);
      await expect(f.governor.connect(f.stranger).castVote(p.id, FOR))
        .to.be.revertedWithCustomError(f.governor, "ResearchFundGovernorNoVotes")
        .withArgs(f.stranger.address, p.id);
      await f.governor.connect(f.bob).castVote(p.id, AGAINST);
      expect((await f.governor.proposalVotes(p.id)).againstVotes).to.equal(ethers.parseEther("100")); // not 200
      // the quorum is 20 % of the shares before the proposal (400), not after (1,000)
      expect(await f.governor.quorum(await f.governor.proposalSnapshot(p.id))).to.equal(ethers.parseEther("80"));
    });

    it("attack: a proposal to pay anything other than an escrow study is refused", async function () {
      const f = await networkHelpers.loadFixture(deployResearchFundFixture);
      await withMembers(f);
      const tokenAddress = await f.token.getAddress();
      const timelockAddress = await f.timelock.getAddress();
      const pay = f.token.interface.encodeFunctionData("transfer", [f.alice.address, PRICE]);
      const ragequit = f.fund.interface.encodeFunctionData("ragequit", [1n]);
      const delay = f.timelock.interface.encodeFunctionData("updateDelay", [0n]);
      const sponsor = sponsorCall(f, f.studyId, PRICE);
      const refused: [string[], bigint[], string[]][] = [
        [[tokenAddress], [0n], [pay]], // the currency, to a member
        [[timelockAddress], [0n], [delay]], // the timelock's own delay
        [[f.fundAddress], [0n], [ragequit]], // another function of the fund
        [[f.fundAddress], [1n], [sponsor]], // with ETH
        [
          [f.fundAddress, f.fundAddress],
          [0n, 0n],
          [sponsor, sponsor],
        ], // two calls
        [[f.fundAddress], [0n], [sponsor + "00"]], // trailing bytes
      ];
      for (const [targets, values, calldatas] of refused) {
        await expect(
          f.governor.connect(f.alice).propose(targets, values, calldatas, "x"),
        ).to.be.revertedWithCustomError(f.governor, "ResearchFundGovernorInvalidProposal");
      }
      // Only the timelock may call sponsorStudy or close.
      await expect(f.fund.connect(f.alice).sponsorStudy(f.studyId, PRICE, PROTOCOL))
        .to.be.revertedWithCustomError(f.fund, "ResearchFundNotTimelock")
        .withArgs(f.alice.address);
      await expect(f.fund.connect(f.alice).close())
        .to.be.revertedWithCustomError(f.fund, "ResearchFundNotTimelock")
        .withArgs(f.alice.address);
    });

    it("attack: a passed proposal naming other study terms, or an unknown study, does not execute", async function () {
      const f = await networkHelpers.loadFixture(deployResearchFundFixture);
      await withMembers(f);
      const other = ethers.id("another protocol");
      const p = await propose(f, f.alice, sponsorCall(f, f.studyId, PRICE, other), "wrong terms");
      const q = await propose(f, f.alice, sponsorCall(f, 9n, PRICE), "unknown study");
      await time.increase(1);
      for (const proposal of [p, q]) {
        await f.governor.connect(f.alice).castVote(proposal.id, FOR);
        await f.governor.connect(f.carol).castVote(proposal.id, FOR);
      }
      await time.increase(VOTING_PERIOD);
      for (const proposal of [p, q]) {
        await f.governor.queue(proposal.targets, proposal.values, proposal.calldatas, descriptionHash(proposal));
      }
      await time.increase(TIMELOCK_DELAY);
      await expect(execute(f, p))
        .to.be.revertedWithCustomError(f.fund, "ResearchFundTermsMismatch")
        .withArgs(f.studyId, other, PROTOCOL);
      await expect(execute(f, q))
        .to.be.revertedWithCustomError(f.fund, "ResearchFundCurrencyMismatch")
        .withArgs(9n, ethers.ZeroAddress);
    });
  });

  describe("ragequit (Moloch v2)", function () {
    it("a member against a queued proposal leaves with its share of the whole treasury before it executes", async function () {
      const f = await networkHelpers.loadFixture(deployResearchFundFixture);
      await withMembers(f);
      const amount = ethers.parseEther("150");
      const p = await propose(f, f.alice, sponsorCall(f, f.studyId, amount));
      await passAndQueue(f, p);
      // bob (who did not vote For) leaves with 100/400 of 400 before the proposal executes
      const shares = ethers.parseEther("100");
      expect(await f.fund.previewShare(shares)).to.equal(ethers.parseEther("100"));
      const tx = f.fund.connect(f.bob).ragequit(shares);
      await expect(tx).to.emit(f.fund, "RageQuit").withArgs(f.bob.address, shares, ethers.parseEther("100"));
      await expect(tx).to.changeTokenBalances(ethers, f.token, [f.bob, f.fund], [shares, -shares]);
      expect(await f.fund.totalSupply()).to.equal(ethers.parseEther("300"));
      // attack: ragequit twice
      await expect(f.fund.connect(f.bob).ragequit(1n))
        .to.be.revertedWithCustomError(f.fund, "ResearchFundInsufficientShares")
        .withArgs(f.bob.address, 1n, 0n);
      // attack: a For voter leaves before paying its part: refused while the proposal may execute
      await expect(f.fund.connect(f.alice).ragequit(1n))
        .to.be.revertedWithCustomError(f.fund, "ResearchFundVotedForPending")
        .withArgs(f.alice.address, p.id);
      // the queued proposal still executes: the remaining members pay for it
      await time.increase(TIMELOCK_DELAY);
      await execute(f, p);
      expect(await f.token.balanceOf(f.fundAddress)).to.equal(ethers.parseEther("150"));
      // executed: alice may leave once the proposal's execution window has closed (a For vote locks
      // its voter in until then, whatever became of the proposal), with 100/300 of what is left
      await expect(f.fund.connect(f.alice).ragequit(1n)).to.be.revertedWithCustomError(
        f.fund,
        "ResearchFundVotedForPending",
      );
      await time.increaseTo(await f.governor.executionClosesAt(p.id));
      await expect(f.fund.connect(f.alice).ragequit(ethers.parseEther("100")))
        .to.emit(f.fund, "RageQuit")
        .withArgs(f.alice.address, ethers.parseEther("100"), ethers.parseEther("50"));
    });

    it("a queued proposal the treasury no longer covers after ragequits does not execute", async function () {
      const f = await networkHelpers.loadFixture(deployResearchFundFixture);
      await withMembers(f);
      const amount = ethers.parseEther("350");
      const p = await propose(f, f.carol, sponsorCall(f, f.studyId, amount));
      await time.increase(1);
      await f.governor.connect(f.carol).castVote(p.id, FOR);
      await time.increase(VOTING_PERIOD);
      await f.governor.queue(p.targets, p.values, p.calldatas, descriptionHash(p));
      await f.fund.connect(f.bob).ragequit(ethers.parseEther("100"));
      await time.increase(TIMELOCK_DELAY);
      await expect(execute(f, p))
        .to.be.revertedWithCustomError(f.fund, "ResearchFundInsufficientTreasury")
        .withArgs(amount, ethers.parseEther("300"));
    });

    it("attack (review H2): a member who left after a proposal was made cannot vote on it with its old weight", async function () {
      const f = await networkHelpers.loadFixture(deployResearchFundFixture);
      await withMembers(f);
      const p = await propose(f, f.bob, sponsorCall(f, f.studyId, ethers.parseEther("150")));
      await time.increase(1);
      await f.fund.connect(f.bob).ragequit(ethers.parseEther("100"));
      await expect(f.governor.connect(f.bob).castVote(p.id, FOR))
        .to.be.revertedWithCustomError(f.governor, "ResearchFundGovernorNoVotes")
        .withArgs(f.bob.address, p.id);
      // part of its shares gone: it votes with what it holds now
      await f.fund.connect(f.carol).ragequit(ethers.parseEther("150"));
      await f.governor.connect(f.carol).castVote(p.id, AGAINST);
      expect((await f.governor.proposalVotes(p.id)).againstVotes).to.equal(ethers.parseEther("50"));
    });

    it("attack (review M1): a later For vote on a proposal that fails does not release an earlier one that passed", async function () {
      const f = await networkHelpers.loadFixture(deployResearchFundFixture);
      await withMembers(f);
      const p1 = await propose(f, f.alice, sponsorCall(f, f.studyId, ethers.parseEther("150")));
      await passAndQueue(f, p1); // alice and carol For
      // alice proposes junk and votes For; carol against: it fails at its deadline, before p1 can execute
      const p2 = await propose(f, f.alice, sponsorCall(f, f.studyId, ethers.parseEther("1")), "Junk");
      await time.increase(1);
      await f.governor.connect(f.alice).castVote(p2.id, FOR);
      await f.governor.connect(f.carol).castVote(p2.id, AGAINST);
      await time.increase(VOTING_PERIOD);
      expect(await f.governor.state(p2.id)).to.equal(3n); // Defeated
      await expect(f.fund.connect(f.alice).ragequit(1n)).to.be.revertedWithCustomError(
        f.fund,
        "ResearchFundVotedForPending",
      );
    });

    it("a passed proposal not executed within its window never executes, and no longer locks its voters", async function () {
      const f = await networkHelpers.loadFixture(deployResearchFundFixture);
      await withMembers(f);
      const p = await propose(f, f.alice, sponsorCall(f, f.studyId, ethers.parseEther("150")));
      await passAndQueue(f, p);
      const closesAt = await f.governor.executionClosesAt(p.id);
      await time.increaseTo(closesAt);
      await expect(execute(f, p))
        .to.be.revertedWithCustomError(f.governor, "ResearchFundGovernorExpired")
        .withArgs(p.id, closesAt);
      await f.fund.connect(f.alice).ragequit(ethers.parseEther("100"));
      expect(await f.token.balanceOf(f.fundAddress)).to.equal(ethers.parseEther("300"));
    });

    it("refuses zero shares, and ragequit after the end (members redeem then)", async function () {
      const f = await networkHelpers.loadFixture(deployResearchFundFixture);
      await withMembers(f);
      await expect(f.fund.connect(f.alice).ragequit(0n))
        .to.be.revertedWithCustomError(f.fund, "ResearchFundInsufficientShares")
        .withArgs(f.alice.address, 0n, ethers.parseEther("100"));
      await time.increaseTo(f.end);
      await expect(f.fund.connect(f.alice).ragequit(1n))
        .to.be.revertedWithCustomError(f.fund, "ResearchFundNotOpen")
        .withArgs(f.end, false);
    });
  });

  describe("dissolution and redemption", function () {
    it("attack: redeem before dissolution is refused", async function () {
      const f = await networkHelpers.loadFixture(deployResearchFundFixture);
      await withMembers(f);
      await expect(f.fund.connect(f.alice).redeem())
        .to.be.revertedWithCustomError(f.fund, "ResearchFundStillOpen")
        .withArgs(f.end);
    });

    it("members vote to close; after the sponsored study ends and settles, each redeems its share of what is left", async function () {
      const f = await networkHelpers.loadFixture(deployResearchFundFixture);
      await withMembers(f);
      const amount = ethers.parseEther("100");
      const sponsor = await propose(f, f.alice, sponsorCall(f, f.studyId, amount));
      await passAndQueue(f, sponsor);
      await time.increase(TIMELOCK_DELAY);
      await execute(f, sponsor);
      const close = await propose(f, f.alice, f.fund.interface.encodeFunctionData("close"), "Goal reached: close");
      await passAndQueue(f, close);
      await time.increase(TIMELOCK_DELAY);
      await expect(execute(f, close)).to.emit(f.fund, "Closed");
      expect(await f.fund.isOpen()).to.equal(false);
      await expect(
        f.governor.connect(f.alice).propose([f.fundAddress], [0n], [sponsorCall(f, f.studyId, 1n)], "after"),
      ).to.be.revertedWithCustomError(f.governor, "ResearchFundGovernorInvalidProposal");
      await expect(f.fund.connect(f.alice).contribute(1n))
        .to.be.revertedWithCustomError(f.fund, "ResearchFundNotOpen")
        .withArgs(f.end, true);
      // The study is still running: redeeming waits for its settlement.
      await expect(f.fund.connect(f.alice).redeem())
        .to.be.revertedWithCustomError(f.fund, "ResearchFundStudiesOutstanding")
        .withArgs(1n);
      await expect(f.fund.settleStudy(f.studyId))
        .to.be.revertedWithCustomError(f.escrow, "StudyEscrowStudyNotOver")
        .withArgs(f.studyId, f.params.endTime);
      await time.increaseTo(f.params.endTime);
      // Nothing was spent: the fund takes back 100/200 of the 200 CRC budget.
      await expect(f.fund.connect(f.stranger).settleStudy(f.studyId))
        .to.emit(f.fund, "SettledStudy")
        .withArgs(f.studyId, amount);
      await expect(f.fund.settleStudy(f.studyId))
        .to.be.revertedWithCustomError(f.fund, "ResearchFundNotSponsoring")
        .withArgs(f.studyId);
      // 400 CRC for 400 shares: 100, 100, 200
      for (const [member, expected] of [
        [f.alice, ethers.parseEther("100")],
        [f.bob, ethers.parseEther("100")],
        [f.carol, ethers.parseEther("200")],
      ] as const) {
        await expect(f.fund.connect(member).redeem())
          .to.emit(f.fund, "Redeemed")
          .withArgs(member.address, expected, expected);
      }
      expect(await f.token.balanceOf(f.fundAddress)).to.equal(0n);
      expect(await f.fund.totalSupply()).to.equal(0n);
      await expect(f.fund.connect(f.alice).redeem())
        .to.be.revertedWithCustomError(f.fund, "ResearchFundInsufficientShares")
        .withArgs(f.alice.address, 0n, 0n);
    });

    it("redeem rounding with 3 members: nobody takes more than its share rounded up, the last empties the fund", async function () {
      const f = await networkHelpers.loadFixture(deployResearchFundFixture);
      await f.fund.connect(f.alice).contribute(10n);
      await f.fund.connect(f.bob).contribute(10n);
      await f.fund.connect(f.carol).contribute(13n);
      await f.token.connect(f.stranger).transfer(f.fundAddress, 1n); // 34 for 33 shares
      await time.increaseTo(f.end);
      const pot = 34n;
      const supply = 33n;
      const paid: bigint[] = [];
      for (const [member, shares] of [
        [f.alice, 10n],
        [f.bob, 10n],
        [f.carol, 13n],
      ] as const) {
        const before = await f.token.balanceOf(member.address);
        await f.fund.connect(member).redeem();
        const got = (await f.token.balanceOf(member.address)) - before;
        expect(got).to.be.lessThanOrEqual((pot * shares + supply - 1n) / supply);
        paid.push(got);
      }
      expect(paid).to.deep.equal([10n, 10n, 14n]);
      expect(await f.token.balanceOf(f.fundAddress)).to.equal(0n);
    });
  });
});
