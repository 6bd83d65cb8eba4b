import { expect } from "chai";
import {
  type Address,
  BaseError,
  type PublicClient,
  type WalletClient,
  encodeErrorResult,
  getAddress,
  keccak256,
  parseEther,
  parseSignature,
  toHex,
} from "viem";

import StudyEscrowModule from "../ignition/modules/StudyEscrow.ts";
import { type SdkTestChain, sdkTestChain } from "./testing/chain.ts";
import { KINDS, ROLES, categoriesToMask, encodePurpose } from "./codes.ts";
import { explainTransactionError } from "./errors.ts";
import { permitTypedData, readStudies, readStudyActivity, readTokenInfo } from "./escrow.ts";
import { consentRegistryAbi, remunerationTokenAbi, studyEscrowAbi } from "./generated/abis.ts";

// The escrow as the research console and the patient portal read it, against a real EDR chain.
describe("study escrow reads, permits and revert explanations (sdk) on a real chain", function () {
  this.timeout(60_000);
  let client: PublicClient;
  let escrow: Address;
  let token: Address;
  let registry: Address;
  let accounts: Address[];
  let wallet: WalletClient;
  let write: SdkTestChain["write"];

  const governance = () => accounts[0]!;
  const patient = () => accounts[1]!;
  const hospital = () => accounts[2]!;
  const hospitalGateway = () => accounts[3]!;
  const research = () => accounts[4]!;
  const analyst = () => accounts[5]!;
  const PRICE = parseEther("5");
  const BUDGET = parseEther("20");

  const params = async () => {
    const now = Number((await client.getBlock()).timestamp);
    return {
      currency: token,
      purpose: encodePurpose("HMB"),
      categories: categoriesToMask(["Observation"]),
      price: PRICE,
      maxParticipants: 10,
      enrolmentDeadline: now + 86_400,
      endTime: now + 30 * 86_400,
      protocolHash: keccak256(toHex("protocol")),
      custodians: [{ custodian: hospital(), shareBps: 1_000 }],
      attestedEnrolment: false,
    };
  };

  before(async () => {
    const t = await sdkTestChain(StudyEscrowModule);
    escrow = getAddress(await t.deployed.studyEscrow.getAddress());
    token = getAddress(await t.deployed.remunerationToken.getAddress());
    registry = getAddress(await t.deployed.consentRegistry.getAddress());
    ({ client, accounts, wallet, write } = t);
    const licence = `0x${"00".repeat(32)}`;
    await write(governance(), registry, consentRegistryAbi, "accredit", [hospital(), KINDS.PROVIDER, "H", "", licence]);
    await write(governance(), registry, consentRegistryAbi, "accredit", [
      research(),
      KINDS.RESEARCHER,
      "R",
      "",
      licence,
    ]);
    await write(hospital(), registry, consentRegistryAbi, "offerMembership", [
      hospital(),
      hospitalGateway(),
      ROLES.GATEWAY,
    ]);
    await write(hospitalGateway(), registry, consentRegistryAbi, "acceptMembership", [hospital(), ROLES.GATEWAY]);
    await write(research(), registry, consentRegistryAbi, "offerMembership", [research(), analyst(), ROLES.ANALYST]);
    await write(analyst(), registry, consentRegistryAbi, "acceptMembership", [research(), ROLES.ANALYST]);
    await write(governance(), token, remunerationTokenAbi, "mint", [research(), parseEther("100")]);
  });

  it("creates and funds a study with a permit signed over the token's own EIP-712 domain", async () => {
    const deadline = BigInt(Number((await client.getBlock()).timestamp) + 600);
    const typed = await permitTypedData(client, {
      token,
      owner: research(),
      spender: escrow,
      value: BUDGET,
      deadline,
    });
    expect(typed.domain).to.deep.equal({
      name: "Consentry Research Credit",
      version: "1",
      chainId: 31337,
      verifyingContract: token,
    });
    expect(typed.message.nonce).to.equal(0n);
    const { r, s, v, yParity } = parseSignature(await wallet.signTypedData({ account: research(), ...typed }));
    await write(research(), escrow, studyEscrowAbi, "createStudyWithPermit", [
      await params(),
      BUDGET,
      deadline,
      Number(v ?? BigInt(yParity + 27)),
      r,
      s,
    ]);
    const { studies, timestamp } = await readStudies(client, escrow);
    expect(studies).to.have.length(1);
    const [study] = studies;
    expect(study).to.include({
      id: 1n,
      researcher: research(),
      currency: token,
      price: PRICE,
      budget: BUDGET,
      statusName: "Open",
      participants: 0,
      enrolling: true,
      over: false,
    });
    expect(study!.custodians).to.deep.equal([{ custodian: hospital(), shareBps: 1_000 }]);
    expect(study!.enrolmentDeadline).to.be.greaterThan(timestamp);
    expect(await readTokenInfo(client, token)).to.deep.equal({ address: token, symbol: "CRC", decimals: 18 });
  });

  it("follows enrolment and spend from the study's events", async () => {
    await write(patient(), escrow, studyEscrowAbi, "join", [1n]);
    let activity = await readStudyActivity(client, escrow, 1n);
    expect(activity).to.deep.include({ current: [patient()], left: [], joins: 1, leaves: 0, funded: BUDGET });

    await write(hospitalGateway(), escrow, studyEscrowAbi, "reportDeliveries", [1n, [patient()]]);
    activity = await readStudyActivity(client, escrow, 1n);
    expect(activity).to.deep.include({
      deliveriesPaid: 1,
      paidToPatients: parseEther("4.5"),
      paidToCustodians: parseEther("0.5"),
    });

    await write(patient(), escrow, studyEscrowAbi, "leave", [1n]);
    await write(hospitalGateway(), escrow, studyEscrowAbi, "reportDeliveries", [1n, [patient()]]);
    activity = await readStudyActivity(client, escrow, 1n);
    expect(activity).to.deep.include({ current: [], left: [patient()], joins: 1, leaves: 1, deliveriesSkipped: 1 });
    expect((await readStudies(client, escrow)).studies[0]!.budget).to.equal(BUDGET - PRICE);
  });

  it("explains escrow reverts in plain words (an analyst cannot create studies)", async () => {
    try {
      await client.simulateContract({
        account: analyst(),
        address: escrow,
        abi: studyEscrowAbi,
        functionName: "createStudy",
        args: [await params(), 0n],
      });
      expect.fail("the simulation should revert");
    } catch (error) {
      expect(explainTransactionError(error, { nameOf: (a) => (a === analyst() ? "the analyst" : undefined) })).to.equal(
        "the analyst is neither an active, accredited research organization nor an ADMIN member of one, so it cannot create studies.",
      );
    }
    const data = encodeErrorResult({ abi: studyEscrowAbi, errorName: "StudyEscrowStudyFull", args: [1n, 10] });
    const wrapped = new BaseError("execution reverted", { cause: Object.assign(new Error("reverted"), { data }) });
    expect(explainTransactionError(wrapped, { abis: [consentRegistryAbi, studyEscrowAbi] })).to.equal(
      "Study 1 already has its 10 participants.",
    );
  });
});
