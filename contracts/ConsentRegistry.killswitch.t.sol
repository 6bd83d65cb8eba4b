// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IConsentRegistry} from "./interfaces/IConsentRegistry.sol";
import {ConsentCodes} from "./libraries/ConsentCodes.sol";
import {ConsentFixture} from "./test/ConsentFixture.sol";
import {ConsentModel} from "./test/ConsentModel.sol";
import {StudyEscrowSetup} from "./test/StudyEscrowSetup.sol";

/// @notice The attacks of issue 11 on the registry's withdrawals of consent, each performed and
/// shown to fail: revoke-all is a kill switch (grants, delegates, outstanding signatures, from the
/// next block; item 2), a signed revocation never fails because of a grant signature (item 12), a
/// revoke-all by any path voids earlier signatures (item 6), a DS grant for one disease never
/// replaces one for another (item 11), a cancelled study's grants end at once (item 7).
contract ConsentRegistryKillSwitchTest is ConsentFixture {
    address internal constant RELAYER = address(0x4E1A);
    address internal constant DELEGATE = address(0xDE1E);
    address internal constant OTHER_DELEGATE = address(0xDE1F);

    uint32 internal constant CATEGORIES = 0x3ff;
    uint8 internal constant OBSERVATION = 1;
    uint32 internal constant ONLY_OBSERVATION = uint32(1) << OBSERVATION;

    // ------------------------------------------------------------------ item 2: delegates

    /// @dev The attack: after the patient's revoke-all, a delegate grants again at once. Now the
    /// revoke-all ends the appointment: the delegate can no longer grant, revoke or revoke-all.
    function testFuzz_revokeAll_endsEveryDelegate(uint8 how, uint40 term) public {
        address patient = patients[0];
        uint40 expiresAt = uint40(block.timestamp + 1 + (term % (5 * 365 days)));
        vm.prank(patient);
        registry.appointDelegate(DELEGATE, expiresAt);
        vm.prank(patient);
        registry.appointDelegate(OTHER_DELEGATE, 0);
        vm.prank(DELEGATE);
        registry.grantFor(patient, orgs[0], CATEGORIES, ConsentCodes.TREAT, 0, uint40(block.timestamp + 30 days));

        // One action of any of the three kinds: by the patient, by a delegate, by one relayed signature.
        uint256 kind = how % 3;
        if (kind == 0) {
            revokeAll(patient);
        } else if (kind == 1) {
            vm.prank(DELEGATE);
            registry.revokeAllFor(patient);
        } else {
            uint256 deadline = block.timestamp + 1 hours;
            bytes memory signature = signDigest(
                patientKeys[0],
                digestOf(address(registry), revokeAllStructHash(patient, 0, deadline))
            );
            vm.prank(RELAYER);
            registry.revokeAllBySig(patient, deadline, signature);
        }
        vm.warp(block.timestamp + 12);

        checkEq(registry.delegateExpiry(patient, DELEGATE), 0, "a delegate appointed before revoke-all still acts");
        checkEq(registry.delegateExpiry(patient, OTHER_DELEGATE), 0, "a delegate without end survives revoke-all");
        address[2] memory former = [DELEGATE, OTHER_DELEGATE];
        for (uint256 i = 0; i < 2; ++i) {
            bytes memory notDelegate = abi.encodeWithSelector(
                IConsentRegistry.ConsentRegistryNotDelegate.selector,
                patient,
                former[i]
            );
            vm.prank(former[i]);
            (bool ok, bytes memory data) = address(registry).call(
                abi.encodeCall(
                    IConsentRegistry.grantFor,
                    (patient, orgs[2], CATEGORIES, ConsentCodes.GRU, 0, uint40(block.timestamp + 365 days))
                )
            );
            check(!ok, "a former delegate granted after revoke-all");
            checkEq(data, notDelegate, "grantFor by a former delegate");
            vm.prank(former[i]);
            (ok, data) = address(registry).call(abi.encodeCall(IConsentRegistry.revokeAllFor, (patient)));
            check(!ok, "a former delegate acted after revoke-all");
            checkEq(data, notDelegate, "revokeAllFor by a former delegate");
        }
        (bool allowed, ) = registry.mayUse(patient, orgs[2], ConsentCodes.GRU, OBSERVATION);
        check(!allowed, "a former delegate's grant passes");
        (allowed, ) = registry.mayUse(patient, orgs[0], ConsentCodes.TREAT, OBSERVATION);
        check(!allowed, "a delegate's grant made before revoke-all passes");

        // The patient may appoint again: a new appointment acts.
        vm.prank(patient);
        registry.appointDelegate(DELEGATE, 0);
        vm.prank(DELEGATE);
        registry.grantFor(patient, orgs[0], CATEGORIES, ConsentCodes.TREAT, 0, uint40(block.timestamp + 30 days));
        (allowed, ) = registry.mayUse(patient, orgs[0], ConsentCodes.TREAT, OBSERVATION);
        check(allowed, "a delegate appointed after revoke-all cannot grant");
    }

    // ------------------------------------------------------------------ items 2 and 6: signatures

    /// @dev The attack: a relayer holds the patient's signed grant; the patient revokes everything
    /// (directly, or through a delegate); the relayer submits the signature and the grant is back.
    /// Now every revoke-all voids every outstanding signature.
    function testFuzz_revokeAll_voidsOutstandingGrantSignature(bool byDelegate, uint32 wait) public {
        address patient = patients[1];
        uint256 deadline = block.timestamp + 1 days;
        uint40 expiresAt = uint40(block.timestamp + 365 days);
        bytes memory grantSig = signDigest(
            patientKeys[1],
            digestOf(
                address(registry),
                grantStructHash(patient, orgs[2], CATEGORIES, ConsentCodes.GRU, 0, expiresAt, 0, deadline)
            )
        );
        if (byDelegate) {
            vm.prank(patient);
            registry.appointDelegate(DELEGATE, 0);
            vm.prank(DELEGATE);
            registry.revokeAllFor(patient);
        } else {
            revokeAll(patient);
        }
        vm.warp(block.timestamp + (wait % 1 days));
        vm.prank(RELAYER);
        (bool ok, bytes memory data) = address(registry).call(
            abi.encodeCall(
                IConsentRegistry.grantBySig,
                (patient, orgs[2], CATEGORIES, ConsentCodes.GRU, 0, expiresAt, deadline, grantSig)
            )
        );
        check(!ok, "a grant signed before revoke-all re-granted after it");
        checkEq(
            data,
            abi.encodeWithSelector(IConsentRegistry.ConsentRegistryInvalidSignature.selector, patient, uint64(1)),
            "outstanding grant signature after revoke-all"
        );
        (bool allowed, ) = registry.mayUse(patient, orgs[2], ConsentCodes.GRU, OBSERVATION);
        check(!allowed, "the re-grant passes");
    }

    /// @dev The attack (item 6): the patient signs a grant update that a relayer keeps; the
    /// patient's delegate (or the patient, by a relayed signature) revokes the grant; the relayer
    /// submits the kept signature and the consent is back. Now that revocation voids it.
    function testFuzz_revokeByDelegateOrSignature_voidsEarlierGrantSignature(bool bySignature) public {
        address patient = patients[1];
        uint256 key = patientKeys[1];
        uint256 deadline = block.timestamp + 1 days;
        uint40 expiresAt = uint40(block.timestamp + 365 days);
        vm.prank(patient);
        registry.grant(orgs[2], CATEGORIES, ConsentCodes.GRU, 0, expiresAt);
        vm.prank(patient);
        registry.appointDelegate(DELEGATE, 0);
        bytes memory kept = signDigest(
            key,
            digestOf(
                address(registry),
                grantStructHash(patient, orgs[2], CATEGORIES, ConsentCodes.GRU, 0, expiresAt, 0, deadline)
            )
        );
        bytes32 scope = ConsentModel.purposeScope(ConsentCodes.GRU);
        if (bySignature) {
            // Signed after the grant signature, at the patient's revocation nonce (0 in both designs).
            bytes memory revokeSig = signDigest(
                key,
                digestOf(address(registry), revokeStructHash(patient, orgs[2], scope, 0, deadline))
            );
            vm.prank(RELAYER);
            registry.revokeBySig(patient, orgs[2], scope, deadline, revokeSig);
        } else {
            vm.prank(DELEGATE);
            registry.revokeFor(patient, orgs[2], scope);
        }
        vm.prank(RELAYER);
        (bool ok, ) = address(registry).call(
            abi.encodeCall(
                IConsentRegistry.grantBySig,
                (patient, orgs[2], CATEGORIES, ConsentCodes.GRU, 0, expiresAt, deadline, kept)
            )
        );
        check(!ok, "a grant signed before the revocation re-granted after it");
        (bool allowed, ) = registry.mayUse(patient, orgs[2], ConsentCodes.GRU, OBSERVATION);
        check(!allowed, "the revoked consent passes again");
    }

    // ------------------------------------------------------------------ item 12: revocation lane

    /// @dev The attack: the patient signs a grant (an update) and then a revocation; the relayer
    /// submits the grant first, consuming the one shared nonce, and the signed revocation fails.
    /// Now revocations have a nonce lane of their own: each signed revocation still works.
    function testFuzz_signedRevocation_neverFailsBecauseOfAGrantSignature(uint8 which) public {
        address patient = patients[2];
        uint256 key = patientKeys[2];
        uint256 deadline = block.timestamp + 1 hours;
        uint40 expiresAt = uint40(block.timestamp + 365 days);
        vm.prank(patient);
        registry.grant(orgs[0], CATEGORIES, ConsentCodes.TREAT, 0, expiresAt);

        // Both signed while the patient's nonces are 0: the grant update, then the revocation.
        bytes memory grantSig = signDigest(
            key,
            digestOf(
                address(registry),
                grantStructHash(patient, orgs[0], ONLY_OBSERVATION, ConsentCodes.TREAT, 0, expiresAt, 0, deadline)
            )
        );
        bytes32 scope = ConsentModel.purposeScope(ConsentCodes.TREAT);
        uint256 kind = which % 3;
        bytes32 structHash =
            kind == 0
                ? revokeStructHash(patient, orgs[0], scope, 0, deadline)
                : (
                    kind == 1
                        ? revokeAllStructHash(patient, 0, deadline)
                        : cancelSignaturesStructHash(patient, 0, deadline)
                );
        bytes memory revocationSig = signDigest(key, digestOf(address(registry), structHash));

        // The relayer front-runs with the grant signature.
        vm.prank(RELAYER);
        registry.grantBySig(patient, orgs[0], ONLY_OBSERVATION, ConsentCodes.TREAT, 0, expiresAt, deadline, grantSig);

        bytes memory call =
            kind == 0
                ? abi.encodeCall(IConsentRegistry.revokeBySig, (patient, orgs[0], scope, deadline, revocationSig))
                : (
                    kind == 1
                        ? abi.encodeCall(IConsentRegistry.revokeAllBySig, (patient, deadline, revocationSig))
                        : abi.encodeCall(IConsentRegistry.cancelSignaturesBySig, (patient, deadline, revocationSig))
                );
        vm.prank(RELAYER);
        (bool ok, bytes memory data) = address(registry).call(call);
        if (!ok) revert(string.concat("a signed revocation failed after a grant signature: ", string(data)));
        (bool allowed, ) = registry.mayUse(patient, orgs[0], ConsentCodes.TREAT, OBSERVATION);
        check(allowed == (kind == 2), "the signed revocation did not take effect");
    }

    // ------------------------------------------------------------------ item 11: DS per disease

    /// @dev The attack: a DS grant for one disease silently replaces the patient's DS grant for
    /// another. Now each disease is its own grant: both pass, each for its own disease only, and
    /// revoking one leaves the other.
    function testFuzz_dsGrant_perDisease(uint32 diseaseA, uint32 diseaseB, bool restricted) public {
        diseaseA = uint32(bound(diseaseA, 1, type(uint32).max));
        diseaseB = uint32(bound(diseaseB, 1, type(uint32).max));
        if (diseaseA == diseaseB) diseaseB = diseaseA == 1 ? 2 : diseaseA - 1;
        address patient = patients[0];
        address researcher = orgs[2];
        uint40 expiresAt = uint40(block.timestamp + 365 days);
        uint64 flags = restricted ? uint64(0x100) : 0; // a restriction flag is no different consent
        uint64 dsA = ConsentCodes.DS | (uint64(diseaseA) << 16);
        uint64 dsB = ConsentCodes.DS | (uint64(diseaseB) << 16);
        vm.prank(patient);
        bytes32 idA = registry.grant(researcher, CATEGORIES, dsA | flags, 0, expiresAt);
        vm.prank(patient);
        bytes32 idB = registry.grant(researcher, ONLY_OBSERVATION, dsB, 0, expiresAt);
        check(idA != idB, "two diseases share a grant id");

        (bool allowed, ) = registry.mayUse(patient, researcher, dsA, OBSERVATION);
        check(allowed, "a DS grant for another disease replaced this one");
        (allowed, ) = registry.mayUse(patient, researcher, dsA, 2);
        check(allowed, "the first DS grant lost its categories");
        (allowed, ) = registry.mayUse(patient, researcher, dsB, OBSERVATION);
        check(allowed, "the second DS grant does not pass");
        (allowed, ) = registry.mayUse(patient, researcher, dsB, 2);
        check(!allowed, "the second DS grant passes a category it does not have");
        uint64 dsOther = ConsentCodes.DS | (uint64(diseaseA ^ diseaseB ^ 0x8000) << 16);
        if (dsOther != dsA && dsOther != dsB && dsOther >> 16 != 0) {
            (allowed, ) = registry.mayUse(patient, researcher, dsOther, OBSERVATION);
            check(!allowed, "a DS grant passes for a third disease");
        }

        // An update of the same disease (flags or not) replaces it: the restriction is one of its terms.
        vm.prank(patient);
        bytes32 again = registry.grant(researcher, ONLY_OBSERVATION, dsA | (flags ^ 0x100), 0, expiresAt);
        checkEq(again, idA, "the same disease with other flags is another grant");

        vm.prank(patient);
        registry.revoke(researcher, bytes32(uint256(dsA)));
        (allowed, ) = registry.mayUse(patient, researcher, dsA, OBSERVATION);
        check(!allowed, "a revoked DS grant passes");
        (allowed, ) = registry.mayUse(patient, researcher, dsB, OBSERVATION);
        check(allowed, "revoking one disease revoked the other");
    }
}

