// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IConsentRegistry} from "./interfaces/IConsentRegistry.sol";
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
        runCase(k, newReasonCounts());
    }

    /// @dev `k.actions` bits: 0 revoke-all before the grant; 1 grants up the chain; 2 emergency
    /// access; 3+4 revoke-all after; 5+6 revoke; 7+8 suspend the organization; 9 then reinstate it;
    /// 10+11 remove a member; 12 close the emergency access (two bits: one in four); 13+14 record the
    /// organization as commercial or for-profit.
    function runCase(Case memory k, uint256[] memory seen) internal {
        address patient = patients[0];
        uint64 gp = shapePurpose(k.grantRaw, k.grantShape);
        uint256 orgIdx = orgFor(gp, k.granteeSel >> 4);
        address grantee = orgs[orgIdx];
        if (k.granteeSel % 8 == 7) {
            address[] memory all = allGrantees();
            grantee = all[(k.granteeSel >> 3) % all.length]; // a member, a stranger, the patient: refused
        }
        uint32 categories = shapeCategories(k.categoriesRaw, k.grantShape >> 3);
        (uint40 validFrom, uint40 expiresAt) = shapeValidity(k.validFromRaw, k.expiresRaw, k.timeShape);

        // Governance's record of the organization's uses (the use flags of every check of its
        // reads): in one case in four (actions bits 13+14) from the flag bits of the case's use,
        // commercial (bit 8) and for-profit (bit 9); otherwise neither, so that the checks past the
        // restrictions (validity, expiry) stay as reachable as they were.
        bool recorded = both(k.actions, 13);
        vm.prank(GOVERNANCE);
        registry.setUseProfile(
            orgs[orgIdx],
            recorded && (k.useRaw >> 8) & 1 != 0,
            recorded && (k.useRaw >> 9) & 1 != 0
        );
        if (k.actions & 1 != 0) revokeAll(patient);
        bool granted = tryGrant(patient, grantee, categories, gp, validFrom, expiresAt);
        if (!granted && k.grantShape & 0x80 == 0) {
            // refused as predicted: most of the time, go on with a well-formed grant instead
            gp = validPurpose(k.grantRaw);
            orgIdx = orgFor(gp, k.granteeSel >> 4);
            grantee = orgs[orgIdx];
            categories = shapeCategories(k.categoriesRaw, 1);
            (validFrom, expiresAt) = shapeValidity(k.validFromRaw, k.expiresRaw, k.timeShape & 0x07);
            granted = tryGrant(patient, grantee, categories, gp, validFrom, expiresAt);
        }
        if (k.actions & 2 != 0) grantAncestors(patient, orgIdx, gp, k.useRaw);
        uint256 emergencyOrg = (k.granteeSel >> 6) & 1;
        uint40 emergency;
        if (k.actions & 4 != 0) {
            emergency = tryOpenEmergency(
                patient,
                emergencyOrg,
                uint16(1 + ((k.warpBy >> 8) % 4)),
                uint40(15 minutes + ((k.warpBy >> 10) % (1 days - 15 minutes + 1)))
            );
            check(emergency != 0, "emergency access refused");
        }
        bool revokedAll = both(k.actions, 3);
        if (revokedAll) revokeAll(patient);
        if (both(k.actions, 5) && granted) {
            vm.prank(patient);
            registry.revoke(grantee, ConsentModel.grantScope(gp));
        }
        bool suspended = both(k.actions, 7);
        if (suspended) suspend(orgIdx);
        if (suspended && k.actions & (1 << 9) != 0) reinstate(orgIdx);
        if (both(k.actions, 10)) {
            vm.prank(orgs[orgIdx]);
            registry.removeMember(orgs[orgIdx], members[orgIdx][(k.useShape >> 4) % ROLE_COUNT]);
        }
        if (emergency != 0 && !revokedAll && both(k.actions, 12)) {
            vm.prank(patient);
            registry.closeEmergencyAccess(patient, orgs[emergencyOrg]);
        }
        warpCase(k.warpBy, validFrom, expiresAt, emergency);

        uint8[] memory categoriesToCheck = new uint8[](3);
        categoriesToCheck[0] = k.category;
        categoriesToCheck[1] = lowestCategory(categories);
        categoriesToCheck[2] = uint8(k.category % 11);
        sweep(patient, usePurposes(k.useRaw, k.useShape, gp), categoriesToCheck, seen);
        // another patient, to whom nothing was granted
        checkAgainstModel(patients[1], grantee, k.category, gp);
    }

    /// @dev A random script of actions over three patients, checked against the model after every
    /// step (a few random uses) and swept at the end.
    function testFuzz_checkMatchesModel_script(uint256 seed, uint64 useRaw, uint8 category) public {
        runScript(seed, useRaw, category, newReasonCounts());
    }

    function runScript(uint256 seed, uint64 useRaw, uint8 category, uint256[] memory seen) internal {
        uint256[] memory made = new uint256[](12);
        uint256 madeCount;
        // Governance's record of each organization's uses: commercial, for-profit or neither.
        for (uint256 o = 0; o < ORG_COUNT; ++o) {
            uint256 r = rand(seed, 900 + o);
            bool recorded = r & 3 == 0; // one organization in four commercial or for-profit
            vm.prank(GOVERNANCE);
            registry.setUseProfile(orgs[o], recorded && (r >> 2) & 1 != 0, recorded && (r >> 3) & 1 != 0);
        }
        for (uint256 step = 0; step < 12; ++step) {
            uint256 grantMade = randomAction(rand(seed, step));
            if (grantMade != 0) made[madeCount++] = grantMade;
            for (uint256 j = 0; j < 8; ++j) {
                uint256 free = freeMemory();
                ++seen[uint8(randomCheck(rand(seed, 1000 + step * 16 + j), made, madeCount))];
                restoreFreeMemory(free);
            }
        }
        uint8[] memory categoriesToCheck = new uint8[](2);
        categoriesToCheck[0] = category;
        categoriesToCheck[1] = uint8(seed % 10);
        sweep(
            patients[0],
            usePurposes(useRaw, uint8(seed >> 8), validPurpose(uint64(seed >> 16))),
            categoriesToCheck,
            seen
        );
    }

    /// @dev For an active organization or member, the check says InvalidPurpose exactly when
    /// `ConsentCodes.isValidPurpose` refuses the purpose: any uint64 (flags, disease, high bits), and
    /// one shaped near the boundaries (a valid one with a bit flipped, small fields).
    function testFuzz_invalidPurposeMatchesLibrary(uint64 purpose, uint8 shape, uint8 who, uint8 category) public view {
        address[] memory all = allGrantees();
        address grantee = all[who % (ORG_COUNT * (ROLE_COUNT + 1))]; // organizations and members
        uint64[2] memory purposes = [purpose, shapePurpose(purpose, shape)];
        for (uint256 i = 0; i < purposes.length; ++i) {
            IConsentRegistry.Reason reason = checkAgainstModel(patients[0], grantee, category, purposes[i]);
            checkEq(
                reason == IConsentRegistry.Reason.InvalidPurpose,
                !ConsentCodes.isValidPurpose(purposes[i]),
                "InvalidPurpose vs ConsentCodes.isValidPurpose"
            );
        }
    }

    /// @dev Not vacuous: fixed sets of cases and scripts reach every reason the check can give (the
    /// model agreeing on each); a regression here means the fuzzing above lost its reach.
    function test_fuzzCasesReachEveryReason() public {
        uint256[] memory seen = newReasonCounts();
        for (uint256 i = 0; i < 8; ++i) {
            uint256 snapshot = vm.snapshotState();
            runCase(randomCase(i), seen);
            vm.revertToState(snapshot);
        }
        // A grant for non-commercial, not-for-profit research only, read by an organization that
        // governance records as commercial and for-profit: PurposeNotCovered, the one way left to
        // that reason since a disease-specific grant's key holds its disease.
        {
            uint256 snapshot = vm.snapshotState();
            uint64 restricted = uint64(ConsentCodes.HMB) | (uint64(ConsentCodes.FLAG_NCU | ConsentCodes.FLAG_NPU) << 8);
            uint256 orgIdx = orgFor(restricted, 0);
            vm.prank(GOVERNANCE);
            registry.setUseProfile(orgs[orgIdx], true, true);
            check(
                tryGrant(patients[0], orgs[orgIdx], 1, restricted, 0, uint40(block.timestamp + 30 days)),
                "restricted grant refused"
            );
            uint64[] memory uses = new uint64[](1);
            uses[0] = uint64(ConsentCodes.HMB);
            uint8[] memory categories = new uint8[](1);
            sweep(patients[0], uses, categories, seen);
            vm.revertToState(snapshot);
        }
        for (uint256 seed = 0; seed < 1; ++seed) {
            uint256 snapshot = vm.snapshotState();
            runScript(seed, uint64(rand(seed, 7)), uint8(seed), seen);
            vm.revertToState(snapshot);
        }
        checkEveryReasonSeen(seen);
    }

    // ------------------------------------------------------------------ helpers

    /// @dev Grants, to the same organization, of some ancestors of `gp`'s code (or of `gp`'s own
    /// code when it has none), with other flags, disease, categories and validity.
    function grantAncestors(address patient, uint256 orgIdx, uint64 gp, uint64 raw) internal {
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
                uint8(bits >> 50)
            );
            tryGrant(
                patient,
                orgs[orgIdx],
                shapeCategories(uint32(bits >> 40), 1),
                withCode(bits, a),
                validFrom,
                expiresAt
            );
        }
    }

    /// @dev Time (`warpBy` bits 0-2): unchanged, a fuzzed amount forward (up to 30 days, or up to
    /// 3 years), exactly at the grant's expiry, just before it, or at its start or the end of the
    /// emergency access.
    function warpCase(uint32 warpBy, uint40 validFrom, uint40 expiresAt, uint40 emergency) internal {
        uint256 now_ = block.timestamp;
        uint256 mode = warpBy % 8;
        uint256 target = now_;
        if (mode == 2 || mode == 3) target = now_ + ((warpBy >> 3) % 30 days);
        else if (mode == 4) target = now_ + ((warpBy >> 3) % (3 * 365 days));
        else if (mode == 5) target = expiresAt;
        else if (mode == 6 && expiresAt > 0) target = uint256(expiresAt) - 1;
        else if (mode == 7) target = emergency != 0 && (warpBy >> 3) & 1 == 0 ? emergency : validFrom;
        if (target > now_ && target < type(uint40).max) vm.warp(target);
    }

    /// @dev One check of a random (patient, grantee, purpose, category) against the model; half of
    /// them by an address that may use the purpose (its organization, or a member of the right role).
    function randomCheck(
        uint256 r,
        uint256[] memory made,
        uint256 madeCount
    ) internal view returns (IConsentRegistry.Reason) {
        if (madeCount != 0 && (r >> 130) % 3 == 0) {
            // a use under a grant made earlier: its code or a descendant's, other flags, any category
            uint256 g = made[(r >> 132) % madeCount];
            uint64 granted = uint64(g >> 16);
            uint8 c = uint8(granted);
            if (c == ConsentCodes.TREAT && (r >> 140) & 1 == 0) c = ConsentCodes.ETREAT;
            else if (c >= ConsentCodes.HRESCH) c = uint8(c + ((r >> 140) % (ConsentCodes.MAX_PURPOSE + 1 - c)));
            uint64 use = withCode(uint64(r >> 142), c);
            if (c == ConsentCodes.DS && uint8(granted) == ConsentCodes.DS && (r >> 200) & 1 == 0) {
                use = (use & 0xffff) | (granted & ~uint64(0xffff)); // the same disease
            }
            uint256 orgIdx = (g >> 8) & 0xff;
            address user = (r >> 201) & 1 == 0 ? orgs[orgIdx] : members[orgIdx][ConsentCodes.requiredRole(c) - 1];
            return checkAgainstModel(patients[g & 0xff], user, uint8((r >> 96) % 11), use);
        }
        uint64 purpose = r % 4 == 0 ? shapePurpose(uint64(r >> 8), uint8(r >> 72)) : validPurpose(uint64(r >> 8));
        address grantee;
        if ((r >> 120) & 1 == 0) {
            uint256 org = orgFor(purpose, r >> 124);
            grantee = (r >> 126) & 1 == 0 ? orgs[org] : members[org][ConsentCodes.requiredRole(uint8(purpose)) - 1];
        } else {
            address[] memory all = allGrantees();
            grantee = all[(r >> 88) % all.length];
        }
        return checkAgainstModel(patients[(r >> 80) % PATIENT_COUNT], grantee, uint8((r >> 96) % 11), purpose);
    }

    function randomCase(uint256 i) internal pure returns (Case memory k) {
        uint256 a = rand(i, 0xCA5E);
        uint256 b = rand(i, 0xCA5F);
        k = Case({
            grantRaw: uint64(a),
            grantShape: uint8(a >> 64),
            categoriesRaw: uint32(a >> 72),
            granteeSel: uint8(a >> 104),
            validFromRaw: uint40(a >> 112),
            expiresRaw: uint40(a >> 152),
            timeShape: uint8(a >> 192),
            useRaw: uint64(b),
            useShape: uint8(b >> 64),
            category: uint8(b >> 72),
            actions: uint16(b >> 80),
            warpBy: uint32(b >> 96)
        });
    }
}

