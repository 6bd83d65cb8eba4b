import { expect } from "chai";
import { network } from "hardhat";

import AuditAnchorModule from "../../ignition/modules/AuditAnchor.ts";

const { ethers, ignition, networkHelpers } = await network.connect();

const PROVIDER = 1;
const ROLE = { ADMIN: 1, CLINICIAN: 2, GATEWAY: 3 };
const root = (n: number) => ethers.keccak256(ethers.toUtf8Bytes(`batch ${n}`));

async function deployAuditAnchorFixture() {
  const [governance, hospital, gateway, clinician, stranger, otherHospital, otherGateway] = await ethers.getSigners();
  const { auditAnchor, consentRegistry } = await ignition.deploy(AuditAnchorModule);
  const registry = consentRegistry as any; // eslint-disable-line @typescript-eslint/no-explicit-any
  const anchor = auditAnchor as any; // eslint-disable-line @typescript-eslint/no-explicit-any
  await registry.accredit(
    hospital.address,
    PROVIDER,
    "St. Example Hospital",
    "https://h.example/fhir",
    ethers.ZeroHash,
  );
  await registry.accredit(otherHospital.address, PROVIDER, "Other Hospital", "", ethers.ZeroHash);
  await registry.connect(hospital).offerMembership(hospital.address, gateway.address, ROLE.GATEWAY);
  await registry.connect(gateway).acceptMembership(hospital.address, ROLE.GATEWAY);
  await registry.connect(hospital).offerMembership(hospital.address, clinician.address, ROLE.CLINICIAN);
  await registry.connect(clinician).acceptMembership(hospital.address, ROLE.CLINICIAN);
  await registry.connect(otherHospital).offerMembership(otherHospital.address, otherGateway.address, ROLE.GATEWAY);
  await registry.connect(otherGateway).acceptMembership(otherHospital.address, ROLE.GATEWAY);
  return { anchor, registry, governance, hospital, gateway, clinician, stranger, otherHospital, otherGateway };
}