/// @notice `endStudyConsents`: the study manager's only; once per study; a study key only.
contract EndStudyConsentsTest is ConsentFixture {
    address internal constant MANAGER = address(0x5AFE);
    bytes32 internal constant STUDY_KEY = keccak256("study 1");

    function test_endStudyConsents_byTheStudyManagerOnly_oncePerStudy() public {
        bytes32 role = registry.STUDY_MANAGER_ROLE();
        vm.prank(STRANGER);
        (bool ok, bytes memory data) = address(registry).call(
            abi.encodeCall(IConsentRegistry.endStudyConsents, (STUDY_KEY))
        );
        check(!ok, "a stranger ended a study's grants");
        checkEq(
            data,
            abi.encodeWithSignature("AccessControlUnauthorizedAccount(address,bytes32)", STRANGER, role),
            "stranger"
        );
        vm.prank(GOVERNANCE);
        registry.grantRole(role, MANAGER);
        address patient = patients[0];
        vm.prank(MANAGER);
        registry.grantStudyConsent(
            patient,
            orgs[2],
            STUDY_KEY,
            0x3ff,
            ConsentCodes.GRU,
            uint40(block.timestamp + 30 days)
        );
        (IConsentRegistry.Reason reason, ) = registry.scopeStatus(patient, orgs[2], STUDY_KEY, 1);
        check(reason == IConsentRegistry.Reason.Allowed, "set-up: the study grant is not in force");

        vm.prank(MANAGER);
        (ok, data) = address(registry).call(abi.encodeCall(IConsentRegistry.endStudyConsents, (bytes32(uint256(7)))));
        check(!ok, "a purpose scope was ended as a study");
        checkEq(
            data,
            abi.encodeWithSelector(IConsentRegistry.ConsentRegistryInvalidScope.selector, bytes32(uint256(7))),
            "purpose scope"
        );
        checkEq(registry.studyEndedAt(STUDY_KEY), 0, "a study ended before its manager ended it");
        vm.prank(MANAGER);
        registry.endStudyConsents(STUDY_KEY);
        checkEq(registry.studyEndedAt(STUDY_KEY), block.timestamp, "studyEndedAt");
        (reason, ) = registry.scopeStatus(patient, orgs[2], STUDY_KEY, 1);
        check(reason == IConsentRegistry.Reason.Expired, "an ended study's grant is in force");
        vm.prank(MANAGER);
        (ok, data) = address(registry).call(abi.encodeCall(IConsentRegistry.endStudyConsents, (STUDY_KEY)));
        check(!ok, "a study's grants were ended twice");
        checkEq(
            data,
            abi.encodeWithSelector(IConsentRegistry.ConsentRegistryStudyEnded.selector, STUDY_KEY),
            "ended twice"
        );
    }

    /// @dev Removing a delegate appointed before a revoke-all: it is no delegate any more.
    function test_removeDelegate_afterRevokeAll_isNoDelegate() public {
        address patient = patients[1];
        address delegate = address(0xDE1E);
        vm.prank(patient);
        registry.appointDelegate(delegate, 0);
        revokeAll(patient);
        vm.prank(patient);
        (bool ok, bytes memory data) = address(registry).call(
            abi.encodeCall(IConsentRegistry.removeDelegate, (patient, delegate))
        );
        check(!ok, "a void appointment was removed");
        checkEq(
            data,
            abi.encodeWithSelector(IConsentRegistry.ConsentRegistryNotDelegate.selector, patient, delegate),
            "remove a void delegate"
        );
    }
}

