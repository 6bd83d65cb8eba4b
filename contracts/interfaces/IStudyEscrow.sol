// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {IConsentRegistry} from "./IConsentRegistry.sol";
import {IEarningsEscrow} from "./IEarningsEscrow.sol";

/// @title IStudyEscrow
/// @notice Research studies that pay patients for the use of their data. An accredited RESEARCHER
/// organization creates and funds a study in an ERC-20 that governance allows; a patient joins
/// (which creates the research grant for that study in the ConsentRegistry, in the same
/// transaction) and may leave at any time; a GATEWAY member of an allowed custodian reports the
/// custodian's first release of a patient's data to the study (a delivery), which pays the price
/// out of the budget: the custodian's declared share to the custodian, the rest to the patient.
/// Balances are pulled with `withdraw`; the unspent budget returns to the researcher after the
/// study's end or on cancellation.
/// @dev A study's research grant is keyed in the registry by the study key
/// `keccak256(abi.encode(address(escrow), studyId))`, with the researcher organization as grantee,
/// the study's purpose and categories, expiring at the study's end. A delivery is identified by
/// (study, patient, custodian) and pays at most once, also across a leave and a re-join. Amounts
/// are in the study's currency; the escrow's balance of a currency always covers the unspent
/// budgets plus the unwithdrawn balances in it (`accounted`); anything above is excess that
/// governance may recover.
interface IStudyEscrow is IEarningsEscrow {
    /// @notice A study's life cycle. A study is over when its end time has passed; cancelling ends it
    /// at once (its enrolment deadline and end time become the time of cancellation).
    enum StudyStatus {
        None,
        Open,
        Cancelled
    }

    /// @notice A patient's standing in a study.
    enum ParticipantStatus {
        None,
        Joined,
        Left
    }

    /// @notice Why one delivery of a reported batch paid nothing.
    enum SkipReason {
        NotParticipant,
        AlreadyDelivered,
        BudgetExhausted,
        NoActiveGrant
    }

    /// @notice A custodian allowed to report deliveries to a study, and its share of each price.
    struct CustodianShare {
        address custodian;
        uint16 shareBps;
    }

    /// @notice What a researcher declares when creating a study.
    struct StudyParams {
        /// @dev The ERC-20 the study pays in; governance must allow it.
        IERC20 currency;
        /// @dev The research purpose (`ConsentCodes`: HRESCH or a DUO code, flags, disease code).
        uint64 purpose;
        /// @dev The data categories the study uses (`ConsentCodes` category bits).
        uint32 categories;
        /// @dev What one delivery pays, custodian share included.
        uint128 price;
        /// @dev How many distinct patients may ever join.
        uint32 maxParticipants;
        /// @dev No join at or after this time.
        uint40 enrolmentDeadline;
        /// @dev No delivery at or after this time; the research grants expire then.
        uint40 endTime;
        /// @dev Hash of the protocol and ethics-approval documents.
        bytes32 protocolHash;
        /// @dev The custodians allowed to report deliveries, each with its share in basis points.
        CustodianShare[] custodians;
        /// @dev Whether every join needs a custodian's `Attestation` that it holds the patient's
        /// records (`joinAttested`, `joinBySigAttested`); fixed at creation.
        bool attestedEnrolment;
    }

    /// @notice A custodian's confirmation that it holds a patient's records, for one join: the
    /// EIP-712 `EnrolmentAttestation(patient, studyId, custodian, deadline)` in the escrow's
    /// domain, signed by an active GATEWAY member of `custodian` (an account key, ecrecover).
    struct Attestation {
        address custodian;
        uint256 deadline;
        bytes signature;
    }

    /// @notice A study as stored.
    struct Study {
        address researcher;
        uint64 purpose;
        uint32 categories;
        IERC20 currency;
        uint40 enrolmentDeadline;
        uint40 endTime;
        StudyStatus status;
        uint128 price;
        uint128 budget;
        uint32 maxParticipants;
        /// @dev The places taken now: a participant who left frees its place.
        uint32 participants;
        uint8 custodianCount;
        bytes32 protocolHash;
        /// @dev Joins need a custodian's attestation (`StudyParams.attestedEnrolment`).
        bool attestedEnrolment;
    }

    /// @notice A patient in a study: its participant index (fixed at its first join), its standing
    /// and the nonce of its next signature for this study.
    struct Participant {
        uint32 index;
        ParticipantStatus status;
        uint64 nonce;
    }

