/**
 * Gas of PreventionRewards' budgeted paths, deployed through the Ignition module on Hardhat's
 * in-process EDR chain: a patient's first opt-in, direct and by a relayed signature (it opens the
 * patient's balance and writes the programme's consent in the registry), one confirmation in a
 * report of 100 (fresh patients, one period), and a patient's first badge claim.
 * `scripts/bench-gas.ts` prints the rows with the others.
 */
import { network } from "hardhat";

import PreventionRewardsModule from "../../ignition/modules/PreventionRewards.ts";
import { CVX_SYSTEM, criterionHash, preventionRewardsDomain, preventionTypes } from "#sdk/prevention.ts";
import type { GasRow } from "./escrow-gas.ts";

const PROVIDER = 1;
const PAYER = 3;
const GATEWAY = 3;
const IMMUNIZATION = 5;
const YEAR = 365n * 86_400n;
const BATCH = 100;
/**
 * A relayed opt-in is the direct one (115,903) plus its calldata (the 65-byte signature), the
 * EIP-712 hashing of OptIn and ecrecover: 124,949 measured before the security review's L2. The
 * fix binds the patient's revocation nonce in the registry into the OptIn (a revoke-all or a
 * signature cancellation there voids an opt-in signature not yet submitted): one call to the
 * registry before the grant, whose patient slot the grant then reads warm, +1,776: measured
 * 126,725. The study's signed join binds the same nonce since (124,200); 130,000 leaves 2.5 %.
 */
const SIGNED_OPT_IN_BUDGET = 130_000n;

/* eslint-disable @typescript-eslint/no-explicit-any -- Ignition returns untyped contracts */
export async function measurePreventionGas(): Promise<GasRow[]> {
  const { ethers, ignition } = await network.connect();
  const [, payer, hospital, gateway, relayer, patient] = await ethers.getSigners();
  const deployed = await ignition.deploy(PreventionRewardsModule);
  const registry = deployed.consentRegistry as any;
  const token = deployed.remunerationToken as any;
  const rewards = deployed.preventionRewards as any;
  const badge = deployed.preventionBadge as any;
  const gasOf = async (tx: Promise<any>): Promise<bigint> => (await (await tx).wait()).gasUsed as bigint;

  await (await registry.accredit(hospital!.address, PROVIDER, "St. Example Hospital", "", ethers.ZeroHash)).wait();
  await (await registry.accredit(payer!.address, PAYER, "Example Health Insurance", "", ethers.ZeroHash)).wait();
  await (await registry.connect(hospital).offerMembership(hospital!.address, gateway!.address, GATEWAY)).wait();
  await (await registry.connect(gateway).acceptMembership(hospital!.address, GATEWAY)).wait();

  const reward = ethers.parseEther("5");
  await (await token.mint(payer!.address, reward * 1000n)).wait();
  await (await token.connect(payer).approve(await rewards.getAddress(), reward * 1000n)).wait();
  const now = BigInt((await ethers.provider.getBlock("latest"))!.timestamp);
  const params = {
    currency: await token.getAddress(),
    category: IMMUNIZATION,
    codeSystem: criterionHash(CVX_SYSTEM),
    code: criterionHash("141"),
    firstPeriodStart: now,
    periodLength: YEAR,
    reward,
    endTime: now + 3n * YEAR,
    custodians: [hospital!.address],
  };
  await (await rewards.connect(payer).createProgramme(params, reward * 1000n)).wait();
  const programmeId = await rewards.programmeCount();

  const rows: GasRow[] = [];
  rows.push({
    what: "prevention: opt-in (direct, first of patient)",
    gas: await gasOf(rewards.connect(patient).optIn(programmeId)),
    // Floor: 21,000 + three new slots (enrolment, balance, the registry's grant: 3 x 22,100) =
    // 87,300, plus the programme's two cold reads and the registry's account reads and events;
    // the same work as a study join, so the study join's 120,000.
    budget: 120_000n,
  });

  // A signed opt-in of a fresh patient, relayed: what the direct one does, plus the signature's
  // check and the patient's revocation nonce read from the registry (bound into the OptIn).
  const signer = ethers.Wallet.createRandom();
  const p = await rewards.getProgramme(programmeId);
  const deadline = now + 86_400n;
  const { chainId } = await ethers.provider.getNetwork();
  const signature = await signer.signTypedData(
    preventionRewardsDomain({ chainId: Number(chainId), rewards: await rewards.getAddress() }),
    { OptIn: [...preventionTypes.OptIn], Terms: [...preventionTypes.Terms] },
    {
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
      registryNonce: await registry.revocationNonce(signer.address),
      nonce: 0n,
      deadline,
    },
  );
  rows.push({
    what: "prevention: opt-in by signature, relayed (first of patient)",
    gas: await gasOf(rewards.connect(relayer).optInBySig(programmeId, signer.address, deadline, signature)),
    budget: SIGNED_OPT_IN_BUDGET,
  });

  const patients: string[] = [];
  for (let i = 0; i < BATCH; i++) {
    const wallet = ethers.Wallet.createRandom().connect(ethers.provider);
    await (await relayer!.sendTransaction({ to: wallet.address, value: ethers.parseEther("1") })).wait();
    await (await rewards.connect(wallet).optIn(programmeId)).wait();
    patients.push(wallet.address);
  }
  const before = (await rewards.getProgramme(programmeId)).budget as bigint;
  const batchGas = await gasOf(rewards.connect(gateway).reportConfirmations(programmeId, 0, patients));
  const paid = (before - ((await rewards.getProgramme(programmeId)).budget as bigint)) / reward;
  if (paid !== BigInt(BATCH)) throw new Error(`the report paid ${paid} of ${BATCH}`);
  rows.push({
    what: `prevention: confirmation in a report of ${BATCH}, per patient`,
    gas: batchGas / BigInt(BATCH),
    // No new slot per patient (256 patients share a period's flag slot: one 22,100 per batch of
    // up to 256): the enrolment's cold read 2,100, the balance's cold update 5,000, the registry's
    // cold reads of grant and patient 4,200 and the events; as a study delivery, 30,000.
    budget: 30_000n,
  });

  // The first patient opted in above but was not in the batch: a report of one confirms it.
  await (await rewards.connect(gateway).reportConfirmations(programmeId, 0, [patient!.address])).wait();
  rows.push({
    what: "prevention: badge claim (first badge of patient)",
    gas: await gasOf(badge.connect(patient).claim(programmeId, 0)),
    // Floor: 21,000 + two new slots (the token's owner and the patient's badge count: 2 x 22,100)
    // = 65,200, plus the cold call to the rewards contract with its two cold reads (6,800) and
    // three events (Transfer, Locked, BadgeClaimed: about 4,500): measured 80,465; 85,000 leaves 5 %.
    budget: 85_000n,
  });
  return rows;
}
