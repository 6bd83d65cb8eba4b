// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IOrganizationRegistry} from "./IOrganizationRegistry.sol";

/// @title IConsentRegistry
/// @notice Who may read which part of a patient's data, for which purpose, until when.
/// @dev A grant is keyed by (patient, grantee organization, scope): the scope of a direct grant is
/// its purpose without the restriction flags (`bytes32(uint256(purpose & 0xffffffff00ff))`: the
/// code, and for DS the disease too), that of a study grant the study's key. An update
/// overwrites; the id is `keccak256(abi.encode(patient, grantee, scope))`. A grant is one storage
/// slot. Revoke-all bumps the patient's epoch, which voids every grant, emergency access and
/// delegate appointment made before it, and both signature nonces, which void every outstanding
/// signature.
/// Purposes, categories, kinds and roles are the codes of `ConsentCodes` (mirrored in `sdk/`).
interface IConsentRegistry is IOrganizationRegistry {
    /// @notice A grant, packed in one slot. `expiresAt == 0` means no grant.
    struct Grant {
        uint32 categories;
        uint64 purpose;
        uint40 validFrom;
        uint40 expiresAt;
        uint32 epoch;
    }

    /// @notice Why a check passed or failed (`sdk` `ConsentReason` mirrors it).
    enum Reason {
        Allowed,
        EmergencyAccess,
        UnknownGrantee,
        OrganizationSuspended,
        WrongOrganizationKind,
        WrongMemberRole,
        InvalidPurpose,
        NoGrant,
        RevokedByRevokeAll,
        NotYetValid,
        Expired,
        CategoryNotGranted,
        PurposeNotCovered
    }

    /// @notice `actor` (the patient, a delegate, a relayer of the patient's signature, or the
    /// study manager) granted or updated a grant.
    event ConsentGranted(
        bytes32 indexed grantId,
        address indexed patient,
        address indexed grantee,
        bytes32 scope,
        uint64 purpose,
        uint32 categories,
        uint40 validFrom,
        uint40 expiresAt,
        address actor
    );
    /// @notice A grant was revoked. Its scope is that of the `ConsentGranted` with the same
    /// `grantId` (the id commits to it), so it is not repeated here.
    event ConsentRevoked(bytes32 indexed grantId, address indexed patient, address indexed grantee, address actor);
    /// @notice Every grant, emergency access, delegate appointment and outstanding signature of
    /// `patient` made before now is void.
    event AllConsentsRevoked(address indexed patient, uint32 epoch, address actor);
    /// @notice Every outstanding signature of `patient` is void (both lanes); the next Grant nonce is `nonce`.
    event SignaturesCancelled(address indexed patient, uint64 nonce, address actor);
    /// @notice The study manager ended every grant of the study `studyKey` (a cancelled study).
    event StudyConsentsEnded(bytes32 indexed studyKey, address actor);
    /// @notice `delegate` may act for `patient` until `expiresAt`.
    event DelegateAppointed(address indexed patient, address indexed delegate, uint40 expiresAt);
    /// @notice `delegate` no longer acts for `patient`.
    event DelegateRemoved(address indexed patient, address indexed delegate, address actor);
    /// @notice Emergency (break-glass) access to `patient`'s data was opened, for a reason that
    /// only its commitment shows (see `openEmergencyAccess`).
    event EmergencyAccessOpened(
        address indexed patient,
        address indexed organization,
        address indexed clinician,
        bytes32 reasonCommitment,
        uint40 expiresAt
    );
    /// @notice Emergency access ended early.
    event EmergencyAccessClosed(address indexed patient, address indexed organization, address actor);
    /// @notice Governance changed the break-glass policy.
    event EmergencyPolicyChanged(uint40 minDuration, uint40 maxDuration, uint8 maxOpeningsPerWindow);

