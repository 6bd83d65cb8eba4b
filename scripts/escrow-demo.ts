/**
 * The StudyEscrow part of `npm start`: deploys the escrow and its RemunerationToken through the
 * Ignition module (reusing the ConsentRegistry deployment) and seeds one funded demo study by the
 * demo research organization, with the demo hospital (10 % share) and lab (5 %) as custodians.
 * Idempotent: a chain that already has a study is left as it is. Called by `scripts/deploy-local.ts`
 * after the organizations are accredited:
 *
 *   Object.assign(addresses, await deployEscrowWithDemoStudy(connection, { governance, research, hospital, lab }, addresses.ConsentRegistry));
 *
 * On a persistent network (localhost) Ignition reuses the registry it deployed; on the in-process
 * network it would deploy a fresh one, which the `registry` argument catches.
 */
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { network } from "hardhat";

import StudyEscrowModule from "../ignition/modules/StudyEscrow.ts";
import type { RemunerationToken, StudyEscrow } from "../types/ethers-contracts/index.js";

type Connection = Awaited<ReturnType<typeof network.connect>>;

export const DEMO_STUDY = {
  purpose: 8n, // DUO HMB: health, medical and biomedical research
  categories: (1 << 1) | (1 << 2) | (1 << 7), // Observation, Condition, DiagnosticReport
  price: 5n * 10n ** 18n, // 5 CRC per delivery
  maxParticipants: 100,
  enrolmentDays: 30,
  durationDays: 180,
  protocol: "Consentry demo study: protocol v1 and ethics approval",
  budget: 1_000n * 10n ** 18n, // 200 deliveries
  hospitalShareBps: 1_000,
  labShareBps: 500,
} as const;

export async function deployEscrowWithDemoStudy(
  { ethers, ignition }: Pick<Connection, "ethers" | "ignition">,
  accounts: {
    governance: HardhatEthersSigner;
    research: HardhatEthersSigner;
    hospital: HardhatEthersSigner;
    lab: HardhatEthersSigner;
  },
  registry?: string,
): Promise<{ StudyEscrow: string; RemunerationToken: string }> {
  const deployed = await ignition.deploy(StudyEscrowModule);
  const escrow = deployed.studyEscrow as unknown as StudyEscrow;
  const escrowRegistry = await escrow.registry();
  if (registry !== undefined && escrowRegistry.toLowerCase() !== registry.toLowerCase()) {
    throw new Error(
      `the StudyEscrow uses the ConsentRegistry at ${escrowRegistry}, not ${registry}: deploy both on a persistent network`,
    );
  }
  const token = deployed.remunerationToken as unknown as RemunerationToken;
  const addresses = { StudyEscrow: await escrow.getAddress(), RemunerationToken: await token.getAddress() };
  console.log(`StudyEscrow      ${addresses.StudyEscrow}`);
  console.log(`RemunerationToken ${addresses.RemunerationToken}`);

  if ((await escrow.studyCount()) > 0n) {
    console.log("demo study already seeded");
    return addresses;
  }
  const { governance, research, hospital, lab } = accounts;
  await (await token.connect(governance).mint(research.address, DEMO_STUDY.budget)).wait();
  await (await token.connect(research).approve(addresses.StudyEscrow, DEMO_STUDY.budget)).wait();
  const now = (await ethers.provider.getBlock("latest"))!.timestamp;
  const params = {
    currency: addresses.RemunerationToken,
    purpose: DEMO_STUDY.purpose,
    categories: DEMO_STUDY.categories,
    price: DEMO_STUDY.price,
    maxParticipants: DEMO_STUDY.maxParticipants,
    enrolmentDeadline: now + DEMO_STUDY.enrolmentDays * 86_400,
    endTime: now + DEMO_STUDY.durationDays * 86_400,
    protocolHash: ethers.id(DEMO_STUDY.protocol),
    custodians: [
      { custodian: hospital.address, shareBps: DEMO_STUDY.hospitalShareBps },
      { custodian: lab.address, shareBps: DEMO_STUDY.labShareBps },
    ],
    attestedEnrolment: false,
  };
  await (await escrow.connect(research).createStudy(params, DEMO_STUDY.budget)).wait();
  console.log(
    `seeded demo study 1: ${ethers.formatEther(DEMO_STUDY.budget)} CRC, ${ethers.formatEther(DEMO_STUDY.price)} CRC per delivery`,
  );
  return addresses;
}
