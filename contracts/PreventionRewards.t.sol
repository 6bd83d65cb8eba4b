// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IConsentRegistry} from "./interfaces/IConsentRegistry.sol";
import {IEarningsEscrow} from "./interfaces/IEarningsEscrow.sol";
import {IPreventionRewards} from "./interfaces/IPreventionRewards.sol";
import {ConsentCodes} from "./libraries/ConsentCodes.sol";
import {PreventionRewardsHandler} from "./test/PreventionRewardsHandler.sol";
import {PreventionRewardsSetup} from "./test/PreventionRewardsSetup.sol";
import {StudyEscrowHandler} from "./test/StudyEscrowHandler.sol";

/// @notice The shared accounting core's invariant for both of its escrows at once, under random
/// sequences of every action of both (StudyEscrowHandler on studies, PreventionRewardsHandler on
/// programmes, over the same token, registry and patients): each escrow's token balance is exactly
/// its unspent budgets plus its unwithdrawn balances plus what was sent to it directly and not yet
/// recovered; no patient is paid for a programme without its consent in force; a confirmation
/// (programme, patient, period) pays at most once; every report pays exactly what the model says.
/// forge-config: default.invariant.runs = 32
/// forge-config: default.invariant.depth = 60
contract PreventionRewardsInvariantTest is PreventionRewardsSetup {
    PreventionRewardsHandler internal handler;
    StudyEscrowHandler internal studyHandler;
    uint256[] internal programmeIds;
    uint256[] internal studyIds;

    function setUp() public override {
        super.setUp();
        // Patients 0-7 take part in studies, 8-15 in programmes: a revoke-all in the registry
        // ends every consent of a patient, which each handler's model follows for its own only.
        makePatients(16);
        address[] memory studyPatients = new address[](8);
        address[] memory programmePatients = new address[](8);
        for (uint256 i = 0; i < 8; ++i) {
            studyPatients[i] = patients[i];
            programmePatients[i] = patients[8 + i];
        }
        programmeIds.push(createProgramme(2 ether, 30 ether, 4));
        programmeIds.push(createProgramme(3 ether, 6 ether, 2));
        studyIds.push(createStudy(2 ether, 6, 40 ether));
        // A head start, so that early reports have patients to pay.
        for (uint256 i = 0; i < 4; ++i) optInAs(programmePatients[i], programmeIds[0]);
        for (uint256 i = 0; i < 4; ++i) joinAs(studyPatients[i], studyIds[0]);
        handler = new PreventionRewardsHandler(
            rewards,
            registry,
            token,
            PAYER,
            programmePatients,
            programmeIds,
            [HOSPITAL, LAB, OTHER_PROVIDER],
            [HOSPITAL_GATEWAY, LAB_GATEWAY, OTHER_GATEWAY],
            PATIENT_KEY_BASE + 8
        );
        studyHandler = new StudyEscrowHandler(
            escrow,
            registry,
            token,
            RESEARCHER,
            studyPatients,
            studyIds,
            [HOSPITAL, LAB, OTHER_PROVIDER],
            [HOSPITAL_GATEWAY, LAB_GATEWAY, OTHER_GATEWAY]
        );
        rewards.grantRole(rewards.GOVERNANCE_ROLE(), address(handler));
        escrow.grantRole(escrow.GOVERNANCE_ROLE(), address(studyHandler));
        escrow.setWithdrawFeeCap(token, 0.5 ether);
        token.grantRole(token.MINTER_ROLE(), address(handler));
        token.grantRole(token.MINTER_ROLE(), address(studyHandler));
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](2);
        targets[0] = address(handler);
        targets[1] = address(studyHandler);
    }

    function invariant_eachEscrowBalanceIsBudgetsPlusBalancesPlusDirectSends() public view {
        PreventionRewardsHandler.Ghosts memory g = handler.ghosts();
        uint256 budgets = 0;
        for (uint256 i = 0; i < programmeIds.length; ++i) budgets += rewards.getProgramme(programmeIds[i]).budget;
        uint256 balances = 0;
        for (uint256 i = 0; i < patients.length; ++i) balances += rewardBalance(patients[i]);
        checkEq(rewards.accounted(token), budgets + balances, "programmes: accounted != budgets + balances");
        checkEq(
            token.balanceOf(address(rewards)),
            budgets + balances + g.directSent - g.recovered,
            "programmes: balance != budgets + balances + direct sends - recovered"
        );

        StudyEscrowHandler.Ghosts memory s = studyHandler.ghosts();
        uint256 studyBudgets = escrow.getStudy(studyIds[0]).budget;
        uint256 studyBalances = balanceIn(HOSPITAL) + balanceIn(LAB) + balanceIn(OTHER_PROVIDER);
        for (uint256 i = 0; i < patients.length; ++i) studyBalances += balanceIn(patients[i]);
        checkEq(escrow.accounted(token), studyBudgets + studyBalances, "studies: accounted != budgets + balances");
        checkEq(
            token.balanceOf(address(escrow)),
            studyBudgets + studyBalances + s.directSent - s.recovered,
            "studies: balance != budgets + balances + direct sends - recovered"
        );
    }

    function invariant_noPaymentWithoutConsent() public view {
        checkEq(handler.ghosts().paidWithoutConsent, 0, "a patient was paid without the programme's consent");
        checkEq(studyHandler.ghosts().paidWithoutGrant, 0, "a patient was paid without an active research grant");
    }

    function invariant_confirmationPaysOncePerPeriod() public view {
        checkEq(handler.ghosts().paidTwice, 0, "a confirmation paid twice");
        checkEq(studyHandler.ghosts().paidTwice, 0, "a delivery paid twice");
    }

    function invariant_reportsAndWithdrawalsPayWhatTheModelSays() public view {
        PreventionRewardsHandler.Ghosts memory g = handler.ghosts();
        checkEq(g.paidOtherThanModel, 0, "a confirmation report or withdrawal paid other than the model");
        checkEq(g.unexpectedReverts, 0, "a programme action the model allows reverted");
        checkEq(g.recoveryMismatches, 0, "governance recovered other than the direct sends");
        StudyEscrowHandler.Ghosts memory s = studyHandler.ghosts();
        checkEq(s.paidOtherThanModel, 0, "a delivery report or withdrawal paid other than the model");
        checkEq(s.unexpectedReverts, 0, "a study action the model allows reverted");
        checkEq(s.recoveryMismatches, 0, "governance recovered other than the direct sends (studies)");
    }

    /// @dev Not vacuous: each run must have done things.
    function afterInvariant() public view {
        (uint256 kinds, uint256 total) = handler.progress();
        (uint256 studyKinds, uint256 studyTotal) = studyHandler.progress();
        check(kinds + studyKinds >= 2 && total + studyTotal >= 2, "the run did hardly anything");
    }

    /// @dev The handler and its model on a fixed script that reaches every action.
    function test_handlerScriptReachesEveryAction() public {
        for (uint256 i = 0; i < 8; ++i) handler.optIn(i, 0);
        handler.report(1, 12, 0, 0, 0);
        handler.report(1, 12, 1, 0, 0); // the same batch by the lab: all already paid
        handler.report(2, 12, 2, 0, 0); // a custodian the programme does not allow
        handler.report(3, 4, 0, 0, 1); // period 1 has not started: refused
        handler.optOut(1, 0);
        handler.revokeAll(2);
        handler.optIn(3, 1);
        handler.warp(20 days);
        handler.warp(20 days);
        handler.report(4, 12, 1, 0, 1); // period 1
        handler.report(5, 4, 0, 1, 1);
        handler.sendDirect(5 ether);
        for (uint256 i = 0; i < 3; ++i) handler.withdrawBySig(i);
        for (uint256 i = 0; i < 8; ++i) handler.withdraw(i);
        handler.recover();
        handler.recover(); // nothing left
        handler.fund(0, 10 ether);
        handler.cancel(1);
        handler.reclaim(1);
        for (uint256 i = 0; i < 5; ++i) handler.warp(20 days);
        handler.report(6, 4, 0, 0, 2); // after the end: refused
        handler.reclaim(0);
        PreventionRewardsHandler.Ghosts memory g = handler.ghosts();
        check(g.confirmationsPaid > 5, "confirmations paid");
        check(g.withdrawals > 4, "withdrawals");
        check(g.signedWithdrawals > 0, "signed withdrawals");
        checkEq(g.recovered, 5 ether, "recovered");
        checkEq(g.reports, 4, "reports accepted");
        checkEq(g.optIns, 9, "opt-ins");
        checkEq(g.optOuts, 1, "opt-outs");
        checkEq(g.funds, 1, "funds");
        checkEq(g.cancels, 1, "cancels");
        checkEq(g.reclaims, 2, "reclaims");
        (uint256 kinds, ) = handler.progress();
        checkEq(kinds, 9, "every kind of action succeeded");
        invariant_eachEscrowBalanceIsBudgetsPlusBalancesPlusDirectSends();
        invariant_noPaymentWithoutConsent();
        invariant_confirmationPaysOncePerPeriod();
        invariant_reportsAndWithdrawalsPayWhatTheModelSays();
    }
}

