// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

import {EarningsEscrow} from "./EarningsEscrow.sol";
import {IConsentRegistry} from "./interfaces/IConsentRegistry.sol";
import {IOrganizationRegistry} from "./interfaces/IOrganizationRegistry.sol";
import {IPreventionRewards} from "./interfaces/IPreventionRewards.sol";
import {Accreditation} from "./libraries/Accreditation.sol";
import {ConsentCodes} from "./libraries/ConsentCodes.sol";

/// @title PreventionRewards
/// @notice Prevention programmes that pay patients, through a consent in the ConsentRegistry, for
/// the preventive care that custodians' gateways confirm (`IPreventionRewards`). The money is the
/// shared core's (`EarningsEscrow`): the same accounted totals, balances, pay-once bits and pull
/// withdrawals as the StudyEscrow.
/// @dev Storage is laid out for the hot paths, as in StudyEscrow:
/// - a programme is seven slots (`ProgrammeRecord`); an opt-in reads the first two (a signed one
///   also the terms hash), a confirmation batch reads the first three once and writes the budget once;
/// - a patient is one slot per (programme, patient), written at opt-in: its index, standing,
///   signature nonce (programme 0: the lane of signed withdrawals) and latest opt-in time;
/// - confirmation flags are bitmaps keyed by (programme, period, index / 256), one bit per
///   (patient, period): 256 consecutive patients share a slot.
/// Funding, reporting, reclaiming and withdrawing are `nonReentrant`; opt-in, opt-out and cancel
/// call only the registry, which is immutable and trusted, after their own effects.
contract PreventionRewards is IPreventionRewards, EarningsEscrow {
    using SafeERC20 for IERC20;

    /// @dev The terms an OptIn shows the patient (EIP-712 struct `Terms`).
    bytes32 private constant TERMS_TYPEHASH = keccak256(
        "Terms(address payer,uint8 category,bytes32 codeSystem,bytes32 code,uint128 reward,address currency,uint40 endTime)"
    );
    /// @dev The OptIn message carries the programme's terms (a nested `Terms` struct, hashed once at
    /// creation) and the patient's revocation nonce in the ConsentRegistry (`registryNonce`), which
    /// a revoke-all or a signature cancellation there moves on: neither leaves an opt-in signature
    /// that could create the programme's consent again.
    bytes32 public constant OPT_IN_TYPEHASH = keccak256(
        "OptIn(uint256 programmeId,address patient,Terms terms,uint64 registryNonce,uint64 nonce,uint256 deadline)"
        "Terms(address payer,uint8 category,bytes32 codeSystem,bytes32 code,uint128 reward,address currency,uint40 endTime)"
    );
    /// @dev keccak256("OptOut(uint256 programmeId,address patient,uint64 nonce,uint256 deadline)")
    bytes32 public constant OPT_OUT_TYPEHASH = keccak256(
        "OptOut(uint256 programmeId,address patient,uint64 nonce,uint256 deadline)"
    );

    /// @notice The most custodians a programme may allow.
    uint256 public constant MAX_CUSTODIANS = 16;
    /// @notice The furthest a programme's end may be from its creation.
    uint256 public constant MAX_PROGRAMME_DURATION = 3_650 days;

    /// @dev The nonce lane of signed withdrawals: no programme has id 0.
    uint256 private constant WITHDRAW_LANE = 0;

    /// @dev A programme in seven slots: payer|purpose|category|custodianCount|cancelled|participants;
    /// currency|firstPeriodStart|endTime; reward|budget; periodLength; codeSystem; code; termsHash.
    /// Cancelling moves the end to now, so an opt-in and a confirmation need not read `cancelled`.
    struct ProgrammeRecord {
        address payer;
        uint8 purpose;
        uint8 category;
        uint8 custodianCount;
        bool cancelled;
        uint32 participants;
        IERC20 currency;
        uint40 firstPeriodStart;
        uint40 endTime;
        uint128 reward;
        uint128 budget;
        uint32 periodLength;
        bytes32 codeSystem;
        bytes32 code;
        bytes32 termsHash;
    }

    /// @dev What a confirmation batch reads once and keeps in memory.
    struct Batch {
        uint256 programmeId;
        uint32 period;
        uint256 periodEnd;
        address custodian;
        address payer;
        uint8 category;
        bytes32 key;
        uint256 keyBase;
        uint256 reward;
        uint256 budget;
    }

    IConsentRegistry private immutable _registry;

    uint256 private _programmeCount;
    mapping(uint256 programmeId => ProgrammeRecord) private _programmes;
    mapping(uint256 programmeId => mapping(address custodian => bool)) private _custodianAllowed;
    mapping(uint256 programmeId => address[]) private _custodianLists;
    mapping(uint256 programmeId => mapping(address patient => Enrolment)) private _enrolments;
    /// @dev Key: period << 32 | index >> 8; bit: index & 255.
    mapping(uint256 programmeId => mapping(uint256 key => uint256 bits)) private _confirmed;

    /// @param registry_ The ConsentRegistry; the contract needs its STUDY_MANAGER_ROLE.
    /// @param admin Holder of DEFAULT_ADMIN_ROLE.
    /// @param governance Holder of GOVERNANCE_ROLE (currencies, excess recovery).
    constructor(
        IConsentRegistry registry_,
        address admin,
        address governance
    ) EarningsEscrow(admin, governance) EIP712("Consentry PreventionRewards", "1") {
        _registry = registry_;
    }

    // ------------------------------------------------------------------ programmes

    /// @inheritdoc IPreventionRewards
    function createProgramme(
        ProgrammeParams calldata params,
        uint256 amount
    ) external nonReentrant returns (uint256 programmeId) {
        programmeId = _createProgramme(params);
        if (amount != 0) _fund(programmeId, params.currency, amount);
    }

    /// @inheritdoc IPreventionRewards
    function createProgrammeWithPermit(
        ProgrammeParams calldata params,
        uint256 amount,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external nonReentrant returns (uint256 programmeId) {
        programmeId = _createProgramme(params);
        _permit(params.currency, amount, deadline, v, r, s);
        _fund(programmeId, params.currency, amount);
    }

    /// @inheritdoc IPreventionRewards
    function fund(uint256 programmeId, uint256 amount) external nonReentrant {
        _fund(programmeId, _openProgrammeForManager(programmeId), amount);
    }

    /// @inheritdoc IPreventionRewards
    function fundWithPermit(
        uint256 programmeId,
        uint256 amount,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external nonReentrant {
        IERC20 currency = _openProgrammeForManager(programmeId);
        _permit(currency, amount, deadline, v, r, s);
        _fund(programmeId, currency, amount);
    }

    /// @inheritdoc IPreventionRewards
    function cancelProgramme(uint256 programmeId) external {
        _openProgrammeForManager(programmeId);
        ProgrammeRecord storage programme = _programmes[programmeId];
        programme.cancelled = true;
        programme.endTime = uint40(block.timestamp);
        // Every patient's consent for the programme ends now, in every check of the registry.
        _registry.endStudyConsents(_programmeKey(programmeId));
        emit ProgrammeCancelled(programmeId, msg.sender);
    }

    /// @inheritdoc IPreventionRewards
    function reclaim(uint256 programmeId) external nonReentrant returns (uint256 amount) {
        ProgrammeRecord storage programme = _requireProgramme(programmeId);
        address payer = programme.payer;
        _checkManager(programmeId, payer);
        uint40 endTime = programme.endTime;
        if (block.timestamp < endTime) revert PreventionRewardsProgrammeNotOver(programmeId, endTime);
        amount = programme.budget;
        if (amount == 0) revert PreventionRewardsNothingToReclaim(programmeId);
        IERC20 currency = programme.currency;
        programme.budget = 0;
        _unaccount(currency, amount);
        // To the organization itself, never to the member who asks.
        emit ProgrammeBudgetReclaimed(programmeId, payer, amount);
        currency.safeTransfer(payer, amount);
    }

    // ------------------------------------------------------------------ patients

    /// @inheritdoc IPreventionRewards
    function optIn(uint256 programmeId) external {
        _optIn(programmeId, msg.sender, false);
    }

    /// @inheritdoc IPreventionRewards
    function optInBySig(uint256 programmeId, address patient, uint256 deadline, bytes calldata signature) external {
        _checkSignature(
            abi.encode(
                OPT_IN_TYPEHASH,
                programmeId,
                patient,
                _programmes[programmeId].termsHash,
                _registry.revocationNonce(patient)
            ),
            programmeId,
            patient,
            deadline,
            signature
        );
        _optIn(programmeId, patient, true);
    }

    /// @inheritdoc IPreventionRewards
    function optOut(uint256 programmeId) external {
        _optOut(programmeId, msg.sender);
    }

    /// @inheritdoc IPreventionRewards
    function optOutBySig(uint256 programmeId, address patient, uint256 deadline, bytes calldata signature) external {
        _checkSignature(abi.encode(OPT_OUT_TYPEHASH, programmeId, patient), programmeId, patient, deadline, signature);
        _optOut(programmeId, patient);
    }

    /// @inheritdoc IPreventionRewards
    function cancelSignatures(uint256 programmeId) external {
        uint64 nonce = ++_enrolments[programmeId][msg.sender].nonce;
        emit ProgrammeSignaturesCancelled(programmeId, msg.sender, nonce);
    }

    // ------------------------------------------------------------------ confirmations

    /// @inheritdoc IPreventionRewards
    function reportConfirmations(
        uint256 programmeId,
        uint32 period,
        address[] calldata patients
    ) external nonReentrant returns (uint256 paid) {
        if (patients.length == 0) revert PreventionRewardsEmptyBatch();
        ProgrammeRecord storage programme = _programmes[programmeId];
        address payer = programme.payer;
        if (payer == address(0)) revert PreventionRewardsUnknownProgramme(programmeId);
        uint40 endTime = programme.endTime;
        if (block.timestamp >= endTime) revert PreventionRewardsProgrammeClosed(programmeId, endTime);
        uint256 start = uint256(programme.firstPeriodStart) + uint256(period) * programme.periodLength;
        if (start > block.timestamp || start >= endTime) revert PreventionRewardsInvalidPeriod(programmeId, period);
        address custodian = _gatewayCustodian();
        if (!_custodianAllowed[programmeId][custodian]) {
            revert PreventionRewardsCustodianNotAllowed(programmeId, custodian);
        }

        Batch memory batch;
        batch.programmeId = programmeId;
        batch.period = period;
        batch.periodEnd = start + programme.periodLength;
        batch.custodian = custodian;
        batch.payer = payer;
        batch.category = programme.category;
        batch.key = _programmeKey(programmeId);
        batch.keyBase = uint256(period) << 32;
        batch.reward = programme.reward;
        batch.budget = programme.budget;

        paid = _payConfirmations(
            batch,
            patients,
            _enrolments[programmeId],
            _confirmed[programmeId],
            _balancesIn(programme.currency)
        );

        programme.budget = uint128(batch.budget);
        emit ConfirmationsReported(programmeId, custodian, msg.sender, period, paid, patients.length - paid);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IPreventionRewards
    function registry() external view returns (IConsentRegistry) {
        return _registry;
    }

    /// @inheritdoc IPreventionRewards
    function programmeCount() external view returns (uint256) {
        return _programmeCount;
    }

    /// @inheritdoc IPreventionRewards
    function getProgramme(uint256 programmeId) external view returns (Programme memory) {
        ProgrammeRecord storage programme = _programmes[programmeId];
        return
            Programme({
                payer: programme.payer,
                purpose: programme.purpose,
                category: programme.category,
                currency: programme.currency,
                codeSystem: programme.codeSystem,
                code: programme.code,
                firstPeriodStart: programme.firstPeriodStart,
                periodLength: programme.periodLength,
                endTime: programme.endTime,
                cancelled: programme.cancelled,
                reward: programme.reward,
                budget: programme.budget,
                participants: programme.participants,
                custodianCount: programme.custodianCount
            });
    }

    /// @inheritdoc IPreventionRewards
    function programmeCustodians(uint256 programmeId) external view returns (address[] memory) {
        return _custodianLists[programmeId];
    }

    /// @inheritdoc IPreventionRewards
    function programmeKey(uint256 programmeId) external view returns (bytes32) {
        return _programmeKey(programmeId);
    }

    /// @inheritdoc IPreventionRewards
    function getEnrolment(uint256 programmeId, address patient) external view returns (Enrolment memory) {
        return _enrolments[programmeId][patient];
    }

    /// @inheritdoc IPreventionRewards
    function isConfirmed(uint256 programmeId, address patient, uint32 period) external view returns (bool) {
        Enrolment memory enrolment = _enrolments[programmeId][patient];
        if (enrolment.status == EnrolmentStatus.None) return false;
        (, uint256 bits, uint256 bit) = _payOnceBit(_confirmed[programmeId], uint256(period) << 32, enrolment.index);
        return bits & bit != 0;
    }

    /// @inheritdoc IPreventionRewards
    function periodAt(uint256 programmeId, uint256 timestamp) external view returns (uint32) {
        ProgrammeRecord storage programme = _requireProgramme(programmeId);
        uint256 first = programme.firstPeriodStart;
        if (timestamp < first) revert PreventionRewardsInvalidPeriod(programmeId, 0);
        return uint32((timestamp - first) / programme.periodLength);
    }

    // ------------------------------------------------------------------ private paths

    function _createProgramme(ProgrammeParams calldata params) private returns (uint256 programmeId) {
        (address payer, uint8 purpose) = _callerPayer();
        IERC20 currency = params.currency;
        _checkCurrencyAllowed(currency);
        _checkTerms(params);
        programmeId = ++_programmeCount;
        uint256 custodianCount = _allowCustodians(programmeId, params.custodians);
        _programmes[programmeId] = ProgrammeRecord({
            payer: payer,
            purpose: purpose,
            category: params.category,
            custodianCount: uint8(custodianCount),
            cancelled: false,
            participants: 0,
            currency: currency,
            firstPeriodStart: params.firstPeriodStart,
            endTime: params.endTime,
            reward: params.reward,
            budget: 0,
            periodLength: params.periodLength,
            codeSystem: params.codeSystem,
            code: params.code,
            termsHash: keccak256(
                abi.encode(
                    TERMS_TYPEHASH,
                    payer,
                    params.category,
                    params.codeSystem,
                    params.code,
                    params.reward,
                    currency,
                    params.endTime
                )
            )
        });
        emit ProgrammeCreated(
            programmeId,
            payer,
            currency,
            _programmeKey(programmeId),
            purpose,
            params.category,
            params.codeSystem,
            params.code,
            params.firstPeriodStart,
            params.periodLength,
            params.reward,
            params.endTime,
            msg.sender
        );
    }

    function _checkTerms(ProgrammeParams calldata params) private view {
        if (params.category >= ConsentCodes.CATEGORY_COUNT) revert PreventionRewardsInvalidCategory(params.category);
        if (params.codeSystem == bytes32(0) || params.code == bytes32(0)) {
            revert PreventionRewardsInvalidCode(params.codeSystem, params.code);
        }
        if (params.reward == 0) revert PreventionRewardsInvalidReward(params.reward);
        uint40 endTime = params.endTime;
        if (
            params.periodLength == 0 ||
            params.firstPeriodStart >= endTime ||
            endTime <= block.timestamp ||
            endTime > block.timestamp + MAX_PROGRAMME_DURATION
        ) revert PreventionRewardsInvalidSchedule(params.firstPeriodStart, params.periodLength, endTime);
    }

    /// @dev Records the programme's custodians: active PROVIDER organizations, each once.
    function _allowCustodians(
        uint256 programmeId,
        address[] calldata custodians
    ) private returns (uint256 custodianCount) {
        custodianCount = custodians.length;
        if (custodianCount == 0 || custodianCount > MAX_CUSTODIANS) {
            revert PreventionRewardsInvalidCustodianCount(custodianCount, MAX_CUSTODIANS);
        }
        mapping(address => bool) storage allowed = _custodianAllowed[programmeId];
        address[] storage list = _custodianLists[programmeId];
        for (uint256 i = 0; i < custodianCount; ++i) {
            address custodian = custodians[i];
            if (
                _activeOrganization(custodian, ConsentCodes.KIND_PROVIDER, ConsentCodes.ROLE_ORGANIZATION) == address(0)
            ) {
                revert PreventionRewardsCustodianNotProvider(custodian);
            }
            if (allowed[custodian]) revert PreventionRewardsDuplicateCustodian(custodian);
            allowed[custodian] = true;
            list.push(custodian);
            emit ProgrammeCustodianAllowed(programmeId, custodian);
        }
    }

    /// @dev Pulls `amount` from the caller into the programme's budget through the shared core.
    function _fund(uint256 programmeId, IERC20 currency, uint256 amount) private {
        if (amount == 0) revert StudyEscrowZeroAmount();
        ProgrammeRecord storage programme = _programmes[programmeId];
        uint256 budget = programme.budget;
        if (budget + amount > type(uint128).max) revert PreventionRewardsBudgetOverflow(programmeId, budget, amount);
        _pull(currency, amount);
        // Read again: the budget is only ever changed under this guard or by a confirmation report.
        budget = programme.budget + amount;
        programme.budget = uint128(budget);
        emit ProgrammeFunded(programmeId, msg.sender, amount, budget);
    }

    /// @dev The one path of every opt-in, direct or signed (`signed` consumes the nonce in the
    /// same write as the standing).
    function _optIn(uint256 programmeId, address patient, bool signed) private {
        ProgrammeRecord storage programme = _programmes[programmeId];
        address payer = programme.payer;
        if (payer == address(0)) revert PreventionRewardsUnknownProgramme(programmeId);
        uint40 endTime = programme.endTime;
        if (block.timestamp >= endTime) revert PreventionRewardsProgrammeClosed(programmeId, endTime);

        Enrolment storage enrolment = _enrolments[programmeId][patient];
        Enrolment memory current = enrolment;
        if (current.status == EnrolmentStatus.None) {
            uint32 participants = programme.participants;
            if (participants == type(uint32).max) revert PreventionRewardsProgrammeFull(programmeId);
            current.index = participants; // never reused: it keys the confirmation flags
            programme.participants = participants + 1;
        }
        current.status = EnrolmentStatus.OptedIn;
        // Periods that ended before now were not in the programme (again, after an opt-out).
        current.optedInAt = uint40(block.timestamp);
        if (signed) ++current.nonce;
        _enrolments[programmeId][patient] = current;

        // Open the patient's balance now, so that a confirmation only updates a live slot.
        _openBalance(programme.currency, patient);

        _registry.grantProgrammeConsent(
            patient,
            payer,
            _programmeKey(programmeId),
            uint32(1) << programme.category,
            programme.purpose,
            endTime
        );
        emit OptedIn(programmeId, patient, msg.sender);
    }

    /// @dev The one path of every opt-out, direct or signed; it voids every earlier signature.
    function _optOut(uint256 programmeId, address patient) private {
        Enrolment storage enrolment = _enrolments[programmeId][patient];
        if (enrolment.status != EnrolmentStatus.OptedIn) revert PreventionRewardsNotOptedIn(programmeId, patient);
        enrolment.status = EnrolmentStatus.OptedOut;
        ++enrolment.nonce;
        address payer = _programmes[programmeId].payer;
        bytes32 key = _programmeKey(programmeId);
        // The patient may already have revoked the grant (or all grants) in the registry itself.
        bytes32 grantId = keccak256(abi.encode(patient, payer, key));
        if (_registry.getGrant(grantId).expiresAt != 0) _registry.revokeStudyConsent(patient, payer, key);
        emit OptedOut(programmeId, patient, msg.sender);
    }

    /// @dev Pays each confirmation of the batch that may be paid; returns how many were.
    function _payConfirmations(
        Batch memory batch,
        address[] calldata patients,
        mapping(address => Enrolment) storage enrolments,
        mapping(uint256 => uint256) storage confirmed,
        mapping(address => uint256) storage balances
    ) private returns (uint256 paid) {
        uint256 count = patients.length;
        for (uint256 i = 0; i < count; ++i) {
            address patient = patients[i];
            Enrolment memory enrolment = enrolments[patient];
            if (enrolment.status != EnrolmentStatus.OptedIn) {
                _skip(batch, patient, SkipReason.NotOptedIn, IConsentRegistry.Reason.Allowed);
                continue;
            }
            if (enrolment.optedInAt >= batch.periodEnd) {
                _skip(batch, patient, SkipReason.PeriodBeforeOptIn, IConsentRegistry.Reason.Allowed);
                continue;
            }
            (uint256 key, uint256 bits, uint256 bit) = _payOnceBit(confirmed, batch.keyBase, enrolment.index);
            if (bits & bit != 0) {
                _skip(batch, patient, SkipReason.AlreadyPaid, IConsentRegistry.Reason.Allowed);
                continue;
            }
            if (batch.budget < batch.reward) {
                _skip(batch, patient, SkipReason.BudgetExhausted, IConsentRegistry.Reason.Allowed);
                continue;
            }
            (IConsentRegistry.Reason reason, ) = _registry.scopeStatus(patient, batch.payer, batch.key, batch.category);
            if (reason != IConsentRegistry.Reason.Allowed) {
                _skip(batch, patient, SkipReason.NoActiveConsent, reason);
                continue;
            }
            confirmed[key] = bits | bit;
            unchecked {
                batch.budget -= batch.reward;
                ++paid;
            }
            _credit(balances, patient, batch.reward);
            emit ConfirmationPaid(batch.programmeId, patient, batch.custodian, batch.period, batch.reward);
        }
    }

    function _skip(
        Batch memory batch,
        address patient,
        SkipReason reason,
        IConsentRegistry.Reason consentReason
    ) private {
        emit ConfirmationSkipped(batch.programmeId, patient, batch.custodian, batch.period, reason, consentReason);
    }

    /// @dev Reverts unless `patient` signed `action` with its current nonce in the programme's
    /// lane and the deadline has not passed; the action then consumes the nonce.
    function _checkSignature(
        bytes memory action,
        uint256 programmeId,
        address patient,
        uint256 deadline,
        bytes calldata signature
    ) private view {
        _checkSigned(action, patient, _enrolments[programmeId][patient].nonce, deadline, signature);
    }

    /// @dev Signed withdrawals use the nonce of programme 0.
    function _withdrawNonce(address patient) internal view override returns (uint64) {
        return _enrolments[WITHDRAW_LANE][patient].nonce;
    }

    function _useWithdrawNonce(address patient) internal override {
        ++_enrolments[WITHDRAW_LANE][patient].nonce;
    }

    /// @dev The payer organization the caller acts for (itself or an ADMIN member of an active
    /// PAYER or PUBLIC_HEALTH organization) and the one purpose its kind may be granted.
    function _callerPayer() private view returns (address organization, uint8 purpose) {
        organization = _activeOrganization(msg.sender, ConsentCodes.KIND_PAYER, ConsentCodes.ROLE_ADMIN);
        if (organization != address(0)) return (organization, ConsentCodes.HPAYMT);
        organization = _activeOrganization(msg.sender, ConsentCodes.KIND_PUBLIC_HEALTH, ConsentCodes.ROLE_ADMIN);
        if (organization != address(0)) return (organization, ConsentCodes.PUBHLTH);
        revert PreventionRewardsNotPayer(msg.sender);
    }

    /// @dev The custodian organization the caller reports for: an active GATEWAY member of an active PROVIDER.
    function _gatewayCustodian() private view returns (address organization) {
        organization = _activeOrganization(msg.sender, ConsentCodes.KIND_PROVIDER, ConsentCodes.ROLE_GATEWAY);
        if (organization == address(0)) revert PreventionRewardsNotGateway(msg.sender);
    }

    function _activeOrganization(address account, uint8 kind, uint8 role) private view returns (address) {
        return Accreditation.activeOrganization(IOrganizationRegistry(address(_registry)), account, kind, role);
    }

    /// @dev Reverts unless the caller is the payer organization or one of its ADMIN members.
    function _checkManager(uint256 programmeId, address payer) private view {
        if (msg.sender == payer) return;
        (address org, uint8 role, , ) = _registry.accountOf(msg.sender);
        if (org != payer || role != ConsentCodes.ROLE_ADMIN)
            revert PreventionRewardsNotManager(programmeId, msg.sender);
    }

    /// @dev The programme, which must exist, be open and be managed by the caller; returns its currency.
    function _openProgrammeForManager(uint256 programmeId) private view returns (IERC20) {
        ProgrammeRecord storage programme = _requireProgramme(programmeId);
        _checkManager(programmeId, programme.payer);
        uint40 endTime = programme.endTime;
        if (block.timestamp >= endTime) revert PreventionRewardsProgrammeClosed(programmeId, endTime);
        return programme.currency;
    }

    function _requireProgramme(uint256 programmeId) private view returns (ProgrammeRecord storage programme) {
        programme = _programmes[programmeId];
        if (programme.payer == address(0)) revert PreventionRewardsUnknownProgramme(programmeId);
    }

    /// @dev The registry scope of the programme's consents (never a purpose-code scope but with
    /// negligible probability, which the registry would refuse).
    function _programmeKey(uint256 programmeId) private view returns (bytes32) {
        return keccak256(abi.encode(address(this), programmeId));
    }
}