    /// @notice The grantee is the zero address or the patient.
    error ConsentRegistryInvalidGrantee(address grantee);
    /// @notice The grantee is not an active organization of the kind the purpose needs.
    error ConsentRegistryGranteeNotAccredited(address grantee, uint8 requiredKind);
    /// @notice The expiry is not in the future.
    error ConsentRegistryExpiryNotInFuture(uint40 expiresAt, uint256 timestamp);
    /// @notice The grant would start at or after its expiry.
    error ConsentRegistryInvalidValidity(uint40 validFrom, uint40 expiresAt);
    /// @notice No category was given.
    error ConsentRegistryNoCategories();
    /// @notice Some category bits are not known categories.
    error ConsentRegistryUnknownCategories(uint32 unknownBits);
    /// @notice The purpose is not a well-formed, known purpose.
    error ConsentRegistryUnknownPurpose(uint64 purpose);
    /// @notice There is no grant with that id to revoke.
    error ConsentRegistryNoGrant(bytes32 grantId);
    /// @notice The caller is not a current delegate of the patient.
    error ConsentRegistryNotDelegate(address patient, address caller);
    /// @notice The delegate is the zero address or the patient.
    error ConsentRegistryInvalidDelegate(address delegate);
    /// @notice The signature's deadline has passed.
    error ConsentRegistrySignatureExpired(uint256 deadline, uint256 timestamp);
    /// @notice The signature is not the patient's for this action and the patient's current nonce.
    error ConsentRegistryInvalidSignature(address patient, uint64 nonce);
    /// @notice Only an active CLINICIAN member of an active PROVIDER may open emergency access.
    error ConsentRegistryNotEmergencyClinician(address caller);
    /// @notice The duration is below the governance minimum (no 1-second "emergency") or above its cap.
    error ConsentRegistryEmergencyDurationInvalid(uint40 duration, uint40 minDuration, uint40 maxDuration);
    /// @notice The organization already has emergency access to this patient open.
    error ConsentRegistryEmergencyAlreadyOpen(address patient, address organization, uint40 expiresAt);
    /// @notice This organization opened emergency access to this patient too often in the current
    /// window (counted per patient and organization: it never stops another organization).
    error ConsentRegistryEmergencyRateLimited(address patient, uint40 windowEndsAt);
    /// @notice There is no open emergency access to close.
    error ConsentRegistryNoEmergencyAccess(address patient, address organization);
    /// @notice The caller may not close this emergency access.
    error ConsentRegistryNotAllowedToClose(address caller);
    /// @notice The patient address is zero.
    error ConsentRegistryInvalidPatient(address patient);
    /// @notice A study key must not be a purpose-code scope (a small integer).
    error ConsentRegistryInvalidScope(bytes32 scope);
    /// @notice An emergency opening needs the commitment to its reason (zero was given).
    error ConsentRegistryNoEmergencyReason();
    /// @notice The study's grants were already ended.
    error ConsentRegistryStudyEnded(bytes32 studyKey);
    /// @notice A Grant signature is usable only in the `GRANT_SIGNATURE_LIFETIME` before its
    /// deadline, and this one's deadline is further ahead than that.
    error ConsentRegistrySignatureNotYetUsable(uint256 deadline, uint256 usableFrom);
    /// @notice The consent was revoked at `revokedAt`, no later than this Grant signature's window
    /// opened (deadline - GRANT_SIGNATURE_LIFETIME): the signature may predate the revocation.
    error ConsentRegistrySignedBeforeRevocation(bytes32 grantId, uint40 revokedAt);
    /// @notice The policy is outside its fixed bounds (15 min <= minimum <= maximum <= 72 h, 1..10
    /// openings per patient and organization a day).
    error ConsentRegistryInvalidEmergencyPolicy(uint40 minDuration, uint40 maxDuration, uint8 maxOpeningsPerWindow);

    // ---------------------------------------------------------------- grants

    /// @notice Grant (or update) consent to `grantee` for `purpose` and `categories`, from
    /// `validFrom` (0: now) until `expiresAt`. Returns the grant id.
    function grant(
        address grantee,
        uint32 categories,
        uint64 purpose,
        uint40 validFrom,
        uint40 expiresAt
    ) external returns (bytes32 grantId);

    /// @notice `grant` by a delegate of `patient`.
    function grantFor(
        address patient,
        address grantee,
        uint32 categories,
        uint64 purpose,
        uint40 validFrom,
        uint40 expiresAt
    ) external returns (bytes32 grantId);

    /// @notice `grant` by anyone, with the patient's EIP-712 `Grant` signature (EOA or ERC-1271).
    /// A Grant signature is usable only from `deadline - GRANT_SIGNATURE_LIFETIME` to `deadline`,
    /// and not at all if this consent was revoked at or after that window opened (a signature
    /// that may predate the revocation never re-grants it); the sdk's `grantSignatureDeadline`
    /// opens the window just after the chain's latest block.
    function grantBySig(
        address patient,
        address grantee,
        uint32 categories,
        uint64 purpose,
        uint40 validFrom,
        uint40 expiresAt,
        uint256 deadline,
        bytes calldata signature
    ) external returns (bytes32 grantId);