    // ------------------------------------------------------------------ events

    /// @notice `researcher` (acting through `creator`) created study `studyId`.
    event StudyCreated(
        uint256 indexed studyId,
        address indexed researcher,
        IERC20 indexed currency,
        bytes32 studyKey,
        uint64 purpose,
        uint32 categories,
        uint128 price,
        uint32 maxParticipants,
        uint40 enrolmentDeadline,
        uint40 endTime,
        bytes32 protocolHash,
        address creator
    );
    /// @notice `custodian` may report deliveries to study `studyId`; `slot` numbers its delivery flags.
    event StudyCustodianAllowed(uint256 indexed studyId, address indexed custodian, uint8 slot, uint16 shareBps);
    /// @notice `funder` added `amount` to the study's budget, which is now `budget`.
    event StudyFunded(uint256 indexed studyId, address indexed funder, uint256 amount, uint256 budget);
    /// @notice `sponsor`, a third party (e.g. a research fund), added `amount` to the study's budget
    /// (with the `StudyFunded` of the same transaction); it reclaims its part of what is left unspent.
    event StudySponsored(uint256 indexed studyId, address indexed sponsor, uint256 amount);
    /// @notice The study was cancelled: no more joins, deliveries or funding.
    event StudyCancelled(uint256 indexed studyId, address actor);
    /// @notice The study's unspent budget, `amount`, went back to `to`.
    event BudgetReclaimed(uint256 indexed studyId, address indexed to, uint256 amount);
    /// @notice `patient` joined study `studyId` (or joined again); the registry's `ConsentGranted`
    /// of the same transaction is its research grant. `actor` is the patient or the relayer of its
    /// signature.
    event StudyJoined(uint256 indexed studyId, address indexed patient, address actor);
    /// @notice `patient` left study `studyId`; its research grant for that study was revoked.
    event StudyLeft(uint256 indexed studyId, address indexed patient, address actor);
    /// @notice A delivery paid `patientAmount` to `patient` and `custodianAmount` to `custodian`.
    event DeliveryPaid(
        uint256 indexed studyId,
        address indexed patient,
        address indexed custodian,
        uint256 patientAmount,
        uint256 custodianAmount
    );
    /// @notice A reported delivery paid nothing, for `reason` (and, for NoActiveGrant, the
    /// registry's `consentReason`).
    event DeliverySkipped(
        uint256 indexed studyId,
        address indexed patient,
        address indexed custodian,
        SkipReason reason,
        IConsentRegistry.Reason consentReason
    );
    /// @notice `gateway` reported a batch for `custodian`: `paid` deliveries paid, `skipped` did not;
    /// the custodian was credited `custodianAmount`.
    event DeliveriesReported(
        uint256 indexed studyId,
        address indexed custodian,
        address indexed gateway,
        uint256 paid,
        uint256 skipped,
        uint256 custodianAmount
    );
    /// @notice Every outstanding signature of `patient` for study `studyId` is void; the next nonce is `nonce`.
    event SignaturesCancelled(uint256 indexed studyId, address indexed patient, uint64 nonce);
    /// @notice Study `studyId` takes only joins that a custodian attests (`joinAttested`, `joinBySigAttested`).
    event StudyRequiresAttestation(uint256 indexed studyId);

    // ------------------------------------------------------------------ errors

