/**
 * Gas of a ResearchFund's budgeted paths, deployed through the Ignition module on Hardhat's
 * in-process EDR chain: creating a fund through the factory, a member's first contribution, a vote
 * on a proposal, and a redemption after the end. Each budget is set from the one-slot floor (21,000 per transaction, 22,100 for a new
 * storage slot written cold, 5,000 for a cold non-zero to non-zero write, 2,100 per cold read) and
 * justified beside its row. `scripts/bench-gas.ts` prints the rows with the others.
 */
import { network } from "hardhat";

import ResearchFundModule from "../../ignition/modules/ResearchFund.ts";
import type { GasRow } from "./escrow-gas.ts";

const DAY = 86_400;

/* eslint-disable @typescript-eslint/no-explicit-any -- Ignition returns untyped contracts */
export async function measureFundGas(): Promise<GasRow[]> {
  const { ethers, ignition } = await network.connect();
  const [, alice, bob] = await ethers.getSigners();
  const end = (await ethers.provider.getBlock("latest"))!.timestamp + 60 * DAY;
  const deployed = await ignition.deploy(ResearchFundModule, {
    parameters: { ResearchFundModule: { cause: "Rare disease X", end, votingPeriod: DAY, timelockDelay: DAY } },
  });
  const token = deployed.remunerationToken as any;
  const fund = deployed.researchFund as any;
  const fundAddress = await fund.getAddress();
  const governor = (await ethers.getContractAt("ResearchFundGovernor", await fund.governor())) as any;
  const gasOf = async (tx: Promise<any>): Promise<bigint> => (await (await tx).wait()).gasUsed as bigint;
  const amount = ethers.parseEther("100");
  for (const member of [alice!, bob!]) {
    await (await token.mint(member.address, amount)).wait();
    await (await token.connect(member).approve(fundAddress, ethers.MaxUint256)).wait();
  }
  await (await fund.connect(alice).contribute(amount)).wait();

  const rows: GasRow[] = [];
  // A fund created by anyone through the factory (the factory's second: its count is non-zero).
  // Nearly all of it is code: three contracts' runtime code at 200 gas a byte (the fund 13,518
  // bytes, its Governor 14,929, its timelock 6,537: 6,996,800) and three CREATEs (96,000). On top:
  // 21,000 + calldata (~5,000) + the initcode's words (~2,600) + new slots 22,100 each (the cause,
  // the share's name and symbol, the Governor's name and timelock, the timelock's delay and its
  // roles: the fund and itself admins, then the Governor proposer, canceller and executor; the
  // factory's isFund: 12 slots, 265,200) + the deployers' calls, the factory's reads of the fund
  // and the events (~60,000): ~7,450,000. Budget 7,600,000: a fund is deployed code, which only a
  // smaller fund, Governor or timelock would make cheaper (minimal clones would, at the cost told
  // in ResearchFundFactory's NatSpec).
  const factory = deployed.researchFundFactory as any;
  const latest = (await ethers.provider.getBlock("latest"))!.timestamp;
  rows.push({
    what: "fund: create (factory, with Governor and timelock)",
    gas: await gasOf(
      factory.connect(bob).createFund({
        cause: "Cohort Y: a longitudinal cohort of people with a rare condition",
        currency: await token.getAddress(),
        goal: ethers.parseEther("10000"),
        end: latest + 60 * DAY,
        quorumPercent: 20,
        votingPeriod: DAY,
        timelockDelay: DAY,
      }),
    ),
    budget: 7_600_000n,
  });
  // bob's first contribution (not the fund's first: `raised` and the fund's token balance are
  // already non-zero; each member is its own delegate without a stored delegation). Floor: 21,000
  // + 4 new slots (share balance, votes checkpoint length and entry, total-supply checkpoint entry)
  // 88,400 + 5 non-zero writes (raised, supply, supply checkpoint length, two token balances)
  // 25,000 + the token calls and 4 events ~15,000: ~150,000; budget 160,000.
  rows.push({
    what: "fund: contribute (first of member)",
    gas: await gasOf(fund.connect(bob).contribute(amount)),
    budget: 160_000n,
  });

  const calldata = fund.interface.encodeFunctionData("close");
  await (await governor.connect(alice).propose([fundAddress], [0n], [calldata], "Close")).wait();
  const id = await governor.hashProposal([fundAddress], [0n], [calldata], ethers.id("Close"));
  await ethers.provider.send("evm_increaseTime", [2]);
  await ethers.provider.send("evm_mine", []);
  await (await governor.connect(alice).castVote(id, 1)).wait();
  // bob's vote For, the second on the proposal: 21,000 + 3 new slots (hasVoted, and the lock that
  // keeps him from ragequitting while the proposal may execute: its end time and the proposal)
  // 66,300 + forVotes non-zero write 5,000 + the cross-contract reads of his votes then and now and
  // of the timelock's delay (~15,000) and the event: ~110,000; budget 125,000. (The lock's proposal
  // id, kept only to name it in the refusal, is 22,100 of it: a refusal naming the time instead
  // would save it.)
  rows.push({
    what: "fund: vote (For, second voter)",
    gas: await gasOf(governor.connect(bob).castVote(id, 1)),
    budget: 125_000n,
  });

  await ethers.provider.send("evm_increaseTime", [60 * DAY]);
  await ethers.provider.send("evm_mine", []);
  // alice's redemption, not the last, to an address holding none of the token (the worst case).
  // Floor: 21,000 + 3 new slots (her votes and the total supply checkpointed at a new time, her token
  // balance) 66,300 + 5 non-zero writes (supply, 2 checkpoint lengths, the fund's token balance,
  // her share balance cleared) 25,000 + the token calls and 3 events ~20,000: ~132,000; budget 140,000.
  rows.push({ what: "fund: redeem (after the end)", gas: await gasOf(fund.connect(alice).redeem()), budget: 140_000n });
  return rows;
}
