// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {IConsentRegistry} from "./IConsentRegistry.sol";
import {IEarningsEscrow} from "./IEarningsEscrow.sol";

/// @title IPreventionRewards
/// @notice Prevention programmes that reward patients for preventive care their providers' records
/// confirm. An active PAYER or PUBLIC_HEALTH organization creates and funds a programme: a coded
/// FHIR criterion (a resource type, a code system and a code), a counting period, a reward per
/// patient per period in a currency governance allows, the custodians whose gateways may confirm,
/// and an end. A patient opts in (directly or by signature), which creates the programme's consent
/// in the ConsentRegistry in the same transaction: the criterion's category, purpose HPAYMT (a
/// payer) or PUBHLTH (public health), scoped to the programme, expiring at its end. Opting out
/// revokes it at once. A GATEWAY member of an allowed custodian reports, in batches, the patients
/// whose records meet the criterion in a period; each confirmation pays the reward once per patient
/// and period, only while the consent is in force and the budget covers it. No record leaves the
/// gateway: the payer learns only that the criterion was met. Balances are pulled through the
/// shared core (`IEarningsEscrow`); the unspent budget returns to the payer after the end.
/// @dev The programme's grant is keyed in the registry by `keccak256(abi.encode(address(this),
/// programmeId))` with the payer organization as grantee. Period `p` of a programme covers
/// `[firstPeriodStart + p * periodLength, firstPeriodStart + (p + 1) * periodLength)`.
interface IPreventionRewards is IEarningsEscrow {
    /// @notice A patient's standing in a programme.
    enum EnrolmentStatus {
        None,
        OptedIn,
        OptedOut
    }

    /// @notice Why one confirmation of a reported batch paid nothing.
    enum SkipReason {
        NotOptedIn,
        AlreadyPaid,
        BudgetExhausted,
        NoActiveConsent,
        /// @dev The period ended before the patient's latest opt-in: care then was not in the programme.
        PeriodBeforeOptIn
    }

    /// @notice What a payer declares when creating a programme.
    struct ProgrammeParams {
        /// @dev The ERC-20 the programme pays in; governance must allow it.
        IERC20 currency;
        /// @dev The criterion's FHIR resource type as a `ConsentCodes` category (e.g. CAT_IMMUNIZATION).
        uint8 category;
        /// @dev keccak256 of the criterion's code system URI (e.g. "http://hl7.org/fhir/sid/cvx").
        bytes32 codeSystem;
        /// @dev keccak256 of the criterion's code in that system (e.g. "141").
        bytes32 code;
        /// @dev The start of period 0.
        uint40 firstPeriodStart;
        /// @dev The length of a counting period in seconds (e.g. 365 days).
        uint32 periodLength;
        /// @dev What one confirmation pays the patient.
        uint128 reward;
        /// @dev No opt-in and no confirmation at or after this time; the consents expire then.
        uint40 endTime;
        /// @dev The custodians (active PROVIDER organizations) whose gateways may confirm.
        address[] custodians;
    }

    /// @notice A programme as stored.
    struct Programme {
        address payer;
        uint64 purpose;
        uint8 category;
        IERC20 currency;
        bytes32 codeSystem;
        bytes32 code;
        uint40 firstPeriodStart;
        uint32 periodLength;
        uint40 endTime;
        bool cancelled;
        uint128 reward;
        uint128 budget;
        uint32 participants;
        uint8 custodianCount;
    }

    /// @notice A patient in a programme: its index (fixed at its first opt-in), its standing, the
    /// nonce of its next signature for this programme (programme 0: signed withdrawals) and the
    /// time of its latest opt-in (a period that ended at or before it is never paid).
    struct Enrolment {
        uint32 index;
        EnrolmentStatus status;
        uint64 nonce;
        uint40 optedInAt;
    }

    // ------------------------------------------------------------------ events

