// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ConsentRegistry} from "../ConsentRegistry.sol";
import {IStudyEscrow} from "../interfaces/IStudyEscrow.sol";
import {RemunerationToken} from "../RemunerationToken.sol";
import {StudyEscrow} from "../StudyEscrow.sol";
import {TestBase} from "./TestBase.sol";

/// @notice Test harness (never deployed): the actions the invariant fuzzer drives against the
/// StudyEscrow — joins, leaves, revocations in the registry, revoke-alls, delivery reports by
/// allowed and unallowed gateways, top-ups, cancellations, reclaims, withdrawals, tokens sent
/// directly, excess recovery and the passing of time — with ghost accounting. Each report is
/// checked against an independent model of what it must pay, including an independent model of the
/// research grants (kept here from the actions, never read from the registry); violations are
/// counted, never reverted (the fuzzer ignores reverting calls), and the invariants read the
/// counters. Every action counts its successes, and one the model says must succeed and reverts
/// is a violation: a regression that always reverts cannot pass.
/// @dev No immutables: EDR's invariant runner must recognize the deployed code as this artifact.
contract StudyEscrowHandler is TestBase {
    StudyEscrow internal escrow;
    ConsentRegistry internal registry;
    RemunerationToken internal token;
    address internal researcher;

    address[] internal patients;
    uint256[] internal studies;
    /// @dev Custodians and their gateways; the last one is allowed in no study.
    address[3] internal custodians;
    address[3] internal gateways;

    /// @notice The ghost accounting. Violations (each must stay 0): a patient paid without an
    /// active grant, a delivery paid twice, a report or withdrawal paying other than the model, an
    /// action the model allows reverting, a recovery other than the direct sends. Progress: how
    /// many deliveries were paid, withdrawals made, reports accepted.
    struct Ghosts {
        uint256 directSent;
        uint256 recovered;
        uint256 paidWithoutGrant;
        uint256 paidTwice;
        uint256 paidOtherThanModel;
        uint256 unexpectedReverts;
        uint256 recoveryMismatches;
        uint256 deliveriesPaid;
        uint256 withdrawals;
        uint256 reports;
        uint256 joins;
        uint256 leaves;
        uint256 funds;
        uint256 cancels;
        uint256 reclaims;
        uint256 signedWithdrawals;
        uint256 relayerFees;
        uint256 sponsorships;
        uint256 sponsorReclaims;
    }

    Ghosts internal g;
    mapping(bytes32 delivery => uint256 times) internal timesPaid;
    /// @dev The independent model of grants: a patient's research grant for a study is in force
    /// iff it joined (directly) and neither left, revoked it nor revoked all since, and the study
    /// has not ended (`modelEnd`, moved to the cancellation time by a cancel).
    mapping(uint256 studyId => mapping(address patient => bool)) internal modelGranted;
    mapping(uint256 studyId => uint256) internal modelEnd;
    /// @dev Two third-party sponsors; what each put in a study and has not reclaimed, and whether
    /// the researcher reclaimed its part of a study.
    address internal constant SPONSOR_A = address(0x5905);
    address internal constant SPONSOR_B = address(0x5906);
    mapping(uint256 studyId => mapping(address sponsor => uint256)) internal modelSponsored;
    /// @dev All ever put into a study (its budget at the start, then funds and sponsorships): while
    /// the study is open, its budget below this means some is spent, and then a sponsored study
    /// takes no more money.
    mapping(uint256 studyId => uint256) internal modelFunded;
    mapping(uint256 studyId => bool) internal researcherReclaimed;

    /// @dev The patients' keys (StudyEscrowSetup.makePatients): patient i signs with BASE + i.
    uint256 internal constant PATIENT_KEY_BASE = 0x9A7E00;

    constructor(
        StudyEscrow escrow_,
        ConsentRegistry registry_,
        RemunerationToken token_,
        address researcher_,
        address[] memory patients_,
        uint256[] memory studies_,
        address[3] memory custodians_,
        address[3] memory gateways_
    ) {
        escrow = escrow_;
        registry = registry_;
        token = token_;
        researcher = researcher_;
        patients = patients_;
        studies = studies_;
        custodians = custodians_;
        gateways = gateways_;
        // Joins before the handler (the setup's head start) are in the model from the escrow's own
        // participant records; from here on the model follows only the actions.
        for (uint256 s = 0; s < studies_.length; ++s) {
            modelEnd[studies_[s]] = escrow_.getStudy(studies_[s]).endTime;
            modelFunded[studies_[s]] = escrow_.getStudy(studies_[s]).budget;
            for (uint256 p = 0; p < patients_.length; ++p) {
                modelGranted[studies_[s]][patients_[p]] =
                    escrow_.getParticipant(studies_[s], patients_[p]).status == IStudyEscrow.ParticipantStatus.Joined;
            }
        }
    }

    /// @notice How many kinds of action succeeded at least once in this run, and how many
    /// successes in all (the invariant test's end-of-run check: a run that did nothing fails).
    function progress() external view returns (uint256 kinds, uint256 total) {
        uint256[11] memory counts = [
            g.joins,
            g.leaves,
            g.funds,
            g.cancels,
            g.reclaims,
            g.reports,
            g.withdrawals,
            g.deliveriesPaid,
            g.signedWithdrawals,
            g.sponsorships,
            g.sponsorReclaims
        ];
        for (uint256 i = 0; i < counts.length; ++i) {
            if (counts[i] != 0) ++kinds;
            total += counts[i];
        }
    }

    /// @notice The ghost accounting (one view, so that the fuzzer spends its calls on actions).
    function ghosts() external view returns (Ghosts memory) {
        return g;
    }

    // ------------------------------------------------------------------ actions

    function join(uint256 patientSeed, uint256 studySeed) external {
        address patient = _patient(patientSeed);
        uint256 studyId = _study(studySeed);
        IStudyEscrow.Study memory study = escrow.getStudy(studyId);
        bool joined = escrow.getParticipant(studyId, patient).status == IStudyEscrow.ParticipantStatus.Joined;
        bool allowed =
            block.timestamp < study.enrolmentDeadline && (joined || study.participants < study.maxParticipants);
        vm.prank(patient);
        try escrow.join(studyId) {
            ++g.joins;
            modelGranted[studyId][patient] = true;
            if (!allowed) g.unexpectedReverts++; // a join the model refuses went through
        } catch {
            if (allowed) g.unexpectedReverts++;
        }
    }

    function leave(uint256 patientSeed, uint256 studySeed) external {
        address patient = _patient(patientSeed);
        uint256 studyId = _study(studySeed);
        bool joined = escrow.getParticipant(studyId, patient).status == IStudyEscrow.ParticipantStatus.Joined;
        uint32 places = escrow.getStudy(studyId).participants;
        vm.prank(patient);
        try escrow.leave(studyId) {
            ++g.leaves;
            modelGranted[studyId][patient] = false;
            if (escrow.getStudy(studyId).participants != places - 1) g.unexpectedReverts++; // the place is freed
        } catch {
            if (joined) g.unexpectedReverts++;
        }
    }

    function revokeInRegistry(uint256 patientSeed, uint256 studySeed) external {
        address patient = _patient(patientSeed);
        bytes32 key = escrow.studyKey(_study(studySeed));
        vm.prank(patient);
        try registry.revoke(researcher, key) {
            modelGranted[_study(studySeed)][patient] = false;
        } catch {}
    }

    function revokeAll(uint256 patientSeed) external {
        address patient = _patient(patientSeed);
        vm.prank(patient);
        registry.revokeAll();
        for (uint256 s = 0; s < studies.length; ++s) modelGranted[studies[s]][patient] = false;
    }

    function fund(uint256 studySeed, uint256 amount) external {
        uint256 studyId = _study(studySeed);
        amount = bound(amount, 1, 100 ether);
        IStudyEscrow.Study memory study = escrow.getStudy(studyId);
        bool sponsored = modelSponsored[studyId][SPONSOR_A] + modelSponsored[studyId][SPONSOR_B] != 0;
        bool allowed = block.timestamp < study.endTime && (!sponsored || study.budget == modelFunded[studyId]);
        vm.prank(researcher);
        try escrow.fund(studyId, amount) {
            ++g.funds;
            modelFunded[studyId] += amount;
            if (!allowed) g.paidOtherThanModel++;
        } catch {
            if (allowed) g.unexpectedReverts++;
        }
    }

    function cancel(uint256 studySeed) external {
        uint256 studyId = _study(studySeed);
        bool open = block.timestamp < escrow.getStudy(studyId).endTime;
        vm.prank(researcher);
        try escrow.cancelStudy(studyId) {
            ++g.cancels;
            modelEnd[studyId] = block.timestamp;
        } catch {
            if (open) g.unexpectedReverts++;
        }
    }

    /// @notice The researcher's reclaim: all the unspent budget while no sponsor has a part in it,
    /// never more than the budget otherwise.
    function reclaim(uint256 studySeed) external {
        uint256 studyId = _study(studySeed);
        IStudyEscrow.Study memory study = escrow.getStudy(studyId);
        bool due = block.timestamp >= study.endTime && study.budget != 0 && !researcherReclaimed[studyId];
        bool sponsored = modelSponsored[studyId][SPONSOR_A] + modelSponsored[studyId][SPONSOR_B] != 0;
        uint256 held = token.balanceOf(researcher);
        vm.prank(researcher);
        try escrow.reclaim(studyId) returns (uint256 amount) {
            ++g.reclaims;
            researcherReclaimed[studyId] = true;
            if (sponsored ? amount > study.budget : amount != study.budget) g.paidOtherThanModel++;
            if (token.balanceOf(researcher) != held + amount) g.paidOtherThanModel++;
        } catch {
            if (due) g.unexpectedReverts++;
        }
    }

    /// @notice A third party sponsors an open study (with tokens the researcher hands it).
    function sponsor(uint256 studySeed, uint256 sponsorSeed, uint256 amount) external {
        uint256 studyId = _study(studySeed);
        address who = sponsorSeed % 2 == 0 ? SPONSOR_A : SPONSOR_B;
        amount = bound(amount, 1, 100 ether);
        IStudyEscrow.Study memory study = escrow.getStudy(studyId);
        bool allowed = block.timestamp < study.endTime && study.budget == modelFunded[studyId];
        vm.prank(researcher);
        token.transfer(who, amount);
        vm.prank(who);
        token.approve(address(escrow), amount);
        vm.prank(who);
        try escrow.sponsor(studyId, amount) {
            ++g.sponsorships;
            modelSponsored[studyId][who] += amount;
            modelFunded[studyId] += amount;
            if (!allowed) g.paidOtherThanModel++;
        } catch {
            if (allowed) g.unexpectedReverts++;
        }
    }

    /// @notice A sponsor takes back its part of the unspent budget: never more than the budget, all
    /// of it when it is the last funder with a part.
    function reclaimSponsorship(uint256 studySeed, uint256 sponsorSeed) external {
        uint256 studyId = _study(studySeed);
        address who = sponsorSeed % 2 == 0 ? SPONSOR_A : SPONSOR_B;
        IStudyEscrow.Study memory study = escrow.getStudy(studyId);
        uint256 share = modelSponsored[studyId][who];
        bool due = block.timestamp >= study.endTime && share != 0;
        bool last =
            (researcherReclaimed[studyId] || study.budget == 0) &&
                modelSponsored[studyId][who == SPONSOR_A ? SPONSOR_B : SPONSOR_A] == 0;
        uint256 held = token.balanceOf(who);
        vm.prank(who);
        try escrow.reclaimSponsorship(studyId) returns (uint256 amount) {
            ++g.sponsorReclaims;
            modelSponsored[studyId][who] = 0;
            if (last ? amount != study.budget : amount > study.budget) g.paidOtherThanModel++;
            if (token.balanceOf(who) != held + amount) g.paidOtherThanModel++;
        } catch {
            if (due) g.unexpectedReverts++;
        }
    }

    function withdraw(uint256 accountSeed) external {
        address account = accountSeed % 4 == 0 ? custodians[(accountSeed >> 2) % 3] : _patient(accountSeed >> 2);
        uint256 owed = escrow.balanceOf(token, account);
        uint256 held = token.balanceOf(account);
        vm.prank(account);
        try escrow.withdraw(token) returns (uint256 amount) {
            if (amount != owed || token.balanceOf(account) != held + owed) g.paidOtherThanModel++;
            ++g.withdrawals;
        } catch {
            if (owed != 0) g.unexpectedReverts++;
        }
    }

    /// @notice A patient's signed withdrawal, relayed by this handler for a fee up to the cap:
    /// the patient gets its balance less the fee, the relayer the fee, and the escrow pays out
    /// exactly the balance (the accounting invariant holds). The model allows it iff the balance
    /// is above the fee.
    function withdrawBySig(uint256 patientSeed, uint256 fee) external {
        uint256 index = patientSeed % patients.length;
        address patient = patients[index];
        uint256 owed = escrow.balanceOf(token, patient);
        fee = bound(fee, 0, escrow.withdrawFeeCap(token));
        uint256 deadline = block.timestamp + 1 hours;
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256(
                    "Withdraw(address patient,address token,uint256 fee,address relayer,uint64 nonce,uint256 deadline)"
                ),
                patient,
                token,
                fee,
                address(this),
                escrow.getParticipant(0, patient).nonce,
                deadline
            )
        );
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", escrow.domainSeparator(), structHash));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(PATIENT_KEY_BASE + index, digest);
        uint256 held = token.balanceOf(patient);
        uint256 relayerHeld = token.balanceOf(address(this));
        try escrow.withdrawBySig(token, patient, fee, deadline, abi.encodePacked(r, s, v)) returns (uint256 amount) {
            if (
                amount != owed ||
                token.balanceOf(patient) != held + owed - fee ||
                token.balanceOf(address(this)) != relayerHeld + fee
            ) g.paidOtherThanModel++;
            ++g.withdrawals;
            ++g.signedWithdrawals;
            g.relayerFees += fee;
        } catch {
            if (owed > fee) g.unexpectedReverts++;
        }
    }

    function sendDirect(uint256 amount) external {
        amount = bound(amount, 1, 10 ether);
        token.mint(address(escrow), amount);
        g.directSent += amount;
    }

    function recover() external {
        uint256 expected = g.directSent - g.recovered;
        try escrow.recoverExcess(token, address(this)) returns (uint256 amount) {
            if (amount != expected) g.recoveryMismatches++;
            g.recovered += amount;
        } catch {
            if (expected != 0) g.recoveryMismatches++;
        }
    }

    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + bound(seconds_, 1, 1 days));
    }

    /// @notice A report of up to 12 deliveries (patients may repeat) by one custodian's gateway,
    /// checked against the model: a delivery pays iff the patient is a current participant, this
    /// custodian's delivery of it is not yet paid (also earlier in the batch), the registry says its
    /// research grant is in force now, and the budget still covers the price.
    function report(uint256 seed, uint256 size, uint256 custodianSeed, uint256 studySeed) external {
        uint256 studyId = _study(studySeed);
        uint256 c = custodianSeed % 3;
        address[] memory batch = new address[](bound(size, 1, 12));
        for (uint256 i = 0; i < batch.length; ++i) batch[i] = _patient(rand(seed, i));

        Expectation memory e = _expect(studyId, c, batch);
        uint256[] memory before = new uint256[](batch.length);
        for (uint256 i = 0; i < batch.length; ++i) before[i] = escrow.balanceOf(token, batch[i]);
        uint256 custodianBefore = escrow.balanceOf(token, custodians[c]);

        vm.prank(gateways[c]);
        try escrow.reportDeliveries(studyId, batch) returns (uint256 paid, uint256 custodianAmount) {
            ++g.reports;
            if (!e.accepted || paid != e.paid || custodianAmount != e.share * paid) g.paidOtherThanModel++;
            if (escrow.getStudy(studyId).budget != e.budgetAfter) g.paidOtherThanModel++;
            if (escrow.balanceOf(token, custodians[c]) != custodianBefore + custodianAmount) g.paidOtherThanModel++;
            _checkPatients(studyId, c, batch, before, e);
            g.deliveriesPaid += paid;
        } catch {
            if (e.accepted) g.unexpectedReverts++;
        }
    }

    // ------------------------------------------------------------------ model

    struct Expectation {
        bool accepted;
        uint256 paid;
        uint256 share;
        uint256 patientAmount;
        uint256 budgetAfter;
        bool[] pays;
        bool[] granted;
    }

    function _expect(uint256 studyId, uint256 c, address[] memory batch) private view returns (Expectation memory e) {
        IStudyEscrow.Study memory study = escrow.getStudy(studyId);
        e.pays = new bool[](batch.length);
        e.granted = new bool[](batch.length);
        e.budgetAfter = study.budget;
        e.accepted = c < 2 && block.timestamp < study.endTime;
        if (!e.accepted) return e;
        e.share = c == 0 ? (uint256(study.price) * 1_000) / 10_000 : 0;
        e.patientAmount = study.price - e.share;
        for (uint256 i = 0; i < batch.length; ++i) {
            // The handler's own model of grants, not the registry function the escrow asks.
            e.granted[i] = modelGranted[studyId][batch[i]] && block.timestamp < modelEnd[studyId];
            bool joined = escrow.getParticipant(studyId, batch[i]).status == IStudyEscrow.ParticipantStatus.Joined;
            bool delivered = escrow.isDelivered(studyId, batch[i], custodians[c]);
            for (uint256 j = 0; j < i && !delivered; ++j) delivered = e.pays[j] && batch[j] == batch[i];
            if (joined && !delivered && e.granted[i] && e.budgetAfter >= study.price) {
                e.pays[i] = true;
                e.budgetAfter -= study.price;
                ++e.paid;
            }
        }
    }

    function _checkPatients(
        uint256 studyId,
        uint256 c,
        address[] memory batch,
        uint256[] memory before,
        Expectation memory e
    ) private {
        for (uint256 i = 0; i < batch.length; ++i) {
            bool first = true;
            uint256 expectedPays = 0;
            for (uint256 j = 0; j < batch.length; ++j) {
                if (batch[j] != batch[i]) continue;
                if (j < i) first = false;
                if (e.pays[j]) ++expectedPays;
            }
            if (!first) continue; // each distinct patient once
            uint256 gained = escrow.balanceOf(token, batch[i]) - before[i];
            if (gained != expectedPays * e.patientAmount) g.paidOtherThanModel++;
            if (gained != 0 && e.patientAmount != 0) {
                if (!e.granted[i]) g.paidWithoutGrant++;
                bytes32 delivery = keccak256(abi.encode(studyId, batch[i], custodians[c]));
                timesPaid[delivery] += gained / e.patientAmount;
                if (timesPaid[delivery] > 1) g.paidTwice++;
            }
        }
    }

    function _patient(uint256 seed) private view returns (address) {
        return patients[seed % patients.length];
    }

    function _study(uint256 seed) private view returns (uint256) {
        return studies[seed % studies.length];
    }
}
