// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";

import {ConsentRegistry} from "../ConsentRegistry.sol";
import {IConsentRegistry} from "../interfaces/IConsentRegistry.sol";
import {IOrganizationRegistry} from "../interfaces/IOrganizationRegistry.sol";
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
        initActors();
        registry = deployRegistry();
    }

    /// @dev The fixture's addresses and keys (deterministic), at time T0.
    function initActors() internal {
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
    }

    /// @dev A registry with the fixture's organizations and members.
    function deployRegistry() internal returns (ConsentRegistry r) {
        r = new ConsentRegistry(GOVERNANCE, GOVERNANCE);
        for (uint256 i = 0; i < ORG_COUNT; ++i) {
            vm.prank(GOVERNANCE);
            r.accredit(orgs[i], orgKinds[i], "Organization", "", bytes32(0));
            // Recorded non-commercial and not-for-profit, so that an organization's own use of
            // any grant passes unless a test records otherwise (unrecorded: both).
            vm.prank(GOVERNANCE);
            r.setUseProfile(orgs[i], false, false);
            for (uint256 role = 1; role <= ROLE_COUNT; ++role) {
                vm.prank(orgs[i]);
                r.offerMembership(orgs[i], members[i][role - 1], uint8(role));
                vm.prank(members[i][role - 1]);
                r.acceptMembership(orgs[i], uint8(role));
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

    /// @dev A purpose from fuzzed bits: raw (any uint64), valid with one bit flipped, small fields
    /// valid or not (unknown codes 0/10/11, unknown flag bit 2, a stray or missing disease), or
    /// (5 times in 8) valid, of every code, with flags and a small disease code so that grants and
    /// uses meet.
    function shapePurpose(uint64 raw, uint8 shape) internal pure returns (uint64) {
        uint256 mode = shape % 8;
        if (mode == 0) return raw;
        uint64 p = validPurpose(raw);
        if (mode == 1) return p ^ uint64(uint256(1) << ((raw >> 24) % 64));
        if (mode == 2) return uint64(raw % 12) | (uint64((raw >> 8) % 5) << 8) | (uint64((raw >> 16) % 3) << 16);
        return p;
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
        checkEq(id, ConsentModel.grantId(patient, grantee, ConsentModel.grantScope(purpose)), "grant id");
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

    /// @dev Emergency access opened by `org`'s clinician for `reasonCode`, which only its salted
    /// commitment (`emergencyReasonCommitment`) reaches the chain; returns its expiry or 0 if the
    /// registry refused.
    function tryOpenEmergency(
        address patient,
        uint256 org,
        uint16 reasonCode,
        uint40 duration
    ) internal returns (uint40) {
        bytes32 salt = keccak256(abi.encode("salt", patient, org, reasonCode, block.timestamp, gasleft()));
        bytes32 commitment = emergencyReasonCommitment(patient, orgs[org], reasonCode, salt);
        vm.prank(clinicianOf(org));
        (bool ok, bytes memory data) = address(registry).call(
            abi.encodeCall(IConsentRegistry.openEmergencyAccess, (patient, commitment, duration))
        );
        if (!ok) return 0;
        uint40 until = abi.decode(data, (uint40));
        checkEq(until, block.timestamp + duration, "emergency expiry");
        (uint40 viewed, address clinician, bytes32 viewedCommitment) = registry.emergencyAccess(patient, orgs[org]);
        checkEq(viewed, until, "emergencyAccess expiry");
        checkEq(clinician, clinicianOf(org), "emergencyAccess clinician");
        checkEq(viewedCommitment, commitment, "emergencyAccess reason commitment");
        return until;
    }

    /// @dev The commitment to a break-glass reason, as the sdk computes it (`emergencyReasonCommitment`).
    function emergencyReasonCommitment(
        address patient,
        address organization,
        uint16 reasonCode,
        bytes32 salt
    ) internal view returns (bytes32) {
        return keccak256(abi.encode(block.chainid, address(registry), patient, organization, reasonCode, salt));
    }

    function suspend(uint256 org) internal {
        vm.prank(GOVERNANCE);
        registry.suspend(orgs[org], "test");
    }

    function reinstate(uint256 org) internal {
        vm.prank(GOVERNANCE);
        registry.reinstate(orgs[org]);
    }

    /// @dev Usually the known bits of `raw` (all categories if none); one time in eight `raw` itself
    /// (possibly 0 or with unknown bits: refused).
    function shapeCategories(uint32 raw, uint256 shape) internal pure returns (uint32) {
        if (shape % 8 == 0) return raw;
        uint32 known = raw & ConsentCodes.ALL_CATEGORIES;
        return known == 0 ? ConsentCodes.ALL_CATEGORIES : known;
    }

    /// @dev validFrom (`shape` bits 0-2): 0 (now) 4 in 8, past, future or raw; expiresAt (bits 3-5):
    /// later 5 in 8, raw, just after the start, or at the start (refused).
    function shapeValidity(
        uint40 fromRaw,
        uint40 expiresRaw,
        uint8 shape
    ) internal view returns (uint40 validFrom, uint40 expiresAt) {
        uint256 now_ = block.timestamp;
        uint256 mode = shape % 8;
        if (mode == 4 || mode == 5) validFrom = uint40(now_ - (fromRaw % 30 days));
        else if (mode == 6) validFrom = uint40(now_ + 1 + (fromRaw % 30 days));
        else if (mode == 7) validFrom = fromRaw;
        uint256 start = validFrom == 0 || validFrom < now_ ? now_ : validFrom;
        mode = (shape >> 3) % 8;
        if (mode < 5) expiresAt = uint40(min(start + 1 + (expiresRaw % 365 days), type(uint40).max));
        else if (mode == 5) expiresAt = expiresRaw;
        else if (mode == 6) expiresAt = uint40(min(start + 1, type(uint40).max));
        else expiresAt = uint40(start);
    }

    /// @dev Whether bits `i` and `i + 1` of `bits` are both set (one time in four).
    function both(uint256 bits, uint256 i) internal pure returns (bool) {
        return (bits >> i) & 3 == 3;
    }

    function revokeAll(address patient) internal {
        vm.prank(patient);
        registry.revokeAll();
    }

    function lowestCategory(uint32 categories) internal pure returns (uint8 c) {
        if (categories == 0) return 0;
        while ((categories >> c) & 1 == 0) ++c;
    }

    function highestCategory(uint32 categories) internal pure returns (uint8 c) {
        if (categories == 0) return 0;
        c = 31;
        while ((categories >> c) & 1 == 0) --c;
    }

    function min(uint256 a, uint256 b) internal pure returns (uint256) {
        return a < b ? a : b;
    }

    /// @dev One random action of a script (grant, revoke, revoke-all, warp, suspend or reinstate,
    /// open or close emergency access, remove or re-add a member), from a random word. Returns, for
    /// a grant made, patient index | organization index << 8 | purpose << 16 (else 0).
    function randomAction(uint256 r) internal returns (uint256 grantMade) {
        uint256 patientIdx = (r >> 8) % PATIENT_COUNT;
        address patient = patients[patientIdx];
        uint256 action = r % 16;
        if (action < 6) {
            uint64 gp =
                (r >> 12) % 8 == 0 ? shapePurpose(uint64(r >> 16), uint8(r >> 80)) : validPurpose(uint64(r >> 16));
            uint256 orgIdx = (r >> 88) % 16 == 0 ? (r >> 92) % ORG_COUNT : orgFor(gp, r >> 92);
            (uint40 validFrom, uint40 expiresAt) = shapeValidity(uint40(r >> 100), uint40(r >> 140), uint8(r >> 180));
            uint32 categories = shapeCategories(uint32(r >> 190), r >> 230);
            if (tryGrant(patient, orgs[orgIdx], categories, gp, validFrom, expiresAt)) {
                grantMade = patientIdx | (orgIdx << 8) | (uint256(gp) << 16);
            }
        } else if (action == 6 || action == 7) {
            uint8 c = uint8(1 + ((r >> 16) % ConsentCodes.MAX_PURPOSE));
            address org = orgs[(r >> 24) % ORG_COUNT];
            if (registry.getGrant(ConsentModel.grantId(patient, org, ConsentModel.purposeScope(c))).expiresAt != 0) {
                vm.prank(patient);
                registry.revoke(org, ConsentModel.purposeScope(c));
            }
        } else if (action == 8) {
            revokeAll(patient);
        } else if (action == 9 || action == 10) {
            vm.warp(block.timestamp + ((r >> 16) % (action == 9 ? 60 days : 1 days)));
        } else if (action == 11) {
            uint256 orgIdx = (r >> 16) % ORG_COUNT;
            if (registry.getOrganization(orgs[orgIdx]).status == IOrganizationRegistry.Status.Active) suspend(orgIdx);
            else reinstate(orgIdx);
        } else if (action == 12 || action == 13) {
            tryOpenEmergency(patient, (r >> 16) & 1, uint16(1 + ((r >> 20) % 4)), uint40(1 + ((r >> 24) % 1 days)));
        } else if (action == 14) {
            uint256 orgIdx = (r >> 16) & 1;
            (uint40 until, , ) = registry.emergencyAccess(patient, orgs[orgIdx]);
            if (until != 0) {
                vm.prank(patient);
                registry.closeEmergencyAccess(patient, orgs[orgIdx]);
            }
        } else {
            uint256 orgIdx = (r >> 16) % ORG_COUNT;
            uint8 role = uint8(1 + ((r >> 20) % ROLE_COUNT));
            address member = members[orgIdx][role - 1];
            (address org, , , ) = registry.accountOf(member);
            bool active = registry.getOrganization(orgs[orgIdx]).status == IOrganizationRegistry.Status.Active;
            if (org != address(0)) {
                vm.prank(orgs[orgIdx]);
                registry.removeMember(orgs[orgIdx], member);
            } else if (active) {
                vm.prank(orgs[orgIdx]);
                registry.offerMembership(orgs[orgIdx], member, role);
                vm.prank(member);
                registry.acceptMembership(orgs[orgIdx], role);
            }
        }
    }

    // ------------------------------------------------------------------ grants of every purpose

    /// @dev A grant made by `grantEveryPurpose`.
    struct Made {
        uint256 org;
        uint64 purpose;
        uint32 categories;
        uint40 validFrom;
        uint40 expiresAt;
    }

    /// @dev One grant of each purpose code 1..9 from `patient` to an organization of the right kind,
    /// with fuzzed flags, disease, categories, a start now or in the past, and an expiry within a year.
    function grantEveryPurpose(address patient, uint256 seed) internal returns (Made[] memory made) {
        made = new Made[](ConsentCodes.MAX_PURPOSE);
        for (uint8 c = 1; c <= ConsentCodes.MAX_PURPOSE; ++c) {
            uint256 r = rand(seed, c);
            Made memory m = made[c - 1];
            m.purpose = withCode(uint64(r), c);
            m.org = orgFor(m.purpose, r >> 70);
            m.categories = shapeCategories(uint32(r >> 80), 1);
            m.validFrom = (r >> 120) & 1 == 0 ? 0 : uint40(block.timestamp - ((r >> 121) % 30 days));
            m.expiresAt = uint40(block.timestamp + 1 hours + ((r >> 160) % 365 days));
            doGrant(patient, m.org, m.categories, m.purpose, m.validFrom, m.expiresAt);
        }
    }

    /// @dev The use a grant surely allows (while in force): its own purpose without flags, by its
    /// organization, for its lowest category.
    function ownUse(Made memory m) internal pure returns (uint64) {
        return m.purpose & ~uint64(0xff00);
    }

    /// @dev The own use of every grant made.
    function ownUses(Made[] memory made) internal pure returns (uint64[] memory uses) {
        uses = new uint64[](made.length);
        for (uint256 i = 0; i < made.length; ++i) uses[i] = ownUse(made[i]);
    }

    function mayOwnUse(address patient, Made memory m) internal view returns (bool allowed, uint40 until) {
        return registry.mayUse(patient, orgs[m.org], ownUse(m), lowestCategory(m.categories));
    }

    function statusOfOwnUse(address patient, Made memory m) internal view returns (IConsentRegistry.Reason reason) {
        (reason, , ) = registry.consentStatus(patient, orgs[m.org], lowestCategory(m.categories), ownUse(m));
    }

    /// @dev Whether no grantee that could pass (an organization, a member of a role that some
    /// purpose needs, a stranger) may use any grant's own use of `patient`'s data, in the grant's
    /// lowest and highest category and a third one. (ADMIN and GATEWAY members pass nothing ever:
    /// the differential tests cover them.)
    function nothingPasses(address patient, Made[] memory made) internal view returns (bool) {
        address[] memory grantees = couldPass();
        for (uint256 u = 0; u < made.length; ++u) {
            uint64 use = ownUse(made[u]);
            uint8[3] memory categories = [
                lowestCategory(made[u].categories),
                highestCategory(made[u].categories),
                uint8(rand(uint160(patient) ^ block.timestamp, u) % ConsentCodes.CATEGORY_COUNT)
            ];
            for (uint256 g = 0; g < grantees.length; ++g) {
                for (uint256 c = 0; c < categories.length; ++c) {
                    (bool allowed, ) = registry.mayUse(patient, grantees[g], use, categories[c]);
                    if (allowed) return false;
                }
            }
        }
        return true;
    }

    /// @dev The organizations, their CLINICIAN and ANALYST members, and a stranger.
    function couldPass() internal view returns (address[] memory list) {
        list = new address[](ORG_COUNT * 3 + 1);
        uint256 n;
        for (uint256 i = 0; i < ORG_COUNT; ++i) {
            list[n++] = orgs[i];
            list[n++] = members[i][ConsentCodes.ROLE_CLINICIAN - 1];
            list[n++] = members[i][ConsentCodes.ROLE_ANALYST - 1];
        }
        list[n++] = STRANGER;
    }

    // ------------------------------------------------------------------ EIP-712

    bytes32 internal constant DOMAIN_TYPEHASH = keccak256(
        "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    );
    string internal constant GRANT_TYPE =
        "Grant(address patient,address grantee,uint32 categories,uint64 purpose,uint40 validFrom,uint40 expiresAt,uint64 nonce,uint256 deadline)";
    string internal constant REVOKE_TYPE =
        "Revoke(address patient,address grantee,bytes32 scope,uint64 nonce,uint256 deadline)";
    string internal constant REVOKE_ALL_TYPE = "RevokeAll(address patient,uint64 nonce,uint256 deadline)";
    string internal constant CANCEL_SIGNATURES_TYPE = "CancelSignatures(address patient,uint64 nonce,uint256 deadline)";

    /// @dev The EIP-712 domain separator of a ConsentRegistry at `verifyingContract`, on this chain.
    function domainSeparatorOf(address verifyingContract) internal view returns (bytes32) {
        return
            keccak256(
                abi.encode(
                    DOMAIN_TYPEHASH,
                    keccak256("Consentry ConsentRegistry"),
                    keccak256("1"),
                    chainIdNow(),
                    verifyingContract
                )
            );
    }

    function digestOf(address verifyingContract, bytes32 structHash) internal view returns (bytes32) {
        return keccak256(abi.encodePacked("\x19\x01", domainSeparatorOf(verifyingContract), structHash));
    }

    /// @dev A 65-byte r | s | v signature.
    function signDigest(uint256 privateKey, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(privateKey, digest);
        return abi.encodePacked(r, s, v);
    }

    function grantStructHash(
        address patient,
        address grantee,
        uint32 categories,
        uint64 purpose,
        uint40 validFrom,
        uint40 expiresAt,
        uint64 nonce,
        uint256 deadline
    ) internal pure returns (bytes32) {
        return
            keccak256(
                abi.encode(
                    keccak256(bytes(GRANT_TYPE)),
                    patient,
                    grantee,
                    categories,
                    purpose,
                    validFrom,
                    expiresAt,
                    nonce,
                    deadline
                )
            );
    }

    function revokeStructHash(
        address patient,
        address grantee,
        bytes32 scope,
        uint64 nonce,
        uint256 deadline
    ) internal pure returns (bytes32) {
        return keccak256(abi.encode(keccak256(bytes(REVOKE_TYPE)), patient, grantee, scope, nonce, deadline));
    }

    function revokeAllStructHash(address patient, uint64 nonce, uint256 deadline) internal pure returns (bytes32) {
        return keccak256(abi.encode(keccak256(bytes(REVOKE_ALL_TYPE)), patient, nonce, deadline));
    }

    function cancelSignaturesStructHash(
        address patient,
        uint64 nonce,
        uint256 deadline
    ) internal pure returns (bytes32) {
        return keccak256(abi.encode(keccak256(bytes(CANCEL_SIGNATURES_TYPE)), patient, nonce, deadline));
    }

    function nonceOf(address patient) internal view returns (uint64 nonce) {
        (, nonce) = registry.patientState(patient);
    }

    function revocationNonceOf(address patient) internal view returns (uint64) {
        return registry.revocationNonce(patient);
    }

    function epochOf(address patient) internal view returns (uint32 epoch) {
        (epoch, ) = registry.patientState(patient);
    }

    // ------------------------------------------------------------------ the comparison

    /// @dev What a check gave: consentStatus (reason, expiry, organization) and mayUse (allowed, expiry).
    struct Outcome {
        IConsentRegistry.Reason reason;
        uint40 expiresAt;
        address organization;
        bool allowed;
        uint40 mayUseExpiresAt;
    }

    /// @dev The registry (`actual`) and the model (`expected`) disagree on a check at `timestamp`.
    error CheckDiffersFromModel(
        address patient,
        address grantee,
        uint8 category,
        uint64 purpose,
        uint256 timestamp,
        Outcome actual,
        Outcome expected
    );

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
            revert CheckDiffersFromModel(
                patient,
                grantee,
                category,
                purpose,
                block.timestamp,
                Outcome(reason, until, org, allowed, mayUntil),
                Outcome(wantReason, wantUntil, wantOrg, uint8(wantReason) <= 1, wantUntil)
            );
        }
        return reason;
    }

    /// @dev Every grantee against the model for `purposes` x `categories`, for `patient`, counting
    /// the reasons in `seen` (indexed by reason).
    function sweep(
        address patient,
        uint64[] memory purposes,
        uint8[] memory categories,
        uint256[] memory seen
    ) internal view {
        address[] memory grantees = allGrantees();
        for (uint256 g = 0; g < grantees.length; ++g) {
            for (uint256 p = 0; p < purposes.length; ++p) {
                for (uint256 c = 0; c < categories.length; ++c) {
                    uint256 free = freeMemory();
                    ++seen[uint8(checkAgainstModel(patient, grantees[g], categories[c], purposes[p]))];
                    restoreFreeMemory(free); // nothing the check allocated is kept: reuse the memory
                }
            }
        }
    }

    /// @dev A counter per reason, for `sweep`.
    function newReasonCounts() internal pure returns (uint256[] memory) {
        return new uint256[](uint8(type(IConsentRegistry.Reason).max) + 1);
    }

    /// @dev Fails unless every reason was seen at least once (the fuzzing is not vacuous).
    function checkEveryReasonSeen(uint256[] memory seen) internal pure {
        string memory counts = "a reason was never reached; counts by reason:";
        bool all = true;
        for (uint256 r = 0; r < seen.length; ++r) {
            counts = string.concat(counts, " ", Strings.toString(seen[r]));
            if (seen[r] == 0) all = false;
        }
        check(all, counts);
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
