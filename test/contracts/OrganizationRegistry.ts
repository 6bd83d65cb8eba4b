/**
 * OrganizationRegistry (deployed as part of ConsentRegistry): accreditation by governance,
 * organization info, suspension, members, and the account lookup the consent check builds on.
 */
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { expect } from "chai";
import { network } from "hardhat";

import ConsentRegistryModule from "../../ignition/modules/ConsentRegistry.ts";
import type { ConsentRegistry } from "../../types/ethers-contracts/index.js";

/** The node's first accounts under the given names (fails clearly if there are too few). */
async function namedSigners<const N extends readonly string[]>(...names: N) {
  const signers = await ethers.getSigners();
  if (signers.length < names.length) throw new Error(`need ${names.length} accounts, the node has ${signers.length}`);
  return Object.fromEntries(names.map((name, i) => [name, signers[i]!])) as Record<N[number], HardhatEthersSigner>;
}

const { ethers, ignition, networkHelpers } = await network.create();

// ConsentCodes kinds and roles, IOrganizationRegistry.Status.
const PROVIDER = 1;
const RESEARCHER = 2;
const PAYER = 3;
const PUBLIC_HEALTH = 4;
const ADMIN = 1;
const CLINICIAN = 2;
const GATEWAY = 3;
const ANALYST = 4;
const NONE = 0;
const ACTIVE = 1;
const SUSPENDED = 2;

const GOVERNANCE_ROLE = ethers.id("GOVERNANCE_ROLE");
const LICENCE = ethers.id("licence documents v1");
const LICENCE_2 = ethers.id("licence documents v2");
const URL = "https://fhir.st-example.org/r4";

/** Deploys through the Ignition module with distinct admin and governance accounts, and accredits
 * one provider with an ADMIN and a CLINICIAN member. */
async function deployOrganizationRegistryFixture() {
  const { deployer, governance, provider, admin, clinician, researcher, researchAdmin, stranger, member, other } =
    await namedSigners(
      "deployer",
      "governance",
      "provider",
      "admin",
      "clinician",
      "researcher",
      "researchAdmin",
      "stranger",
      "member",
      "other",
    );
  const { consentRegistry } = await ignition.deploy(ConsentRegistryModule, {
    parameters: { ConsentRegistryModule: { admin: deployer.address, governance: governance.address } },
  });
  const registry = (consentRegistry as unknown as ConsentRegistry).connect(governance);
  await registry.accredit(provider.address, PROVIDER, "St. Example Hospital", URL, LICENCE);
  await registry.connect(provider).offerMembership(provider.address, admin.address, ADMIN);
  await registry.connect(admin).acceptMembership(provider.address, ADMIN);
  await registry.connect(provider).offerMembership(provider.address, clinician.address, CLINICIAN);
  await registry.connect(clinician).acceptMembership(provider.address, CLINICIAN);
  return {
    registry,
    deployer,
    governance,
    provider,
    admin,
    clinician,
    researcher,
    researchAdmin,
    stranger,
    member,
    other,
  };
}

/** Accredits `researcher` and gives it an ADMIN member `researchAdmin`. */
async function withResearcher(f: Awaited<ReturnType<typeof deployOrganizationRegistryFixture>>) {
  await f.registry.accredit(f.researcher.address, RESEARCHER, "Example Research Institute", "", LICENCE);
  await f.registry.connect(f.researcher).offerMembership(f.researcher.address, f.researchAdmin.address, ADMIN);
  await f.registry.connect(f.researchAdmin).acceptMembership(f.researcher.address, ADMIN);
}