    /// @notice The caller is not an active RESEARCHER organization or an ADMIN member of one.
    error StudyEscrowNotResearcher(address caller);
    /// @notice The caller is neither the study's researcher organization nor one of its ADMIN members.
    error StudyEscrowNotStudyManager(uint256 studyId, address caller);
    /// @notice The caller is not an active GATEWAY member of an active PROVIDER organization.
    error StudyEscrowNotGateway(address caller);
    /// @notice The custodian is not allowed to report deliveries to the study.
    error StudyEscrowCustodianNotAllowed(uint256 studyId, address custodian);
    /// @notice There is no study with that id.
    error StudyEscrowUnknownStudy(uint256 studyId);
    /// @notice The study is past its end time (or was cancelled, which ends it).
    error StudyEscrowStudyClosed(uint256 studyId, StudyStatus status, uint40 endTime);
    /// @notice The study is not yet past its end time (nor cancelled).
    error StudyEscrowStudyNotOver(uint256 studyId, uint40 endTime);
    /// @notice The study's enrolment deadline has passed.
    error StudyEscrowEnrolmentClosed(uint256 studyId, uint40 enrolmentDeadline);
    /// @notice The study has as many participants as it may.
    error StudyEscrowStudyFull(uint256 studyId, uint32 maxParticipants);
    /// @notice The patient is not a current participant of the study.
    error StudyEscrowNotJoined(uint256 studyId, address patient);
    /// @notice The purpose is not a well-formed research purpose (HRESCH or a DUO code).
    error StudyEscrowInvalidPurpose(uint64 purpose);
    /// @notice The categories are empty or contain unknown bits.
    error StudyEscrowInvalidCategories(uint32 categories);
    /// @notice The price is zero.
    error StudyEscrowInvalidPrice(uint128 price);
    /// @notice The maximum number of participants is zero or above `MAX_PARTICIPANTS`.
    error StudyEscrowInvalidMaxParticipants(uint32 maxParticipants);
    /// @notice The enrolment deadline is not in the future, or the end time is not after it, or
    /// the end time is further than `MAX_STUDY_DURATION` away.
    error StudyEscrowInvalidSchedule(uint40 enrolmentDeadline, uint40 endTime, uint256 timestamp);
    /// @notice The protocol hash is zero.
    error StudyEscrowMissingProtocolHash();
    /// @notice No custodian, or more than `MAX_CUSTODIANS`.
    error StudyEscrowInvalidCustodianCount(uint256 count, uint256 max);
    /// @notice The custodian is not an active PROVIDER organization.
    error StudyEscrowCustodianNotProvider(address custodian);
    /// @notice The custodian is listed twice.
    error StudyEscrowDuplicateCustodian(address custodian);
    /// @notice The custodian's share is above `MAX_CUSTODIAN_SHARE_BPS`.
    error StudyEscrowShareTooHigh(address custodian, uint16 shareBps, uint16 maxShareBps);
    /// @notice The budget would exceed `type(uint128).max`.
    error StudyEscrowBudgetOverflow(uint256 studyId, uint256 budget, uint256 amount);
    /// @notice No delivery was reported.
    error StudyEscrowEmptyBatch();
    /// @notice The study has no unspent budget.
    error StudyEscrowNothingToReclaim(uint256 studyId);
    /// @notice Part of the study's funding is spent (`budget` of `funded` is left): a sponsor joins
    /// only before that, and the researcher adds to a sponsored study only before that (the unspent
    /// budget is shared back pro rata to what each funder put in, which is fair only when all of it
    /// was put in before any was spent).
    error StudyEscrowFundingSpent(uint256 studyId, uint256 budget, uint256 funded);
    /// @notice The study takes only joins with a custodian's attestation (`joinAttested`, `joinBySigAttested`).
    error StudyEscrowAttestationRequired(uint256 studyId);
    /// @notice The attestation's deadline has passed.
    error StudyEscrowAttestationExpired(uint256 deadline, uint256 timestamp);
    /// @notice The attestation is not signed by an active GATEWAY member of `custodian` (an active
    /// PROVIDER allowed in the study) for this patient and study.
    error StudyEscrowInvalidAttestation(uint256 studyId, address patient, address custodian);

    // ------------------------------------------------------------------ studies

    /// @notice Create a study and fund it with `amount` (0: fund later) from the caller's
    /// allowance. The caller is an active RESEARCHER organization or an ADMIN member of one.
    function createStudy(StudyParams calldata params, uint256 amount) external returns (uint256 studyId);

