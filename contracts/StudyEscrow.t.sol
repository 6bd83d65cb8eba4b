// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IConsentRegistry} from "./interfaces/IConsentRegistry.sol";
import {IEarningsEscrow} from "./interfaces/IEarningsEscrow.sol";
import {IStudyEscrow} from "./interfaces/IStudyEscrow.sol";
import {ConsentCodes} from "./libraries/ConsentCodes.sol";
import {RemunerationToken} from "./RemunerationToken.sol";
import {StudyEscrowHandler} from "./test/StudyEscrowHandler.sol";
import {StudyEscrowSetup} from "./test/StudyEscrowSetup.sol";

/// @notice The StudyEscrow's invariants under random sequences of every action (see
/// `test/StudyEscrowHandler.sol`): the escrow's token balance is exactly the unspent budgets plus
/// the unwithdrawn balances plus what was sent to it directly and not yet recovered (so it always
/// covers the first two, and governance recovers exactly the third); no patient is paid without an
/// active research grant at delivery; a delivery (study, patient, custodian) pays at most once;
/// every report pays exactly what an independent model says.
/// forge-config: default.invariant.runs = 48
/// forge-config: default.invariant.depth = 60
contract StudyEscrowInvariantTest is StudyEscrowSetup {
    StudyEscrowHandler internal handler;
    uint256[] internal studyIds;

    function setUp() public override {
        super.setUp();
        makePatients(8);
        studyIds.push(createStudy(2 ether, 6, 40 ether));
        studyIds.push(createStudy(3 ether, 4, 6 ether));
        // A head start, so that early reports have participants to pay.
        for (uint256 i = 0; i < 4; ++i) joinAs(patients[i], studyIds[0]);
        handler = new StudyEscrowHandler(
            escrow,
            registry,
            token,
            RESEARCHER,
            patients,
            studyIds,
            [HOSPITAL, LAB, OTHER_PROVIDER],
            [HOSPITAL_GATEWAY, LAB_GATEWAY, OTHER_GATEWAY]
        );
        escrow.grantRole(escrow.GOVERNANCE_ROLE(), address(handler));
        escrow.setWithdrawFeeCap(token, 0.5 ether);
        token.grantRole(token.MINTER_ROLE(), address(handler));
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function invariant_escrowBalanceIsBudgetsPlusBalancesPlusDirectSends() public view {
        StudyEscrowHandler.Ghosts memory g = handler.ghosts();
        uint256 budgets = 0;
        for (uint256 i = 0; i < studyIds.length; ++i) budgets += escrow.getStudy(studyIds[i]).budget;
        uint256 balances = balanceIn(HOSPITAL) + balanceIn(LAB) + balanceIn(OTHER_PROVIDER);
        for (uint256 i = 0; i < patients.length; ++i) balances += balanceIn(patients[i]);
        checkEq(escrow.accounted(token), budgets + balances, "accounted != budgets + balances");
        checkEq(
            token.balanceOf(address(escrow)),
            budgets + balances + g.directSent - g.recovered,
            "escrow balance != budgets + balances + direct sends - recovered"
        );
    }

    function invariant_noPaymentWithoutActiveGrant() public view {
        checkEq(handler.ghosts().paidWithoutGrant, 0, "a patient was paid without an active research grant");
    }

    function invariant_deliveryPaysOnce() public view {
        checkEq(handler.ghosts().paidTwice, 0, "a delivery paid twice");
    }

    function invariant_reportsAndWithdrawalsPayWhatTheModelSays() public view {
        StudyEscrowHandler.Ghosts memory g = handler.ghosts();
        checkEq(g.paidOtherThanModel, 0, "a report or withdrawal paid other than the model");
        checkEq(g.unexpectedReverts, 0, "an action the model allows reverted");
        checkEq(g.recoveryMismatches, 0, "governance recovered other than the direct sends");
    }

    /// @dev Not vacuous: each run must have done things (checked at its end), so a regression that
    /// makes joins, leaves, funding, cancels or reclaims always revert fails here as well as in
    /// `unexpectedReverts`.
    function afterInvariant() public view {
        (uint256 kinds, uint256 total) = handler.progress();
        check(kinds >= 2 && total >= 2, "the run did hardly anything");
    }

    /// @dev The handler and its model on a fixed script that reaches every action: it must see
    /// payments, skips, withdrawals and a recovery, and no violation.
    function test_handlerScriptReachesEveryAction() public {
        // Funding and sponsorships first: once a sponsored study spends, no money comes in.
        handler.fund(0, 10 ether);
        handler.sponsor(0, 0, 3 ether);
        handler.sponsor(0, 1, 1 ether + 1);
        handler.sponsor(1, 0, 2 ether);
        for (uint256 i = 0; i < 8; ++i) handler.join(i, 0);
        handler.report(1, 12, 0, 0);
        handler.report(1, 12, 0, 0); // the same batch again: all skipped
        handler.report(2, 12, 1, 0);
        handler.report(3, 5, 2, 0); // a custodian the study does not allow
        handler.leave(1, 0);
        handler.revokeInRegistry(2, 0);
        handler.revokeAll(3);
        handler.join(3, 0);
        handler.join(4, 1);
        handler.report(4, 8, 1, 1);
        handler.sendDirect(5 ether);
        for (uint256 i = 0; i < 4; ++i) handler.withdrawBySig(i, i * 0.1 ether); // signed, relayed for a fee
        for (uint256 i = 0; i < 8; ++i) handler.withdraw((i << 2) | 1);
        handler.withdraw(0); // the hospital
        handler.recover();
        handler.recover(); // nothing left
        handler.fund(0, 1 ether); // sponsored and spent: refused
        handler.sponsor(0, 0, 1 ether); // spent: refused
        handler.cancel(1);
        handler.reclaimSponsorship(1, 1); // not a sponsor of study 1: refused
        handler.reclaim(1);
        handler.reclaimSponsorship(1, 0);
        handler.sponsor(1, 1, 1 ether); // cancelled: refused
        handler.warp(1 days);
        for (uint256 i = 0; i < 30; ++i) handler.warp(1 days);
        handler.report(5, 4, 0, 0); // after the end: refused
        handler.reclaimSponsorship(0, 1);
        handler.reclaim(0);
        handler.reclaimSponsorship(0, 0); // the last funder: the rest
        handler.reclaimSponsorship(0, 0); // nothing left: refused
        StudyEscrowHandler.Ghosts memory g = handler.ghosts();
        check(g.deliveriesPaid > 5, "deliveries paid");
        check(g.withdrawals > 4, "withdrawals");
        check(g.signedWithdrawals > 0 && g.relayerFees > 0, "signed withdrawals, with fees");
        checkEq(g.recovered, 5 ether, "recovered");
        checkEq(g.reports, 4, "reports accepted");
        checkEq(g.joins, 8, "joins (two refused: the study was full)");
        checkEq(g.leaves, 1, "leaves");
        checkEq(g.funds, 1, "funds (one refused: sponsored and spent)");
        checkEq(g.cancels, 1, "cancels");
        checkEq(g.reclaims, 2, "reclaims");
        checkEq(g.sponsorships, 3, "sponsorships (two refused: spent, then cancelled)");
        checkEq(g.sponsorReclaims, 3, "sponsors' reclaims");
        (uint256 kinds, ) = handler.progress();
        checkEq(kinds, 11, "every kind of action succeeded");
        checkEq(escrow.getStudy(studyIds[0]).budget, 0, "reclaimed after the end");
        checkEq(escrow.getStudy(studyIds[1]).budget, 0, "reclaimed after cancellation");
        invariant_escrowBalanceIsBudgetsPlusBalancesPlusDirectSends();
        invariant_noPaymentWithoutActiveGrant();
        invariant_deliveryPaysOnce();
        invariant_reportsAndWithdrawalsPayWhatTheModelSays();
    }
}

/// @notice Fuzz tests of single properties: delivery flags, grants at delivery, the budget bound,
/// the packed study layout that join decodes, signed joins and leaves, the faucet's chain check.
contract StudyEscrowFuzzTest is StudyEscrowSetup {
    uint128 internal constant PRICE = 1 ether;

    function setUp() public override {
        super.setUp();
        makePatients(12);
    }

    /// @dev A batch with repeats pays each distinct joined patient once; the same batch again pays nothing.
    function testFuzz_reportPaysEachDeliveryOnce(uint256 seed, uint8 sizeRaw) public {
        uint256 studyId = createStudy(PRICE, 12, 100 ether);
        for (uint256 i = 0; i < patients.length; ++i) joinAs(patients[i], studyId);
        address[] memory batch = new address[](bound(sizeRaw, 1, 40));
        bool[] memory seen = new bool[](patients.length);
        uint256 distinct = 0;
        for (uint256 i = 0; i < batch.length; ++i) {
            uint256 k = rand(seed, i) % patients.length;
            batch[i] = patients[k];
            if (!seen[k]) {
                seen[k] = true;
                ++distinct;
            }
        }
        checkEq(report(HOSPITAL_GATEWAY, studyId, batch), distinct, "first report");
        checkEq(report(HOSPITAL_GATEWAY, studyId, batch), 0, "retried report");
        uint256 share = (PRICE * HOSPITAL_SHARE_BPS) / 10_000;
        for (uint256 k = 0; k < patients.length; ++k) {
            checkEq(balanceIn(patients[k]), seen[k] ? PRICE - share : 0, "patient balance");
            checkEq(escrow.isDelivered(studyId, patients[k], HOSPITAL), seen[k], "delivery flag");
            checkEq(escrow.isDelivered(studyId, patients[k], LAB), false, "other custodian's flag");
        }
        checkEq(balanceIn(HOSPITAL), share * distinct, "custodian balance");
        checkEq(escrow.getStudy(studyId).budget, 100 ether - PRICE * distinct, "budget");
    }

    /// @dev Whatever each patient did (never joined, joined, left, revoked in the registry,
    /// revoked all, joined again), a delivery pays exactly those whose grant is in force.
    function testFuzz_noPaymentWithoutActiveGrant(uint256 seed) public {
        uint256 studyId = createStudy(PRICE, 12, 100 ether);
        bytes32 key = escrow.studyKey(studyId);
        bool[] memory active = new bool[](patients.length);
        for (uint256 i = 0; i < patients.length; ++i) {
            address p = patients[i];
            uint256 story = rand(seed, i) % 7;
            if (story == 0) continue;
            joinAs(p, studyId);
            active[i] = true;
            vm.prank(p);
            if (story == 2) {
                escrow.leave(studyId);
                active[i] = false;
            } else if (story == 3) {
                registry.revoke(RESEARCHER, key);
                active[i] = false;
            } else if (story == 4) {
                registry.revokeAll();
                active[i] = false;
            } else if (story == 5) {
                registry.revokeAll();
                joinAs(p, studyId);
            } else if (story == 6) {
                escrow.leave(studyId);
                joinAs(p, studyId);
            } else {
                escrow.cancelSignatures(studyId); // uses up the prank harmlessly
            }
        }
        report(LAB_GATEWAY, studyId, patients);
        for (uint256 i = 0; i < patients.length; ++i) {
            (IConsentRegistry.Reason reason, ) = registry.scopeStatus(patients[i], RESEARCHER, key, 1);
            checkEq(reason == IConsentRegistry.Reason.Allowed, active[i], "model of the grant");
            checkEq(balanceIn(patients[i]), active[i] ? PRICE : 0, "paid iff the grant is in force");
        }
    }

    /// @dev A report never pays beyond the budget, whatever the price and the funding.
    function testFuzz_neverBeyondBudget(uint128 priceRaw, uint8 fundedRaw, uint128 dust, uint8 joinersRaw) public {
        uint128 price = uint128(bound(priceRaw, 1, 1e24));
        uint256 funded = bound(fundedRaw, 0, 15);
        uint256 budget = price * funded + bound(dust, 0, price - 1);
        uint256 joiners = bound(joinersRaw, 1, patients.length);
        uint256 studyId = createStudy(price, 12, 0);
        if (budget != 0) {
            vm.prank(RESEARCHER);
            escrow.fund(studyId, budget);
        }
        address[] memory batch = new address[](joiners);
        for (uint256 i = 0; i < joiners; ++i) {
            joinAs(patients[i], studyId);
            batch[i] = patients[i];
        }
        uint256 paid = report(HOSPITAL_GATEWAY, studyId, batch);
        uint256 expected = joiners < funded ? joiners : funded;
        checkEq(paid, expected, "paid");
        checkEq(escrow.getStudy(studyId).budget, budget - price * expected, "budget left");
        checkEq(escrow.accounted(token), budget, "accounted");
        checkEq(token.balanceOf(address(escrow)), budget, "escrow balance");
    }

    /// @dev What join decodes from the packed study slots is what the researcher declared: the
    /// registry grant's purpose, categories and expiry, and the participant count.
    function testFuzz_joinGrantMatchesStudy(
        uint8 codeRaw,
        uint8 flagsRaw,
        uint32 diseaseRaw,
        uint32 categoriesRaw,
        uint40 deadlineRaw,
        uint40 endRaw,
        uint32 maxRaw
    ) public {
        uint64 code = uint64(bound(codeRaw, ConsentCodes.HRESCH, ConsentCodes.DS));
        uint64 disease = code == ConsentCodes.DS ? uint64(bound(diseaseRaw, 1, type(uint32).max)) : 0;
        uint64 purpose = code | (uint64(flagsRaw % 4) << 8) | (disease << 16);
        uint32 categories = uint32(bound(categoriesRaw, 1, ConsentCodes.ALL_CATEGORIES));
        uint40 deadline = uint40(block.timestamp + bound(deadlineRaw, 1, 365 days));
        uint40 endTime = uint40(bound(endRaw, deadline + 1, block.timestamp + 3_650 days));
        uint32 maxParticipants = uint32(bound(maxRaw, 1, escrow.MAX_PARTICIPANTS()));

        IStudyEscrow.CustodianShare[] memory custodians = new IStudyEscrow.CustodianShare[](1);
        custodians[0] = IStudyEscrow.CustodianShare(LAB, 0);
        vm.prank(RESEARCHER);
        uint256 studyId = escrow.createStudy(
            IStudyEscrow.StudyParams(
                token,
                purpose,
                categories,
                5,
                maxParticipants,
                deadline,
                endTime,
                bytes32("p"),
                custodians,
                false
            ),
            0
        );
        IStudyEscrow.Study memory study = escrow.getStudy(studyId);
        checkEq(study.researcher, RESEARCHER, "researcher");
        checkEq(study.purpose, purpose, "purpose");
        check(!study.attestedEnrolment, "no attested enrolment");
        checkEq(study.categories, categories, "categories");
        checkEq(address(study.currency), address(token), "currency");
        checkEq(study.enrolmentDeadline, deadline, "deadline");
        checkEq(study.endTime, endTime, "end");
        checkEq(study.maxParticipants, maxParticipants, "max participants");

        joinAs(patients[0], studyId);
        IConsentRegistry.Grant memory grant = registry.getGrant(
            registry.grantIdOf(patients[0], RESEARCHER, escrow.studyKey(studyId))
        );
        checkEq(grant.purpose, purpose, "grant purpose");
        checkEq(grant.categories, categories, "grant categories");
        checkEq(grant.expiresAt, endTime, "grant expiry");
        checkEq(escrow.getStudy(studyId).participants, 1, "participants");
        checkEq(escrow.getStudy(studyId).maxParticipants, maxParticipants, "max participants after join");
        checkEq(escrow.getStudy(studyId).researcher, RESEARCHER, "researcher after join");
        if (maxParticipants > 1) {
            joinAs(patients[1], studyId);
            checkEq(escrow.getParticipant(studyId, patients[1]).index, 1, "second index");
        } else {
            vm.expectRevert(abi.encodeWithSelector(IStudyEscrow.StudyEscrowStudyFull.selector, studyId, uint32(1)));
            joinAs(patients[1], studyId);
        }
    }

    /// @dev Delivery flags of participants on both sides of bitmap word boundaries (index 255/256,
    /// 511/512) and of two custodians never interfere.
    function test_deliveryFlagsAcrossBitmapWords() public {
        uint256 count = 520;
        uint256 studyId = createStudy(PRICE, uint32(count), 1_000 ether);
        address[] memory all = new address[](count);
        for (uint256 i = 0; i < count; ++i) {
            all[i] = address(uint160(0x5000 + i));
            joinAs(all[i], studyId);
        }
        uint256[] memory hospitalIdx = new uint256[](6);
        (hospitalIdx[0], hospitalIdx[1], hospitalIdx[2]) = (0, 255, 256);
        (hospitalIdx[3], hospitalIdx[4], hospitalIdx[5]) = (257, 511, 512);
        address[] memory batch = new address[](6);
        for (uint256 i = 0; i < 6; ++i) batch[i] = all[hospitalIdx[i]];
        checkEq(report(HOSPITAL_GATEWAY, studyId, batch), 6, "hospital batch");
        address[] memory labBatch = new address[](2);
        (labBatch[0], labBatch[1]) = (all[255], all[256]);
        checkEq(report(LAB_GATEWAY, studyId, labBatch), 2, "lab batch");
        for (uint256 i = 0; i < count; ++i) {
            bool byHospital = i == 0 || i == 255 || i == 256 || i == 257 || i == 511 || i == 512;
            checkEq(escrow.isDelivered(studyId, all[i], HOSPITAL), byHospital, "hospital flag");
            checkEq(escrow.isDelivered(studyId, all[i], LAB), i == 255 || i == 256, "lab flag");
        }
        checkEq(report(HOSPITAL_GATEWAY, studyId, all), count - 6, "the rest");
        checkEq(report(HOSPITAL_GATEWAY, studyId, all), 0, "all again");
    }

    /// @dev A relayed join and leave by the patient's own signature; a replay fails.
    function testFuzz_signedJoinAndLeave(uint256 keyRaw, uint32 deadlineIn) public {
        uint256 key = bound(keyRaw, 1, 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140);
        address patient = vm.addr(key);
        uint256 studyId = createStudy(PRICE, 12, 10 ether);
        uint256 deadline = block.timestamp + deadlineIn;

        bytes memory joinSig = _sign(key, escrow.JOIN_TYPEHASH(), studyId, patient, 0, deadline);
        escrow.joinBySig(studyId, patient, deadline, joinSig);
        checkEq(
            uint8(escrow.getParticipant(studyId, patient).status),
            uint8(IStudyEscrow.ParticipantStatus.Joined),
            "joined"
        );
        vm.expectRevert(
            abi.encodeWithSelector(IEarningsEscrow.StudyEscrowInvalidSignature.selector, patient, uint64(1))
        );
        escrow.joinBySig(studyId, patient, deadline, joinSig);

        bytes memory leaveSig = _sign(key, escrow.LEAVE_TYPEHASH(), studyId, patient, 1, deadline);
        escrow.leaveBySig(studyId, patient, deadline, leaveSig);
        checkEq(
            uint8(escrow.getParticipant(studyId, patient).status),
            uint8(IStudyEscrow.ParticipantStatus.Left),
            "left"
        );
        checkEq(escrow.getParticipant(studyId, patient).nonce, 2, "nonce");
    }

    /// @dev Attack (security finding): a Join the patient signed, then a revoke-all or a signature
    /// cancellation of hers in the registry (directly or by signature), and a relayer submits the
    /// old Join: refused, since the Join binds the registry's revocation nonce; no consent for the
    /// study comes back. A Join signed after it joins.
    function testFuzz_registryRevocationVoidsJoinSignatures(uint256 keyRaw, uint8 way) public {
        uint256 studyId = createStudy(PRICE, 12, 10 ether);
        uint256 key = bound(keyRaw, 1, 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140);
        address patient = vm.addr(key);
        vm.assume(patient != RESEARCHER && patient != address(this) && patient.code.length == 0);
        uint256 deadline = block.timestamp + 1 days;
        bytes memory sig = _sign(key, escrow.JOIN_TYPEHASH(), studyId, patient, 0, deadline);
        voidSignaturesInRegistry(key, way, deadline);
        vm.expectRevert(
            abi.encodeWithSelector(IEarningsEscrow.StudyEscrowInvalidSignature.selector, patient, uint64(0))
        );
        escrow.joinBySig(studyId, patient, deadline, sig);
        (IConsentRegistry.Reason reason, ) = registry.scopeStatus(
            patient,
            RESEARCHER,
            escrow.studyKey(studyId),
            ConsentCodes.CAT_OBSERVATION
        );
        check(reason != IConsentRegistry.Reason.Allowed, "no consent for the study");
        checkEq(
            uint8(escrow.getParticipant(studyId, patient).status),
            uint8(IStudyEscrow.ParticipantStatus.None),
            "not joined"
        );
        // A Join signed after it joins.
        escrow.joinBySig(studyId, patient, deadline, _sign(key, escrow.JOIN_TYPEHASH(), studyId, patient, 0, deadline));
        checkEq(
            uint8(escrow.getParticipant(studyId, patient).status),
            uint8(IStudyEscrow.ParticipantStatus.Joined),
            "joined"
        );
    }

    /// @dev The faucet works on chain 31337 only.
    function testFuzz_faucetOnlyOnLocalChain(uint64 chainIdRaw, uint256 amount) public {
        uint256 chainId = chainIdRaw % 2 == 0 ? 31337 : bound(chainIdRaw, 1, type(uint32).max);
        amount = bound(amount, 1, token.FAUCET_MAX());
        vm.chainId(chainId);
        if (chainId != 31337) {
            vm.expectRevert(
                abi.encodeWithSelector(RemunerationToken.RemunerationTokenFaucetUnavailable.selector, chainId)
            );
        }
        vm.prank(patients[0]);
        token.faucet(amount);
        checkEq(token.balanceOf(patients[0]), chainId == 31337 ? amount : 0, "faucet balance");
    }

    function _sign(
        uint256 key,
        bytes32 typehash,
        uint256 studyId,
        address patient,
        uint64 nonce,
        uint256 deadline
    ) private view returns (bytes memory) {
        bytes32 structHash;
        if (typehash == escrow.JOIN_TYPEHASH()) {
            // A Join signs the study's terms as the escrow holds them.
            IStudyEscrow.Study memory study = escrow.getStudy(studyId);
            bytes32 termsHash = keccak256(
                abi.encode(
                    keccak256(
                        "Terms(address researcher,uint64 purpose,uint32 categories,uint128 price,uint40 endTime,bytes32 protocolHash)"
                    ),
                    study.researcher,
                    study.purpose,
                    study.categories,
                    study.price,
                    study.endTime,
                    study.protocolHash
                )
            );
            structHash = keccak256(
                abi.encode(typehash, studyId, patient, termsHash, registry.revocationNonce(patient), nonce, deadline)
            );
        } else {
            structHash = keccak256(abi.encode(typehash, studyId, patient, nonce, deadline));
        }
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", escrow.domainSeparator(), structHash));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }
}