/// @notice Fuzz tests of single properties of programmes: pay once per patient and period, pay
/// only with the consent in force, never beyond the budget, the consent an opt-in creates.
contract PreventionRewardsFuzzTest is PreventionRewardsSetup {
    uint128 internal constant REWARD = 1 ether;

    function setUp() public override {
        super.setUp();
        makePatients(12);
    }

    /// @dev A batch with repeats pays each distinct opted-in patient once per period; the same
    /// batch again (by any custodian) pays nothing; the next period pays again.
    function testFuzz_confirmationPaysOncePerPeriod(uint256 seed, uint8 sizeRaw) public {
        uint256 programmeId = createProgramme(REWARD, 100 ether, 4);
        for (uint256 i = 0; i < patients.length; ++i) optInAs(patients[i], programmeId);
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
        checkEq(confirm(HOSPITAL_GATEWAY, programmeId, 0, batch), distinct, "first report");
        checkEq(confirm(LAB_GATEWAY, programmeId, 0, batch), 0, "retried by another custodian");
        vm.warp(block.timestamp + PERIOD);
        checkEq(confirm(LAB_GATEWAY, programmeId, 1, batch), distinct, "next period");
        for (uint256 k = 0; k < patients.length; ++k) {
            checkEq(rewardBalance(patients[k]), seen[k] ? 2 * REWARD : 0, "patient balance");
            checkEq(rewards.isConfirmed(programmeId, patients[k], 0), seen[k], "period 0 flag");
            checkEq(rewards.isConfirmed(programmeId, patients[k], 2), false, "period 2 flag");
        }
        checkEq(rewards.getProgramme(programmeId).budget, 100 ether - 2 * REWARD * distinct, "budget");
    }

    /// @dev Whatever each patient did (never opted in, opted in, out, revoked all, in again), a
    /// confirmation pays exactly those whose consent is in force.
    function testFuzz_noPaymentWithoutConsent(uint256 seed) public {
        uint256 programmeId = createProgramme(REWARD, 100 ether, 4);
        bytes32 key = rewards.programmeKey(programmeId);
        bool[] memory active = new bool[](patients.length);
        for (uint256 i = 0; i < patients.length; ++i) {
            address p = patients[i];
            uint256 story = rand(seed, i) % 6;
            if (story == 0) continue;
            optInAs(p, programmeId);
            active[i] = true;
            vm.prank(p);
            if (story == 2) {
                rewards.optOut(programmeId);
                active[i] = false;
            } else if (story == 3) {
                registry.revokeAll();
                active[i] = false;
            } else if (story == 4) {
                registry.revokeAll();
                optInAs(p, programmeId);
                active[i] = true;
            } else if (story == 5) {
                rewards.optOut(programmeId);
                optInAs(p, programmeId);
            } else {
                rewards.cancelSignatures(programmeId); // uses up the prank harmlessly
            }
        }
        confirm(LAB_GATEWAY, programmeId, 0, patients);
        for (uint256 i = 0; i < patients.length; ++i) {
            (IConsentRegistry.Reason reason, ) = registry.scopeStatus(
                patients[i],
                PAYER,
                key,
                ConsentCodes.CAT_IMMUNIZATION
            );
            checkEq(reason == IConsentRegistry.Reason.Allowed, active[i], "model of the consent");
            checkEq(rewardBalance(patients[i]), active[i] ? REWARD : 0, "paid iff the consent is in force");
        }
    }

    /// @dev A confirmation pays only for a period that ends after the patient's latest opt-in,
    /// whenever it opted in, and after an opt-out and a new opt-in (the review's L1).
    function testFuzz_noPayForAPeriodBeforeTheOptIn(uint32 firstRaw, uint32 againRaw, bool optOutAndIn) public {
        uint256 programmeId = createProgramme(REWARD, 100 ether, 4);
        // Times from the programme and the warps, never block.timestamp after a warp (via-IR may
        // re-read or keep it where the test does not expect).
        uint256 start = rewards.getProgramme(programmeId).firstPeriodStart;
        address patient = patients[0];
        uint256 optedInAt = start + bound(firstRaw, 0, 4 * PERIOD - 2);
        vm.warp(optedInAt);
        optInAs(patient, programmeId);
        if (optOutAndIn) {
            vm.prank(patient);
            rewards.optOut(programmeId);
            optedInAt += bound(againRaw, 0, start + 4 * PERIOD - 2 - optedInAt);
            vm.warp(optedInAt);
            optInAs(patient, programmeId);
        }
        checkEq(rewards.getEnrolment(programmeId, patient).optedInAt, optedInAt, "opt-in time");
        vm.warp(start + 4 * PERIOD - 1); // every period has started
        address[] memory batch = new address[](1);
        batch[0] = patient;
        uint256 paid = 0;
        for (uint32 period = 0; period < 4; ++period) {
            bool inProgramme = start + (uint256(period) + 1) * PERIOD > optedInAt;
            checkEq(confirm(HOSPITAL_GATEWAY, programmeId, period, batch), inProgramme ? 1 : 0, "paid iff in");
            checkEq(rewards.isConfirmed(programmeId, patient, period), inProgramme, "flag");
            if (inProgramme) ++paid;
        }
        checkEq(rewardBalance(patient), paid * REWARD, "balance");
        checkEq(paid, 4 - (optedInAt - start) / PERIOD, "periods from the opt-in's on");
    }

    /// @dev A report never pays beyond the budget, whatever the reward and the funding.
    function testFuzz_neverBeyondBudget(uint128 rewardRaw, uint8 fundedRaw, uint128 dust, uint8 patientsRaw) public {
        uint128 reward = uint128(bound(rewardRaw, 1, 1e24));
        uint256 funded = bound(fundedRaw, 0, 15);
        uint256 budget = reward * funded + bound(dust, 0, reward - 1);
        uint256 count = bound(patientsRaw, 1, patients.length);
        uint256 programmeId = createProgramme(reward, 0, 4);
        if (budget != 0) {
            vm.prank(PAYER);
            rewards.fund(programmeId, budget);
        }
        address[] memory batch = new address[](count);
        for (uint256 i = 0; i < count; ++i) {
            optInAs(patients[i], programmeId);
            batch[i] = patients[i];
        }
        uint256 paid = confirm(HOSPITAL_GATEWAY, programmeId, 0, batch);
        uint256 expected = count < funded ? count : funded;
        checkEq(paid, expected, "paid");
        checkEq(rewards.getProgramme(programmeId).budget, budget - reward * expected, "budget left");
        checkEq(rewards.accounted(token), budget, "accounted");
        checkEq(token.balanceOf(address(rewards)), budget, "rewards balance");
    }

    /// @dev The consent an opt-in creates: the payer, the criterion's category only, HPAYMT, the
    /// programme's end; a signed opt-in needs the patient's key and its current nonce.
    function testFuzz_optInConsentMatchesProgramme(uint256 keyRaw, uint32 deadlineIn) public {
        uint256 programmeId = createProgramme(REWARD, 10 ether, 4);
        uint256 key = bound(keyRaw, 1, 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140);
        address patient = vm.addr(key);
        vm.assume(patient != PAYER);
        uint256 deadline = block.timestamp + bound(deadlineIn, 0, 30 days);
        bytes memory sig = _signOptIn(key, programmeId, patient, 0, deadline);
        rewards.optInBySig(programmeId, patient, deadline, sig);
        IConsentRegistry.Grant memory grant = registry.getGrant(
            registry.grantIdOf(patient, PAYER, rewards.programmeKey(programmeId))
        );
        checkEq(grant.categories, uint256(1) << ConsentCodes.CAT_IMMUNIZATION, "categories");
        checkEq(grant.purpose, ConsentCodes.HPAYMT, "purpose");
        checkEq(grant.expiresAt, rewards.getProgramme(programmeId).endTime, "expiry");
        vm.expectRevert(
            abi.encodeWithSelector(IEarningsEscrow.StudyEscrowInvalidSignature.selector, patient, uint64(1))
        );
        rewards.optInBySig(programmeId, patient, deadline, sig);
        checkEq(
            uint8(rewards.getEnrolment(programmeId, patient).status),
            uint8(IPreventionRewards.EnrolmentStatus.OptedIn),
            "opted in"
        );
    }

    /// @dev Whether the patient revokes everything or cancels its signatures in the registry
    /// (directly or by a relayed signature), an opt-in signature given before no longer opts it
    /// in, and no consent for the programme exists afterwards (the review's L2).
    function testFuzz_registryRevocationVoidsOptInSignatures(uint256 keyRaw, uint8 way) public {
        uint256 programmeId = createProgramme(REWARD, 10 ether, 4);
        uint256 key = bound(keyRaw, 1, 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140);
        address patient = vm.addr(key);
        vm.assume(patient != PAYER && patient != address(this) && patient.code.length == 0);
        uint256 deadline = block.timestamp + 1 days;
        bytes memory sig = _signOptIn(key, programmeId, patient, 0, deadline);
        voidSignaturesInRegistry(key, way, deadline);
        vm.expectRevert(
            abi.encodeWithSelector(IEarningsEscrow.StudyEscrowInvalidSignature.selector, patient, uint64(0))
        );
        rewards.optInBySig(programmeId, patient, deadline, sig);
        (IConsentRegistry.Reason reason, ) = registry.scopeStatus(
            patient,
            PAYER,
            rewards.programmeKey(programmeId),
            ConsentCodes.CAT_IMMUNIZATION
        );
        check(reason != IConsentRegistry.Reason.Allowed, "no consent for the programme");
        checkEq(
            uint8(rewards.getEnrolment(programmeId, patient).status),
            uint8(IPreventionRewards.EnrolmentStatus.None),
            "not opted in"
        );
        // A signature given after it opts the patient in.
        rewards.optInBySig(programmeId, patient, deadline, _signOptIn(key, programmeId, patient, 0, deadline));
        checkEq(
            uint8(rewards.getEnrolment(programmeId, patient).status),
            uint8(IPreventionRewards.EnrolmentStatus.OptedIn),
            "opted in"
        );
    }

    function _signOptIn(
        uint256 key,
        uint256 programmeId,
        address patient,
        uint64 nonce,
        uint256 deadline
    ) private view returns (bytes memory) {
        IPreventionRewards.Programme memory p = rewards.getProgramme(programmeId);
        bytes32 terms = keccak256(
            abi.encode(
                keccak256(
                    "Terms(address payer,uint8 category,bytes32 codeSystem,bytes32 code,uint128 reward,address currency,uint40 endTime)"
                ),
                p.payer,
                p.category,
                p.codeSystem,
                p.code,
                p.reward,
                p.currency,
                p.endTime
            )
        );
        bytes32 structHash = keccak256(
            abi.encode(
                rewards.OPT_IN_TYPEHASH(),
                programmeId,
                patient,
                terms,
                registry.revocationNonce(patient),
                nonce,
                deadline
            )
        );
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", rewards.domainSeparator(), structHash));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }
}