    /// @notice `createStudy`, funded through an EIP-2612 permit of `amount` by the caller. A permit
    /// that fails (e.g. front-run) is ignored when the allowance already covers `amount`.
    function createStudyWithPermit(
        StudyParams calldata params,
        uint256 amount,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external returns (uint256 studyId);

    /// @notice Add `amount` to an open study's budget from the caller's allowance. Study managers
    /// only; to a sponsored study only before any of its budget is spent.
    function fund(uint256 studyId, uint256 amount) external;

    /// @notice `fund` through an EIP-2612 permit (wrapped as in `createStudyWithPermit`).
    function fundWithPermit(uint256 studyId, uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external;

    /// @notice Cancel an open study. Study managers only.
    function cancelStudy(uint256 studyId) external;

    /// @notice Send a cancelled or ended study's unspent budget, the researcher's pro-rata part of
    /// it when sponsors contributed (its funding over all unreclaimed funding), to the researcher
    /// organization's own address (never to the ADMIN member who asks). Study managers only.
    function reclaim(uint256 studyId) external returns (uint256 amount);

    /// @notice Add `amount` to an open study's budget from the caller's allowance, as a third-party
    /// sponsor (anyone; e.g. a research fund after its members' vote), before any of the study's
    /// budget is spent. Recorded per sponsor.
    function sponsor(uint256 studyId, uint256 amount) external;

    /// @notice After the study's end (or cancellation), send the caller, a sponsor, its pro-rata part
    /// of the unspent budget (its sponsorship over all unreclaimed funding; the last funder takes
    /// the rest). Pays 0 without reverting when nothing is left, so the sponsor's books can settle.
    function reclaimSponsorship(uint256 studyId) external returns (uint256 amount);

    // ------------------------------------------------------------------ participants

    /// @notice Join an open study before its enrolment deadline (or join again after leaving):
    /// creates the caller's research grant for that study in the registry. Pays nothing. A study
    /// created with `attestedEnrolment` refuses it (`joinAttested`).
    function join(uint256 studyId) external;

    /// @notice `join` by anyone, with the patient's EIP-712 `Join` signature (EOA or ERC-1271) over
    /// the study, the patient, the study's terms as the escrow holds them (researcher, purpose,
    /// categories, price, end time, protocol hash), its revocation nonce in the ConsentRegistry
    /// (`ConsentRegistry.revocationNonce`: a revoke-all or a signature cancellation there voids the
    /// signature), its nonce for this study (`getParticipant`) and a deadline.
    function joinBySig(uint256 studyId, address patient, uint256 deadline, bytes calldata signature) external;

    /// @notice `join`, with a custodian's attestation that it holds the caller's records (needed
    /// to join a study created with `attestedEnrolment`; accepted for any study).
    function joinAttested(uint256 studyId, Attestation calldata attestation) external;

    /// @notice `joinBySig` with a custodian's attestation for `patient` (the relayed join of a
    /// study created with `attestedEnrolment`: the custodian's gateway attests and relays).
    function joinBySigAttested(
        uint256 studyId,
        address patient,
        uint256 deadline,
        bytes calldata signature,
        Attestation calldata attestation
    ) external;

    /// @notice Leave a study: revokes the caller's research grant for it, frees its place and uses
    /// up its nonce there (no Join or Leave signed before can be used). What was earned stays.
    function leave(uint256 studyId) external;

    /// @notice `leave` by anyone, with the patient's EIP-712 `Leave` signature.
    function leaveBySig(uint256 studyId, address patient, uint256 deadline, bytes calldata signature) external;

    /// @notice Void every outstanding signature of the caller for study `studyId` (a nonce bump).
    function cancelSignatures(uint256 studyId) external;

    // ------------------------------------------------------------------ deliveries

    /// @notice Report the first release of each patient's data to the study by the caller's
    /// custodian. The caller is a GATEWAY member of an allowed custodian. Each delivery pays the
    /// price out of the budget unless the patient is not a participant, it was already paid, the
    /// budget cannot cover it, or the patient has no active research grant for the study now; such
    /// deliveries are skipped with a `DeliverySkipped` event, so a retried report pays nothing more.
    function reportDeliveries(
        uint256 studyId,
        address[] calldata patients
    ) external returns (uint256 paid, uint256 custodianAmount);

    // ------------------------------------------------------------------ views

    /// @notice The ConsentRegistry in which the research grants live.
    function registry() external view returns (IConsentRegistry);

    /// @notice How many studies were ever created (ids are 1..studyCount).
    function studyCount() external view returns (uint256);

    /// @notice The study.
    function getStudy(uint256 studyId) external view returns (Study memory);

    /// @notice The custodians allowed to report deliveries to the study, with their shares.
    function studyCustodians(uint256 studyId) external view returns (CustodianShare[] memory);

    /// @notice The scope of the study's research grants in the registry.
    function studyKey(uint256 studyId) external view returns (bytes32);

    /// @notice What `sponsor` contributed to the study and has not reclaimed.
    function sponsorshipOf(uint256 studyId, address sponsor) external view returns (uint256);

    /// @notice The patient in the study.
    function getParticipant(uint256 studyId, address patient) external view returns (Participant memory);

    /// @notice Whether `custodian`'s delivery of `patient`'s data to the study was paid.
    function isDelivered(uint256 studyId, address patient, address custodian) external view returns (bool);
}