    /// @notice Revoke the caller's grant to `grantee` in `scope`. The grant's slot keeps the time of
    /// the revocation (a "no grant" marker), which voids every Grant signature for this consent
    /// whose window opened at or before it (see `grantBySig`).
    function revoke(address grantee, bytes32 scope) external;

    /// @notice `revoke` by a delegate of `patient`; also voids every outstanding Grant signature
    /// of the patient (a Grant-nonce bump), so that none can re-grant what was revoked.
    function revokeFor(address patient, address grantee, bytes32 scope) external;

    /// @notice `revoke` by anyone, with the patient's EIP-712 `Revoke` signature (nonce of the
    /// revocation lane, `revocationNonce`); also voids every outstanding Grant signature.
    function revokeBySig(
        address patient,
        address grantee,
        bytes32 scope,
        uint256 deadline,
        bytes calldata signature
    ) external;

    /// @notice Void every grant, open emergency access, delegate appointment and outstanding
    /// signature (both lanes) of the caller, in O(1).
    function revokeAll() external;

    /// @notice `revokeAll` by a delegate of `patient`.
    function revokeAllFor(address patient) external;

    /// @notice `revokeAll` by anyone, with the patient's EIP-712 `RevokeAll` signature (revocation lane).
    function revokeAllBySig(address patient, uint256 deadline, bytes calldata signature) external;

    /// @notice Void every outstanding signature of the caller (a bump of both nonces).
    function cancelSignatures() external;

    /// @notice `cancelSignatures` by anyone, with the patient's EIP-712 `CancelSignatures`
    /// signature (revocation lane).
    function cancelSignaturesBySig(address patient, uint256 deadline, bytes calldata signature) external;

    // ---------------------------------------------------------------- studies

    /// @notice Grant `patient`'s consent to a study, by a study manager (the StudyEscrow), which
    /// must have checked that the patient sent or signed the join. `studyKey` is the scope.
    function grantStudyConsent(
        address patient,
        address grantee,
        bytes32 studyKey,
        uint32 categories,
        uint64 purpose,
        uint40 expiresAt
    ) external returns (bytes32 grantId);

    /// @notice Grant `patient`'s consent to a prevention programme, by a study manager (the
    /// PreventionRewards contract), which must have checked that the patient sent or signed the
    /// opt-in. `programmeKey` is the scope; the purpose is exactly HPAYMT (a PAYER grantee) or
    /// PUBHLTH (a PUBLIC_HEALTH grantee). Like a study's, the grant is read only by `scopeStatus`
    /// for that key: it opens no record to the grantee. `revokeStudyConsent` and
    /// `endStudyConsents` end it.
    function grantProgrammeConsent(
        address patient,
        address grantee,
        bytes32 programmeKey,
        uint32 categories,
        uint64 purpose,
        uint40 expiresAt
    ) external returns (bytes32 grantId);

    /// @notice Revoke `patient`'s consent to a study, by the study manager (on leave).
    function revokeStudyConsent(address patient, address grantee, bytes32 studyKey) external;

    /// @notice End every grant of the study `studyKey` at once, by the study manager (on
    /// cancellation), in O(1): `scopeStatus` reports them Expired from now on. (`mayUse` and
    /// `consentStatus` read only purpose scopes, never a study's.)
    function endStudyConsents(bytes32 studyKey) external;

    // ---------------------------------------------------------------- delegates

    /// @notice Appoint `delegate` (guardian, caregiver) until `expiresAt` (0: no end), or change
    /// the term of a current one. Only the patient.
    function appointDelegate(address delegate, uint40 expiresAt) external;

    /// @notice Remove a delegate: by the patient, or by the delegate itself (stepping down).
    function removeDelegate(address patient, address delegate) external;

    // ---------------------------------------------------------------- break-glass