describe("OrganizationRegistry", function () {
  describe("deployment", function () {
    it("gives the Ignition parameters their roles", async function () {
      const { registry, deployer, governance } = await networkHelpers.loadFixture(deployOrganizationRegistryFixture);
      expect(await registry.GOVERNANCE_ROLE()).to.equal(GOVERNANCE_ROLE);
      expect(await registry.hasRole(ethers.ZeroHash, deployer.address)).to.equal(true);
      expect(await registry.hasRole(GOVERNANCE_ROLE, deployer.address)).to.equal(false);
      expect(await registry.hasRole(GOVERNANCE_ROLE, governance.address)).to.equal(true);
      expect(await registry.hasRole(ethers.ZeroHash, governance.address)).to.equal(false);
    });
  });

  describe("accredit", function () {
    for (const [kind, label] of [
      [PROVIDER, "PROVIDER"],
      [RESEARCHER, "RESEARCHER"],
      [PAYER, "PAYER"],
      [PUBLIC_HEALTH, "PUBLIC_HEALTH"],
    ] as const) {
      it(`accredits a ${label}: event, record, account, listing`, async function () {
        const { registry, governance, member } = await networkHelpers.loadFixture(deployOrganizationRegistryFixture);
        const name = `${label} organization`;
        const url = kind === PROVIDER ? "http://127.0.0.1:4001/fhir" : "";
        await expect(registry.accredit(member.address, kind, name, url, LICENCE_2))
          .to.emit(registry, "OrganizationAccredited")
          .withArgs(member.address, kind, name, url, LICENCE_2, governance.address);
        const org = await registry.getOrganization(member.address);
        expect(org.kind).to.equal(kind);
        expect(org.status).to.equal(ACTIVE);
        expect(org.name).to.equal(name);
        expect(org.gatewayUrl).to.equal(url);
        expect(org.licenceHash).to.equal(LICENCE_2);
        expect(await registry.accountOf(member.address)).to.deep.equal([
          member.address,
          0n,
          BigInt(kind),
          BigInt(ACTIVE),
        ]);
        expect(await registry.organizationCount()).to.equal(2n);
        expect(await registry.organizationAt(1)).to.equal(member.address);
      });
    }

    it("accepts the boundaries: name of 1 and 100 bytes, http and https URLs of up to 200 bytes, no URL", async function () {
      const { registry, member, other, stranger, researcher } = await networkHelpers.loadFixture(
        deployOrganizationRegistryFixture,
      );
      await expect(registry.accredit(member.address, PAYER, "x", "", ethers.ZeroHash)).to.emit(
        registry,
        "OrganizationAccredited",
      );
      await expect(registry.accredit(other.address, PAYER, "n".repeat(100), "http://", ethers.ZeroHash)).to.emit(
        registry,
        "OrganizationAccredited",
      );
      const url200 = "https://" + "a".repeat(192);
      expect(new TextEncoder().encode(url200).length).to.equal(200);
      await expect(registry.accredit(stranger.address, PROVIDER, "Hospital", url200, ethers.ZeroHash)).to.emit(
        registry,
        "OrganizationAccredited",
      );
      // 50 two-byte characters: 100 bytes.
      await expect(registry.accredit(researcher.address, RESEARCHER, "é".repeat(50), "", ethers.ZeroHash)).to.emit(
        registry,
        "OrganizationAccredited",
      );
      expect((await registry.getOrganization(stranger.address)).gatewayUrl).to.equal(url200);
    });

    it("refuses the zero address", async function () {
      const { registry } = await networkHelpers.loadFixture(deployOrganizationRegistryFixture);
      await expect(
        registry.accredit(ethers.ZeroAddress, PROVIDER, "Hospital", "", LICENCE),
      ).to.be.revertedWithCustomError(registry, "OrganizationRegistryZeroAddress");
    });

    for (const kind of [0, 5, 255]) {
      it(`refuses unknown kind ${kind}`, async function () {
        const { registry, member } = await networkHelpers.loadFixture(deployOrganizationRegistryFixture);
        await expect(registry.accredit(member.address, kind, "Org", "", LICENCE))
          .to.be.revertedWithCustomError(registry, "OrganizationRegistryUnknownKind")
          .withArgs(kind);
      });
    }

    it("refuses a name of 0 or 101 bytes (counted in bytes, not characters)", async function () {
      const { registry, member } = await networkHelpers.loadFixture(deployOrganizationRegistryFixture);
      await expect(registry.accredit(member.address, PROVIDER, "", "", LICENCE))
        .to.be.revertedWithCustomError(registry, "OrganizationRegistryInvalidName")
        .withArgs(0);
      await expect(registry.accredit(member.address, PROVIDER, "n".repeat(101), "", LICENCE))
        .to.be.revertedWithCustomError(registry, "OrganizationRegistryInvalidName")
        .withArgs(101);
      await expect(registry.accredit(member.address, PROVIDER, "é".repeat(51), "", LICENCE))
        .to.be.revertedWithCustomError(registry, "OrganizationRegistryInvalidName")
        .withArgs(102);
    });

    for (const url of [
      "ftp://fhir.example.org",
      "fhir.example.org",
      "HTTPS://fhir.example.org",
      "http:/",
      "https:",
      " https://fhir.example.org",
      "https://" + "a".repeat(193),
    ]) {
      it(`refuses gateway URL ${JSON.stringify(url.length > 40 ? `${url.slice(0, 12)}… (${url.length} bytes)` : url)}`, async function () {
        const { registry, member } = await networkHelpers.loadFixture(deployOrganizationRegistryFixture);
        await expect(registry.accredit(member.address, PROVIDER, "Hospital", url, LICENCE))
          .to.be.revertedWithCustomError(registry, "OrganizationRegistryInvalidGatewayUrl")
          .withArgs(url);
      });
    }

    it("refuses an address that already is an organization or a member", async function () {
      const { registry, provider, clinician, admin } = await networkHelpers.loadFixture(
        deployOrganizationRegistryFixture,
      );
      await expect(registry.accredit(provider.address, RESEARCHER, "Again", "", LICENCE))
        .to.be.revertedWithCustomError(registry, "OrganizationRegistryAddressInUse")
        .withArgs(provider.address, provider.address);
      await expect(registry.accredit(clinician.address, PROVIDER, "Clinic", "", LICENCE))
        .to.be.revertedWithCustomError(registry, "OrganizationRegistryAddressInUse")
        .withArgs(clinician.address, provider.address);
      await expect(registry.accredit(admin.address, PAYER, "Payer", "", LICENCE))
        .to.be.revertedWithCustomError(registry, "OrganizationRegistryAddressInUse")
        .withArgs(admin.address, provider.address);
    });

    it("accredits a former member once it has been removed", async function () {
      const { registry, provider, clinician } = await networkHelpers.loadFixture(deployOrganizationRegistryFixture);
      await registry.connect(provider).removeMember(provider.address, clinician.address);
      await expect(registry.accredit(clinician.address, PROVIDER, "Clinic", "", LICENCE)).to.emit(
        registry,
        "OrganizationAccredited",
      );
      expect(await registry.accountOf(clinician.address)).to.deep.equal([
        clinician.address,
        0n,
        BigInt(PROVIDER),
        BigInt(ACTIVE),
      ]);
    });

    it("is governance only: the default admin, an organization and a stranger are refused", async function () {
      const { registry, deployer, provider, stranger, member } = await networkHelpers.loadFixture(
        deployOrganizationRegistryFixture,
      );
      for (const caller of [deployer, provider, stranger]) {
        await expect(registry.connect(caller).accredit(member.address, PROVIDER, "Hospital", "", LICENCE))
          .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, GOVERNANCE_ROLE);
      }
    });

    it("follows the GOVERNANCE_ROLE as the default admin grants and revokes it", async function () {
      const { registry, deployer, stranger, member, other } = await networkHelpers.loadFixture(
        deployOrganizationRegistryFixture,
      );
      await registry.connect(deployer).grantRole(GOVERNANCE_ROLE, stranger.address);
      await expect(registry.connect(stranger).accredit(member.address, PAYER, "Payer", "", LICENCE))
        .to.emit(registry, "OrganizationAccredited")
        .withArgs(member.address, PAYER, "Payer", "", LICENCE, stranger.address);
      await registry.connect(deployer).revokeRole(GOVERNANCE_ROLE, stranger.address);
      await expect(registry.connect(stranger).accredit(other.address, PAYER, "Payer 2", "", LICENCE))
        .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
        .withArgs(stranger.address, GOVERNANCE_ROLE);
    });
  });

  describe("updateOrganization", function () {
    it("replaces name, gateway URL and licence hash, keeping kind and status", async function () {
      const { registry, governance, provider } = await networkHelpers.loadFixture(deployOrganizationRegistryFixture);
      await expect(registry.updateOrganization(provider.address, "St. Example University Hospital", "", LICENCE_2))
        .to.emit(registry, "OrganizationUpdated")
        .withArgs(provider.address, "St. Example University Hospital", "", LICENCE_2, governance.address);
      const org = await registry.getOrganization(provider.address);
      expect([org.kind, org.status, org.name, org.gatewayUrl, org.licenceHash]).to.deep.equal([
        BigInt(PROVIDER),
        BigInt(ACTIVE),
        "St. Example University Hospital",
        "",
        LICENCE_2,
      ]);
    });

    it("updates a suspended organization without reinstating it", async function () {
      const { registry, provider } = await networkHelpers.loadFixture(deployOrganizationRegistryFixture);
      await registry.suspend(provider.address, ethers.encodeBytes32String("audit"));
      await registry.updateOrganization(provider.address, "Renamed", URL, LICENCE_2);
      const org = await registry.getOrganization(provider.address);
      expect(org.status).to.equal(SUSPENDED);
      expect(org.name).to.equal("Renamed");
    });

    it("refuses an unknown organization, a member address and the zero address", async function () {
      const { registry, clinician, stranger } = await networkHelpers.loadFixture(deployOrganizationRegistryFixture);
      for (const address of [stranger.address, clinician.address, ethers.ZeroAddress]) {
        await expect(registry.updateOrganization(address, "Name", "", LICENCE))
          .to.be.revertedWithCustomError(registry, "OrganizationRegistryUnknownOrganization")
          .withArgs(address);
      }
    });

    it("refuses an invalid name or gateway URL", async function () {
      const { registry, provider } = await networkHelpers.loadFixture(deployOrganizationRegistryFixture);
      await expect(registry.updateOrganization(provider.address, "", URL, LICENCE))
        .to.be.revertedWithCustomError(registry, "OrganizationRegistryInvalidName")
        .withArgs(0);
      await expect(registry.updateOrganization(provider.address, "n".repeat(101), URL, LICENCE))
        .to.be.revertedWithCustomError(registry, "OrganizationRegistryInvalidName")
        .withArgs(101);
      await expect(registry.updateOrganization(provider.address, "Hospital", "ftp://x.org", LICENCE))
        .to.be.revertedWithCustomError(registry, "OrganizationRegistryInvalidGatewayUrl")
        .withArgs("ftp://x.org");
    });

    it("is governance only, also for the organization and its ADMIN", async function () {
      const { registry, provider, admin, stranger } = await networkHelpers.loadFixture(
        deployOrganizationRegistryFixture,
      );
      for (const caller of [provider, admin, stranger]) {
        await expect(registry.connect(caller).updateOrganization(provider.address, "Mine", "", LICENCE))
          .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, GOVERNANCE_ROLE);
      }
    });
  });

  describe("setGatewayUrl", function () {
    it("lets the organization itself set its URL, keeping name and licence", async function () {
      const { registry, provider } = await networkHelpers.loadFixture(deployOrganizationRegistryFixture);
      const url = "https://gateway.st-example.org/fhir";
      await expect(registry.connect(provider).setGatewayUrl(provider.address, url))
        .to.emit(registry, "OrganizationUpdated")
        .withArgs(provider.address, "St. Example Hospital", url, LICENCE, provider.address);
      const org = await registry.getOrganization(provider.address);
      expect([org.name, org.gatewayUrl, org.licenceHash]).to.deep.equal(["St. Example Hospital", url, LICENCE]);
    });

    it("lets an ADMIN member set or clear the URL", async function () {
      const { registry, provider, admin } = await networkHelpers.loadFixture(deployOrganizationRegistryFixture);
      await expect(registry.connect(admin).setGatewayUrl(provider.address, ""))
        .to.emit(registry, "OrganizationUpdated")
        .withArgs(provider.address, "St. Example Hospital", "", LICENCE, admin.address);
      expect((await registry.getOrganization(provider.address)).gatewayUrl).to.equal("");
    });

    it("refuses other members, another organization's ADMIN, governance and strangers", async function () {
      const f = await networkHelpers.loadFixture(deployOrganizationRegistryFixture);
      await withResearcher(f);
      const { registry, provider, clinician, governance, stranger, researcher, researchAdmin } = f;
      await registry.connect(provider).offerMembership(provider.address, f.member.address, GATEWAY);
      await registry.connect(f.member).acceptMembership(provider.address, GATEWAY);
      for (const caller of [clinician, f.member, researchAdmin, researcher, governance, stranger]) {
        await expect(registry.connect(caller).setGatewayUrl(provider.address, "https://evil.example"))
          .to.be.revertedWithCustomError(registry, "OrganizationRegistryNotOrganizationAdmin")
          .withArgs(provider.address, caller.address);
      }
      expect((await registry.getOrganization(provider.address)).gatewayUrl).to.equal(URL);
    });

    it("refuses an unknown organization and an invalid URL", async function () {
      const { registry, provider, stranger } = await networkHelpers.loadFixture(deployOrganizationRegistryFixture);
      await expect(registry.connect(stranger).setGatewayUrl(stranger.address, URL))
        .to.be.revertedWithCustomError(registry, "OrganizationRegistryUnknownOrganization")
        .withArgs(stranger.address);
      const long = "http://" + "a".repeat(194);
      await expect(registry.connect(provider).setGatewayUrl(provider.address, long))
        .to.be.revertedWithCustomError(registry, "OrganizationRegistryInvalidGatewayUrl")
        .withArgs(long);
      await expect(registry.connect(provider).setGatewayUrl(provider.address, "ftp://fhir.example"))
        .to.be.revertedWithCustomError(registry, "OrganizationRegistryInvalidGatewayUrl")
        .withArgs("ftp://fhir.example");
    });
  });

  describe("suspend and reinstate", function () {
    it("suspends an active organization: status of the organization and of its members", async function () {
      const { registry, governance, provider, clinician } = await networkHelpers.loadFixture(
        deployOrganizationRegistryFixture,
      );
      const reason = ethers.encodeBytes32String("licence lapsed");
      await expect(registry.suspend(provider.address, reason))
        .to.emit(registry, "OrganizationSuspended")
        .withArgs(provider.address, reason, governance.address);
      expect((await registry.getOrganization(provider.address)).status).to.equal(SUSPENDED);
      expect(await registry.accountOf(provider.address)).to.deep.equal([
        provider.address,
        0n,
        BigInt(PROVIDER),
        BigInt(SUSPENDED),
      ]);
      expect(await registry.accountOf(clinician.address)).to.deep.equal([
        provider.address,
        BigInt(CLINICIAN),
        BigInt(PROVIDER),
        BigInt(SUSPENDED),
      ]);
    });

    it("reinstates a suspended organization", async function () {
      const { registry, governance, provider, clinician } = await networkHelpers.loadFixture(
        deployOrganizationRegistryFixture,
      );
      await registry.suspend(provider.address, ethers.ZeroHash);
      await expect(registry.reinstate(provider.address))
        .to.emit(registry, "OrganizationReinstated")
        .withArgs(provider.address, governance.address);
      expect((await registry.getOrganization(provider.address)).status).to.equal(ACTIVE);
      expect(await registry.accountOf(clinician.address)).to.deep.equal([
        provider.address,
        BigInt(CLINICIAN),
        BigInt(PROVIDER),
        BigInt(ACTIVE),
      ]);
    });

    it("refuses to suspend a suspended organization or reinstate an active one", async function () {
      const { registry, provider } = await networkHelpers.loadFixture(deployOrganizationRegistryFixture);
      await expect(registry.reinstate(provider.address))
        .to.be.revertedWithCustomError(registry, "OrganizationRegistryWrongStatus")
        .withArgs(provider.address, ACTIVE);
      await registry.suspend(provider.address, ethers.ZeroHash);
      await expect(registry.suspend(provider.address, ethers.ZeroHash))
        .to.be.revertedWithCustomError(registry, "OrganizationRegistryWrongStatus")
        .withArgs(provider.address, SUSPENDED);
    });

    it("refuses an unknown organization or a member address", async function () {
      const { registry, clinician, stranger } = await networkHelpers.loadFixture(deployOrganizationRegistryFixture);
      for (const address of [stranger.address, clinician.address, ethers.ZeroAddress]) {
        await expect(registry.suspend(address, ethers.ZeroHash))
          .to.be.revertedWithCustomError(registry, "OrganizationRegistryUnknownOrganization")
          .withArgs(address);
        await expect(registry.reinstate(address))
          .to.be.revertedWithCustomError(registry, "OrganizationRegistryUnknownOrganization")
          .withArgs(address);
      }
    });

    it("is governance only", async function () {
      const { registry, deployer, provider, admin } = await networkHelpers.loadFixture(
        deployOrganizationRegistryFixture,
      );
      for (const caller of [deployer, provider, admin]) {
        await expect(registry.connect(caller).suspend(provider.address, ethers.ZeroHash))
          .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, GOVERNANCE_ROLE);
      }
      await registry.suspend(provider.address, ethers.ZeroHash);
      for (const caller of [deployer, provider, admin]) {
        await expect(registry.connect(caller).reinstate(provider.address))
          .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
          .withArgs(caller.address, GOVERNANCE_ROLE);
      }
    });
  });

  describe("offerMembership, acceptMembership", function () {
    for (const [role, label] of [
      [ADMIN, "ADMIN"],
      [CLINICIAN, "CLINICIAN"],
      [GATEWAY, "GATEWAY"],
      [ANALYST, "ANALYST"],
    ] as const) {
      it(`lets the organization offer role ${label}; the member is one once it accepts`, async function () {
        const { registry, provider, member } = await networkHelpers.loadFixture(deployOrganizationRegistryFixture);
        await expect(registry.connect(provider).offerMembership(provider.address, member.address, role))
          .to.emit(registry, "MembershipOffered")
          .withArgs(provider.address, member.address, role, provider.address);
        expect(await registry.membershipOffer(member.address, provider.address)).to.equal(BigInt(role));
        expect(await registry.accountOf(member.address)).to.deep.equal([ethers.ZeroAddress, 0n, 0n, 0n]);
        await expect(registry.connect(member).acceptMembership(provider.address, role))
          .to.emit(registry, "MemberAdded")
          .withArgs(provider.address, member.address, role, member.address);
        expect(await registry.accountOf(member.address)).to.deep.equal([
          provider.address,
          BigInt(role),
          BigInt(PROVIDER),
          BigInt(ACTIVE),
        ]);
        expect(await registry.membershipOffer(member.address, provider.address)).to.equal(0n);
        expect(await registry.membershipNonce(member.address)).to.equal(1n);
      });
    }

    it("lets an ADMIN member offer, including ADMIN to another who can offer in turn", async function () {
      const { registry, provider, admin, member, other } = await networkHelpers.loadFixture(
        deployOrganizationRegistryFixture,
      );
      await expect(registry.connect(admin).offerMembership(provider.address, member.address, ADMIN))
        .to.emit(registry, "MembershipOffered")
        .withArgs(provider.address, member.address, ADMIN, admin.address);
      await registry.connect(member).acceptMembership(provider.address, ADMIN);
      await expect(registry.connect(member).offerMembership(provider.address, other.address, ANALYST))
        .to.emit(registry, "MembershipOffered")
        .withArgs(provider.address, other.address, ANALYST, member.address);
    });

    it("accepts only the role offered, once, and not an offer withdrawn or replaced", async function () {
      const { registry, provider, admin, member, stranger } = await networkHelpers.loadFixture(
        deployOrganizationRegistryFixture,
      );
      await expect(registry.connect(member).acceptMembership(provider.address, ANALYST))
        .to.be.revertedWithCustomError(registry, "OrganizationRegistryNoOffer")
        .withArgs(provider.address, member.address);
      await registry.connect(admin).offerMembership(provider.address, member.address, ADMIN);
      await registry.connect(admin).offerMembership(provider.address, member.address, ANALYST);
      await expect(registry.connect(member).acceptMembership(provider.address, ADMIN))
        .to.be.revertedWithCustomError(registry, "OrganizationRegistryNoOffer")
        .withArgs(provider.address, member.address);
      // Only the addressee accepts: a stranger has no offer.
      await expect(registry.connect(stranger).acceptMembership(provider.address, ANALYST))
        .to.be.revertedWithCustomError(registry, "OrganizationRegistryNoOffer")
        .withArgs(provider.address, stranger.address);
      await expect(registry.connect(admin).withdrawMembershipOffer(provider.address, member.address))
        .to.emit(registry, "MembershipOfferWithdrawn")
        .withArgs(provider.address, member.address, admin.address);
      await expect(registry.connect(admin).withdrawMembershipOffer(provider.address, member.address))
        .to.be.revertedWithCustomError(registry, "OrganizationRegistryNoOffer")
        .withArgs(provider.address, member.address);
      await expect(registry.connect(stranger).withdrawMembershipOffer(provider.address, member.address))
        .to.be.revertedWithCustomError(registry, "OrganizationRegistryNotOrganizationAdmin")
        .withArgs(provider.address, stranger.address);
      await expect(registry.connect(member).acceptMembership(provider.address, ANALYST))
        .to.be.revertedWithCustomError(registry, "OrganizationRegistryNoOffer")
        .withArgs(provider.address, member.address);
    });

    it("accepts by the member's EIP-712 signature, relayed by anyone, once; refuses others' and late ones", async function () {
      const { registry, provider, member, stranger } = await networkHelpers.loadFixture(
        deployOrganizationRegistryFixture,
      );
      const domain = {
        name: "Consentry ConsentRegistry",
        version: "1",
        chainId: (await ethers.provider.getNetwork()).chainId,
        verifyingContract: await registry.getAddress(),
      };
      const types = {
        AcceptMembership: [
          { name: "member", type: "address" },
          { name: "organization", type: "address" },
          { name: "role", type: "uint8" },
          { name: "nonce", type: "uint256" },
          { name: "deadline", type: "uint256" },
        ],
      };
      const deadline = BigInt(await networkHelpers.time.latest()) + 3600n;
      const message = { member: member.address, organization: provider.address, role: GATEWAY, nonce: 0n, deadline };
      const signature = await member.signTypedData(domain, types, message);
      const forged = await stranger.signTypedData(domain, types, message);
      await registry.connect(provider).offerMembership(provider.address, member.address, GATEWAY);
      await expect(
        registry.connect(stranger).acceptMembershipBySig(member.address, provider.address, GATEWAY, deadline, forged),
      )
        .to.be.revertedWithCustomError(registry, "OrganizationRegistryInvalidSignature")
        .withArgs(member.address);
      await expect(
        registry
          .connect(stranger)
          .acceptMembershipBySig(member.address, provider.address, GATEWAY, deadline, signature),
      )
        .to.emit(registry, "MemberAdded")
        .withArgs(provider.address, member.address, GATEWAY, member.address);
      // Removed and offered again: the old signature (nonce 0) no longer accepts for the member.
      await registry.connect(provider).removeMember(provider.address, member.address);
      await registry.connect(provider).offerMembership(provider.address, member.address, GATEWAY);
      await expect(
        registry
          .connect(stranger)
          .acceptMembershipBySig(member.address, provider.address, GATEWAY, deadline, signature),
      )
        .to.be.revertedWithCustomError(registry, "OrganizationRegistryInvalidSignature")
        .withArgs(member.address);
      const late = { ...message, nonce: 1n, deadline: BigInt(await networkHelpers.time.latest()) + 10n };
      const lateSignature = await member.signTypedData(domain, types, late);
      await networkHelpers.time.increase(60);
      await expect(
        registry
          .connect(stranger)
          .acceptMembershipBySig(member.address, provider.address, GATEWAY, late.deadline, lateSignature),
      )
        .to.be.revertedWithCustomError(registry, "OrganizationRegistrySignatureExpired")
        .withArgs(late.deadline);
    });

    it("refuses non-admin members, another organization and its ADMIN, governance and strangers", async function () {
      const f = await networkHelpers.loadFixture(deployOrganizationRegistryFixture);
      await withResearcher(f);
      const { registry, provider, clinician, researcher, researchAdmin, governance, stranger, member } = f;
      for (const caller of [clinician, researcher, researchAdmin, governance, stranger]) {
        await expect(registry.connect(caller).offerMembership(provider.address, member.address, ANALYST))
          .to.be.revertedWithCustomError(registry, "OrganizationRegistryNotOrganizationAdmin")
          .withArgs(provider.address, caller.address);
      }
    });

    it("refuses an unknown organization (also a member address used as one)", async function () {
      const { registry, clinician, stranger, member } = await networkHelpers.loadFixture(
        deployOrganizationRegistryFixture,
      );
      await expect(registry.connect(stranger).offerMembership(stranger.address, member.address, ANALYST))
        .to.be.revertedWithCustomError(registry, "OrganizationRegistryUnknownOrganization")
        .withArgs(stranger.address);
      await expect(registry.connect(clinician).offerMembership(clinician.address, member.address, ANALYST))
        .to.be.revertedWithCustomError(registry, "OrganizationRegistryUnknownOrganization")
        .withArgs(clinician.address);
    });

    it("refuses the zero address and unknown roles 0 (the organization's own) and 5", async function () {
      const { registry, provider, member } = await networkHelpers.loadFixture(deployOrganizationRegistryFixture);
      await expect(
        registry.connect(provider).offerMembership(provider.address, ethers.ZeroAddress, ANALYST),
      ).to.be.revertedWithCustomError(registry, "OrganizationRegistryZeroAddress");
      for (const role of [0, 5, 255]) {
        await expect(registry.connect(provider).offerMembership(provider.address, member.address, role))
          .to.be.revertedWithCustomError(registry, "OrganizationRegistryUnknownRole")
          .withArgs(role);
      }
    });

    it("refuses to accept into an address in use: a member here or elsewhere, an organization", async function () {
      const f = await networkHelpers.loadFixture(deployOrganizationRegistryFixture);
      await withResearcher(f);
      const { registry, provider, clinician, researcher, researchAdmin } = f;
      const cases: [HardhatEthersSigner, string][] = [
        [clinician, provider.address],
        [researchAdmin, researcher.address],
        [researcher, researcher.address],
        [provider, provider.address],
      ];
      for (const [account, organization] of cases) {
        await registry.connect(provider).offerMembership(provider.address, account.address, ANALYST);
        await expect(registry.connect(account).acceptMembership(provider.address, ANALYST))
          .to.be.revertedWithCustomError(registry, "OrganizationRegistryAddressInUse")
          .withArgs(account.address, organization);
      }
    });

    it("refuses offers by, and acceptances into, a suspended organization", async function () {
      const { registry, provider, admin, member, other } = await networkHelpers.loadFixture(
        deployOrganizationRegistryFixture,
      );
      await registry.connect(admin).offerMembership(provider.address, other.address, CLINICIAN);
      await registry.suspend(provider.address, ethers.ZeroHash);
      for (const caller of [provider, admin]) {
        await expect(registry.connect(caller).offerMembership(provider.address, member.address, CLINICIAN))
          .to.be.revertedWithCustomError(registry, "OrganizationRegistryWrongStatus")
          .withArgs(provider.address, SUSPENDED);
      }
      await expect(registry.connect(other).acceptMembership(provider.address, CLINICIAN))
        .to.be.revertedWithCustomError(registry, "OrganizationRegistryWrongStatus")
        .withArgs(provider.address, SUSPENDED);
      await registry.reinstate(provider.address);
      await expect(registry.connect(other).acceptMembership(provider.address, CLINICIAN)).to.emit(
        registry,
        "MemberAdded",
      );
    });
  });

  describe("attack (issue 11 item 10): membership forced on an address", function () {
    it("an address an admin names is not blocked from accreditation or another organization until it accepts", async function () {
      const f = await networkHelpers.loadFixture(deployOrganizationRegistryFixture);
      await withResearcher(f);
      const { registry, provider, researcher, member, other } = f;
      // A hospital's admin names two addresses without asking them...
      await registry.connect(provider).offerMembership(provider.address, member.address, ANALYST);
      await registry.connect(provider).offerMembership(provider.address, other.address, ANALYST);
      // ...which are still free: governance accredits one, another organization gets the other.
      await registry.accredit(member.address, PAYER, "Example Insurer", "", LICENCE);
      expect((await registry.accountOf(member.address))[0]).to.equal(member.address);
      await registry.connect(researcher).offerMembership(researcher.address, other.address, ANALYST);
      await registry.connect(other).acceptMembership(researcher.address, ANALYST);
      expect((await registry.accountOf(other.address))[0]).to.equal(researcher.address);
      // The hospital's stale offer cannot pull it over.
      await expect(registry.connect(other).acceptMembership(provider.address, ANALYST))
        .to.be.revertedWithCustomError(registry, "OrganizationRegistryAddressInUse")
        .withArgs(other.address, researcher.address);
    });

    it("governance removes any member", async function () {
      const { registry, provider, clinician, governance } = await networkHelpers.loadFixture(
        deployOrganizationRegistryFixture,
      );
      await expect(registry.connect(governance).removeMember(provider.address, clinician.address))
        .to.emit(registry, "MemberRemoved")
        .withArgs(provider.address, clinician.address, governance.address);
      expect(await registry.accountOf(clinician.address)).to.deep.equal([ethers.ZeroAddress, 0n, 0n, 0n]);
    });
  });

  describe("removeMember", function () {
    it("lets the organization remove a member, who becomes unknown", async function () {
      const { registry, provider, clinician } = await networkHelpers.loadFixture(deployOrganizationRegistryFixture);
      await expect(registry.connect(provider).removeMember(provider.address, clinician.address))
        .to.emit(registry, "MemberRemoved")
        .withArgs(provider.address, clinician.address, provider.address);
      expect(await registry.accountOf(clinician.address)).to.deep.equal([ethers.ZeroAddress, 0n, 0n, 0n]);
    });

    it("lets an ADMIN member remove a member", async function () {
      const { registry, provider, admin, clinician } = await networkHelpers.loadFixture(
        deployOrganizationRegistryFixture,
      );
      await expect(registry.connect(admin).removeMember(provider.address, clinician.address))
        .to.emit(registry, "MemberRemoved")
        .withArgs(provider.address, clinician.address, admin.address);
    });

    it("lets a member step down, after which it may join another organization", async function () {
      const f = await networkHelpers.loadFixture(deployOrganizationRegistryFixture);
      await withResearcher(f);
      const { registry, provider, clinician, researcher } = f;
      await expect(registry.connect(clinician).removeMember(provider.address, clinician.address))
        .to.emit(registry, "MemberRemoved")
        .withArgs(provider.address, clinician.address, clinician.address);
      await registry.connect(researcher).offerMembership(researcher.address, clinician.address, ANALYST);
      await registry.connect(clinician).acceptMembership(researcher.address, ANALYST);
      expect(await registry.accountOf(clinician.address)).to.deep.equal([
        researcher.address,
        BigInt(ANALYST),
        BigInt(RESEARCHER),
        BigInt(ACTIVE),
      ]);
    });

    it("takes the admin rights of a removed ADMIN away", async function () {
      const { registry, provider, admin, member } = await networkHelpers.loadFixture(deployOrganizationRegistryFixture);
      await registry.connect(admin).removeMember(provider.address, admin.address);
      await expect(registry.connect(admin).offerMembership(provider.address, member.address, ANALYST))
        .to.be.revertedWithCustomError(registry, "OrganizationRegistryNotOrganizationAdmin")
        .withArgs(provider.address, admin.address);
    });

    it("lets a suspended organization remove members", async function () {
      const { registry, provider, clinician } = await networkHelpers.loadFixture(deployOrganizationRegistryFixture);
      await registry.suspend(provider.address, ethers.ZeroHash);
      await expect(registry.connect(provider).removeMember(provider.address, clinician.address)).to.emit(
        registry,
        "MemberRemoved",
      );
    });

    it("refuses callers that are neither an admin of the organization, the member nor governance", async function () {
      const f = await networkHelpers.loadFixture(deployOrganizationRegistryFixture);
      await withResearcher(f);
      const { registry, provider, admin, clinician, researcher, researchAdmin, stranger } = f;
      for (const caller of [researcher, researchAdmin, stranger]) {
        await expect(registry.connect(caller).removeMember(provider.address, clinician.address))
          .to.be.revertedWithCustomError(registry, "OrganizationRegistryNotOrganizationAdmin")
          .withArgs(provider.address, caller.address);
      }
      await expect(registry.connect(clinician).removeMember(provider.address, admin.address))
        .to.be.revertedWithCustomError(registry, "OrganizationRegistryNotOrganizationAdmin")
        .withArgs(provider.address, clinician.address);
    });

    it("refuses an address that is not a member of the organization", async function () {
      const f = await networkHelpers.loadFixture(deployOrganizationRegistryFixture);
      await withResearcher(f);
      const { registry, provider, researcher, researchAdmin, stranger } = f;
      for (const account of [provider.address, stranger.address, researchAdmin.address, researcher.address]) {
        await expect(registry.connect(provider).removeMember(provider.address, account))
          .to.be.revertedWithCustomError(registry, "OrganizationRegistryNotMember")
          .withArgs(provider.address, account);
      }
      // Stepping down from an organization one is not a member of.
      await expect(registry.connect(researchAdmin).removeMember(provider.address, researchAdmin.address))
        .to.be.revertedWithCustomError(registry, "OrganizationRegistryNotMember")
        .withArgs(provider.address, researchAdmin.address);
      // An organization cannot "step down" from itself.
      await expect(registry.connect(provider).removeMember(provider.address, provider.address))
        .to.be.revertedWithCustomError(registry, "OrganizationRegistryNotMember")
        .withArgs(provider.address, provider.address);
      expect((await registry.getOrganization(provider.address)).status).to.equal(ACTIVE);
    });

    it("refuses an unknown organization", async function () {
      const { registry, stranger, clinician } = await networkHelpers.loadFixture(deployOrganizationRegistryFixture);
      await expect(registry.connect(stranger).removeMember(stranger.address, clinician.address))
        .to.be.revertedWithCustomError(registry, "OrganizationRegistryUnknownOrganization")
        .withArgs(stranger.address);
    });
  });

  describe("views", function () {
    it("getOrganization refuses unknown, member and zero addresses", async function () {
      const { registry, clinician, stranger } = await networkHelpers.loadFixture(deployOrganizationRegistryFixture);
      for (const address of [stranger.address, clinician.address, ethers.ZeroAddress]) {
        await expect(registry.getOrganization(address))
          .to.be.revertedWithCustomError(registry, "OrganizationRegistryUnknownOrganization")
          .withArgs(address);
      }
    });

    it("lists every organization ever accredited, in order, suspended ones included", async function () {
      const f = await networkHelpers.loadFixture(deployOrganizationRegistryFixture);
      await withResearcher(f);
      const { registry, provider, researcher, member } = f;
      await registry.accredit(member.address, PUBLIC_HEALTH, "Public Health Agency", "", LICENCE);
      await registry.suspend(researcher.address, ethers.ZeroHash);
      expect(await registry.organizationCount()).to.equal(3n);
      const listed = [];
      for (let i = 0; i < 3; i++) listed.push(await registry.organizationAt(i));
      expect(listed).to.deep.equal([provider.address, researcher.address, member.address]);
      await expect(registry.organizationAt(3)).to.be.revertedWithPanic(0x32);
    });

    it("accountOf resolves an organization, a member of each role and an unknown address", async function () {
      const { registry, provider, admin, clinician, stranger, member, other } = await networkHelpers.loadFixture(
        deployOrganizationRegistryFixture,
      );
      await registry.connect(provider).offerMembership(provider.address, member.address, GATEWAY);
      await registry.connect(member).acceptMembership(provider.address, GATEWAY);
      await registry.connect(provider).offerMembership(provider.address, other.address, ANALYST);
      await registry.connect(other).acceptMembership(provider.address, ANALYST);
      const active = [BigInt(PROVIDER), BigInt(ACTIVE)];
      expect(await registry.accountOf(provider.address)).to.deep.equal([provider.address, 0n, ...active]);
      expect(await registry.accountOf(admin.address)).to.deep.equal([provider.address, BigInt(ADMIN), ...active]);
      expect(await registry.accountOf(clinician.address)).to.deep.equal([
        provider.address,
        BigInt(CLINICIAN),
        ...active,
      ]);
      expect(await registry.accountOf(member.address)).to.deep.equal([provider.address, BigInt(GATEWAY), ...active]);
      expect(await registry.accountOf(other.address)).to.deep.equal([provider.address, BigInt(ANALYST), ...active]);
      expect(await registry.accountOf(stranger.address)).to.deep.equal([ethers.ZeroAddress, 0n, 0n, BigInt(NONE)]);
      expect(await registry.accountOf(ethers.ZeroAddress)).to.deep.equal([ethers.ZeroAddress, 0n, 0n, BigInt(NONE)]);
    });
  });
});
