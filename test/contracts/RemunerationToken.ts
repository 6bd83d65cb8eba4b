/**
 * RemunerationToken: the ERC-20 the StudyEscrow pays in. Minting by MINTER_ROLE only, EIP-2612
 * permit, and the local-demo faucet (chain 31337 only, capped per call).
 */
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { expect } from "chai";
import { network } from "hardhat";

import StudyEscrowModule from "../../ignition/modules/StudyEscrow.ts";
import { permitTypes } from "#sdk/escrow.ts";
import type { RemunerationToken } from "../../types/ethers-contracts/index.js";

const { ethers, ignition, networkHelpers } = await network.connect();
const { time } = networkHelpers;

const NAME = "Consentry Research Credit";
const FAUCET_MAX = ethers.parseEther("10000");
const MINTER_ROLE = ethers.id("MINTER_ROLE");
const PERMIT_TYPES = { Permit: [...permitTypes.Permit] }; // the sdk's (sdk/escrow.ts), as ethers takes them

/** The node's first accounts under the given names (fails clearly if there are too few). */
async function namedSigners<const N extends readonly string[]>(...names: N) {
  const signers = await ethers.getSigners();
  if (signers.length < names.length) throw new Error(`need ${names.length} accounts, the node has ${signers.length}`);
  return Object.fromEntries(names.map((name, i) => [name, signers[i]!])) as Record<N[number], HardhatEthersSigner>;
}

/** Deploys through the StudyEscrow Ignition module with a minter distinct from the admin. */
async function deployRemunerationTokenFixture() {
  const { deployer, minter, holder, spender, stranger } = await namedSigners(
    "deployer",
    "minter",
    "holder",
    "spender",
    "stranger",
  );
  const { remunerationToken } = await ignition.deploy(StudyEscrowModule, {
    parameters: { StudyEscrowModule: { minter: minter.address } },
  });
  const token = remunerationToken as unknown as RemunerationToken;
  const chainId = (await ethers.provider.getNetwork()).chainId;
  const domain = { name: NAME, version: "1", chainId, verifyingContract: await token.getAddress() };
  return { token, domain, deployer, minter, holder, spender, stranger };
}

type Fixture = Awaited<ReturnType<typeof deployRemunerationTokenFixture>>;

async function signPermit(
  f: Fixture,
  signer: HardhatEthersSigner,
  owner: string,
  value: bigint,
  nonce: bigint,
  deadline: number,
) {
  const raw = await signer.signTypedData(f.domain, PERMIT_TYPES, {
    owner,
    spender: f.spender.address,
    value,
    nonce,
    deadline,
  });
  return ethers.Signature.from(raw);
}