describe("AuditAnchor", () => {
  it("reads the registry it was deployed with", async () => {
    const { anchor, registry } = await networkHelpers.loadFixture(deployAuditAnchorFixture);
    expect(await anchor.registry()).to.equal(await registry.getAddress());
  });

  it("anchors contiguous batches of a custodian, posted by its gateway", async () => {
    const { anchor, hospital, gateway } = await networkHelpers.loadFixture(deployAuditAnchorFixture);
    expect(await anchor.nextSequence(hospital.address)).to.equal(1n);
    expect(await anchor.connect(gateway).anchor.staticCall(root(1), 1, 10)).to.equal(0n);
    await expect(anchor.connect(gateway).anchor(root(1), 1, 10))
      .to.emit(anchor, "AuditBatchAnchored")
      .withArgs(hospital.address, 0n, root(1), 1n, 10n, gateway.address);
    const at = await networkHelpers.time.latest();
    await expect(anchor.connect(gateway).anchor(root(2), 11, 11))
      .to.emit(anchor, "AuditBatchAnchored")
      .withArgs(hospital.address, 1n, root(2), 11n, 11n, gateway.address);
    expect(await anchor.batchCount(hospital.address)).to.equal(2n);
    expect(await anchor.nextSequence(hospital.address)).to.equal(12n);
    const first = await anchor.batchAt(hospital.address, 0);
    expect([first.merkleRoot, first.firstSequence, first.lastSequence]).to.deep.equal([root(1), 1n, 10n]);
    expect(Number(first.anchoredAt)).to.equal(at);
  });

  it("keeps each custodian's batches apart", async () => {
    const { anchor, hospital, gateway, otherHospital, otherGateway } =
      await networkHelpers.loadFixture(deployAuditAnchorFixture);
    await anchor.connect(gateway).anchor(root(1), 1, 5);
    await anchor.connect(otherGateway).anchor(root(9), 1, 3);
    expect(await anchor.nextSequence(hospital.address)).to.equal(6n);
    expect(await anchor.nextSequence(otherHospital.address)).to.equal(4n);
  });

  it("refuses anyone but an active organization's GATEWAY member", async () => {
    const { anchor, registry, governance, hospital, gateway, clinician, stranger } =
      await networkHelpers.loadFixture(deployAuditAnchorFixture);
    for (const who of [stranger, clinician, hospital]) {
      await expect(anchor.connect(who).anchor(root(1), 1, 1))
        .to.be.revertedWithCustomError(anchor, "AuditAnchorNotGateway")
        .withArgs(who.address);
    }
    await registry.connect(governance).suspend(hospital.address, ethers.ZeroHash);
    await expect(anchor.connect(gateway).anchor(root(1), 1, 1))
      .to.be.revertedWithCustomError(anchor, "AuditAnchorNotGateway")
      .withArgs(gateway.address);
    await registry.connect(governance).reinstate(hospital.address);
    await anchor.connect(gateway).anchor(root(1), 1, 1);
    await registry.connect(hospital).removeMember(hospital.address, gateway.address);
    await expect(anchor.connect(gateway).anchor(root(2), 2, 2))
      .to.be.revertedWithCustomError(anchor, "AuditAnchorNotGateway")
      .withArgs(gateway.address);
  });

  it("refuses an empty root, a gap, an overlap and a reversed range", async () => {
    const { anchor, gateway } = await networkHelpers.loadFixture(deployAuditAnchorFixture);
    await expect(anchor.connect(gateway).anchor(ethers.ZeroHash, 1, 1)).to.be.revertedWithCustomError(
      anchor,
      "AuditAnchorEmptyRoot",
    );
    await expect(anchor.connect(gateway).anchor(root(1), 2, 3))
      .to.be.revertedWithCustomError(anchor, "AuditAnchorInvalidRange")
      .withArgs(1n, 2n, 3n);
    await expect(anchor.connect(gateway).anchor(root(1), 1, 0))
      .to.be.revertedWithCustomError(anchor, "AuditAnchorInvalidRange")
      .withArgs(1n, 1n, 0n);
    await anchor.connect(gateway).anchor(root(1), 1, 4);
    await expect(anchor.connect(gateway).anchor(root(2), 4, 6))
      .to.be.revertedWithCustomError(anchor, "AuditAnchorInvalidRange")
      .withArgs(5n, 4n, 6n);
  });

  it("reverts reading a batch that does not exist", async () => {
    const { anchor, hospital } = await networkHelpers.loadFixture(deployAuditAnchorFixture);
    await expect(anchor.batchAt(hospital.address, 0)).to.be.revert(ethers);
  });

  describe("issue 11 item 5: anchoring cannot be bricked and a mistake can be superseded", () => {
    it("refuses a batch ending at the maximum sequence number (which would brick every later anchor)", async () => {
      const { anchor, hospital, gateway } = await networkHelpers.loadFixture(deployAuditAnchorFixture);
      const MAX = 2n ** 64n - 1n;
      await expect(anchor.connect(gateway).anchor(root(1), 1, MAX))
        .to.be.revertedWithCustomError(anchor, "AuditAnchorBatchTooLarge")
        .withArgs(1n, MAX, 10_000n);
      expect(await anchor.MAX_BATCH_SIZE()).to.equal(10_000n);
      await anchor.connect(gateway).anchor(root(1), 1, 10_000);
      await expect(anchor.connect(gateway).anchor(root(2), 10_001, 20_001)).to.be.revertedWithCustomError(
        anchor,
        "AuditAnchorBatchTooLarge",
      );
      expect(await anchor.nextSequence(hospital.address)).to.equal(10_001n);
    });

    it("lets the custodian or its ADMIN supersede a bogus batch, keeping the history readable", async () => {
      const { anchor, registry, hospital, gateway, clinician, stranger, otherHospital } =
        await networkHelpers.loadFixture(deployAuditAnchorFixture);
      const [, , , , , , , admin] = await ethers.getSigners();
      await registry.connect(hospital).offerMembership(hospital.address, admin!.address, ROLE.ADMIN);
      await registry.connect(admin!).acceptMembership(hospital.address, ROLE.ADMIN);
      await anchor.connect(gateway).anchor(root(1), 1, 10);
      // a stolen gateway key anchors a bogus root reserving a whole batch of future entries
      await anchor.connect(gateway).anchor(ethers.ZeroHash.replace(/0$/, "1"), 11, 10_010);
      for (const who of [gateway, clinician, stranger, otherHospital]) {
        await expect(anchor.connect(who).supersede(hospital.address, 1, root(2), 12))
          .to.be.revertedWithCustomError(anchor, "AuditAnchorNotCustodianAdmin")
          .withArgs(hospital.address, who.address);
      }
      await expect(anchor.connect(hospital).supersede(hospital.address, 2, root(2), 12))
        .to.be.revertedWithCustomError(anchor, "AuditAnchorUnknownBatch")
        .withArgs(hospital.address, 2n);
      await expect(
        anchor.connect(hospital).supersede(hospital.address, 1, ethers.ZeroHash, 12),
      ).to.be.revertedWithCustomError(anchor, "AuditAnchorEmptyRoot");
      await expect(anchor.connect(hospital).supersede(hospital.address, 1, root(2), 10))
        .to.be.revertedWithCustomError(anchor, "AuditAnchorInvalidRange")
        .withArgs(11n, 11n, 10n);
      await expect(
        anchor.connect(hospital).supersede(hospital.address, 1, root(2), 10_011),
      ).to.be.revertedWithCustomError(anchor, "AuditAnchorBatchTooLarge");
      // the latest batch is cut back to the entries that exist: the gateway goes on from there
      await expect(anchor.connect(admin!).supersede(hospital.address, 1, root(2), 12))
        .to.emit(anchor, "AuditBatchSuperseded")
        .withArgs(hospital.address, 1n, ethers.ZeroHash.replace(/0$/, "1"), root(2), 12n, admin!.address);
      expect(await anchor.nextSequence(hospital.address)).to.equal(13n);
      await anchor.connect(gateway).anchor(root(3), 13, 20);
      // an earlier batch keeps its range; only its root changes
      await expect(anchor.connect(hospital).supersede(hospital.address, 0, root(4), 11))
        .to.be.revertedWithCustomError(anchor, "AuditAnchorInvalidRange")
        .withArgs(1n, 1n, 11n);
      await anchor.connect(hospital).supersede(hospital.address, 0, root(4), 10);
      expect((await anchor.batchAt(hospital.address, 0)).merkleRoot).to.equal(root(4));
      expect(await anchor.revisionCount(hospital.address, 0)).to.equal(1n);
      expect(await anchor.revisionCount(hospital.address, 1)).to.equal(1n);
      expect(await anchor.revisionCount(hospital.address, 2)).to.equal(0n);
      const original = await anchor.revisionAt(hospital.address, 1, 0);
      expect([original.merkleRoot, original.firstSequence, original.lastSequence]).to.deep.equal([
        ethers.ZeroHash.replace(/0$/, "1"),
        11n,
        10_010n,
      ]);
    });
  });
});