    /// @notice `payer` (acting through `creator`) created programme `programmeId`.
    event ProgrammeCreated(
        uint256 indexed programmeId,
        address indexed payer,
        IERC20 indexed currency,
        bytes32 programmeKey,
        uint64 purpose,
        uint8 category,
        bytes32 codeSystem,
        bytes32 code,
        uint40 firstPeriodStart,
        uint32 periodLength,
        uint128 reward,
        uint40 endTime,
        address creator
    );
    /// @notice `custodian`'s gateways may confirm completions for programme `programmeId`.
    event ProgrammeCustodianAllowed(uint256 indexed programmeId, address indexed custodian);
    /// @notice `funder` added `amount` to the programme's budget, which is now `budget`.
    event ProgrammeFunded(uint256 indexed programmeId, address indexed funder, uint256 amount, uint256 budget);
    /// @notice The programme was cancelled: it ended now.
    event ProgrammeCancelled(uint256 indexed programmeId, address actor);
    /// @notice The programme's unspent budget, `amount`, went back to `to`.
    event ProgrammeBudgetReclaimed(uint256 indexed programmeId, address indexed to, uint256 amount);
    /// @notice `patient` opted in (or again); `actor` is the patient or the relayer of its signature.
    event OptedIn(uint256 indexed programmeId, address indexed patient, address actor);
    /// @notice `patient` opted out; its consent for the programme was revoked.
    event OptedOut(uint256 indexed programmeId, address indexed patient, address actor);
    /// @notice `custodian` confirmed that `patient` met the criterion in `period`; `amount` was paid.
    event ConfirmationPaid(
        uint256 indexed programmeId,
        address indexed patient,
        address indexed custodian,
        uint32 period,
        uint256 amount
    );
    /// @notice A reported confirmation paid nothing, for `reason` (and, for NoActiveConsent, the
    /// registry's `consentReason`).
    event ConfirmationSkipped(
        uint256 indexed programmeId,
        address indexed patient,
        address indexed custodian,
        uint32 period,
        SkipReason reason,
        IConsentRegistry.Reason consentReason
    );
    /// @notice `gateway` reported a batch for `custodian` and `period`: `paid` paid, `skipped` did not.
    event ConfirmationsReported(
        uint256 indexed programmeId,
        address indexed custodian,
        address indexed gateway,
        uint32 period,
        uint256 paid,
        uint256 skipped
    );
    /// @notice Every outstanding signature of `patient` for programme `programmeId` is void.
    event ProgrammeSignaturesCancelled(uint256 indexed programmeId, address indexed patient, uint64 nonce);

    // ------------------------------------------------------------------ errors

    /// @notice The caller is not an active PAYER or PUBLIC_HEALTH organization or an ADMIN member of one.
    error PreventionRewardsNotPayer(address caller);
    /// @notice The caller is neither the programme's payer organization nor one of its ADMIN members.
    error PreventionRewardsNotManager(uint256 programmeId, address caller);
    /// @notice The caller is not an active GATEWAY member of an active PROVIDER organization.
    error PreventionRewardsNotGateway(address caller);
    /// @notice The custodian may not confirm completions for the programme.
    error PreventionRewardsCustodianNotAllowed(uint256 programmeId, address custodian);
    /// @notice There is no programme with that id.
    error PreventionRewardsUnknownProgramme(uint256 programmeId);
    /// @notice The programme is past its end (or was cancelled, which ends it).
    error PreventionRewardsProgrammeClosed(uint256 programmeId, uint40 endTime);
    /// @notice The programme is not yet past its end.
    error PreventionRewardsProgrammeNotOver(uint256 programmeId, uint40 endTime);
    /// @notice The patient has not opted in to the programme (or opted out).
    error PreventionRewardsNotOptedIn(uint256 programmeId, address patient);
    /// @notice The category is not a known resource type.
    error PreventionRewardsInvalidCategory(uint8 category);
    /// @notice The code system or the code is missing.
    error PreventionRewardsInvalidCode(bytes32 codeSystem, bytes32 code);
    /// @notice The reward is zero.
    error PreventionRewardsInvalidReward(uint128 reward);
    /// @notice The period length is zero, the first period starts after the end, or the end is
    /// not in the future or further than `MAX_PROGRAMME_DURATION` away.
    error PreventionRewardsInvalidSchedule(uint40 firstPeriodStart, uint32 periodLength, uint40 endTime);
    /// @notice No custodian, or more than `MAX_CUSTODIANS`.
    error PreventionRewardsInvalidCustodianCount(uint256 count, uint256 max);
    /// @notice The custodian is not an active PROVIDER organization.
    error PreventionRewardsCustodianNotProvider(address custodian);
    /// @notice The custodian is listed twice.
    error PreventionRewardsDuplicateCustodian(address custodian);
    /// @notice The period has not started yet, or starts at or after the programme's end.
    error PreventionRewardsInvalidPeriod(uint256 programmeId, uint32 period);
    /// @notice The budget would exceed `type(uint128).max`.
    error PreventionRewardsBudgetOverflow(uint256 programmeId, uint256 budget, uint256 amount);
    /// @notice The programme has no unspent budget.
    error PreventionRewardsNothingToReclaim(uint256 programmeId);
    /// @notice No confirmation was reported.
    error PreventionRewardsEmptyBatch();
    /// @notice The programme has as many participants as it may (`type(uint32).max`).
    error PreventionRewardsProgrammeFull(uint256 programmeId);