describe("RemunerationToken", function () {
  describe("deployment (Ignition module)", function () {
    it("has its name, symbol, decimals, no supply, and the module's roles", async function () {
      const { token, deployer, minter } = await networkHelpers.loadFixture(deployRemunerationTokenFixture);
      expect(await token.name()).to.equal(NAME);
      expect(await token.symbol()).to.equal("CRC");
      expect(await token.decimals()).to.equal(18n);
      expect(await token.totalSupply()).to.equal(0n);
      expect(await token.MINTER_ROLE()).to.equal(MINTER_ROLE);
      expect(await token.FAUCET_CHAIN_ID()).to.equal(31337n);
      expect(await token.FAUCET_MAX()).to.equal(FAUCET_MAX);
      expect(await token.hasRole(ethers.ZeroHash, deployer.address)).to.equal(true);
      expect(await token.hasRole(MINTER_ROLE, minter.address)).to.equal(true);
      expect(await token.hasRole(MINTER_ROLE, deployer.address)).to.equal(false);
    });
  });

  describe("mint", function () {
    it("mints by the minter", async function () {
      const { token, minter, holder } = await networkHelpers.loadFixture(deployRemunerationTokenFixture);
      const amount = ethers.parseEther("5");
      await expect(token.connect(minter).mint(holder.address, amount))
        .to.emit(token, "Transfer")
        .withArgs(ethers.ZeroAddress, holder.address, amount);
      expect(await token.balanceOf(holder.address)).to.equal(amount);
      expect(await token.totalSupply()).to.equal(amount);
    });

    it("refuses anyone without MINTER_ROLE, until the admin grants it", async function () {
      const { token, deployer, stranger } = await networkHelpers.loadFixture(deployRemunerationTokenFixture);
      for (const caller of [stranger, deployer]) {
        await expect(token.connect(caller).mint(caller.address, 1n))
          .to.be.revertedWithCustomError(token, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, MINTER_ROLE);
      }
      await expect(token.grantRole(MINTER_ROLE, stranger.address))
        .to.emit(token, "RoleGranted")
        .withArgs(MINTER_ROLE, stranger.address, deployer.address);
      await token.connect(stranger).mint(stranger.address, 1n);
      await token.revokeRole(MINTER_ROLE, stranger.address);
      await expect(token.connect(stranger).mint(stranger.address, 1n))
        .to.be.revertedWithCustomError(token, "AccessControlUnauthorizedAccount")
        .withArgs(stranger.address, MINTER_ROLE);
    });
  });

  describe("faucet", function () {
    it("gives up to FAUCET_MAX per call on the local chain", async function () {
      const { token, holder } = await networkHelpers.loadFixture(deployRemunerationTokenFixture);
      const tx = token.connect(holder).faucet(FAUCET_MAX);
      await expect(tx).to.emit(token, "FaucetDrawn").withArgs(holder.address, FAUCET_MAX);
      await expect(tx).to.emit(token, "Transfer").withArgs(ethers.ZeroAddress, holder.address, FAUCET_MAX);
      await token.connect(holder).faucet(1n);
      expect(await token.balanceOf(holder.address)).to.equal(FAUCET_MAX + 1n);
    });

    it("refuses zero or more than FAUCET_MAX", async function () {
      const { token, holder } = await networkHelpers.loadFixture(deployRemunerationTokenFixture);
      for (const amount of [0n, FAUCET_MAX + 1n]) {
        await expect(token.connect(holder).faucet(amount))
          .to.be.revertedWithCustomError(token, "RemunerationTokenFaucetAmountInvalid")
          .withArgs(amount, FAUCET_MAX);
      }
    });

    it("is unavailable on any other chain", async function () {
      const other = await network.connect({ override: { chainId: 1 } });
      const [admin] = await other.ethers.getSigners();
      const token = await other.ethers.deployContract("RemunerationToken", ["X", "X", admin!.address, admin!.address]);
      await expect(token.faucet(1n))
        .to.be.revertedWithCustomError(token, "RemunerationTokenFaucetUnavailable")
        .withArgs(1n);
      await other.close();
    });
  });

  describe("permit (EIP-2612)", function () {
    it("approves by the holder's signature, relayed by anyone", async function () {
      const f = await networkHelpers.loadFixture(deployRemunerationTokenFixture);
      const deadline = (await time.latest()) + 3600;
      const value = ethers.parseEther("7");
      const sig = await signPermit(f, f.holder, f.holder.address, value, 0n, deadline);
      expect(await f.token.DOMAIN_SEPARATOR()).to.equal(ethers.TypedDataEncoder.hashDomain(f.domain));
      await expect(
        f.token.connect(f.stranger).permit(f.holder.address, f.spender.address, value, deadline, sig.v, sig.r, sig.s),
      )
        .to.emit(f.token, "Approval")
        .withArgs(f.holder.address, f.spender.address, value);
      expect(await f.token.allowance(f.holder.address, f.spender.address)).to.equal(value);
      expect(await f.token.nonces(f.holder.address)).to.equal(1n);
    });

    it("refuses an expired permit, another signer, a replay", async function () {
      const f = await networkHelpers.loadFixture(deployRemunerationTokenFixture);
      const now = await time.latest();
      const expired = await signPermit(f, f.holder, f.holder.address, 1n, 0n, now);
      await time.setNextBlockTimestamp(now + 1);
      await expect(f.token.permit(f.holder.address, f.spender.address, 1n, now, expired.v, expired.r, expired.s))
        .to.be.revertedWithCustomError(f.token, "ERC2612ExpiredSignature")
        .withArgs(now);
      const deadline = now + 3600;
      const forged = await signPermit(f, f.stranger, f.holder.address, 1n, 0n, deadline);
      await expect(f.token.permit(f.holder.address, f.spender.address, 1n, deadline, forged.v, forged.r, forged.s))
        .to.be.revertedWithCustomError(f.token, "ERC2612InvalidSigner")
        .withArgs(f.stranger.address, f.holder.address);
      const sig = await signPermit(f, f.holder, f.holder.address, 1n, 0n, deadline);
      await f.token.permit(f.holder.address, f.spender.address, 1n, deadline, sig.v, sig.r, sig.s);
      await expect(
        f.token.permit(f.holder.address, f.spender.address, 1n, deadline, sig.v, sig.r, sig.s),
      ).to.be.revertedWithCustomError(f.token, "ERC2612InvalidSigner");
    });
  });
});