/// @notice Properties of the check under the actions that must stop consent: revoke, revoke-all,
/// expiry, suspension of the organization, removal of a member; and `mayUse` == `consentStatus`.
contract ConsentRegistryPropertiesTest is ConsentFixture {
    address internal constant DELEGATE = address(0xDE1E);
    address internal constant RELAYER = address(0x4E1A);

    /// @dev After revoke-all (by the patient, a delegate or a relayed signature) no grantee passes,
    /// emergency access included, not later either; until a new grant, and then only what it covers.
    function testFuzz_revokeAll_nothingPassesUntilNewGrant(uint256 seed, uint8 how, uint32 later, uint8 pick) public {
        address patient = patients[0];
        Made[] memory made = grantEveryPurpose(patient, seed);
        uint256 emergencyOrg = seed & 1;
        check(tryOpenEmergency(patient, emergencyOrg, 1, 1 hours) != 0, "emergency access refused");
        Made memory otherPatients = made[pick % made.length];
        doGrant(
            patients[1],
            otherPatients.org,
            otherPatients.categories,
            otherPatients.purpose,
            0,
            otherPatients.expiresAt
        );
        for (uint256 i = 0; i < made.length; ++i) {
            (bool ok, uint40 until) = mayOwnUse(patient, made[i]);
            check(ok && until == made[i].expiresAt, "a grant is not in force before revoke-all");
        }

        revokeAllBy(0, how);

        check(nothingPasses(patient, made), "a grantee passes after revoke-all");
        for (uint256 i = 0; i < made.length; ++i) {
            checkEq(
                uint8(statusOfOwnUse(patient, made[i])),
                uint8(IConsentRegistry.Reason.RevokedByRevokeAll),
                "reason after revoke-all"
            );
        }
        (uint40 emergencyUntil, , ) = registry.emergencyAccess(patient, orgs[emergencyOrg]);
        checkEq(emergencyUntil, 0, "emergency access survives revoke-all");
        (bool othersOk, ) = mayOwnUse(patients[1], otherPatients);
        check(othersOk, "revoke-all of one patient voided another's grant");

        vm.warp(block.timestamp + (later % 400 days));
        check(nothingPasses(patient, made), "a grantee passes some time after revoke-all");

        // a new grant: it passes, and it alone
        Made memory fresh = made[(pick >> 4) % made.length];
        fresh.validFrom = uint40(block.timestamp);
        fresh.expiresAt = uint40(block.timestamp + 1 days);
        doGrant(patient, fresh.org, fresh.categories, fresh.purpose, 0, fresh.expiresAt);
        (bool freshOk, uint40 freshUntil) = mayOwnUse(patient, fresh);
        check(freshOk && freshUntil == fresh.expiresAt, "a new grant after revoke-all does not pass");
        checkOnlyCoveredBy(patient, fresh, ownUses(made));
    }

    /// @dev Revoking every grant one by one (by the patient, a delegate or a relayed signature, in a
    /// random order) leaves nothing passing; each revoked grant is gone at once and cannot be revoked twice.
    function testFuzz_revoke_nothingPassesOnceEveryGrantRevoked(uint256 seed, uint16 how) public {
        address patient = patients[0];
        Made[] memory made = grantEveryPurpose(patient, seed);
        bool[] memory revoked = new bool[](made.length);
        uint256 stride = [uint256(1), 2, 4, 5, 7, 8][(seed >> 200) % 6]; // coprime to 9: a permutation
        for (uint256 n = 0; n < made.length; ++n) {
            uint256 i = ((seed >> 100) + n * stride) % made.length;
            Made memory m = made[i];
            bytes32 scope = ConsentModel.grantScope(m.purpose);
            bytes32 id = ConsentModel.grantId(patient, orgs[m.org], scope);
            revokeBy(0, orgs[m.org], scope, how >> n);
            revoked[i] = true;

            IConsentRegistry.Grant memory g = registry.getGrant(id);
            check(
                g.categories == 0 && g.purpose == 0 && g.validFrom == 0 && g.expiresAt == 0 && g.epoch == 0,
                "a revoked grant is still stored"
            );
            (bool ok, ) = mayOwnUse(patient, m);
            if (ok) check(standingAncestor(made, revoked, i), "a revoked grant still passes");
            vm.prank(patient);
            (bool again, bytes memory data) = address(registry).call(
                abi.encodeCall(IConsentRegistry.revoke, (orgs[m.org], scope))
            );
            check(!again, "a grant was revoked twice");
            checkEq(
                data,
                abi.encodeWithSelector(IConsentRegistry.ConsentRegistryNoGrant.selector, id),
                "second revoke"
            );
        }
        check(nothingPasses(patient, made), "a grantee passes once every grant is revoked");
        for (uint256 i = 0; i < made.length; ++i) {
            checkEq(uint8(statusOfOwnUse(patient, made[i])), uint8(IConsentRegistry.Reason.NoGrant), "reason");
        }
        Made memory again_ = made[seed % made.length];
        doGrant(patient, again_.org, again_.categories, again_.purpose, 0, again_.expiresAt);
        (bool regranted, ) = mayOwnUse(patient, again_);
        check(regranted, "a new grant after a revoke does not pass");
    }

    /// @dev A grant passes until the second before its expiry and not at it; after every expiry
    /// (grants and emergency accesses) nothing passes.
    function testFuzz_expiry_nothingPassesAfterExpiry(uint256 seed, uint8 pick, uint40 extra) public {
        address patient = patients[0];
        Made[] memory made = grantEveryPurpose(patient, seed);
        uint256 last;
        for (uint256 i = 0; i < made.length; ++i) last = max(last, made[i].expiresAt);
        for (uint256 org = 0; org < 2; ++org) {
            uint40 until = tryOpenEmergency(
                patient,
                org,
                2,
                uint40(15 minutes + (rand(seed, 99 + org) % (1 days - 15 minutes + 1)))
            );
            check(until != 0, "emergency access refused");
            last = max(last, until);
        }

        Made memory m = made[pick % made.length];
        vm.warp(m.expiresAt - 1);
        (bool ok, uint40 until_) = mayOwnUse(patient, m);
        check(ok && until_ == m.expiresAt, "a grant does not pass the second before its expiry");
        vm.warp(m.expiresAt);
        (ok, until_) = mayOwnUse(patient, m);
        if (ok) check(until_ > m.expiresAt, "an expired grant passes");
        else checkEq(uint8(statusOfOwnUse(patient, m)), uint8(IConsentRegistry.Reason.Expired), "reason at expiry");

        vm.warp(last + (extra % (10 * 365 days)));
        check(nothingPasses(patient, made), "a grantee passes after every expiry");
        for (uint256 i = 0; i < made.length; ++i) {
            checkEq(uint8(statusOfOwnUse(patient, made[i])), uint8(IConsentRegistry.Reason.Expired), "reason");
        }
        for (uint256 org = 0; org < 2; ++org) {
            (uint40 open, , ) = registry.emergencyAccess(patient, orgs[org]);
            checkEq(open, 0, "emergency access after its expiry");
        }
    }

    /// @dev A suspended organization and its members never pass, for any purpose (well formed or
    /// not) and category, emergency access included; other organizations are unaffected; it can
    /// neither receive grants, open emergency access nor add members; reinstated, its grants pass again.
    function testFuzz_suspendedOrganizationNeverPasses(
        uint256 seed,
        uint8 orgSel,
        uint64 anyPurpose,
        uint32 later
    ) public {
        address patient = patients[0];
        Made[] memory made = grantEveryPurpose(patient, seed);
        for (uint256 org = 0; org < 2; ++org)
            check(tryOpenEmergency(patient, org, 3, 1 days) != 0, "emergency refused");
        uint256 k = orgSel % ORG_COUNT;

        suspend(k);

        uint64[] memory uses = ownUses(made);
        uint8[] memory categories = everyCategory();
        for (uint256 who = 0; who <= ROLE_COUNT; ++who) {
            address grantee = who == 0 ? orgs[k] : members[k][who - 1];
            for (uint256 u = 0; u <= uses.length; ++u) {
                uint64 purpose = u == uses.length ? anyPurpose : uses[u];
                for (uint256 c = 0; c < categories.length; ++c) {
                    (IConsentRegistry.Reason reason, uint40 until, address org) = registry.consentStatus(
                        patient,
                        grantee,
                        categories[c],
                        purpose
                    );
                    (bool allowed, ) = registry.mayUse(patient, grantee, purpose, categories[c]);
                    check(!allowed, "a suspended organization passes");
                    checkEq(uint8(reason), uint8(IConsentRegistry.Reason.OrganizationSuspended), "reason");
                    checkEq(until, 0, "expiry");
                    checkEq(org, orgs[k], "organization");
                }
            }
        }
        for (uint256 i = 0; i < made.length; ++i) {
            (bool ok, ) = mayOwnUse(patient, made[i]);
            checkEq(ok, made[i].org != k, "the suspension of one organization changed another's grants");
        }
        // no new grant, emergency access or member
        Made memory m = made[seed % made.length];
        uint8 kind = orgKinds[k];
        uint64 purposeOfKind =
            kind == ConsentCodes.KIND_PROVIDER
                ? ConsentCodes.TREAT
                : kind == ConsentCodes.KIND_RESEARCHER
                    ? ConsentCodes.GRU
                    : kind == ConsentCodes.KIND_PAYER
                        ? ConsentCodes.HPAYMT
                        : ConsentCodes.PUBHLTH;
        check(
            !tryGrant(patient, orgs[k], m.categories, purposeOfKind, 0, m.expiresAt),
            "a suspended organization received a grant"
        );
        vm.prank(clinicianOf(k));
        (bool opened, ) = address(registry).call(
            abi.encodeCall(IConsentRegistry.openEmergencyAccess, (patients[1], keccak256("reason"), 1 hours))
        );
        check(!opened, "a suspended organization opened emergency access");
        vm.prank(orgs[k]);
        (bool added, ) = address(registry).call(
            abi.encodeWithSignature("offerMembership(address,address,uint8)", orgs[k], STRANGER, uint8(2))
        );
        check(!added, "a suspended organization added a member");

        vm.warp(block.timestamp + (later % 30 days));
        check(!anyPasses(patient, granteesOf(k), uses, categories), "a suspended organization passes later");

        reinstate(k);
        for (uint256 i = 0; i < made.length; ++i) {
            if (made[i].org != k) continue;
            (bool ok, ) = mayOwnUse(patient, made[i]);
            if (block.timestamp < made[i].expiresAt) check(ok, "a reinstated organization's grant does not pass");
            checkAgainstModel(patient, orgs[k], lowestCategory(made[i].categories), ownUse(made[i]));
        }
    }

    /// @dev A removed member (by its organization, an ADMIN member or itself) never passes, for any
    /// purpose and category, whatever its organization's grants and emergency accesses; the other
    /// members are unaffected; re-added (with another role) it is judged by its new role.
    function testFuzz_removedMemberNeverPasses(
        uint256 seed,
        uint8 orgSel,
        uint8 roleSel,
        uint8 how,
        uint64 anyPurpose
    ) public {
        address patient = patients[0];
        Made[] memory made = grantEveryPurpose(patient, seed);
        for (uint256 org = 0; org < 2; ++org)
            check(tryOpenEmergency(patient, org, 4, 1 days) != 0, "emergency refused");
        uint256 k = orgSel % ORG_COUNT;
        uint256 role = 1 + (roleSel % ROLE_COUNT);
        address member = members[k][role - 1];
        address remover =
            how % 3 == 0
                ? orgs[k]
                : how % 3 == 1
                    ? members[k][ConsentCodes.ROLE_ADMIN - 1]
                    : member;

        vm.prank(remover);
        registry.removeMember(orgs[k], member);

        uint64[] memory uses = ownUses(made);
        uint8[] memory categories = everyCategory();
        for (uint256 u = 0; u <= uses.length + 1; ++u) {
            uint64 purpose =
                u == uses.length
                    ? anyPurpose
                    : u == uses.length + 1
                        ? ConsentCodes.ETREAT
                        : uses[u];
            for (uint256 c = 0; c < categories.length; ++c) {
                (IConsentRegistry.Reason reason, uint40 until, address org) = registry.consentStatus(
                    patient,
                    member,
                    categories[c],
                    purpose
                );
                (bool allowed, ) = registry.mayUse(patient, member, purpose, categories[c]);
                check(!allowed, "a removed member passes");
                checkEq(uint8(reason), uint8(IConsentRegistry.Reason.UnknownGrantee), "reason");
                checkEq(until, 0, "expiry");
                checkEq(org, address(0), "organization");
            }
        }
        // the organization and its other members: as the model says (and its clinician still
        // reaches the emergency access of a provider)
        address[] memory others = granteesOf(k);
        for (uint256 g = 0; g < others.length; ++g) {
            for (uint256 u = 0; u < uses.length; ++u) checkAgainstModel(patient, others[g], categories[u], uses[u]);
        }
        vm.prank(member);
        (bool opened, ) = address(registry).call(
            abi.encodeCall(IConsentRegistry.openEmergencyAccess, (patients[1], keccak256("reason"), 1 hours))
        );
        check(!opened, "a removed member opened emergency access");

        // re-added with another role: judged as such
        uint8 newRole = uint8(1 + ((roleSel >> 4) % ROLE_COUNT));
        vm.prank(orgs[k]);
        registry.offerMembership(orgs[k], member, newRole);
        vm.prank(member);
        registry.acceptMembership(orgs[k], newRole);
        for (uint256 u = 0; u < uses.length; ++u) {
            IConsentRegistry.Reason reason = checkAgainstModel(patient, member, categories[u], uses[u]);
            if (reason <= IConsentRegistry.Reason.EmergencyAccess) {
                checkEq(
                    ConsentCodes.requiredRole(uint8(uses[u])),
                    newRole,
                    "a re-added member passes with another role"
                );
            }
        }
    }

    /// @dev `mayUse` is `consentStatus` reduced to reason <= EmergencyAccess, with the same expiry
    /// (0 when refused), for any patient and grantee address, purpose and category, after random actions.
    function testFuzz_mayUseMatchesConsentStatus(
        uint256 seed,
        address patientRaw,
        address granteeRaw,
        uint64 purpose,
        uint8 category
    ) public {
        for (uint256 i = 0; i < 10; ++i) randomAction(rand(seed, i));
        address[] memory all = allGrantees();
        address[3] memory patientsToCheck = [patientRaw, patients[seed % PATIENT_COUNT], patients[0]];
        address[3] memory granteesToCheck = [granteeRaw, all[(seed >> 8) % all.length], all[(seed >> 16) % all.length]];
        uint64[3] memory purposes = [
            purpose,
            validPurpose(purpose),
            shapePurpose(uint64(seed >> 24), uint8(seed >> 88))
        ];
        for (uint256 p = 0; p < 3; ++p) {
            for (uint256 g = 0; g < 3; ++g) {
                for (uint256 u = 0; u < 3; ++u) {
                    (IConsentRegistry.Reason reason, uint40 until, ) = registry.consentStatus(
                        patientsToCheck[p],
                        granteesToCheck[g],
                        category,
                        purposes[u]
                    );
                    (bool allowed, uint40 mayUntil) = registry.mayUse(
                        patientsToCheck[p],
                        granteesToCheck[g],
                        purposes[u],
                        category
                    );
                    checkEq(allowed, reason <= IConsentRegistry.Reason.EmergencyAccess, "mayUse allowed");
                    checkEq(mayUntil, until, "mayUse expiry");
                    if (!allowed) checkEq(until, 0, "expiry of a refusal");
                    checkAgainstModel(patientsToCheck[p], granteesToCheck[g], category, purposes[u]);
                }
            }
        }
    }

    // ------------------------------------------------------------------ helpers

    function revokeAllBy(uint256 patientIdx, uint256 how) internal {
        address patient = patients[patientIdx];
        uint32 before = epochOf(patient);
        how %= 3;
        if (how == 0) {
            vm.prank(patient);
            registry.revokeAll();
        } else if (how == 1) {
            appointDelegate(patient);
            vm.prank(DELEGATE);
            registry.revokeAllFor(patient);
        } else {
            uint256 deadline = block.timestamp + 1 hours;
            bytes32 digest = digestOf(
                address(registry),
                revokeAllStructHash(patient, revocationNonceOf(patient), deadline)
            );
            bytes memory signature = signDigest(patientKeys[patientIdx], digest);
            vm.prank(RELAYER);
            registry.revokeAllBySig(patient, deadline, signature);
        }
        checkEq(epochOf(patient), before + 1, "revoke-all bumps the epoch once");
    }

    function revokeBy(uint256 patientIdx, address grantee, bytes32 scope, uint256 how) internal {
        address patient = patients[patientIdx];
        how %= 3;
        if (how == 0) {
            vm.prank(patient);
            registry.revoke(grantee, scope);
        } else if (how == 1) {
            if (registry.delegateExpiry(patient, DELEGATE) == 0) appointDelegate(patient);
            vm.prank(DELEGATE);
            registry.revokeFor(patient, grantee, scope);
        } else {
            uint256 deadline = block.timestamp + 1 hours;
            bytes32 digest = digestOf(
                address(registry),
                revokeStructHash(patient, grantee, scope, revocationNonceOf(patient), deadline)
            );
            bytes memory signature = signDigest(patientKeys[patientIdx], digest);
            vm.prank(RELAYER);
            registry.revokeBySig(patient, grantee, scope, deadline, signature);
        }
    }

    function appointDelegate(address patient) internal {
        vm.prank(patient);
        registry.appointDelegate(DELEGATE, 0);
    }

    /// @dev Whether a grant still stands (not revoked) to the same organization on the chain above `made[i]`.
    function standingAncestor(Made[] memory made, bool[] memory revoked, uint256 i) internal pure returns (bool) {
        for (uint8 a = ConsentCodes.parent(uint8(made[i].purpose)); a != 0; a = ConsentCodes.parent(a)) {
            if (!revoked[a - 1] && made[a - 1].org == made[i].org) return true;
        }
        return false;
    }

    /// @dev Every check that passes for `patient` is one `fresh` covers: by its organization or a
    /// member, for a code under its code, in one of its categories, until its expiry.
    function checkOnlyCoveredBy(address patient, Made memory fresh, uint64[] memory uses) internal view {
        address[] memory grantees = couldPass();
        uint8[] memory categories = everyCategory();
        for (uint256 g = 0; g < grantees.length; ++g) {
            for (uint256 u = 0; u < uses.length; ++u) {
                for (uint256 c = 0; c < categories.length; ++c) {
                    (bool allowed, uint40 until) = registry.mayUse(patient, grantees[g], uses[u], categories[c]);
                    if (!allowed) continue;
                    (address org, , , ) = registry.accountOf(grantees[g]);
                    check(
                        org == orgs[fresh.org] &&
                            onChain(uint8(fresh.purpose), uint8(uses[u])) &&
                            (fresh.categories >> categories[c]) & 1 == 1 &&
                            until == fresh.expiresAt,
                        "a use passes that the only grant in force does not cover"
                    );
                }
            }
        }
    }

    /// @dev Whether code `ancestor` is `c` or above it.
    function onChain(uint8 ancestor, uint8 c) internal pure returns (bool) {
        for (; c != 0; c = ConsentCodes.parent(c)) if (c == ancestor) return true;
        return false;
    }

    function granteesOf(uint256 k) internal view returns (address[] memory list) {
        list = new address[](ROLE_COUNT + 1);
        list[0] = orgs[k];
        for (uint256 r = 0; r < ROLE_COUNT; ++r) list[r + 1] = members[k][r];
    }

    function max(uint256 a, uint256 b) internal pure returns (uint256) {
        return a > b ? a : b;
    }
}
