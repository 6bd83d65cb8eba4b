// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

import {IConsentRegistry} from "./interfaces/IConsentRegistry.sol";
import {ConsentCheck} from "./libraries/ConsentCheck.sol";
import {ConsentCodes} from "./libraries/ConsentCodes.sol";
import {SignatureVerifier} from "./libraries/SignatureVerifier.sol";
import {OrganizationRegistry} from "./OrganizationRegistry.sol";

/// @title ConsentRegistry
/// @notice Patients' grants of access to their health data, their revocations, delegates and
/// break-glass emergency access; and the O(1) check that custodians run before any record leaves.
contract ConsentRegistry is IConsentRegistry, OrganizationRegistry {
    /// @notice The role of contracts (the StudyEscrow) that create and revoke study grants.
    bytes32 public constant STUDY_MANAGER_ROLE = keccak256("STUDY_MANAGER_ROLE");

    /// @dev keccak256("Grant(address patient,address grantee,uint32 categories,uint64 purpose,uint40 validFrom,uint40 expiresAt,uint64 nonce,uint256 deadline)")
    bytes32 public constant GRANT_TYPEHASH = keccak256(
        "Grant(address patient,address grantee,uint32 categories,uint64 purpose,uint40 validFrom,uint40 expiresAt,uint64 nonce,uint256 deadline)"
    );
    /// @dev keccak256("Revoke(address patient,address grantee,bytes32 scope,uint64 nonce,uint256 deadline)")
    bytes32 public constant REVOKE_TYPEHASH = keccak256(
        "Revoke(address patient,address grantee,bytes32 scope,uint64 nonce,uint256 deadline)"
    );
    /// @dev keccak256("RevokeAll(address patient,uint64 nonce,uint256 deadline)")
    bytes32 public constant REVOKE_ALL_TYPEHASH = keccak256("RevokeAll(address patient,uint64 nonce,uint256 deadline)");
    /// @dev keccak256("CancelSignatures(address patient,uint64 nonce,uint256 deadline)")
    bytes32 public constant CANCEL_SIGNATURES_TYPEHASH = keccak256(
        "CancelSignatures(address patient,uint64 nonce,uint256 deadline)"
    );

    /// @notice A Grant signature is usable only in the last `GRANT_SIGNATURE_LIFETIME` before its
    /// deadline, so that its deadline tells how early it may have been signed.
    uint40 public constant GRANT_SIGNATURE_LIFETIME = 1 days;

    /// @notice The fixed bounds of the governance-set break-glass policy.
    uint40 public constant MIN_EMERGENCY_DURATION = 15 minutes;
    uint40 public constant MAX_EMERGENCY_DURATION = 72 hours;
    uint8 public constant MAX_EMERGENCY_OPENINGS = 10;
    /// @notice The window over which emergency openings per patient and organization are counted.
    uint40 public constant EMERGENCY_WINDOW = 1 days;

    /// @dev Everything per patient that a check or a signed action reads, in one slot. `nonce` is
    /// the lane of Grant signatures, `revocationNonce` that of Revoke, RevokeAll and
    /// CancelSignatures signatures (so that no grant signature can make a signed revocation fail).
    struct PatientState {
        uint32 epoch;
        uint64 nonce;
        uint64 revocationNonce;
    }

    /// @dev A delegate appointment, void once the patient's epoch has moved on (revoke-all).
    struct Delegate {
        uint40 expiresAt;
        uint32 epoch;
    }

    /// @dev The openings of one organization for one patient in the current window.
    struct EmergencyQuota {
        uint40 windowStart;
        uint8 openings;
    }

    /// @dev One open emergency access of an organization to a patient: what the check reads in
    /// one slot, then the commitment to its reason (never the reason: see `openEmergencyAccess`).
    struct Emergency {
        uint40 expiresAt;
        address clinician;
        uint32 epoch;
        bytes32 reasonCommitment;
    }

    // Grants live at raw storage slots: the slot of a grant IS its id,
    // keccak256(abi.encode(patient, grantee, scope)) (see `_grantId`), one keccak cheaper than a
    // mapping on the check path. Each holds a `Grant` packed as Solidity would pack the struct, or,
    // once revoked, a marker: categories 0 (no grant, for every check and view) and the time of the
    // revocation where validFrom would be (`_revoke`, `grantBySig`).
    mapping(address patient => PatientState) private _patients;
    mapping(address patient => mapping(address delegate => Delegate)) private _delegates;
    mapping(bytes32 key => Emergency) private _emergencies;
    uint40 private _emergencyMaxDuration = 24 hours;
    uint8 private _emergencyMaxOpenings = 3;
    /// @dev When a study manager ended each study's grants (0: not ended).
    mapping(bytes32 studyKey => uint40 endedAt) private _studiesEnded;
    uint40 private _emergencyMinDuration = 15 minutes;
    /// @dev Emergency openings counted per patient AND organization (same key as `_emergencies`):
    /// one organization's openings, even a rogue or suspended one's, never stop another's.
    mapping(bytes32 key => EmergencyQuota) private _emergencyQuotas;

    /// @param admin Holder of DEFAULT_ADMIN_ROLE (a multisig or timelock in production).
    /// @param governance Holder of GOVERNANCE_ROLE (accreditation, break-glass policy).
    constructor(address admin, address governance) EIP712("Consentry ConsentRegistry", "1") {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(GOVERNANCE_ROLE, governance);
    }

    modifier onlyDelegateOf(address patient) {
        _checkDelegate(patient);
        _;
    }

    // ------------------------------------------------------------------ grants

    /// @inheritdoc IConsentRegistry
    function grant(
        address grantee,
        uint32 categories,
        uint64 purpose,
        uint40 validFrom,
        uint40 expiresAt
    ) external returns (bytes32) {
        return _grant(msg.sender, grantee, _purposeScope(purpose), categories, purpose, validFrom, expiresAt);
    }

    /// @inheritdoc IConsentRegistry
    function grantFor(
        address patient,
        address grantee,
        uint32 categories,
        uint64 purpose,
        uint40 validFrom,
        uint40 expiresAt
    ) external onlyDelegateOf(patient) returns (bytes32) {
        return _grant(patient, grantee, _purposeScope(purpose), categories, purpose, validFrom, expiresAt);
    }

    /// @inheritdoc IConsentRegistry
    function grantBySig(
        address patient,
        address grantee,
        uint32 categories,
        uint64 purpose,
        uint40 validFrom,
        uint40 expiresAt,
        uint256 deadline,
        bytes calldata signature
    ) external returns (bytes32) {
        uint64 nonce = _patients[patient].nonce;
        _checkSignature(
            patient,
            abi.encode(GRANT_TYPEHASH, patient, grantee, categories, purpose, validFrom, expiresAt),
            nonce,
            deadline,
            signature
        );
        _patients[patient].nonce = nonce + 1; // the signature is used
        // The signature's window opens at deadline - GRANT_SIGNATURE_LIFETIME: not before, and a
        // revocation of this consent at or after that moment (a direct `revoke` moves no nonce)
        // may postdate the signature, which then never re-grants it.
        if (deadline > block.timestamp + GRANT_SIGNATURE_LIFETIME) {
            revert ConsentRegistrySignatureNotYetUsable(deadline, deadline - GRANT_SIGNATURE_LIFETIME);
        }
        bytes32 grantId = _grantId(patient, grantee, _purposeScope(purpose));
        uint256 word = _grantWord(grantId);
        if (word != 0 && uint32(word) == 0 && deadline <= uint256(uint40(word >> 96)) + GRANT_SIGNATURE_LIFETIME) {
            revert ConsentRegistrySignedBeforeRevocation(grantId, uint40(word >> 96));
        }
        return _grant(patient, grantee, _purposeScope(purpose), categories, purpose, validFrom, expiresAt);
    }

    /// @inheritdoc IConsentRegistry
    function revoke(address grantee, bytes32 scope) external {
        _revoke(msg.sender, grantee, scope);
    }

    /// @inheritdoc IConsentRegistry
    function revokeFor(address patient, address grantee, bytes32 scope) external onlyDelegateOf(patient) {
        _revoke(patient, grantee, scope);
        // A withdrawal voids every earlier Grant signature of the patient: none can re-grant it.
        unchecked {
            ++_patients[patient].nonce;
        }
    }

    /// @inheritdoc IConsentRegistry
    function revokeBySig(
        address patient,
        address grantee,
        bytes32 scope,
        uint256 deadline,
        bytes calldata signature
    ) external {
        PatientState storage state = _patients[patient];
        uint64 nonce = state.revocationNonce;
        _checkSignature(patient, abi.encode(REVOKE_TYPEHASH, patient, grantee, scope), nonce, deadline, signature);
        // Uses the signature, and voids every earlier Grant signature (none can re-grant it).
        unchecked {
            (state.nonce, state.revocationNonce) = (state.nonce + 1, nonce + 1);
        }
        _revoke(patient, grantee, scope);
    }

    /// @inheritdoc IConsentRegistry
    function revokeAll() external {
        _revokeAll(msg.sender);
    }

    /// @inheritdoc IConsentRegistry
    function revokeAllFor(address patient) external onlyDelegateOf(patient) {
        _revokeAll(patient);
    }

    /// @inheritdoc IConsentRegistry
    function revokeAllBySig(address patient, uint256 deadline, bytes calldata signature) external {
        uint64 nonce = _patients[patient].revocationNonce;
        _checkSignature(patient, abi.encode(REVOKE_ALL_TYPEHASH, patient), nonce, deadline, signature);
        _revokeAll(patient); // moves the revocation nonce on: the signature is used
    }

    /// @inheritdoc IConsentRegistry
    function cancelSignatures() external {
        _cancelSignatures(msg.sender);
    }

    /// @inheritdoc IConsentRegistry
    function cancelSignaturesBySig(address patient, uint256 deadline, bytes calldata signature) external {
        uint64 nonce = _patients[patient].revocationNonce;
        _checkSignature(patient, abi.encode(CANCEL_SIGNATURES_TYPEHASH, patient), nonce, deadline, signature);
        _cancelSignatures(patient); // moves the revocation nonce on: the signature is used
    }

    // ------------------------------------------------------------------ studies

    /// @inheritdoc IConsentRegistry
    function grantStudyConsent(
        address patient,
        address grantee,
        bytes32 studyKey,
        uint32 categories,
        uint64 purpose,
        uint40 expiresAt
    ) external onlyRole(STUDY_MANAGER_ROLE) returns (bytes32) {
        _checkStudyKey(studyKey);
        if (patient == address(0)) revert ConsentRegistryInvalidPatient(patient);
        if (ConsentCodes.code(purpose) < ConsentCodes.HRESCH) revert ConsentRegistryUnknownPurpose(purpose);
        return _grant(patient, grantee, studyKey, categories, purpose, 0, expiresAt);
    }

    /// @inheritdoc IConsentRegistry
    function grantProgrammeConsent(
        address patient,
        address grantee,
        bytes32 programmeKey,
        uint32 categories,
        uint64 purpose,
        uint40 expiresAt
    ) external onlyRole(STUDY_MANAGER_ROLE) returns (bytes32) {
        _checkStudyKey(programmeKey);
        if (patient == address(0)) revert ConsentRegistryInvalidPatient(patient);
        if (purpose != ConsentCodes.HPAYMT && purpose != ConsentCodes.PUBHLTH) {
            revert ConsentRegistryUnknownPurpose(purpose);
        }
        return _grant(patient, grantee, programmeKey, categories, purpose, 0, expiresAt);
    }

    /// @inheritdoc IConsentRegistry
    function revokeStudyConsent(
        address patient,
        address grantee,
        bytes32 studyKey
    ) external onlyRole(STUDY_MANAGER_ROLE) {
        _checkStudyKey(studyKey);
        _revoke(patient, grantee, studyKey);
    }

    /// @inheritdoc IConsentRegistry
    function endStudyConsents(bytes32 studyKey) external onlyRole(STUDY_MANAGER_ROLE) {
        _checkStudyKey(studyKey);
        if (_studiesEnded[studyKey] != 0) revert ConsentRegistryStudyEnded(studyKey);
        _studiesEnded[studyKey] = uint40(block.timestamp);
        emit StudyConsentsEnded(studyKey, msg.sender);
    }

    // ------------------------------------------------------------------ delegates

    /// @inheritdoc IConsentRegistry
    function appointDelegate(address delegate, uint40 expiresAt) external {
        if (delegate == address(0) || delegate == msg.sender) revert ConsentRegistryInvalidDelegate(delegate);
        if (expiresAt == 0) {
            expiresAt = type(uint40).max;
        } else if (expiresAt <= block.timestamp) {
            revert ConsentRegistryExpiryNotInFuture(expiresAt, block.timestamp);
        }
        _delegates[msg.sender][delegate] = Delegate(expiresAt, _patients[msg.sender].epoch);
        emit DelegateAppointed(msg.sender, delegate, expiresAt);
    }

    /// @inheritdoc IConsentRegistry
    function removeDelegate(address patient, address delegate) external {
        if (msg.sender != patient && msg.sender != delegate) revert ConsentRegistryNotDelegate(patient, msg.sender);
        if (_delegateExpiry(patient, delegate) == 0) revert ConsentRegistryNotDelegate(patient, delegate);
        delete _delegates[patient][delegate];
        emit DelegateRemoved(patient, delegate, msg.sender);
    }

    // ------------------------------------------------------------------ break-glass

    /// @inheritdoc IConsentRegistry
    function openEmergencyAccess(
        address patient,
        bytes32 reasonCommitment,
        uint40 duration
    ) external returns (uint40 expiresAt) {
        address organization = _activeOrganization(msg.sender, ConsentCodes.KIND_PROVIDER, ConsentCodes.ROLE_CLINICIAN);
        if (organization == address(0)) revert ConsentRegistryNotEmergencyClinician(msg.sender);
        if (patient == address(0) || patient == msg.sender) revert ConsentRegistryInvalidPatient(patient);
        if (reasonCommitment == bytes32(0)) revert ConsentRegistryNoEmergencyReason();
        (uint40 minDuration, uint40 maxDuration) = (_emergencyMinDuration, _emergencyMaxDuration);
        if (duration < minDuration || duration > maxDuration) {
            revert ConsentRegistryEmergencyDurationInvalid(duration, minDuration, maxDuration);
        }

        uint32 epoch = _patients[patient].epoch;
        bytes32 key = _emergencyKey(patient, organization);
        Emergency storage open = _emergencies[key];
        uint40 now_ = uint40(block.timestamp);
        (uint40 openUntil, uint32 openEpoch) = (open.expiresAt, open.epoch);
        if (openUntil > now_ && openEpoch == epoch) {
            revert ConsentRegistryEmergencyAlreadyOpen(patient, organization, openUntil);
        }
        EmergencyQuota memory quota = _emergencyQuotas[key];
        if (now_ >= quota.windowStart + EMERGENCY_WINDOW) quota = EmergencyQuota(now_, 0);
        if (quota.openings >= _emergencyMaxOpenings) {
            revert ConsentRegistryEmergencyRateLimited(patient, quota.windowStart + EMERGENCY_WINDOW);
        }
        ++quota.openings;
        _emergencyQuotas[key] = quota;
        expiresAt = now_ + duration;
        _emergencies[key] = Emergency(expiresAt, msg.sender, epoch, reasonCommitment);
        emit EmergencyAccessOpened(patient, organization, msg.sender, reasonCommitment, expiresAt);
    }

    /// @inheritdoc IConsentRegistry
    function closeEmergencyAccess(address patient, address organization) external {
        if (msg.sender != patient && _delegateExpiry(patient, msg.sender) <= block.timestamp) {
            (address callerOrganization, , , ) = _resolve(msg.sender);
            if (callerOrganization != organization || organization == address(0)) {
                revert ConsentRegistryNotAllowedToClose(msg.sender);
            }
        }
        bytes32 key = _emergencyKey(patient, organization);
        Emergency storage open = _emergencies[key];
        if (open.expiresAt <= block.timestamp || open.epoch != _patients[patient].epoch) {
            revert ConsentRegistryNoEmergencyAccess(patient, organization);
        }
        delete _emergencies[key];
        emit EmergencyAccessClosed(patient, organization, msg.sender);
    }

    /// @inheritdoc IConsentRegistry
    function setEmergencyPolicy(
        uint40 minDuration,
        uint40 maxDuration,
        uint8 maxOpeningsPerWindow
    ) external onlyRole(GOVERNANCE_ROLE) {
        if (
            minDuration < MIN_EMERGENCY_DURATION ||
            minDuration > maxDuration ||
            maxDuration > MAX_EMERGENCY_DURATION ||
            maxOpeningsPerWindow == 0 ||
            maxOpeningsPerWindow > MAX_EMERGENCY_OPENINGS
        ) revert ConsentRegistryInvalidEmergencyPolicy(minDuration, maxDuration, maxOpeningsPerWindow);
        _emergencyMinDuration = minDuration;
        _emergencyMaxDuration = maxDuration;
        _emergencyMaxOpenings = maxOpeningsPerWindow;
        emit EmergencyPolicyChanged(minDuration, maxDuration, maxOpeningsPerWindow);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IConsentRegistry
    function mayUse(
        address patient,
        address grantee,
        uint64 purpose,
        uint8 category
    ) external view returns (bool allowed, uint40 expiresAt) {
        (uint256 reason, uint256 until, ) = _consentStatus(patient, grantee, category, purpose);
        assembly ("memory-safe") {
            allowed := lt(reason, 2) // Allowed or EmergencyAccess
            expiresAt := until
        }
    }

    /// @inheritdoc IConsentRegistry
    function consentStatus(
        address patient,
        address grantee,
        uint8 category,
        uint64 purpose
    ) external view returns (Reason reason, uint40 expiresAt, address organization) {
        (uint256 r, uint256 e, uint256 o) = _consentStatus(patient, grantee, category, purpose);
        return (Reason(r), uint40(e), address(uint160(o)));
    }

    /// @inheritdoc IConsentRegistry
    function scopeStatus(
        address patient,
        address grantee,
        bytes32 scope,
        uint8 category
    ) external view returns (Reason reason, uint40 expiresAt) {
        (address organization, uint8 role, , Status status) = _resolve(grantee);
        if (organization == address(0)) return (Reason.UnknownGrantee, 0);
        if (status != Status.Active) return (Reason.OrganizationSuspended, 0);
        uint256 g = _grantWord(_grantId(patient, organization, scope));
        if (uint32(g) == 0) return (Reason.NoGrant, 0); // never granted, or revoked (a marker)
        // A study whose grants its manager ended (a cancelled study) allows nothing any more.
        if (_studiesEnded[scope] != 0) return (Reason.Expired, 0);
        // The grant was made for this organization's kind (kinds never change): only the role is left.
        uint64 purpose = uint64(g >> 32);
        if (organization != grantee && role != ConsentCodes.requiredRole(uint8(purpose))) {
            return (Reason.WrongMemberRole, 0);
        }
        // The use is the grant's own purpose (its DUO restrictions are not properties of the use)
        // with the use flags of governance's record of the organization (none: commercial and
        // for-profit), so that an NCU/NPU grant pays no commercial or for-profit study.
        uint64 used = (purpose & ~uint64(0xff00)) | (uint64(_useFlags(organization)) << 8);
        reason = ConsentCheck.evaluate(g, uint32(_patientWord(patient)), category, used);
        if (reason == Reason.Allowed) expiresAt = uint40(g >> 136);
    }

    /// @inheritdoc IConsentRegistry
    function getGrant(bytes32 grantId) external view returns (Grant memory) {
        uint256 g = _grantWord(grantId);
        if (uint32(g) == 0) return Grant(0, 0, 0, 0, 0); // never granted, or revoked (a marker)
        return Grant(uint32(g), uint64(g >> 32), uint40(g >> 96), uint40(g >> 136), uint32(g >> 176));
    }

    /// @inheritdoc IConsentRegistry
    function grantIdOf(address patient, address grantee, bytes32 scope) external pure returns (bytes32) {
        return _grantId(patient, grantee, scope);
    }

    /// @inheritdoc IConsentRegistry
    function patientState(address patient) external view returns (uint32 epoch, uint64 nonce) {
        PatientState memory state = _patients[patient];
        return (state.epoch, state.nonce);
    }

    /// @inheritdoc IConsentRegistry
    function revocationNonce(address patient) external view returns (uint64) {
        return _patients[patient].revocationNonce;
    }

    /// @inheritdoc IConsentRegistry
    function delegateExpiry(address patient, address delegate) external view returns (uint40) {
        return _delegateExpiry(patient, delegate);
    }

    /// @inheritdoc IConsentRegistry
    function studyEndedAt(bytes32 studyKey) external view returns (uint40) {
        return _studiesEnded[studyKey];
    }

    /// @inheritdoc IConsentRegistry
    function emergencyAccess(
        address patient,
        address organization
    ) external view returns (uint40 expiresAt, address clinician, bytes32 reasonCommitment) {
        Emergency memory open = _emergencies[_emergencyKey(patient, organization)];
        if (open.expiresAt <= block.timestamp || open.epoch != _patients[patient].epoch) {
            return (0, address(0), bytes32(0));
        }
        return (open.expiresAt, open.clinician, open.reasonCommitment);
    }

    /// @inheritdoc IConsentRegistry
    function emergencyPolicy()
        external
        view
        returns (uint40 minDuration, uint40 maxDuration, uint8 maxOpeningsPerWindow)
    {
        return (_emergencyMinDuration, _emergencyMaxDuration, _emergencyMaxOpenings);
    }

    /// @notice The EIP-712 domain separator (chain id and this contract).
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ------------------------------------------------------------------ private paths

    /// @dev The one path of every grant: direct, by delegate, by signature, by study manager.
    function _grant(
        address patient,
        address grantee,
        bytes32 scope,
        uint32 categories,
        uint64 purpose,
        uint40 validFrom,
        uint40 expiresAt
    ) private returns (bytes32 grantId) {
        if (grantee == address(0) || grantee == patient) revert ConsentRegistryInvalidGrantee(grantee);
        if (!ConsentCodes.isValidPurpose(purpose)) revert ConsentRegistryUnknownPurpose(purpose);
        if (categories == 0) revert ConsentRegistryNoCategories();
        uint32 unknown = categories & ~ConsentCodes.ALL_CATEGORIES;
        if (unknown != 0) revert ConsentRegistryUnknownCategories(unknown);
        uint8 kind = ConsentCodes.requiredKind(ConsentCodes.code(purpose));
        // `Accreditation.isActive(grantee, kind, ROLE_ORGANIZATION)` written out on the one word it
        // reads (the organization's own; `grantee` is not zero): the call costs about 200 gas more
        // on the budgeted grant and join paths. `test/contracts/ConsentRegistry.ts` covers each case.
        uint256 account = _accountWord(grantee);
        if (
            address(uint160(account)) != grantee ||
            uint8(account >> 176) != uint8(Status.Active) ||
            uint8(account >> 168) != kind
        ) revert ConsentRegistryGranteeNotAccredited(grantee, kind);
        if (expiresAt <= block.timestamp) revert ConsentRegistryExpiryNotInFuture(expiresAt, block.timestamp);
        if (validFrom == 0) validFrom = uint40(block.timestamp);
        if (validFrom >= expiresAt) revert ConsentRegistryInvalidValidity(validFrom, expiresAt);

        grantId = _grantId(patient, grantee, scope);
        uint256 word =
            uint256(categories) |
                (uint256(purpose) << 32) |
                (uint256(validFrom) << 96) |
                (uint256(expiresAt) << 136) |
                (uint256(uint32(_patientWord(patient))) << 176);
        assembly ("memory-safe") {
            sstore(grantId, word)
        }
        emit ConsentGranted(grantId, patient, grantee, scope, purpose, categories, validFrom, expiresAt, msg.sender);
    }

    /// @dev The one path of every revocation. It leaves a marker, not zero: categories 0 (no grant)
    /// and the time of the revocation in validFrom's place, which `grantBySig` reads so that no
    /// Grant signature that may predate it re-grants this consent.
    function _revoke(address patient, address grantee, bytes32 scope) private {
        bytes32 grantId = _grantId(patient, grantee, scope);
        if (uint32(_grantWord(grantId)) == 0) revert ConsentRegistryNoGrant(grantId);
        assembly ("memory-safe") {
            sstore(grantId, shl(96, timestamp()))
        }
        emit ConsentRevoked(grantId, patient, grantee, msg.sender);
    }

    /// @dev The one path of every revoke-all, one write of the patient's slot: the epoch bump voids
    /// every earlier grant, emergency access and delegate appointment; both nonce bumps void every
    /// outstanding signature.
    function _revokeAll(address patient) private {
        PatientState storage state = _patients[patient];
        uint32 epoch;
        unchecked {
            epoch = state.epoch + 1;
            (state.epoch, state.nonce, state.revocationNonce) = (epoch, state.nonce + 1, state.revocationNonce + 1);
        }
        emit AllConsentsRevoked(patient, epoch, msg.sender);
    }

    /// @dev Voids every outstanding signature of `patient`, in both lanes.
    function _cancelSignatures(address patient) private {
        PatientState storage state = _patients[patient];
        uint64 nonce;
        unchecked {
            nonce = state.nonce + 1;
            (state.nonce, state.revocationNonce) = (nonce, state.revocationNonce + 1);
        }
        emit SignaturesCancelled(patient, nonce, msg.sender);
    }

    /// @dev Reverts unless `patient` signed `action` (the EIP-712 struct's words before its nonce
    /// and deadline) with `nonce`, the current one of the action's lane, and the deadline has not
    /// passed; the caller then consumes the nonce.
    function _checkSignature(
        address patient,
        bytes memory action,
        uint64 nonce,
        uint256 deadline,
        bytes calldata signature
    ) private view {
        if (SignatureVerifier.isExpired(deadline)) revert ConsentRegistrySignatureExpired(deadline, block.timestamp);
        if (!SignatureVerifier.isSigned(_domainSeparatorV4(), patient, action, nonce, deadline, signature)) {
            revert ConsentRegistryInvalidSignature(patient, nonce);
        }
    }

    /// @dev The consent check (`ConsentCheck.status`) on this contract's accounts, patients and
    /// emergency accesses.
    function _consentStatus(
        address patient,
        address grantee,
        uint8 category,
        uint64 purpose
    ) private view returns (uint256 reason, uint256 until, uint256 organization) {
        uint256 accounts;
        uint256 patients;
        uint256 emergencies;
        assembly ("memory-safe") {
            accounts := _accounts.slot
            patients := _patients.slot
            emergencies := _emergencies.slot
        }
        return ConsentCheck.status(accounts, patients, emergencies, patient, grantee, category, purpose);
    }

    /// @dev The packed `Grant` slot of `grantId`.
    function _grantWord(bytes32 grantId) private view returns (uint256 word) {
        assembly ("memory-safe") {
            word := sload(grantId)
        }
    }

    /// @dev The packed `PatientState` slot of `patient` (epoch in the low 32 bits).
    function _patientWord(address patient) private view returns (uint256 word) {
        assembly ("memory-safe") {
            mstore(0x00, and(patient, 0xffffffffffffffffffffffffffffffffffffffff))
            mstore(0x20, _patients.slot)
            word := sload(keccak256(0x00, 0x40))
        }
    }

    function _checkDelegate(address patient) private view {
        if (_delegateExpiry(patient, msg.sender) <= block.timestamp) {
            revert ConsentRegistryNotDelegate(patient, msg.sender);
        }
    }

    /// @dev Until when `delegate` acts for `patient`: 0 if never appointed, removed, or appointed
    /// before the patient's last revoke-all.
    function _delegateExpiry(address patient, address delegate) private view returns (uint40) {
        Delegate memory entry = _delegates[patient][delegate];
        if (entry.epoch != _patients[patient].epoch) return 0;
        return entry.expiresAt;
    }

    /// @dev The scope of a direct grant: its purpose without the restriction flags, so the code and,
    /// for DS, the disease (a DS grant for one disease never replaces one for another). Non-DS
    /// purposes carry no disease, so their scope is their code.
    function _purposeScope(uint64 purpose) private pure returns (bytes32) {
        return bytes32(uint256(purpose & 0xffffffff00ff));
    }

    function _checkStudyKey(bytes32 studyKey) private pure {
        if (uint256(studyKey) <= type(uint8).max) revert ConsentRegistryInvalidScope(studyKey);
    }

    function _grantId(address patient, address grantee, bytes32 scope) private pure returns (bytes32 id) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            // Inline assembly may see dirty high bits of narrower types: clean the addresses.
            mstore(ptr, and(patient, 0xffffffffffffffffffffffffffffffffffffffff))
            mstore(add(ptr, 0x20), and(grantee, 0xffffffffffffffffffffffffffffffffffffffff))
            mstore(add(ptr, 0x40), scope)
            id := keccak256(ptr, 0x60)
        }
    }

    function _emergencyKey(address patient, address organization) private pure returns (bytes32 key) {
        assembly ("memory-safe") {
            mstore(0x00, and(patient, 0xffffffffffffffffffffffffffffffffffffffff))
            mstore(0x20, and(organization, 0xffffffffffffffffffffffffffffffffffffffff))
            key := keccak256(0x00, 0x40)
        }
    }
}
