// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

import {EarningsEscrow} from "./EarningsEscrow.sol";
import {IConsentRegistry} from "./interfaces/IConsentRegistry.sol";
import {IOrganizationRegistry} from "./interfaces/IOrganizationRegistry.sol";
import {IStudyEscrow} from "./interfaces/IStudyEscrow.sol";
import {Accreditation} from "./libraries/Accreditation.sol";
import {ConsentCodes} from "./libraries/ConsentCodes.sol";

/// @title StudyEscrow
/// @notice Research studies that pay patients, through the ConsentRegistry's study grants, for the
/// deliveries of their data that custodians' gateways report.
/// @dev Storage is laid out for the three hot paths (join, a delivery in a batch, withdraw):
/// - a study is five slots (`StudyRecord`); a join reads the first two as words, a delivery batch
///   reads the first three once and writes the budget once;
/// - a participant is one slot per (study, patient), written at join: its index, standing and
///   signature nonce;
/// - delivery flags are bitmaps keyed by (study, custodian slot, participant index / 256), one bit
///   per delivery, so 256 consecutive participants share a slot and no delivery writes a new one;
/// - balances, currencies, withdrawals and excess recovery are the shared core's
///   (`EarningsEscrow`); joining opens the patient's balance, so a delivery only changes it from
///   non-zero to non-zero; the custodian's share is summed in memory and credited once per batch.
/// Every function that moves tokens or pays deliveries is `nonReentrant` (transient guard) and
/// follows checks-effects-interactions, but funding, which must measure what it received (to
/// refuse fee-on-transfer tokens) before crediting it. Join, leave and cancel call only the
/// registry, which is immutable and trusted, after their own effects.
contract StudyEscrow is IStudyEscrow, EarningsEscrow {
    using SafeERC20 for IERC20;

    /// @dev The study's terms as a Join shows them to the patient (EIP-712 struct `Terms`).
    bytes32 private constant TERMS_TYPEHASH = keccak256(
        "Terms(address researcher,uint64 purpose,uint32 categories,uint128 price,uint40 endTime,bytes32 protocolHash)"
    );
    /// @dev The Join message carries the study's terms (a nested `Terms` struct), so that the
    /// wallet shows what the patient agrees to and a signature means those terms only. The escrow
    /// hashes the terms once, at creation (`StudyRecord.termsHash`), and a join reads that hash.
    /// It also carries the patient's revocation nonce in the ConsentRegistry (`registryNonce`),
    /// which a revoke-all or a signature cancellation there moves on: neither leaves a Join
    /// signature that could create the study's consent again.
    bytes32 public constant JOIN_TYPEHASH = keccak256(
        "Join(uint256 studyId,address patient,Terms terms,uint64 registryNonce,uint64 nonce,uint256 deadline)"
        "Terms(address researcher,uint64 purpose,uint32 categories,uint128 price,uint40 endTime,bytes32 protocolHash)"
    );
    /// @dev keccak256("EnrolmentAttestation(address patient,uint256 studyId,address custodian,uint256 deadline)")
    bytes32 private constant ATTESTATION_TYPEHASH = keccak256(
        "EnrolmentAttestation(address patient,uint256 studyId,address custodian,uint256 deadline)"
    );
    /// @dev keccak256("Leave(uint256 studyId,address patient,uint64 nonce,uint256 deadline)")
    bytes32 public constant LEAVE_TYPEHASH = keccak256(
        "Leave(uint256 studyId,address patient,uint64 nonce,uint256 deadline)"
    );

    /// @notice The most custodians a study may allow.
    uint256 public constant MAX_CUSTODIANS = 16;
    /// @notice The highest custodian share of a price, in basis points.
    uint16 public constant MAX_CUSTODIAN_SHARE_BPS = 3_000;
    /// @notice The furthest a study's end may be from its creation.
    uint256 public constant MAX_STUDY_DURATION = 3_650 days;

    /// @notice The most participants a study may have.
    uint32 public constant MAX_PARTICIPANTS = type(uint24).max;

    uint256 private constant BPS = 10_000;
    /// @dev The nonce lane of signed withdrawals: `_participants[WITHDRAW_LANE][patient].nonce`
    /// (no study has id 0), so that `cancelSignatures(0)` voids them like any study's.
    uint256 private constant WITHDRAW_LANE = 0;
    /// @dev In `StudyRecord.categories`, above the ten category bits: joins need an attestation.
    uint16 private constant ATTESTED_ENROLMENT = 0x8000;

    /// @dev A study in six slots, packed so that a join reads two of them (a signed join three)
    /// and a delivery batch three:
    /// researcher|purpose|participants|maxParticipants; currency|enrolmentDeadline|endTime|categories;
    /// price|budget; status|custodianCount|freed|funded; protocolHash; termsHash. `termsHash` is the
    /// EIP-712 hash of the `Terms` a Join signs, computed at creation (the terms never change: a
    /// cancellation moves the end time, but no join is possible after it). `participants` counts the indices
    /// ever handed out (never reused: they key the delivery flags), `freed` the participants who
    /// left; the places taken are their difference. A purpose fits 48 bits and the categories
    /// 10 (`ConsentCodes`): the top bit of `categories` is the study's `ATTESTED_ENROLMENT` flag,
    /// which a join reads with the categories; cancelling ends the study now (deadline and end time set to now), so a
    /// join and a delivery need not read the status.
    struct StudyRecord {
        address researcher;
        uint48 purpose;
        uint24 participants;
        uint24 maxParticipants;
        IERC20 currency;
        uint40 enrolmentDeadline;
        uint40 endTime;
        uint16 categories;
        uint128 price;
        uint128 budget;
        StudyStatus status;
        uint8 custodianCount;
        uint24 freed;
        /// @dev What every funder (researcher and sponsors) put in and has not reclaimed yet.
        uint128 funded;
        bytes32 protocolHash;
        bytes32 termsHash;
    }

    IConsentRegistry private immutable _registry;

    uint256 private _studyCount;
    mapping(uint256 studyId => StudyRecord) private _studies;
    /// @dev (custodian slot + 1) | shareBps << 8; 0: not allowed.
    mapping(uint256 studyId => mapping(address custodian => uint256 entry)) private _custodianEntries;
    mapping(uint256 studyId => CustodianShare[]) private _custodianLists;
    mapping(uint256 studyId => mapping(address patient => Participant)) private _participants;
    /// @dev Key: custodian slot << 32 | participant index >> 8; bit: participant index & 255.
    mapping(uint256 studyId => mapping(uint256 key => uint256 bits)) private _delivered;
    /// @dev Third parties' unreclaimed contributions to a study's budget; key address(0): their sum.
    mapping(uint256 studyId => mapping(address sponsor => uint256 amount)) private _sponsorships;

    /// @param registry_ The ConsentRegistry; the escrow needs its STUDY_MANAGER_ROLE.
    /// @param admin Holder of DEFAULT_ADMIN_ROLE (a multisig or timelock in production).
    /// @param governance Holder of GOVERNANCE_ROLE (currencies, excess recovery).
    constructor(
        IConsentRegistry registry_,
        address admin,
        address governance
    ) EarningsEscrow(admin, governance) EIP712("Consentry StudyEscrow", "1") {
        _registry = registry_;
    }

    // ------------------------------------------------------------------ studies

    /// @inheritdoc IStudyEscrow
    function createStudy(StudyParams calldata params, uint256 amount) external nonReentrant returns (uint256 studyId) {
        studyId = _createStudy(params);
        if (amount != 0) _fund(studyId, params.currency, amount);
    }

    /// @inheritdoc IStudyEscrow
    function createStudyWithPermit(
        StudyParams calldata params,
        uint256 amount,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external nonReentrant returns (uint256 studyId) {
        studyId = _createStudy(params);
        _permit(params.currency, amount, deadline, v, r, s);
        _fund(studyId, params.currency, amount);
    }

    /// @inheritdoc IStudyEscrow
    function fund(uint256 studyId, uint256 amount) external nonReentrant {
        IERC20 currency = _openStudyForManager(studyId);
        _checkUnspent(studyId, false);
        _fund(studyId, currency, amount);
    }

    /// @inheritdoc IStudyEscrow
    function fundWithPermit(
        uint256 studyId,
        uint256 amount,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external nonReentrant {
        IERC20 currency = _openStudyForManager(studyId);
        _checkUnspent(studyId, false);
        _permit(currency, amount, deadline, v, r, s);
        _fund(studyId, currency, amount);
    }

    /// @inheritdoc IStudyEscrow
    function cancelStudy(uint256 studyId) external {
        _openStudyForManager(studyId);
        StudyRecord storage study = _studies[studyId];
        study.status = StudyStatus.Cancelled;
        uint40 now_ = uint40(block.timestamp);
        if (study.enrolmentDeadline > now_) study.enrolmentDeadline = now_;
        study.endTime = now_;
        // Every participant's grant for the study ends now, in every check of the registry.
        _registry.endStudyConsents(_studyKey(studyId));
        emit StudyCancelled(studyId, msg.sender);
    }

    /// @inheritdoc IStudyEscrow
    function reclaim(uint256 studyId) external nonReentrant returns (uint256 amount) {
        StudyRecord storage study = _requireStudy(studyId);
        _checkManager(studyId, study.researcher);
        // To the organization itself, never to the member who asks.
        amount = _reclaim(studyId, study, study.researcher, study.funded - _sponsorships[studyId][address(0)], true);
    }

    /// @inheritdoc IStudyEscrow
    function sponsor(uint256 studyId, uint256 amount) external nonReentrant {
        StudyRecord storage study = _requireStudy(studyId);
        uint40 endTime = study.endTime;
        if (block.timestamp >= endTime) revert StudyEscrowStudyClosed(studyId, study.status, endTime);
        _checkUnspent(studyId, true);
        _fund(studyId, study.currency, amount);
        _sponsorships[studyId][msg.sender] += amount;
        _sponsorships[studyId][address(0)] += amount;
        emit StudySponsored(studyId, msg.sender, amount);
    }

    /// @inheritdoc IStudyEscrow
    function reclaimSponsorship(uint256 studyId) external nonReentrant returns (uint256 amount) {
        StudyRecord storage study = _requireStudy(studyId);
        uint256 share = _sponsorships[studyId][msg.sender];
        // Settled before the transfer (_reclaim reverts, and with it these, when there is nothing).
        _sponsorships[studyId][msg.sender] = 0;
        _sponsorships[studyId][address(0)] -= share;
        amount = _reclaim(studyId, study, msg.sender, share, false);
    }

    // ------------------------------------------------------------------ participants

    /// @inheritdoc IStudyEscrow
    function join(uint256 studyId) external {
        _join(studyId, msg.sender, false, false);
    }

    /// @inheritdoc IStudyEscrow
    function joinBySig(uint256 studyId, address patient, uint256 deadline, bytes calldata signature) external {
        _checkSignature(_joinHash(studyId, patient), studyId, patient, deadline, signature);
        _join(studyId, patient, true, false);
    }

    /// @inheritdoc IStudyEscrow
    function joinAttested(uint256 studyId, Attestation calldata attestation) external {
        _checkAttestation(studyId, msg.sender, attestation);
        _join(studyId, msg.sender, false, true);
    }

    /// @inheritdoc IStudyEscrow
    function joinBySigAttested(
        uint256 studyId,
        address patient,
        uint256 deadline,
        bytes calldata signature,
        Attestation calldata attestation
    ) external {
        _checkSignature(_joinHash(studyId, patient), studyId, patient, deadline, signature);
        _checkAttestation(studyId, patient, attestation);
        _join(studyId, patient, true, true);
    }

    /// @inheritdoc IStudyEscrow
    function leave(uint256 studyId) external {
        _leave(studyId, msg.sender);
    }

    /// @inheritdoc IStudyEscrow
    function leaveBySig(uint256 studyId, address patient, uint256 deadline, bytes calldata signature) external {
        _checkSignature(abi.encode(LEAVE_TYPEHASH, studyId, patient), studyId, patient, deadline, signature);
        _leave(studyId, patient);
    }

    /// @inheritdoc IStudyEscrow
    function cancelSignatures(uint256 studyId) external {
        uint64 nonce = ++_participants[studyId][msg.sender].nonce;
        emit SignaturesCancelled(studyId, msg.sender, nonce);
    }

    // ------------------------------------------------------------------ deliveries and balances

    /// @inheritdoc IStudyEscrow
    function reportDeliveries(
        uint256 studyId,
        address[] calldata patients
    ) external nonReentrant returns (uint256 paid, uint256 custodianAmount) {
        if (patients.length == 0) revert StudyEscrowEmptyBatch();
        StudyRecord storage study = _studies[studyId];
        address researcher = study.researcher;
        if (researcher == address(0)) revert StudyEscrowUnknownStudy(studyId);
        IERC20 currency = study.currency;
        uint40 endTime = study.endTime;
        if (block.timestamp >= endTime) revert StudyEscrowStudyClosed(studyId, study.status, endTime);
        address custodian = _gatewayCustodian();
        uint256 entry = _custodianEntries[studyId][custodian];
        if (entry == 0) revert StudyEscrowCustodianNotAllowed(studyId, custodian);

        Batch memory batch;
        batch.studyId = studyId;
        batch.custodian = custodian;
        batch.researcher = researcher;
        batch.category = _firstCategory(study.categories & ~ATTESTED_ENROLMENT);
        batch.key = _studyKey(studyId);
        batch.keyBase = ((entry & 0xff) - 1) << 32;
        uint256 price = study.price;
        batch.price = price;
        batch.share = (price * (entry >> 8)) / BPS;
        batch.patientAmount = price - batch.share;
        batch.budget = study.budget;

        paid = _payDeliveries(batch, patients, _participants[studyId], _delivered[studyId], _balancesIn(currency));

        study.budget = uint128(batch.budget);
        custodianAmount = batch.share * paid;
        if (custodianAmount != 0) _credit(_balancesIn(currency), custodian, custodianAmount);
        emit DeliveriesReported(studyId, custodian, msg.sender, paid, patients.length - paid, custodianAmount);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IStudyEscrow
    function registry() external view returns (IConsentRegistry) {
        return _registry;
    }

    /// @inheritdoc IStudyEscrow
    function studyCount() external view returns (uint256) {
        return _studyCount;
    }

    /// @inheritdoc IStudyEscrow
    function getStudy(uint256 studyId) external view returns (Study memory) {
        StudyRecord storage study = _studies[studyId];
        return
            Study({
                researcher: study.researcher,
                purpose: study.purpose,
                categories: study.categories & ~ATTESTED_ENROLMENT,
                currency: study.currency,
                enrolmentDeadline: study.enrolmentDeadline,
                endTime: study.endTime,
                status: study.status,
                price: study.price,
                budget: study.budget,
                maxParticipants: study.maxParticipants,
                participants: study.participants - study.freed,
                custodianCount: study.custodianCount,
                protocolHash: study.protocolHash,
                attestedEnrolment: study.categories & ATTESTED_ENROLMENT != 0
            });
    }

    /// @inheritdoc IStudyEscrow
    function studyCustodians(uint256 studyId) external view returns (CustodianShare[] memory) {
        return _custodianLists[studyId];
    }

    /// @inheritdoc IStudyEscrow
    function studyKey(uint256 studyId) external view returns (bytes32) {
        return _studyKey(studyId);
    }

    /// @inheritdoc IStudyEscrow
    function sponsorshipOf(uint256 studyId, address sponsor_) external view returns (uint256) {
        return sponsor_ == address(0) ? 0 : _sponsorships[studyId][sponsor_];
    }

    /// @inheritdoc IStudyEscrow
    function getParticipant(uint256 studyId, address patient) external view returns (Participant memory) {
        return _participants[studyId][patient];
    }

    /// @inheritdoc IStudyEscrow
    function isDelivered(uint256 studyId, address patient, address custodian) external view returns (bool) {
        Participant memory participant = _participants[studyId][patient];
        uint256 entry = _custodianEntries[studyId][custodian];
        if (participant.status == ParticipantStatus.None || entry == 0) return false;
        uint256 key = (((entry & 0xff) - 1) << 32) | (participant.index >> 8);
        return (_delivered[studyId][key] >> (participant.index & 0xff)) & 1 == 1;
    }

    // ------------------------------------------------------------------ private paths

    /// @dev What a delivery batch reads once and keeps in memory.
    struct Batch {
        uint256 studyId;
        address custodian;
        address researcher;
        uint8 category;
        bytes32 key;
        uint256 keyBase;
        uint256 price;
        uint256 share;
        uint256 patientAmount;
        uint256 budget;
    }

    function _createStudy(StudyParams calldata params) private returns (uint256 studyId) {
        address researcher = _callerResearcher();
        IERC20 currency = params.currency;
        _checkCurrencyAllowed(currency);
        _checkTerms(params);
        studyId = ++_studyCount;
        uint256 custodianCount = _allowCustodians(studyId, params.custodians);

        _studies[studyId] = StudyRecord({
            researcher: researcher,
            purpose: uint48(params.purpose),
            participants: 0,
            maxParticipants: uint24(params.maxParticipants),
            currency: currency,
            enrolmentDeadline: params.enrolmentDeadline,
            endTime: params.endTime,
            categories: uint16(params.categories) | (params.attestedEnrolment ? ATTESTED_ENROLMENT : 0),
            price: params.price,
            budget: 0,
            status: StudyStatus.Open,
            custodianCount: uint8(custodianCount),
            freed: 0,
            funded: 0,
            protocolHash: params.protocolHash,
            termsHash: keccak256(
                abi.encode(
                    TERMS_TYPEHASH,
                    researcher,
                    params.purpose,
                    params.categories,
                    params.price,
                    params.endTime,
                    params.protocolHash
                )
            )
        });
        emit StudyCreated(
            studyId,
            researcher,
            currency,
            _studyKey(studyId),
            params.purpose,
            params.categories,
            params.price,
            params.maxParticipants,
            params.enrolmentDeadline,
            params.endTime,
            params.protocolHash,
            msg.sender
        );
        if (params.attestedEnrolment) emit StudyRequiresAttestation(studyId);
    }

    /// @dev Records the study's custodians (active PROVIDER organizations, each once, each share
    /// capped) in order: the position is the custodian's slot in the delivery flags.
    function _allowCustodians(
        uint256 studyId,
        CustodianShare[] calldata custodians
    ) private returns (uint256 custodianCount) {
        custodianCount = custodians.length;
        if (custodianCount == 0 || custodianCount > MAX_CUSTODIANS) {
            revert StudyEscrowInvalidCustodianCount(custodianCount, MAX_CUSTODIANS);
        }
        mapping(address => uint256) storage entries = _custodianEntries[studyId];
        CustodianShare[] storage list = _custodianLists[studyId];
        for (uint256 i = 0; i < custodianCount; ++i) {
            CustodianShare calldata custodian = custodians[i];
            address account = custodian.custodian;
            if (
                _activeOrganization(account, ConsentCodes.KIND_PROVIDER, ConsentCodes.ROLE_ORGANIZATION) == address(0)
            ) {
                revert StudyEscrowCustodianNotProvider(account);
            }
            if (custodian.shareBps > MAX_CUSTODIAN_SHARE_BPS) {
                revert StudyEscrowShareTooHigh(account, custodian.shareBps, MAX_CUSTODIAN_SHARE_BPS);
            }
            if (entries[account] != 0) revert StudyEscrowDuplicateCustodian(account);
            entries[account] = (i + 1) | (uint256(custodian.shareBps) << 8);
            list.push(custodian);
            emit StudyCustodianAllowed(studyId, account, uint8(i), custodian.shareBps);
        }
    }

    function _checkTerms(StudyParams calldata params) private view {
        uint64 purpose = params.purpose;
        if (!ConsentCodes.isValidPurpose(purpose) || ConsentCodes.code(purpose) < ConsentCodes.HRESCH) {
            revert StudyEscrowInvalidPurpose(purpose);
        }
        uint32 categories = params.categories;
        if (categories == 0 || categories & ~ConsentCodes.ALL_CATEGORIES != 0) {
            revert StudyEscrowInvalidCategories(categories);
        }
        if (params.price == 0) revert StudyEscrowInvalidPrice(params.price);
        uint32 maxParticipants = params.maxParticipants;
        if (maxParticipants == 0 || maxParticipants > MAX_PARTICIPANTS) {
            revert StudyEscrowInvalidMaxParticipants(maxParticipants);
        }
        uint40 deadline = params.enrolmentDeadline;
        uint40 endTime = params.endTime;
        if (deadline <= block.timestamp || endTime <= deadline || endTime > block.timestamp + MAX_STUDY_DURATION) {
            revert StudyEscrowInvalidSchedule(deadline, endTime, block.timestamp);
        }
        if (params.protocolHash == bytes32(0)) revert StudyEscrowMissingProtocolHash();
    }

    /// @dev Once a sponsor takes part, money comes in only while none is spent: the unspent budget
    /// goes back pro rata to what each funder put in (`_reclaim`), and money put in after some was
    /// spent would pay the earlier funders' part of the spending.
    function _checkUnspent(uint256 studyId, bool sponsoring) private view {
        StudyRecord storage study = _studies[studyId];
        if ((sponsoring || _sponsorships[studyId][address(0)] != 0) && study.budget != study.funded) {
            revert StudyEscrowFundingSpent(studyId, study.budget, study.funded);
        }
    }

    /// @dev Pulls `amount` from the caller into the study's budget, refusing fee-on-transfer tokens.
    function _fund(uint256 studyId, IERC20 currency, uint256 amount) private {
        if (amount == 0) revert StudyEscrowZeroAmount();
        StudyRecord storage study = _studies[studyId];
        uint256 budget = study.budget;
        if (budget + amount > type(uint128).max) revert StudyEscrowBudgetOverflow(studyId, budget, amount);
        _pull(currency, amount);
        // Read again: the budget is only ever changed under this guard or by a delivery report.
        budget = study.budget + amount;
        study.budget = uint128(budget);
        // funded >= budget always (both grow together; deliveries and reclaims only lower budget).
        uint256 funded = study.funded + amount;
        if (funded > type(uint128).max) revert StudyEscrowBudgetOverflow(studyId, funded, amount);
        study.funded = uint128(funded);
        emit StudyFunded(studyId, msg.sender, amount, budget);
    }

    /// @dev Pays `to`, whose unreclaimed contribution is `share`, its pro-rata part of the unspent
    /// budget of a study that is over: budget * share / funded, rounded down, and the whole budget
    /// for the last contribution, so the funders' parts add up to the budget exactly. Reverts when the
    /// funder has no contribution left; a sponsor whose part rounds to 0 still settles (0 paid).
    function _reclaim(
        uint256 studyId,
        StudyRecord storage study,
        address to,
        uint256 share,
        bool researcher
    ) private returns (uint256 amount) {
        uint40 endTime = study.endTime;
        if (block.timestamp < endTime) revert StudyEscrowStudyNotOver(studyId, endTime);
        uint256 funded = study.funded;
        uint256 budget = study.budget;
        if (share == 0 || (researcher && budget == 0)) revert StudyEscrowNothingToReclaim(studyId);
        amount = share == funded ? budget : (budget * share) / funded;
        study.budget = uint128(budget - amount);
        study.funded = uint128(funded - share);
        IERC20 currency = study.currency;
        _unaccount(currency, amount);
        emit BudgetReclaimed(studyId, to, amount);
        if (amount != 0) currency.safeTransfer(to, amount);
    }

    /// @dev The one path of every join: direct or signed. It reads the two study slots it needs
    /// once each, as words (the `StudyRecord` layout: researcher | purpose << 160 | participants
    /// << 208 | maxParticipants << 232, and currency | enrolmentDeadline << 160 | endTime << 200 |
    /// categories << 240), and the participant's slot (index | status << 32 | nonce << 40) once,
    /// consuming the signature's nonce (`signed`) in the same write.
    function _join(uint256 studyId, address patient, bool signed, bool attested) private {
        StudyRecord storage study = _studies[studyId];
        uint256 head;
        uint256 terms;
        assembly ("memory-safe") {
            head := sload(study.slot)
            terms := sload(add(study.slot, 1))
        }
        address researcher = address(uint160(head));
        if (researcher == address(0)) revert StudyEscrowUnknownStudy(studyId);
        uint40 deadline = uint40(terms >> 160);
        if (block.timestamp >= deadline) revert StudyEscrowEnrolmentClosed(studyId, deadline);
        if (!attested && terms >> 255 != 0) revert StudyEscrowAttestationRequired(studyId);

        Participant storage participant = _participants[studyId][patient];
        uint256 word;
        assembly ("memory-safe") {
            word := sload(participant.slot)
        }
        uint8 status = uint8(word >> 32);
        if (status == uint8(ParticipantStatus.None)) {
            uint256 participants = uint24(head >> 208);
            uint24 maxParticipants = uint24(head >> 232);
            // Only a study whose indices reach its cap reads how many places were freed.
            if (
                participants >= maxParticipants &&
                (participants == type(uint24).max || participants - study.freed >= maxParticipants)
            ) revert StudyEscrowStudyFull(studyId, maxParticipants);
            word |= participants; // the index: never reused, it keys the delivery flags
            assembly ("memory-safe") {
                sstore(study.slot, add(head, shl(208, 1)))
            }
        } else if (status == uint8(ParticipantStatus.Left)) {
            // A patient who left takes a place again, under its own index.
            uint24 freed = study.freed;
            uint24 maxParticipants = uint24(head >> 232);
            if (uint24(head >> 208) - freed >= maxParticipants) revert StudyEscrowStudyFull(studyId, maxParticipants);
            study.freed = freed - 1;
        }
        word = (word & ~uint256(0xff << 32)) | (uint256(ParticipantStatus.Joined) << 32);
        if (signed) word += 1 << 40;
        assembly ("memory-safe") {
            sstore(participant.slot, word)
        }

        // Open the patient's balance now, so that a delivery only updates a live slot.
        _openBalance(IERC20(address(uint160(terms))), patient);

        _registry.grantStudyConsent(
            patient,
            researcher,
            _studyKey(studyId),
            uint16(terms >> 240) & ~ATTESTED_ENROLMENT,
            uint48(head >> 160),
            uint40(terms >> 200)
        );
        emit StudyJoined(studyId, patient, msg.sender);
    }

    /// @dev The one path of every leave: direct or signed. Either consumes the patient's nonce in
    /// the study, so that no Join (or Leave) signed before it can be used afterwards.
    function _leave(uint256 studyId, address patient) private {
        Participant storage participant = _participants[studyId][patient];
        if (participant.status != ParticipantStatus.Joined) revert StudyEscrowNotJoined(studyId, patient);
        participant.status = ParticipantStatus.Left;
        // Any leave, direct or signed, voids every earlier signature for this study.
        ++participant.nonce;
        StudyRecord storage study = _studies[studyId];
        ++study.freed; // the place is free again
        address researcher = study.researcher;
        bytes32 key = _studyKey(studyId);
        // The patient may already have revoked the grant (or all grants) in the registry itself.
        bytes32 grantId = keccak256(abi.encode(patient, researcher, key));
        if (_grantExpiry(grantId) != 0) _registry.revokeStudyConsent(patient, researcher, key);
        emit StudyLeft(studyId, patient, msg.sender);
    }

    /// @dev Pays each delivery of the batch that may be paid; returns how many were.
    function _payDeliveries(
        Batch memory batch,
        address[] calldata patients,
        mapping(address => Participant) storage participants,
        mapping(uint256 => uint256) storage delivered,
        mapping(address => uint256) storage balances
    ) private returns (uint256 paid) {
        uint256 count = patients.length;
        for (uint256 i = 0; i < count; ++i) {
            address patient = patients[i];
            Participant memory participant = participants[patient];
            if (participant.status != ParticipantStatus.Joined) {
                _skip(batch, patient, SkipReason.NotParticipant, IConsentRegistry.Reason.Allowed);
                continue;
            }
            (uint256 key, uint256 bits, uint256 bit) = _payOnceBit(delivered, batch.keyBase, participant.index);
            if (bits & bit != 0) {
                _skip(batch, patient, SkipReason.AlreadyDelivered, IConsentRegistry.Reason.Allowed);
                continue;
            }
            if (batch.budget < batch.price) {
                _skip(batch, patient, SkipReason.BudgetExhausted, IConsentRegistry.Reason.Allowed);
                continue;
            }
            (IConsentRegistry.Reason reason, ) = _registry.scopeStatus(
                patient,
                batch.researcher,
                batch.key,
                batch.category
            );
            if (reason != IConsentRegistry.Reason.Allowed) {
                _skip(batch, patient, SkipReason.NoActiveGrant, reason);
                continue;
            }
            delivered[key] = bits | bit;
            unchecked {
                batch.budget -= batch.price;
                ++paid;
            }
            _credit(balances, patient, batch.patientAmount);
            emit DeliveryPaid(batch.studyId, patient, batch.custodian, batch.patientAmount, batch.share);
        }
    }

    function _skip(
        Batch memory batch,
        address patient,
        SkipReason reason,
        IConsentRegistry.Reason consentReason
    ) private {
        emit DeliverySkipped(batch.studyId, patient, batch.custodian, reason, consentReason);
    }

    /// @dev The Join message's fields before the nonce: the hash of the study's terms, stored at
    /// creation, and the patient's current revocation nonce in the registry.
    function _joinHash(uint256 studyId, address patient) private view returns (bytes memory) {
        return
            abi.encode(
                JOIN_TYPEHASH,
                studyId,
                patient,
                _studies[studyId].termsHash,
                _registry.revocationNonce(patient)
            );
    }

    /// @dev `_registry.getGrant(grantId).expiresAt` (0: no grant, or revoked), read as the fourth
    /// word of what the registry returns, without decoding the whole `Grant` (the registry is
    /// immutable and trusted, and its getter does not revert; a returned tuple shorter than four
    /// words makes `returndatacopy` revert). It keeps the escrow under EIP-170's size limit.
    function _grantExpiry(bytes32 grantId) private view returns (uint256 expiresAt) {
        IConsentRegistry registry_ = _registry;
        bytes4 selector = IConsentRegistry.getGrant.selector;
        assembly ("memory-safe") {
            mstore(0, selector)
            mstore(4, grantId)
            if iszero(staticcall(gas(), registry_, 0, 0x24, 0, 0)) {
                revert(0, 0)
            }
            returndatacopy(0, 0x60, 0x20)
            expiresAt := mload(0)
        }
    }

    /// @dev Reverts unless `patient` signed `action` (the EIP-712 struct's words before its nonce
    /// and deadline) with its current nonce in the study's lane, and the deadline has not passed;
    /// the action then consumes the nonce.
    function _checkSignature(
        bytes memory action,
        uint256 studyId,
        address patient,
        uint256 deadline,
        bytes calldata signature
    ) private view {
        _checkSigned(action, patient, _participants[studyId][patient].nonce, deadline, signature);
    }

    /// @dev Signed withdrawals use the participant nonce of study 0 (`WITHDRAW_LANE`).
    function _withdrawNonce(address patient) internal view override returns (uint64) {
        return _participants[WITHDRAW_LANE][patient].nonce;
    }

    function _useWithdrawNonce(address patient) internal override {
        ++_participants[WITHDRAW_LANE][patient].nonce;
    }

    /// @dev Reverts unless `attestation` is an unexpired EnrolmentAttestation of `patient` for this
    /// study, signed by an active GATEWAY member (not the organization's own key) of a custodian
    /// the study allows, which must be an active PROVIDER now: a member removed, or an
    /// organization suspended, attests nothing. The escrow's domain binds it to this chain and
    /// this contract; the patient and study in the message, to one patient and one study.
    function _checkAttestation(uint256 studyId, address patient, Attestation calldata attestation) private view {
        uint256 deadline = attestation.deadline;
        if (block.timestamp > deadline) revert StudyEscrowAttestationExpired(deadline, block.timestamp);
        address custodian = attestation.custodian;
        bytes32 digest = _hashTypedDataV4(
            keccak256(abi.encode(ATTESTATION_TYPEHASH, patient, studyId, custodian, deadline))
        );
        (address signer, ECDSA.RecoverError error, ) = ECDSA.tryRecoverCalldata(digest, attestation.signature);
        if (
            error != ECDSA.RecoverError.NoError ||
            _custodianEntries[studyId][custodian] == 0 ||
            _activeOrganization(signer, ConsentCodes.KIND_PROVIDER, ConsentCodes.ROLE_GATEWAY) != custodian
        ) revert StudyEscrowInvalidAttestation(studyId, patient, custodian);
    }

    /// @dev The researcher organization the caller acts for: the organization itself or an ADMIN member.
    function _callerResearcher() private view returns (address organization) {
        organization = _activeOrganization(msg.sender, ConsentCodes.KIND_RESEARCHER, ConsentCodes.ROLE_ADMIN);
        if (organization == address(0)) revert StudyEscrowNotResearcher(msg.sender);
    }

    /// @dev The custodian organization the caller reports for: an active GATEWAY member of an active PROVIDER.
    function _gatewayCustodian() private view returns (address organization) {
        organization = _activeOrganization(msg.sender, ConsentCodes.KIND_PROVIDER, ConsentCodes.ROLE_GATEWAY);
        if (organization == address(0)) revert StudyEscrowNotGateway(msg.sender);
    }

    /// @dev The organization `account` acts for in the registry if it is active as `role` of an
    /// organization of `kind` (`Accreditation.isActive`), else the zero address.
    function _activeOrganization(address account, uint8 kind, uint8 role) private view returns (address) {
        return Accreditation.activeOrganization(IOrganizationRegistry(address(_registry)), account, kind, role);
    }

    /// @dev Reverts unless the caller is the researcher organization or one of its ADMIN members.
    function _checkManager(uint256 studyId, address researcher) private view {
        if (msg.sender == researcher) return;
        (address org, uint8 role, , ) = _registry.accountOf(msg.sender);
        if (org != researcher || role != ConsentCodes.ROLE_ADMIN)
            revert StudyEscrowNotStudyManager(studyId, msg.sender);
    }

    /// @dev The study, which must exist, be open and be managed by the caller; returns its currency.
    function _openStudyForManager(uint256 studyId) private view returns (IERC20) {
        StudyRecord storage study = _requireStudy(studyId);
        _checkManager(studyId, study.researcher);
        uint40 endTime = study.endTime;
        if (block.timestamp >= endTime) revert StudyEscrowStudyClosed(studyId, study.status, endTime);
        return study.currency;
    }

    function _requireStudy(uint256 studyId) private view returns (StudyRecord storage study) {
        study = _studies[studyId];
        if (study.researcher == address(0)) revert StudyEscrowUnknownStudy(studyId);
    }

    /// @dev The registry scope of the study's grants; never a purpose-code scope (<= 255) but with
    /// negligible probability, which the registry would refuse.
    function _studyKey(uint256 studyId) private view returns (bytes32) {
        return keccak256(abi.encode(address(this), studyId));
    }

    /// @dev The lowest category of a non-empty category set: a grant for the study covers all of
    /// the study's categories, so checking one tells whether it is in force.
    function _firstCategory(uint16 categories) private pure returns (uint8 category) {
        while ((categories >> category) & 1 == 0) ++category;
    }
}
