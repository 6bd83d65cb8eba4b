// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ConsentRegistry} from "../ConsentRegistry.sol";
import {IPreventionRewards} from "../interfaces/IPreventionRewards.sol";
import {PreventionRewards} from "../PreventionRewards.sol";
import {RemunerationToken} from "../RemunerationToken.sol";
import {TestBase} from "./TestBase.sol";

/// @notice Test harness (never deployed): the actions the invariant fuzzer drives against
/// PreventionRewards, as StudyEscrowHandler does against the StudyEscrow — opt-ins, opt-outs,
/// revoke-alls in the registry, confirmation reports by allowed and unallowed gateways for any
/// period, top-ups, cancellations, reclaims, withdrawals (direct and signed), tokens sent directly,
/// excess recovery and the passing of time — with ghost accounting against an independent model of
/// the consents (kept from the actions, never read from the registry). Violations are counted,
/// never reverted; an action the model allows that reverts is a violation.
/// @dev No immutables: EDR's invariant runner must recognize the deployed code as this artifact.
contract PreventionRewardsHandler is TestBase {
    PreventionRewards internal rewards;
    ConsentRegistry internal registry;
    RemunerationToken internal token;
    address internal payer;

    address[] internal patients;
    uint256[] internal programmes;
    /// @dev Custodians and their gateways; the last one is allowed in no programme.
    address[3] internal custodians;
    address[3] internal gateways;

    /// @notice Violations (each must stay 0) and progress counters.
    struct Ghosts {
        uint256 directSent;
        uint256 recovered;
        uint256 paidWithoutConsent;
        uint256 paidTwice;
        uint256 paidOtherThanModel;
        uint256 unexpectedReverts;
        uint256 recoveryMismatches;
        uint256 confirmationsPaid;
        uint256 withdrawals;
        uint256 reports;
        uint256 optIns;
        uint256 optOuts;
        uint256 funds;
        uint256 cancels;
        uint256 reclaims;
        uint256 signedWithdrawals;
    }

    Ghosts internal g;
    mapping(bytes32 confirmation => uint256 times) internal timesPaid;
    /// @dev The model: a patient's consent for a programme is in force iff it opted in and neither
    /// opted out nor revoked all since, and the programme has not ended (`modelEnd`).
    mapping(uint256 programmeId => mapping(address patient => bool)) internal modelConsent;
    mapping(uint256 programmeId => uint256) internal modelEnd;
    /// @dev The model: when each patient last opted in to each programme; a period that ended at
    /// or before it is never paid.
    mapping(uint256 programmeId => mapping(address patient => uint256)) internal modelOptedInAt;

    /// @dev The key of `patients[0]` (StudyEscrowSetup.makePatients: the patient made i-th signs
    /// with 0x9A7E00 + i); patient i of this handler signs with `keyBase + i`.
    uint256 internal keyBase;

    constructor(
        PreventionRewards rewards_,
        ConsentRegistry registry_,
        RemunerationToken token_,
        address payer_,
        address[] memory patients_,
        uint256[] memory programmes_,
        address[3] memory custodians_,
        address[3] memory gateways_,
        uint256 keyBase_
    ) {
        keyBase = keyBase_;
        rewards = rewards_;
        registry = registry_;
        token = token_;
        payer = payer_;
        patients = patients_;
        programmes = programmes_;
        custodians = custodians_;
        gateways = gateways_;
        for (uint256 p = 0; p < programmes_.length; ++p) {
            modelEnd[programmes_[p]] = rewards_.getProgramme(programmes_[p]).endTime;
            for (uint256 i = 0; i < patients_.length; ++i) {
                IPreventionRewards.Enrolment memory enrolment = rewards_.getEnrolment(programmes_[p], patients_[i]);
                modelConsent[programmes_[p]][patients_[i]] =
                    enrolment.status == IPreventionRewards.EnrolmentStatus.OptedIn;
                modelOptedInAt[programmes_[p]][patients_[i]] = enrolment.optedInAt;
            }
        }
    }

    /// @notice How many kinds of action succeeded at least once, and how many successes in all.
    function progress() external view returns (uint256 kinds, uint256 total) {
        uint256[9] memory counts = [
            g.optIns,
            g.optOuts,
            g.funds,
            g.cancels,
            g.reclaims,
            g.reports,
            g.withdrawals,
            g.confirmationsPaid,
            g.signedWithdrawals
        ];
        for (uint256 i = 0; i < counts.length; ++i) {
            if (counts[i] != 0) ++kinds;
            total += counts[i];
        }
    }

    function ghosts() external view returns (Ghosts memory) {
        return g;
    }

    // ------------------------------------------------------------------ actions

    function optIn(uint256 patientSeed, uint256 programmeSeed) external {
        address patient = _patient(patientSeed);
        uint256 programmeId = _programme(programmeSeed);
        bool open = block.timestamp < rewards.getProgramme(programmeId).endTime;
        vm.prank(patient);
        try rewards.optIn(programmeId) {
            ++g.optIns;
            modelConsent[programmeId][patient] = true;
            modelOptedInAt[programmeId][patient] = block.timestamp;
            if (!open) g.unexpectedReverts++;
        } catch {
            if (open) g.unexpectedReverts++;
        }
    }

    function optOut(uint256 patientSeed, uint256 programmeSeed) external {
        address patient = _patient(patientSeed);
        uint256 programmeId = _programme(programmeSeed);
        bool optedIn = rewards.getEnrolment(programmeId, patient).status == IPreventionRewards.EnrolmentStatus.OptedIn;
        vm.prank(patient);
        try rewards.optOut(programmeId) {
            ++g.optOuts;
            modelConsent[programmeId][patient] = false;
        } catch {
            if (optedIn) g.unexpectedReverts++;
        }
    }

    function revokeAll(uint256 patientSeed) external {
        address patient = _patient(patientSeed);
        vm.prank(patient);
        registry.revokeAll();
        for (uint256 p = 0; p < programmes.length; ++p) modelConsent[programmes[p]][patient] = false;
    }

    function fund(uint256 programmeSeed, uint256 amount) external {
        uint256 programmeId = _programme(programmeSeed);
        amount = bound(amount, 1, 100 ether);
        bool open = block.timestamp < rewards.getProgramme(programmeId).endTime;
        vm.prank(payer);
        try rewards.fund(programmeId, amount) {
            ++g.funds;
        } catch {
            if (open) g.unexpectedReverts++;
        }
    }

    function cancel(uint256 programmeSeed) external {
        uint256 programmeId = _programme(programmeSeed);
        bool open = block.timestamp < rewards.getProgramme(programmeId).endTime;
        vm.prank(payer);
        try rewards.cancelProgramme(programmeId) {
            ++g.cancels;
            modelEnd[programmeId] = block.timestamp;
        } catch {
            if (open) g.unexpectedReverts++;
        }
    }

    function reclaim(uint256 programmeSeed) external {
        uint256 programmeId = _programme(programmeSeed);
        IPreventionRewards.Programme memory programme = rewards.getProgramme(programmeId);
        bool due = block.timestamp >= programme.endTime && programme.budget != 0;
        uint256 held = token.balanceOf(payer);
        vm.prank(payer);
        try rewards.reclaim(programmeId) returns (uint256 amount) {
            ++g.reclaims;
            if (amount != programme.budget || token.balanceOf(payer) != held + amount) g.paidOtherThanModel++;
        } catch {
            if (due) g.unexpectedReverts++;
        }
    }

    function withdraw(uint256 patientSeed) external {
        address patient = _patient(patientSeed);
        uint256 owed = rewards.balanceOf(token, patient);
        uint256 held = token.balanceOf(patient);
        vm.prank(patient);
        try rewards.withdraw(token) returns (uint256 amount) {
            if (amount != owed || token.balanceOf(patient) != held + owed) g.paidOtherThanModel++;
            ++g.withdrawals;
        } catch {
            if (owed != 0) g.unexpectedReverts++;
        }
    }

    /// @notice A patient's signed withdrawal through the shared core, relayed by this handler for
    /// no fee (the cap is 0 here): the nonce is the patient's in programme 0.
    function withdrawBySig(uint256 patientSeed) external {
        uint256 index = patientSeed % patients.length;
        address patient = patients[index];
        uint256 owed = rewards.balanceOf(token, patient);
        uint256 deadline = block.timestamp + 1 hours;
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256(
                    "Withdraw(address patient,address token,uint256 fee,address relayer,uint64 nonce,uint256 deadline)"
                ),
                patient,
                token,
                uint256(0),
                address(this),
                rewards.getEnrolment(0, patient).nonce,
                deadline
            )
        );
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", rewards.domainSeparator(), structHash));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(keyBase + index, digest);
        uint256 held = token.balanceOf(patient);
        try rewards.withdrawBySig(token, patient, 0, deadline, abi.encodePacked(r, s, v)) returns (uint256 amount) {
            if (amount != owed || token.balanceOf(patient) != held + owed) g.paidOtherThanModel++;
            ++g.withdrawals;
            ++g.signedWithdrawals;
        } catch {
            if (owed != 0) g.unexpectedReverts++;
        }
    }

    function sendDirect(uint256 amount) external {
        amount = bound(amount, 1, 10 ether);
        token.mint(address(rewards), amount);
        g.directSent += amount;
    }

    function recover() external {
        uint256 expected = g.directSent - g.recovered;
        try rewards.recoverExcess(token, address(this)) returns (uint256 amount) {
            if (amount != expected) g.recoveryMismatches++;
            g.recovered += amount;
        } catch {
            if (expected != 0) g.recoveryMismatches++;
        }
    }

    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + bound(seconds_, 1, 20 days));
    }

    /// @notice A report of up to 12 confirmations (patients may repeat) by one custodian's gateway
    /// for a period up to the current one, checked against the model: a confirmation pays iff the
    /// patient is opted in, its period ends after its latest opt-in, is not yet paid (also earlier
    /// in the batch), the model's consent is in force, and the budget still covers the reward.
    function report(
        uint256 seed,
        uint256 size,
        uint256 custodianSeed,
        uint256 programmeSeed,
        uint256 periodSeed
    ) external {
        uint256 programmeId = _programme(programmeSeed);
        uint256 c = custodianSeed % 3;
        IPreventionRewards.Programme memory programme = rewards.getProgramme(programmeId);
        uint32 period = uint32(periodSeed % 4);
        address[] memory batch = new address[](bound(size, 1, 12));
        for (uint256 i = 0; i < batch.length; ++i) batch[i] = _patient(rand(seed, i));

        uint256 start = uint256(programme.firstPeriodStart) + uint256(period) * programme.periodLength;
        bool accepted =
            c < 2 && block.timestamp < programme.endTime && start <= block.timestamp && start < programme.endTime;
        uint256 budget = programme.budget;
        bool[] memory pays = new bool[](batch.length);
        uint256 expectedPaid = 0;
        for (uint256 i = 0; i < batch.length && accepted; ++i) {
            bool optedIn =
                rewards.getEnrolment(programmeId, batch[i]).status == IPreventionRewards.EnrolmentStatus.OptedIn;
            bool paid = rewards.isConfirmed(programmeId, batch[i], period);
            for (uint256 j = 0; j < i && !paid; ++j) paid = pays[j] && batch[j] == batch[i];
            bool consent = modelConsent[programmeId][batch[i]] && block.timestamp < modelEnd[programmeId];
            bool inProgramme = start + programme.periodLength > modelOptedInAt[programmeId][batch[i]];
            if (optedIn && inProgramme && !paid && consent && budget >= programme.reward) {
                pays[i] = true;
                budget -= programme.reward;
                ++expectedPaid;
            }
        }
        uint256[] memory before = new uint256[](batch.length);
        for (uint256 i = 0; i < batch.length; ++i) before[i] = rewards.balanceOf(token, batch[i]);

        vm.prank(gateways[c]);
        try rewards.reportConfirmations(programmeId, period, batch) returns (uint256 paidNow) {
            ++g.reports;
            if (!accepted || paidNow != expectedPaid) g.paidOtherThanModel++;
            if (rewards.getProgramme(programmeId).budget != budget) g.paidOtherThanModel++;
            _checkPatients(programmeId, period, batch, before, pays, programme.reward);
            g.confirmationsPaid += paidNow;
        } catch {
            if (accepted) g.unexpectedReverts++;
        }
    }

    // ------------------------------------------------------------------ model

    function _checkPatients(
        uint256 programmeId,
        uint32 period,
        address[] memory batch,
        uint256[] memory before,
        bool[] memory pays,
        uint256 reward
    ) private {
        for (uint256 i = 0; i < batch.length; ++i) {
            bool first = true;
            uint256 expectedPays = 0;
            for (uint256 j = 0; j < batch.length; ++j) {
                if (batch[j] != batch[i]) continue;
                if (j < i) first = false;
                if (pays[j]) ++expectedPays;
            }
            if (!first) continue; // each distinct patient once
            uint256 gained = rewards.balanceOf(token, batch[i]) - before[i];
            if (gained != expectedPays * reward) g.paidOtherThanModel++;
            if (gained != 0) {
                if (!(modelConsent[programmeId][batch[i]] && block.timestamp < modelEnd[programmeId])) {
                    g.paidWithoutConsent++;
                }
                bytes32 confirmation = keccak256(abi.encode(programmeId, batch[i], period));
                timesPaid[confirmation] += gained / reward;
                if (timesPaid[confirmation] > 1) g.paidTwice++;
            }
        }
    }

    function _patient(uint256 seed) private view returns (address) {
        return patients[seed % patients.length];
    }

    function _programme(uint256 seed) private view returns (uint256) {
        return programmes[seed % programmes.length];
    }
}
