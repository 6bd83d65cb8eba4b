// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IConsentRegistry} from "./interfaces/IConsentRegistry.sol";
import {IOrganizationRegistry} from "./interfaces/IOrganizationRegistry.sol";
import {ConsentCodes} from "./libraries/ConsentCodes.sol";
import {ConsentFixture} from "./test/ConsentFixture.sol";
import {ConsentModel} from "./test/ConsentModel.sol";

/// @notice Differential fuzzing of the assembly consent check (`consentStatus`, `mayUse`) against
/// the plain-Solidity model of `test/ConsentModel.sol`: they must agree on the reason, the expiry
/// and the organization for every grantee, purpose and category, whatever the grants, time,
/// revocations, suspensions, member removals and emergency accesses.
contract ConsentRegistryDifferentialTest is ConsentFixture {
    /// @dev One fuzzed case: a grant (possibly malformed or refused), optional grants up its purpose
    /// chain, optional revoke-all before and after, revoke, emergency access, suspension, member
    /// removal, and a time warp.
    struct Case {
        uint64 grantRaw;
        uint8 grantShape;
        uint32 categoriesRaw;
        uint8 granteeSel;
        uint40 validFromRaw;
        uint40 expiresRaw;
        uint8 timeShape;
        uint64 useRaw;
        uint8 useShape;
        uint8 category;
        uint16 actions;
        uint32 warpBy;
    }

    function testFuzz_checkMatchesModel(Case memory k) public {
        address patient = patients[0];
        uint64 gp = shapePurpose(k.grantRaw, k.grantShape);
        uint256 orgIdx = orgFor(gp, k.granteeSel >> 4);
        address grantee = orgs[orgIdx];
        if (k.granteeSel % 8 >= 6) {
            address[] memory all = allGrantees();
            grantee = all[k.granteeSel % all.length]; // a member, a stranger, the patient: refused
        }
        uint32 categories = shapeCategories(k.categoriesRaw, k.grantShape >> 4);
        (uint40 validFrom, uint40 expiresAt) = shapeValidity(k.validFromRaw, k.expiresRaw, k.timeShape);

        if (k.actions & 1 != 0) revokeAll(patient);
        bool granted = tryGrant(patient, grantee, categories, gp, validFrom, expiresAt);
        if (k.actions & 2 != 0) grantAncestors(patient, orgIdx, gp, k.useRaw, k.timeShape);
        uint40 emergency;
        if (k.actions & 4 != 0) {
            emergency = tryOpenEmergency(
                patient,
                (k.granteeSel >> 7) & 1,
                uint16(1 + (k.warpBy % 4)),
                uint40(1 + (k.warpBy % 1 days))
            );
            check(emergency != 0, "emergency access refused");
        }
        if (k.actions & 8 != 0) revokeAll(patient);
        if (k.actions & 16 != 0 && granted) {
            vm.prank(patient);
            registry.revoke(grantee, ConsentModel.purposeScope(uint8(gp)));
        }
        bool suspended = k.actions & 32 != 0;
        if (suspended) suspend(orgIdx);
        if (k.actions & 64 != 0) {
            vm.prank(orgs[orgIdx]);
            registry.removeMember(orgs[orgIdx], members[orgIdx][(k.useShape >> 4) % ROLE_COUNT]);
        }
        if (suspended && k.actions & 128 != 0) reinstate(orgIdx);
        if (emergency != 0 && k.actions & 256 != 0) {
            vm.prank(patient);
            registry.closeEmergencyAccess(patient, orgs[(k.granteeSel >> 7) & 1]);
        }
        warpCase(k.timeShape >> 4, k.warpBy, validFrom, expiresAt, emergency);

        uint8[] memory categoriesToCheck = new uint8[](3);
        categoriesToCheck[0] = k.category;
        categoriesToCheck[1] = lowestCategory(categories);
        categoriesToCheck[2] = uint8(k.category % 11);
        sweep(patient, usePurposes(k.useRaw, k.useShape, gp), categoriesToCheck);
        // another patient, to whom nothing was granted
        checkAgainstModel(patients[1], grantee, k.category, gp);
    }

    /// @dev A random script of actions over three patients, checked against the model after every
    /// step (a few random uses) and swept at the end.
    function testFuzz_checkMatchesModel_script(uint256 seed, uint64 useRaw, uint8 category) public {
        for (uint256 step = 0; step < 12; ++step) {
            randomAction(rand(seed, step));
            for (uint256 j = 0; j < 8; ++j) randomCheck(rand(seed, 1000 + step * 16 + j));
        }
        uint8[] memory categoriesToCheck = new uint8[](2);
        categoriesToCheck[0] = category;
        categoriesToCheck[1] = uint8(seed % 10);
        sweep(patients[0], usePurposes(useRaw, uint8(seed >> 8), validPurpose(uint64(seed >> 16))), categoriesToCheck);
    }

    // ------------------------------------------------------------------ helpers

    function shapeCategories(uint32 raw, uint256 shape) internal pure returns (uint32) {
        if (shape % 4 == 0) return raw; // possibly 0 or with unknown bits: refused
        uint32 known = raw & ConsentCodes.ALL_CATEGORIES;
        return known == 0 ? ConsentCodes.ALL_CATEGORIES : known;
    }

    /// @dev validFrom: 0 (now), past, future, or raw; expiresAt: later, raw, just after the start, or now.
    function shapeValidity(
        uint40 fromRaw,
        uint40 expiresRaw,
        uint8 shape
    ) internal view returns (uint40 validFrom, uint40 expiresAt) {
        uint256 now_ = block.timestamp;
        uint256 mode = shape % 4;
        if (mode == 1) validFrom = uint40(now_ - (fromRaw % 30 days));
        else if (mode == 2) validFrom = uint40(now_ + 1 + (fromRaw % 30 days));
        else if (mode == 3) validFrom = fromRaw;
        uint256 start = validFrom == 0 || validFrom < now_ ? now_ : validFrom;
        mode = (shape >> 2) % 4;
        if (mode == 0) expiresAt = uint40(min(start + 1 + (expiresRaw % 365 days), type(uint40).max));
        else if (mode == 1) expiresAt = expiresRaw;
        else if (mode == 2) expiresAt = uint40(min(start + 1, type(uint40).max));
        else expiresAt = uint40(start);
    }

    /// @dev Grants, to the same organization, of some ancestors of `gp`'s code (or of `gp`'s own
    /// code when it has none), with other flags, disease, categories and validity.
    function grantAncestors(address patient, uint256 orgIdx, uint64 gp, uint64 raw, uint8 timeShape) internal {
        uint8 c = uint8(gp);
        if (c == 0 || c > ConsentCodes.MAX_PURPOSE) return;
        uint8 up = ConsentCodes.parent(c);
        uint256 i;
        for (uint8 a = up == 0 ? c : up; a != 0; a = ConsentCodes.parent(a)) {
            ++i;
            if ((raw >> (60 - i)) & 1 == 0) continue;
            uint64 bits = uint64(rand(raw, i));
            (uint40 validFrom, uint40 expiresAt) = shapeValidity(
                uint40(bits >> 20),
                uint40(bits >> 30),
                uint8(((timeShape + i) % 3) | (0 << 2))
            );
            tryGrant(patient, orgs[orgIdx], shapeCategories(uint32(bits >> 40), 1), withCode(bits, a), validFrom, expiresAt);
        }
    }

    /// @dev Time: a fuzzed amount forward, or exactly at a grant's expiry, just before it, at its
    /// start, or at the end of the emergency access.
    function warpCase(uint256 mode, uint32 warpBy, uint40 validFrom, uint40 expiresAt, uint40 emergency) internal {
        uint256 now_ = block.timestamp;
        uint256 target = now_ + (warpBy % (3 * 365 days));
        mode %= 4;
        if (mode == 1) target = expiresAt;
        else if (mode == 2 && expiresAt > 0) target = uint256(expiresAt) - 1;
        else if (mode == 3) target = emergency != 0 && warpBy & 1 == 0 ? emergency : validFrom;
        if (target > now_ && target < type(uint40).max) vm.warp(target);
    }

    function revokeAll(address patient) internal {
        vm.prank(patient);
        registry.revokeAll();
    }

    function lowestCategory(uint32 categories) internal pure returns (uint8 c) {
        if (categories == 0) return 0;
        while ((categories >> c) & 1 == 0) ++c;
    }

    function min(uint256 a, uint256 b) internal pure returns (uint256) {
        return a < b ? a : b;
    }

    /// @dev One action of a script, from a random word.
    function randomAction(uint256 r) internal {
        address patient = patients[(r >> 8) % PATIENT_COUNT];
        uint256 action = r % 16;
        if (action < 6) {
            uint64 gp = (r >> 12) % 8 == 0 ? shapePurpose(uint64(r >> 16), uint8(r >> 80)) : validPurpose(uint64(r >> 16));
            uint256 orgIdx = (r >> 88) % 16 == 0 ? (r >> 92) % ORG_COUNT : orgFor(gp, r >> 92);
            (uint40 validFrom, uint40 expiresAt) = shapeValidity(uint40(r >> 100), uint40(r >> 140), uint8(r >> 180) & 0x0e);
            tryGrant(patient, orgs[orgIdx], shapeCategories(uint32(r >> 190), (r >> 230) % 8), gp, validFrom, expiresAt);
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
            vm.prank(orgs[orgIdx]);
            if (org != address(0)) registry.removeMember(orgs[orgIdx], member);
            else if (registry.getOrganization(orgs[orgIdx]).status == IOrganizationRegistry.Status.Active) {
                registry.addMember(orgs[orgIdx], member, role);
            }
        }
    }

    /// @dev One check of a random (patient, grantee, purpose, category) against the model.
    function randomCheck(uint256 r) internal view {
        address[] memory all = allGrantees();
        uint64 purpose = r % 4 == 0 ? shapePurpose(uint64(r >> 8), uint8(r >> 72)) : validPurpose(uint64(r >> 8));
        checkAgainstModel(patients[(r >> 80) % PATIENT_COUNT], all[(r >> 88) % all.length], uint8((r >> 96) % 11), purpose);
    }
}
