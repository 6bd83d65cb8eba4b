// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ConsentRegistry} from "../ConsentRegistry.sol";
import {IStudyEscrow} from "../interfaces/IStudyEscrow.sol";
import {ConsentCodes} from "../libraries/ConsentCodes.sol";
import {RemunerationToken} from "../RemunerationToken.sol";
import {StudyEscrow} from "../StudyEscrow.sol";
import {TestBase} from "./TestBase.sol";

/// @notice Test harness (never deployed): the registry, the token and the escrow wired as the
/// Ignition module wires them (the test contract is admin and governance of all three), a research
/// organization, two custodians with gateways (hospital with a 10 % share, lab with none), a third
/// provider in no study, and patients whose keys are known (for signed joins).
abstract contract StudyEscrowSetup is TestBase {
    ConsentRegistry internal registry;
    StudyEscrow internal escrow;
    RemunerationToken internal token;

    address internal constant RESEARCHER = address(0xA11CE);
    address internal constant HOSPITAL = address(0xB0B);
    address internal constant HOSPITAL_GATEWAY = address(0xB0B1);
    address internal constant LAB = address(0xCAFE);
    address internal constant LAB_GATEWAY = address(0xCAFE1);
    address internal constant OTHER_PROVIDER = address(0xD00D);
    address internal constant OTHER_GATEWAY = address(0xD00D1);

    uint16 internal constant HOSPITAL_SHARE_BPS = 1_000;
    uint32 internal constant CATEGORIES = (1 << 1) | (1 << 2); // Observation, Condition
    uint256 internal constant PATIENT_KEY_BASE = 0x9A7E00;
    uint256 internal constant START = 1_700_000_000;

    address[] internal patients;

    function setUp() public virtual {
        vm.warp(START);
        registry = new ConsentRegistry(address(this), address(this));
        escrow = new StudyEscrow(registry, address(this), address(this));
        token = new RemunerationToken("Consentry Research Credit", "CRC", address(this), address(this));
        registry.grantRole(registry.STUDY_MANAGER_ROLE(), address(escrow));
        escrow.setCurrencyAllowed(token, true);

        registry.accredit(RESEARCHER, ConsentCodes.KIND_RESEARCHER, "Example Research Institute", "", bytes32(0));
        registry.accredit(HOSPITAL, ConsentCodes.KIND_PROVIDER, "St. Example Hospital", "", bytes32(0));
        registry.accredit(LAB, ConsentCodes.KIND_PROVIDER, "Riverside Clinical Lab", "", bytes32(0));
        registry.accredit(OTHER_PROVIDER, ConsentCodes.KIND_PROVIDER, "Elsewhere Clinic", "", bytes32(0));
        addMember(HOSPITAL, HOSPITAL_GATEWAY, ConsentCodes.ROLE_GATEWAY);
        addMember(LAB, LAB_GATEWAY, ConsentCodes.ROLE_GATEWAY);
        addMember(OTHER_PROVIDER, OTHER_GATEWAY, ConsentCodes.ROLE_GATEWAY);

        token.mint(RESEARCHER, 1e30);
        vm.prank(RESEARCHER);
        token.approve(address(escrow), type(uint256).max);
    }

    /// @dev `organization` offers `member` the `role`, and the member accepts.
    function addMember(address organization, address member, uint8 role) internal {
        vm.prank(organization);
        registry.offerMembership(organization, member, role);
        vm.prank(member);
        registry.acceptMembership(organization, role);
    }

    /// @dev Creates `count` patients with known keys.
    function makePatients(uint256 count) internal {
        for (uint256 i = 0; i < count; ++i) patients.push(vm.addr(PATIENT_KEY_BASE + i));
    }

    /// @dev A study by the researcher: hospital (10 %) and lab (0 %), HMB, Observation + Condition,
    /// enrolment 10 days, end 30 days from now.
    function createStudy(uint128 price, uint32 maxParticipants, uint256 budget) internal returns (uint256 studyId) {
        IStudyEscrow.CustodianShare[] memory custodians = new IStudyEscrow.CustodianShare[](2);
        custodians[0] = IStudyEscrow.CustodianShare(HOSPITAL, HOSPITAL_SHARE_BPS);
        custodians[1] = IStudyEscrow.CustodianShare(LAB, 0);
        IStudyEscrow.StudyParams memory params = IStudyEscrow.StudyParams({
            currency: token,
            purpose: ConsentCodes.HMB,
            categories: CATEGORIES,
            price: price,
            maxParticipants: maxParticipants,
            enrolmentDeadline: uint40(block.timestamp + 10 days),
            endTime: uint40(block.timestamp + 30 days),
            protocolHash: keccak256("protocol v1 + ethics approval"),
            custodians: custodians,
            attestedEnrolment: false
        });
        vm.prank(RESEARCHER);
        studyId = escrow.createStudy(params, budget);
    }

    function joinAs(address patient, uint256 studyId) internal {
        vm.prank(patient);
        escrow.join(studyId);
    }

    function report(address gateway, uint256 studyId, address[] memory batch) internal returns (uint256 paid) {
        vm.prank(gateway);
        (paid, ) = escrow.reportDeliveries(studyId, batch);
    }

    /// @dev The patient of `key` voids the signatures it gave before, in the registry, one of three
    /// ways (`way` % 3): revoke-all, cancelSignatures, or cancelSignaturesBySig (its signature, sent
    /// by this contract, valid until `deadline`).
    function voidSignaturesInRegistry(uint256 key, uint256 way, uint256 deadline) internal {
        address patient = vm.addr(key);
        uint256 kind = way % 3;
        if (kind == 0) {
            vm.prank(patient);
            registry.revokeAll();
        } else if (kind == 1) {
            vm.prank(patient);
            registry.cancelSignatures();
        } else {
            bytes32 structHash = keccak256(
                abi.encode(registry.CANCEL_SIGNATURES_TYPEHASH(), patient, registry.revocationNonce(patient), deadline)
            );
            bytes32 digest = keccak256(abi.encodePacked("\x19\x01", registry.domainSeparator(), structHash));
            (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
            registry.cancelSignaturesBySig(patient, deadline, abi.encodePacked(r, s, v));
        }
    }

    function balanceIn(address account) internal view returns (uint256) {
        return escrow.balanceOf(token, account);
    }
}