/// @notice Item 7: cancelling a study ends every participant's grant for it at once.
contract StudyCancellationEndsConsentTest is StudyEscrowSetup {
    /// @dev The attack (a failure): the researcher cancels a study; its participants' grants stay in
    /// force in the registry until the study's original end. Now every check reports them ended.
    function testFuzz_cancelStudy_endsEveryParticipantsGrant(uint8 count, uint32 later) public {
        makePatients(1 + (count % 6));
        uint256 studyId = createStudy(1 ether, 10, 10 ether);
        for (uint256 i = 0; i < patients.length; ++i) joinAs(patients[i], studyId);
        bytes32 key = escrow.studyKey(studyId);
        (IConsentRegistry.Reason reason, uint40 until) = registry.scopeStatus(patients[0], RESEARCHER, key, 1);
        check(reason == IConsentRegistry.Reason.Allowed && until != 0, "set-up: the study grant is not in force");

        vm.prank(RESEARCHER);
        escrow.cancelStudy(studyId);
        vm.warp(block.timestamp + (later % 20 days));

        for (uint256 i = 0; i < patients.length; ++i) {
            for (uint8 category = 1; category <= 2; ++category) {
                (reason, until) = registry.scopeStatus(patients[i], RESEARCHER, key, category);
                check(reason != IConsentRegistry.Reason.Allowed, "a cancelled study's grant is still in force");
                checkEq(until, 0, "a cancelled study's grant has an expiry");
                // The purpose checks never read a study's grant: nothing passes there either.
                (bool allowed, ) = registry.mayUse(patients[i], RESEARCHER, ConsentCodes.HMB, category);
                check(!allowed, "a cancelled study's purpose passes mayUse");
                (reason, , ) = registry.consentStatus(patients[i], RESEARCHER, category, ConsentCodes.HMB);
                check(reason == IConsentRegistry.Reason.NoGrant, "consentStatus sees a study grant");
            }
        }
    }
}
