/**
 * Break-glass reasons (issue 11, item 14): what a watcher of the chain learns of WHY a patient
 * needed emergency care. The watcher runs a dictionary attack, the only one it needs against a
 * handful of reason codes: from the same chain state it opens the same emergency access once per
 * reason code, records everything public the opening leaves (its logs, the view, and every storage
 * word under the emergency's key, found by probing the first mapping slots), then compares a real
 * opening with its dictionary. A reason in clear (or a hash of the code alone, or a commitment
 * without a random salt) is matched; a commitment with a fresh random 32-byte salt is not.
 */
import { expect } from "chai";
import { network } from "hardhat";

import ConsentRegistryModule from "../../ignition/modules/ConsentRegistry.ts";
import type { ConsentRegistry } from "../../types/ethers-contracts/index.js";
import type { Address, Hex } from "viem";
import { type EmergencyReasonCode, emergencyReasonCommitment } from "#sdk/codes.ts";

const { ethers, ignition, networkHelpers } = await network.create();

const PROVIDER = 1;
const CLINICIAN = 2;
const REASON_CODES = [1, 2, 3, 4] as const;
const HOUR = 3_600n;

async function deploy() {
  const [governance, provider, clinician, patient] = await ethers.getSigners();
  const { consentRegistry } = await ignition.deploy(ConsentRegistryModule);
  const registry = consentRegistry as unknown as ConsentRegistry;
  await registry.connect(governance!).accredit(provider!.address, PROVIDER, "Hospital", "", ethers.ZeroHash);
  await registry.connect(provider!).offerMembership(provider!.address, clinician!.address, CLINICIAN);
  await registry.connect(clinician!).acceptMembership(provider!.address, CLINICIAN);
  return { registry, provider: provider!, clinician: clinician!, patient: patient! };
}
type Fixture = Awaited<ReturnType<typeof deploy>>;

/**
 * How the console opens emergency access for `reasonCode`: the commitment with `salt` (sdk
 * `emergencyReasonCommitment`). Before item 14 this sent the code in clear, and the registry
 * stored and emitted it: the first test below failed there ("the watcher learned reason 1").
 */
async function open(f: Fixture, reasonCode: EmergencyReasonCode, salt: string) {
  const commitment = emergencyReasonCommitment(
    {
      chainId: (await ethers.provider.getNetwork()).chainId,
      registry: (await f.registry.getAddress()) as Address,
      patient: f.patient.address as Address,
      organization: f.provider.address as Address,
    },
    { reasonCode, salt: salt as Hex },
  );
  return f.registry.connect(f.clinician).openEmergencyAccess(f.patient.address, commitment, 4n * HOUR);
}

/** Everything public an opening leaves: its logs, the view, and the storage words under its key. */
async function observe(f: Fixture, txHash: string): Promise<string> {
  const receipt = await ethers.provider.getTransactionReceipt(txHash);
  const registry = await f.registry.getAddress();
  const words: string[] = [];
  for (const log of receipt!.logs) words.push(...log.topics, log.data);
  const key = ethers.solidityPackedKeccak256(["uint256", "uint256"], [f.patient.address, f.provider.address]);
  for (let slot = 0n; slot < 32n; slot++) {
    const base = BigInt(
      ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(["bytes32", "uint256"], [key, slot])),
    );
    for (let i = 0n; i < 3n; i++) {
      const w = await ethers.provider.getStorage(registry, base + i);
      if (w !== ethers.ZeroHash) words.push(`${slot}+${i}:${w}`);
    }
  }
  words.push(
    ethers.AbiCoder.defaultAbiCoder().encode(
      ["uint40", "address", "uint256"],
      (await f.registry.emergencyAccess(f.patient.address, f.provider.address)).map((v) =>
        typeof v === "string" && v.length === 66 ? BigInt(v) : v,
      ) as [bigint, string, bigint],
    ),
  );
  return words.join("|");
}

/** The watcher's dictionary: what an opening for each code leaves, from the same state and time. */
async function dictionary(f: Fixture, salt: () => string) {
  const snapshot = await networkHelpers.takeSnapshot();
  const at = BigInt(await networkHelpers.time.latest()) + 100n;
  const seen = new Map<string, number>();
  for (const code of REASON_CODES) {
    await networkHelpers.time.setNextBlockTimestamp(at);
    const tx = await open(f, code, salt());
    seen.set(await observe(f, tx.hash), code);
    await snapshot.restore();
  }
  return { at, seen };
}

describe("Break-glass reasons on-chain (item 14)", function () {
  it("a watcher's dictionary attack does not learn the reason of an opening made with a random salt", async function () {
    const f = await networkHelpers.loadFixture(deploy);
    const randomSalt = () => ethers.hexlify(ethers.randomBytes(32));
    const { at, seen } = await dictionary(f, randomSalt);
    for (const secret of REASON_CODES) {
      const snapshot = await networkHelpers.takeSnapshot();
      await networkHelpers.time.setNextBlockTimestamp(at);
      const tx = await open(f, secret, randomSalt());
      const learned = seen.get(await observe(f, tx.hash));
      expect(learned, `the watcher learned reason ${secret}`).to.equal(undefined);
      await snapshot.restore();
    }
  });

  it("a commitment without a random salt (a hash of the code alone, or a fixed salt) is found by trying the few codes", async function () {
    // Why the console draws a fresh 32-byte salt for every opening: with a salt the watcher can
    // guess (none, zero, or one reused), its dictionary matches the real opening at once.
    const f = await networkHelpers.loadFixture(deploy);
    const fixed = () => ethers.ZeroHash;
    const { at, seen } = await dictionary(f, fixed);
    for (const secret of REASON_CODES) {
      const snapshot = await networkHelpers.takeSnapshot();
      await networkHelpers.time.setNextBlockTimestamp(at);
      const tx = await open(f, secret, fixed());
      expect(seen.get(await observe(f, tx.hash))).to.equal(secret);
      await snapshot.restore();
    }
    // And a bare hash of the code: four hashes to try.
    const bare = new Map(REASON_CODES.map((c) => [ethers.solidityPackedKeccak256(["uint16"], [c]), c]));
    expect(bare.get(ethers.solidityPackedKeccak256(["uint16"], [2]))).to.equal(2);
  });

  it("the gateway's check: the sdk's commitment is abi.encode(chainid, registry, patient, organization, code, salt)", async function () {
    const f = await networkHelpers.loadFixture(deploy);
    const salt = ethers.hexlify(ethers.randomBytes(32));
    const tx = await open(f, 3, salt);
    await tx.wait();
    const [, , stored] = await f.registry.emergencyAccess(f.patient.address, f.provider.address);
    // The commitment as the contract documents it, computed here independently of the sdk.
    const network = (await ethers.provider.getNetwork()).chainId;
    const registry = await f.registry.getAddress();
    const commitment = (code: number) =>
      ethers.keccak256(
        ethers.AbiCoder.defaultAbiCoder().encode(
          ["uint256", "address", "address", "address", "uint16", "bytes32"],
          [network, registry, f.patient.address, f.provider.address, code, salt],
        ),
      );
    expect(stored).to.equal(commitment(3));
    // Another code does not match.
    expect(stored).to.not.equal(commitment(2));
  });
});
