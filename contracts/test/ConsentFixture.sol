// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";

import {ConsentRegistry} from "../ConsentRegistry.sol";
import {IConsentRegistry} from "../interfaces/IConsentRegistry.sol";
import {ConsentCodes} from "../libraries/ConsentCodes.sol";
import {ConsentModel} from "./ConsentModel.sol";
import {TestBase} from "./TestBase.sol";

/// @notice Test harness (never deployed): a ConsentRegistry with one organization of each kind (two
/// providers), one member of every role in each, three patients with known keys, and the helpers
/// the consent-check tests share (purpose shaping, predicted grants, the comparison with the model).
abstract contract ConsentFixture is TestBase {
    uint256 internal constant T0 = 1_750_000_000;
    uint256 internal constant ORG_COUNT = 5;
    uint256 internal constant ROLE_COUNT = 4; // member roles 1..4
    uint256 internal constant PATIENT_COUNT = 3;
    address internal constant GOVERNANCE = address(0x600D);
    address internal constant STRANGER = address(0x5757);

    ConsentRegistry internal registry;
    /// @dev 0, 1: PROVIDER; 2: RESEARCHER; 3: PAYER; 4: PUBLIC_HEALTH.
    address[ORG_COUNT] internal orgs;
    uint8[ORG_COUNT] internal orgKinds;
    /// @dev members[org][role - 1]
    address[ROLE_COUNT][ORG_COUNT] internal members;
    uint256[PATIENT_COUNT] internal patientKeys;
    address[PATIENT_COUNT] internal patients;

    function setUp() public virtual {
        vm.warp(T0);
        orgKinds = [
            ConsentCodes.KIND_PROVIDER,
            ConsentCodes.KIND_PROVIDER,
            ConsentCodes.KIND_RESEARCHER,
            ConsentCodes.KIND_PAYER,
            ConsentCodes.KIND_PUBLIC_HEALTH
        ];
        for (uint256 i = 0; i < ORG_COUNT; ++i) {
            orgs[i] = address(uint160(0xC0A000 + i));
            for (uint256 r = 1; r <= ROLE_COUNT; ++r) members[i][r - 1] = address(uint160(0xC0B000 + i * 0x10 + r));
        }
        patientKeys = [uint256(0xA11CE), uint256(0xB0B), uint256(0xCA401)];
        for (uint256 i = 0; i < PATIENT_COUNT; ++i) patients[i] = vm.addr(patientKeys[i]);
        registry = deployRegistry();
    }

    /// @dev A registry with the fixture's organizations and members.
    function deployRegistry() internal returns (ConsentRegistry r) {
        r = new ConsentRegistry(GOVERNANCE, GOVERNANCE);
        for (uint256 i = 0; i < ORG_COUNT; ++i) {
            vm.prank(GOVERNANCE);
            r.accredit(orgs[i], orgKinds[i], "Organization", "", bytes32(0));
            for (uint256 role = 1; role <= ROLE_COUNT; ++role) {
                vm.prank(orgs[i]);
                r.addMember(orgs[i], members[i][role - 1], uint8(role));
            }
        }
    }

    // ------------------------------------------------------------------ actors

    /// @dev Every address a check may name: the organizations, all their members, a stranger and a patient.
    function allGrantees() internal view returns (address[] memory list) {
        list = new address[](ORG_COUNT * (ROLE_COUNT + 1) + 2);
        uint256 n;
        for (uint256 i = 0; i < ORG_COUNT; ++i) {
            list[n++] = orgs[i];
            for (uint256 r = 0; r < ROLE_COUNT; ++r) list[n++] = members[i][r];
        }
        list[n++] = STRANGER;
        list[n++] = patients[0];
    }

    /// @dev The organization (index) that may receive grants of `purpose`, choosing between the two providers.
    function orgFor(uint64 purpose, uint256 pick) internal pure returns (uint256) {
        uint8 kind = ConsentCodes.requiredKind(ConsentCodes.code(purpose));
        if (kind == ConsentCodes.KIND_PROVIDER) return pick % 2;
        if (kind == ConsentCodes.KIND_RESEARCHER) return 2;
        if (kind == ConsentCodes.KIND_PAYER) return 3;
        return 4;
    }

    function clinicianOf(uint256 org) internal view returns (address) {
        return members[org][ConsentCodes.ROLE_CLINICIAN - 1];
    }

    // ------------------------------------------------------------------ purposes

    /// @dev A purpose from fuzzed bits: raw (any uint64), valid (of every code, with flags and a
    /// small disease code so that grants and uses meet), valid with one bit flipped, or small fields
    /// valid or not (unknown codes 0/10/11, unknown flag bit 2, a stray or missing disease).
    function shapePurpose(uint64 raw, uint8 shape) internal pure returns (uint64) {
        uint256 mode = shape % 5;
        if (mode == 0) return raw;
        uint64 p = validPurpose(raw);
        if (mode <= 2) return p;
        if (mode == 3) return p ^ uint64(1 << ((raw >> 24) % 64));
        return uint64(raw % 12) | (uint64((raw >> 8) % 5) << 8) | (uint64((raw >> 16) % 3) << 16);
    }

    /// @dev A well-formed purpose from fuzzed bits: code 1..9, flags only on research, disease 1..3 on DS.
    function validPurpose(uint64 raw) internal pure returns (uint64) {
        uint64 c = 1 + (raw % 9);
        return withCode(raw, uint8(c));
    }

    /// @dev The well-formed purpose of code `c` with flags and disease from fuzzed bits.
    function withCode(uint64 raw, uint8 c) internal pure returns (uint64) {
        uint64 f = c >= ConsentCodes.HRESCH ? (raw >> 8) & 3 : 0;
        uint64 d = c == ConsentCodes.DS ? 1 + ((raw >> 16) % 3) : 0;
        return uint64(c) | (f << 8) | (d << 16);
    }

    /// @dev The uses a sweep checks: every code with fuzzed flags (DS with two diseases), the
    /// grant's own purpose and two fuzzed ones (one raw, one shaped), and a few malformed ones.
    function usePurposes(uint64 raw, uint8 shape, uint64 granted) internal pure returns (uint64[] memory list) {
        list = new uint64[](16);
        uint256 n;
        for (uint8 c = 1; c <= ConsentCodes.MAX_PURPOSE; ++c) list[n++] = withCode(raw >> (c * 2), c);
        list[n++] = withCode(raw >> 3, ConsentCodes.DS); // another disease, other flags
        list[n++] = granted;
        list[n++] = raw;
        list[n++] = shapePurpose(raw >> 5, shape);
        list[n++] = 0;
        list[n++] = ConsentCodes.DS; // DS without a disease
        list[n++] = uint64(ConsentCodes.TREAT) | (1 << 8); // flags on a care purpose
    }

    // ------------------------------------------------------------------ actions

    /// @dev `grant` by `patient`, which must succeed exactly when the model says so, and fail with
    /// the model's revert data otherwise. Returns whether a grant was made.
    function tryGrant(
        address patient,
        address grantee,
        uint32 categories,
        uint64 purpose,
        uint40 validFrom,
        uint40 expiresAt
    ) internal returns (bool) {
        bytes memory expected = ConsentModel.grantRevertData(
            registry,
            patient,
            grantee,
            categories,
            purpose,
            validFrom,
            expiresAt
        );
        vm.prank(patient);
        (bool ok, bytes memory data) = address(registry).call(
            abi.encodeCall(IConsentRegistry.grant, (grantee, categories, purpose, validFrom, expiresAt))
        );
        if (expected.length != 0) {
            check(!ok, "grant: succeeded where the model predicts a revert");
            checkEq(data, expected, "grant: revert data");
            return false;
        }
        if (!ok) revert(string.concat("grant: reverted where the model predicts success, data ", _str(data)));
        bytes32 id = abi.decode(data, (bytes32));
        checkEq(id, ConsentModel.grantId(patient, grantee, ConsentModel.purposeScope(uint8(purpose))), "grant id");
        IConsentRegistry.Grant memory g = registry.getGrant(id);
        checkEq(g.categories, categories, "stored categories");
        checkEq(g.purpose, purpose, "stored purpose");
        checkEq(g.validFrom, validFrom == 0 ? block.timestamp : validFrom, "stored validFrom");
        checkEq(g.expiresAt, expiresAt, "stored expiresAt");
        (uint32 epoch, ) = registry.patientState(patient);
        checkEq(g.epoch, epoch, "stored epoch");
        return true;
    }

    /// @dev A grant that must succeed.
    function doGrant(
        address patient,
        uint256 org,
        uint32 categories,
        uint64 purpose,
        uint40 validFrom,
        uint40 expiresAt
    ) internal {
        check(tryGrant(patient, orgs[org], categories, purpose, validFrom, expiresAt), "grant expected to succeed");
    }

    /// @dev Emergency access opened by `org`'s clinician; returns its expiry or 0 if the registry refused.
    function tryOpenEmergency(address patient, uint256 org, uint16 reasonCode, uint40 duration) internal returns (uint40) {
        vm.prank(clinicianOf(org));
        (bool ok, bytes memory data) = address(registry).call(
            abi.encodeCall(IConsentRegistry.openEmergencyAccess, (patient, reasonCode, duration))
        );
        if (!ok) return 0;
        uint40 until = abi.decode(data, (uint40));
        checkEq(until, block.timestamp + duration, "emergency expiry");
        (uint40 viewed, address clinician, uint16 code) = registry.emergencyAccess(patient, orgs[org]);
        checkEq(viewed, until, "emergencyAccess expiry");
        checkEq(clinician, clinicianOf(org), "emergencyAccess clinician");
        checkEq(code, reasonCode, "emergencyAccess reason");
        return until;
    }

    function suspend(uint256 org) internal {
        vm.prank(GOVERNANCE);
        registry.suspend(orgs[org], "test");
    }

    function reinstate(uint256 org) internal {
        vm.prank(GOVERNANCE);
        registry.reinstate(orgs[org]);
    }

    // ------------------------------------------------------------------ the comparison

    /// @dev `consentStatus` and `mayUse` against the model: same reason, expiry and organization,
    /// and `mayUse` allowed exactly when the reason is Allowed or EmergencyAccess. Returns the reason.
    function checkAgainstModel(
        address patient,
        address grantee,
        uint8 category,
        uint64 purpose
    ) internal view returns (IConsentRegistry.Reason) {
        (IConsentRegistry.Reason wantReason, uint40 wantUntil, address wantOrg) = ConsentModel.status(
            registry,
            patient,
            grantee,
            category,
            purpose
        );
        (IConsentRegistry.Reason reason, uint40 until, address org) = registry.consentStatus(
            patient,
            grantee,
            category,
            purpose
        );
        (bool allowed, uint40 mayUntil) = registry.mayUse(patient, grantee, purpose, category);
        if (
            reason != wantReason ||
            until != wantUntil ||
            org != wantOrg ||
            allowed != (uint8(reason) <= uint8(IConsentRegistry.Reason.EmergencyAccess)) ||
            mayUntil != until
        ) {
            revert(
                string.concat(
                    "check differs from the model: patient ",
                    Strings.toHexString(patient),
                    " grantee ",
                    Strings.toHexString(grantee),
                    " category ",
                    Strings.toString(category),
                    " purpose ",
                    Strings.toHexString(purpose),
                    " at ",
                    Strings.toString(block.timestamp),
                    string.concat(
                        " | consentStatus ",
                        Strings.toString(uint8(reason)),
                        "/",
                        Strings.toString(until),
                        "/",
                        Strings.toHexString(org),
                        " mayUse ",
                        allowed ? "true/" : "false/",
                        Strings.toString(mayUntil),
                        " | model ",
                        Strings.toString(uint8(wantReason)),
                        "/",
                        Strings.toString(wantUntil),
                        "/",
                        Strings.toHexString(wantOrg)
                    )
                )
            );
        }
        return reason;
    }

    /// @dev Every grantee against the model for `purposes` x `categories`, for `patient`.
    function sweep(address patient, uint64[] memory purposes, uint8[] memory categories) internal view {
        address[] memory grantees = allGrantees();
        for (uint256 g = 0; g < grantees.length; ++g) {
            for (uint256 p = 0; p < purposes.length; ++p) {
                for (uint256 c = 0; c < categories.length; ++c) {
                    checkAgainstModel(patient, grantees[g], categories[c], purposes[p]);
                }
            }
        }
    }

    /// @dev Whether any grantee passes any listed use of `patient`'s data.
    function anyPasses(
        address patient,
        address[] memory grantees,
        uint64[] memory purposes,
        uint8[] memory categories
    ) internal view returns (bool) {
        for (uint256 g = 0; g < grantees.length; ++g) {
            for (uint256 p = 0; p < purposes.length; ++p) {
                for (uint256 c = 0; c < categories.length; ++c) {
                    (bool allowed, ) = registry.mayUse(patient, grantees[g], purposes[p], categories[c]);
                    if (allowed) return true;
                }
            }
        }
        return false;
    }

    /// @dev Every category 0..9 and two beyond.
    function everyCategory() internal pure returns (uint8[] memory list) {
        list = new uint8[](12);
        for (uint8 c = 0; c < 10; ++c) list[c] = c;
        list[10] = 10;
        list[11] = 255;
    }

    function _str(bytes memory data) private pure returns (string memory) {
        if (data.length < 4) return "(empty)";
        return Strings.toHexString(uint256(uint32(bytes4(data))), 4);
    }
}