    /// @notice Open emergency (ETREAT) access to `patient`'s data for `duration` seconds, by a
    /// CLINICIAN member of an active PROVIDER; `duration` within the governance policy, and at most
    /// `maxOpeningsPerWindow` openings per patient and organization a day. The reason is not on
    /// the chain (a watcher would learn why the patient needed emergency care), only its
    /// commitment: keccak256(abi.encode(chainid, registry, patient, organization, uint16
    /// reasonCode, bytes32 salt)) with a random salt (a hash of a code alone is found by trying
    /// the few codes). The clinician's console keeps reason and salt and gives them to the
    /// custodian's gateway with each emergency read; the gateway checks them against this
    /// commitment and records the reason in its access log.
    function openEmergencyAccess(
        address patient,
        bytes32 reasonCommitment,
        uint40 duration
    ) external returns (uint40 expiresAt);

    /// @notice Close emergency access early: by the patient, a delegate, or the organization's side.
    function closeEmergencyAccess(address patient, address organization) external;

    /// @notice Set the break-glass policy within fixed bounds. Governance only.
    function setEmergencyPolicy(uint40 minDuration, uint40 maxDuration, uint8 maxOpeningsPerWindow) external;

    // ---------------------------------------------------------------- views

    /// @notice The consent check: whether `grantee` (an organization or one of its members) may
    /// use `category` of `patient`'s data for `purpose` now, and until when. O(1) in the number
    /// of grants: it reads the grantee's account (and its organization's), the patient's state, the
    /// grant for the purpose and those of the purposes that cover it, and for ETREAT an open
    /// emergency access. Named and ordered so that its selector sorts first: the dispatcher compares
    /// selectors in ascending order, and this is the check outside contracts are expected to call
    /// (in this repository only the gas probe `test/ConsentCheckProbe.sol` does; `StudyEscrow`
    /// uses `scopeStatus`). The use flags of `purpose` (commercial, for-profit, which a grant's
    /// DUO NCU/NPU restrictions refuse) are not the requester's to state: they are replaced by
    /// governance's record of the grantee's organization (`useProfile`; none: both).
    function mayUse(
        address patient,
        address grantee,
        uint64 purpose,
        uint8 category
    ) external view returns (bool allowed, uint40 expiresAt);

    /// @notice `mayUse` with the reason and the organization the grantee acts for.
    function consentStatus(
        address patient,
        address grantee,
        uint8 category,
        uint64 purpose
    ) external view returns (Reason reason, uint40 expiresAt, address organization);

    /// @notice Whether `patient`'s grant to `grantee` in `scope` (e.g. a study) is in force now
    /// for `category`, with the reason. The use is the grant's own purpose with the use flags of
    /// governance's record of the grantee's organization (`useProfile`; none: commercial and
    /// for-profit), so a grant restricted by DUO NCU/NPU refuses a commercial/for-profit grantee.
    function scopeStatus(
        address patient,
        address grantee,
        bytes32 scope,
        uint8 category
    ) external view returns (Reason reason, uint40 expiresAt);

    /// @notice The stored grant (void if its epoch is not the patient's current one; a study
    /// grant also if `studyEndedAt` its key is not 0).
    function getGrant(bytes32 grantId) external view returns (Grant memory);

    /// @notice The id of the grant keyed by (patient, grantee, scope).
    function grantIdOf(address patient, address grantee, bytes32 scope) external pure returns (bytes32);

    /// @notice The patient's current epoch and Grant-signature nonce.
    function patientState(address patient) external view returns (uint32 epoch, uint64 nonce);

    /// @notice The patient's nonce for Revoke, RevokeAll and CancelSignatures signatures.
    function revocationNonce(address patient) external view returns (uint64);

    /// @notice Until when `delegate` acts for `patient` (0: not a delegate, or appointed before
    /// the patient's last revoke-all; past: expired).
    function delegateExpiry(address patient, address delegate) external view returns (uint40);

    /// @notice When the study manager ended the grants of `studyKey` (0: not ended).
    function studyEndedAt(bytes32 studyKey) external view returns (uint40);

    /// @notice Open emergency access of `organization` to `patient`: until when (0 if none), by
    /// whom, and the commitment to its reason.
    function emergencyAccess(
        address patient,
        address organization
    ) external view returns (uint40 expiresAt, address clinician, bytes32 reasonCommitment);

    /// @notice The break-glass policy.
    function emergencyPolicy()
        external
        view
        returns (uint40 minDuration, uint40 maxDuration, uint8 maxOpeningsPerWindow);
}