    // ------------------------------------------------------------------ programmes

    /// @notice Create a programme and fund it with `amount` (0: fund later) from the caller's
    /// allowance. The caller is an active PAYER or PUBLIC_HEALTH organization or an ADMIN member.
    function createProgramme(ProgrammeParams calldata params, uint256 amount) external returns (uint256 programmeId);

    /// @notice `createProgramme`, funded through an EIP-2612 permit of `amount` by the caller.
    function createProgrammeWithPermit(
        ProgrammeParams calldata params,
        uint256 amount,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external returns (uint256 programmeId);

    /// @notice Add `amount` to an open programme's budget from the caller's allowance. Managers only.
    function fund(uint256 programmeId, uint256 amount) external;

    /// @notice `fund` through an EIP-2612 permit.
    function fundWithPermit(
        uint256 programmeId,
        uint256 amount,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external;

    /// @notice End an open programme now: no more opt-ins or confirmations; every consent for it
    /// ends in the registry. Managers only.
    function cancelProgramme(uint256 programmeId) external;

    /// @notice Send an ended programme's unspent budget to the payer organization's own address.
    /// Managers only.
    function reclaim(uint256 programmeId) external returns (uint256 amount);

    // ------------------------------------------------------------------ patients

    /// @notice Opt in to an open programme (or again after opting out): creates the caller's
    /// consent for it in the registry. Pays nothing.
    function optIn(uint256 programmeId) external;

    /// @notice `optIn` by anyone, with the patient's EIP-712 `OptIn` signature over the programme,
    /// the patient, the programme's terms (payer, category, code system, code, reward, currency,
    /// end), its revocation nonce in the ConsentRegistry (`ConsentRegistry.revocationNonce`: a
    /// revoke-all or a signature cancellation there voids the signature), its nonce for this
    /// programme and a deadline.
    function optInBySig(uint256 programmeId, address patient, uint256 deadline, bytes calldata signature) external;

    /// @notice Opt out: revokes the caller's consent for the programme at once and uses up its
    /// nonce there. What was earned stays.
    function optOut(uint256 programmeId) external;

    /// @notice `optOut` by anyone, with the patient's EIP-712 `OptOut` signature.
    function optOutBySig(uint256 programmeId, address patient, uint256 deadline, bytes calldata signature) external;

    /// @notice Void every outstanding signature of the caller for programme `programmeId`
    /// (programme 0: signed withdrawals).
    function cancelSignatures(uint256 programmeId) external;

    // ------------------------------------------------------------------ confirmations

    /// @notice Report that each patient's records at the caller's custodian meet the programme's
    /// criterion in `period`. The caller is a GATEWAY member of an allowed custodian; the period
    /// has started and starts before the programme's end. Each confirmation pays the reward unless
    /// the patient has not opted in, the period ended at or before the patient's latest opt-in
    /// (a payer pays for care while the patient is in the programme; after an opt-out and a new
    /// opt-in, only periods that end after the new one count), the period was already paid for
    /// the patient, the budget cannot cover it, or the patient's consent is not in force now; such
    /// confirmations are skipped with a `ConfirmationSkipped` event, so a retried report pays
    /// nothing more.
    function reportConfirmations(
        uint256 programmeId,
        uint32 period,
        address[] calldata patients
    ) external returns (uint256 paid);

    // ------------------------------------------------------------------ views

    /// @notice The ConsentRegistry in which the programmes' consents live.
    function registry() external view returns (IConsentRegistry);

    /// @notice How many programmes were ever created (ids are 1..programmeCount).
    function programmeCount() external view returns (uint256);

    /// @notice The programme.
    function getProgramme(uint256 programmeId) external view returns (Programme memory);

    /// @notice The custodians allowed to confirm for the programme.
    function programmeCustodians(uint256 programmeId) external view returns (address[] memory);

    /// @notice The scope of the programme's consents in the registry.
    function programmeKey(uint256 programmeId) external view returns (bytes32);

    /// @notice The patient in the programme.
    function getEnrolment(uint256 programmeId, address patient) external view returns (Enrolment memory);

    /// @notice Whether a confirmation of `patient` in `period` was paid.
    function isConfirmed(uint256 programmeId, address patient, uint32 period) external view returns (bool);

    /// @notice The period `timestamp` falls in (reverts before period 0).
    function periodAt(uint256 programmeId, uint256 timestamp) external view returns (uint32);
}
