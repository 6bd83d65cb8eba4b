// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {ERC20Votes} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IResearchFund} from "./interfaces/IResearchFund.sol";
import {IResearchFundGovernorDeployer, IResearchFundTimelockDeployer} from "./interfaces/IResearchFundFactory.sol";
import {IStudyEscrow} from "./interfaces/IStudyEscrow.sol";
import {ResearchFundGovernor} from "./ResearchFundGovernor.sol";

/// @title ResearchFund
/// @notice A research fund for one cause (a DAO per cause): the share token, the treasury and the
/// rules of contributing, ragequitting and redeeming. Created by the ResearchFundFactory. Its
/// constructor has the fund's Governor and TimelockController deployed (by the two deployers that
/// hold their creation code), gives the Governor the timelock's proposer, canceller and executor
/// roles (anyone asks the Governor to execute) and keeps no role for itself or its creator.
/// @dev Why the fund, not the timelock, holds the treasury: ragequit and redeem pay a member at once,
/// pro rata, which a timelock could only do through a proposal. The timelock is the only account
/// that may spend (`sponsorStudy`) or close, and the Governor only lets it do those two things.
/// Shares are ERC20Votes, 1:1 with the currency deposited, non-transferable (a ragequit or redeem
/// pays the member who contributed, and a vote cannot be bought) and never delegated (each member
/// is its own delegate, without a delegation step). The clock is the timestamp (ERC-6372).
/// Pro-rata payments round down, and the member holding every remaining share takes the whole
/// treasury, so no one takes more than its share and the last redeemer never fails.
contract ResearchFund is IResearchFund, ERC20Votes, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    uint8 public constant MIN_QUORUM_PERCENT = 4;
    uint8 public constant MAX_QUORUM_PERCENT = 100;
    uint32 public constant MIN_VOTING_PERIOD = 1 hours;
    uint32 public constant MAX_VOTING_PERIOD = 30 days;
    uint32 public constant MIN_TIMELOCK_DELAY = 1 hours;
    uint32 public constant MAX_TIMELOCK_DELAY = 30 days;
    uint256 public constant MAX_DURATION = 3_650 days;
    /// @notice The longest cause, in bytes of UTF-8: a heading in every list of funds, not a document.
    uint256 public constant MAX_CAUSE_BYTES = 200;

    IStudyEscrow private immutable _escrow;
    IERC20 private immutable _currency;
    address private immutable _governor;
    address private immutable _timelock;
    uint8 private immutable _decimals;
    uint40 private immutable _end;
    uint256 private immutable _goal;

    string private _cause;
    uint256 private _raised;
    bool private _closed;
    /// @dev Set by the first sponsorship: from then on no contribution is taken.
    bool private _spending;
    uint256 private _outstanding;
    /// @dev 1: sponsoring, not settled.
    mapping(uint256 studyId => uint256) private _sponsoring;

    /// @param escrow_ The StudyEscrow whose studies the fund may sponsor.
    /// @param params The cause, currency, goal, end and governance settings (within the bounds).
    /// @param timelocks Deploys the fund's TimelockController (administered by this fund until it renounces).
    /// @param governors Deploys the fund's Governor.
    constructor(
        IStudyEscrow escrow_,
        FundParams memory params,
        IResearchFundTimelockDeployer timelocks,
        IResearchFundGovernorDeployer governors
    ) ERC20("Consentry Research Fund Share", "CRFS") EIP712("Consentry ResearchFund", "1") {
        _checkParams(escrow_, params);
        _escrow = escrow_;
        _currency = params.currency;
        _decimals = IERC20Metadata(address(params.currency)).decimals();
        _end = params.end;
        _goal = params.goal;
        _cause = params.cause;

        // No proposer or executor yet and this fund its only admin: the governor alone executes
        // (through its execute, open to anyone), so that a proposal past its execution window
        // (ResearchFundGovernor) never executes.
        TimelockController timelock_ = TimelockController(payable(timelocks.deployTimelock(params.timelockDelay)));
        address governor_ = governors.deployGovernor(
            this,
            address(timelock_),
            params.votingPeriod,
            params.quorumPercent
        );
        timelock_.grantRole(timelock_.PROPOSER_ROLE(), governor_);
        timelock_.grantRole(timelock_.CANCELLER_ROLE(), governor_);
        timelock_.grantRole(timelock_.EXECUTOR_ROLE(), governor_);
        timelock_.renounceRole(timelock_.DEFAULT_ADMIN_ROLE(), address(this));
        _governor = governor_;
        _timelock = address(timelock_);
    }

    // ------------------------------------------------------------------ members

    /// @inheritdoc IResearchFund
    function contribute(uint256 amount) external nonReentrant {
        _checkOpen();
        if (amount == 0) revert ResearchFundZeroAmount();
        if (_spending) revert ResearchFundSpendingStarted();
        // Against the shares held now, not all ever raised: money that left by ragequit no longer
        // counts toward the goal (else a contribution taken back at once would close the fund).
        uint256 supply = totalSupply();
        if (supply + amount > _goal) revert ResearchFundGoalExceeded(_goal, supply, amount);
        uint256 raised = _raised;
        IERC20 currency_ = _currency;
        uint256 before = currency_.balanceOf(address(this));
        currency_.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = currency_.balanceOf(address(this)) - before;
        if (received != amount) revert ResearchFundFeeOnTransfer(amount, received);
        raised += amount;
        _raised = raised;
        _mint(msg.sender, amount);
        emit Contributed(msg.sender, amount, raised);
    }

    /// @inheritdoc IResearchFund
    function ragequit(uint256 shares) external nonReentrant returns (uint256 amount) {
        if (!isOpen()) revert ResearchFundNotOpen(_end, _closed);
        uint256 pending = ResearchFundGovernor(payable(_governor)).pendingForVote(msg.sender);
        if (pending != 0) revert ResearchFundVotedForPending(msg.sender, pending);
        amount = _payOut(shares);
        emit RageQuit(msg.sender, shares, amount);
        _currency.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IResearchFund
    function redeem() external nonReentrant returns (uint256 amount) {
        if (isOpen()) revert ResearchFundStillOpen(_end);
        if (_outstanding != 0) revert ResearchFundStudiesOutstanding(_outstanding);
        uint256 shares = balanceOf(msg.sender);
        amount = _payOut(shares);
        emit Redeemed(msg.sender, shares, amount);
        _currency.safeTransfer(msg.sender, amount);
    }

    // ------------------------------------------------------------------ timelock (passed proposals)

    /// @inheritdoc IResearchFund
    function sponsorStudy(uint256 studyId, uint256 amount, bytes32 protocolHash) external nonReentrant {
        _checkTimelock();
        _checkOpen();
        if (amount == 0) revert ResearchFundZeroAmount();
        IStudyEscrow.Study memory study = _escrow.getStudy(studyId);
        IERC20 currency_ = _currency;
        if (study.currency != currency_) revert ResearchFundCurrencyMismatch(studyId, study.currency);
        if (study.protocolHash != protocolHash) {
            revert ResearchFundTermsMismatch(studyId, protocolHash, study.protocolHash);
        }
        uint256 balance = currency_.balanceOf(address(this));
        if (amount > balance) revert ResearchFundInsufficientTreasury(amount, balance);
        _spending = true;
        if (_sponsoring[studyId] == 0) {
            _sponsoring[studyId] = 1;
            ++_outstanding;
        }
        emit SponsoredStudy(studyId, amount, protocolHash);
        currency_.forceApprove(address(_escrow), amount);
        _escrow.sponsor(studyId, amount);
    }

    /// @inheritdoc IResearchFund
    function close() external {
        _checkTimelock();
        _checkOpen();
        _closed = true;
        emit Closed();
    }

    /// @inheritdoc IResearchFund
    function settleStudy(uint256 studyId) external nonReentrant returns (uint256 amount) {
        if (_sponsoring[studyId] == 0) revert ResearchFundNotSponsoring(studyId);
        _sponsoring[studyId] = 0;
        --_outstanding;
        amount = _escrow.reclaimSponsorship(studyId);
        emit SettledStudy(studyId, amount);
    }

    // ------------------------------------------------------------------ shares

    /// @dev Shares only move by minting (contribute) and burning (ragequit, redeem).
    function _update(address from, address to, uint256 value) internal override {
        if (from != address(0) && to != address(0)) revert ResearchFundSharesNonTransferable();
        super._update(from, to, value);
    }

    /// @dev Each member is its own delegate, always (no storage, no call needed): votes move with
    /// the shares. No other delegation.
    function delegates(address account) public pure override returns (address) {
        return account;
    }

    function _delegate(address, address) internal pure override {
        revert ResearchFundDelegationDisabled();
    }

    function clock() public view override returns (uint48) {
        return uint48(block.timestamp);
    }

    // solhint-disable-next-line func-name-mixedcase
    function CLOCK_MODE() public pure override returns (string memory) {
        return "mode=timestamp";
    }

    function decimals() public view override returns (uint8) {
        return _decimals;
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IResearchFund
    function escrow() external view returns (IStudyEscrow) {
        return _escrow;
    }

    /// @inheritdoc IResearchFund
    function currency() external view returns (IERC20) {
        return _currency;
    }

    /// @inheritdoc IResearchFund
    function governor() external view returns (address) {
        return _governor;
    }

    /// @inheritdoc IResearchFund
    function timelock() external view returns (address) {
        return _timelock;
    }

    /// @inheritdoc IResearchFund
    function info()
        external
        view
        returns (string memory cause, uint256 goal, uint40 end, uint256 raised, bool closed, uint256 outstandingStudies)
    {
        return (_cause, _goal, _end, _raised, _closed, _outstanding);
    }

    /// @inheritdoc IResearchFund
    function isOpen() public view returns (bool) {
        return !_closed && block.timestamp < _end;
    }

    /// @inheritdoc IResearchFund
    function previewShare(uint256 shares) public view returns (uint256) {
        uint256 supply = totalSupply();
        if (shares == 0 || shares > supply) return 0;
        uint256 balance = _currency.balanceOf(address(this));
        return shares == supply ? balance : Math.mulDiv(balance, shares, supply);
    }

    // ------------------------------------------------------------------ private

    /// @dev Burns `shares` of the caller's for their pro-rata part of the treasury, rounded down
    /// (all of it for the last shares).
    function _payOut(uint256 shares) private returns (uint256 amount) {
        uint256 held = balanceOf(msg.sender);
        if (shares == 0 || shares > held) revert ResearchFundInsufficientShares(msg.sender, shares, held);
        amount = previewShare(shares);
        _burn(msg.sender, shares);
    }

    function _checkOpen() private view {
        if (!isOpen()) revert ResearchFundNotOpen(_end, _closed);
    }

    function _checkTimelock() private view {
        if (msg.sender != _timelock) revert ResearchFundNotTimelock(msg.sender);
    }

    function _checkParams(IStudyEscrow escrow_, FundParams memory p) private view {
        uint256 causeBytes = bytes(p.cause).length;
        if (causeBytes == 0) revert ResearchFundEmptyCause();
        if (causeBytes > MAX_CAUSE_BYTES) revert ResearchFundCauseTooLong(causeBytes, MAX_CAUSE_BYTES);
        if (!escrow_.isCurrencyAllowed(p.currency)) revert ResearchFundCurrencyNotAllowed(p.currency);
        if (p.goal == 0 || p.goal > type(uint128).max) revert ResearchFundInvalidGoal(p.goal);
        if (p.quorumPercent < MIN_QUORUM_PERCENT || p.quorumPercent > MAX_QUORUM_PERCENT) {
            revert ResearchFundInvalidQuorum(p.quorumPercent, MIN_QUORUM_PERCENT, MAX_QUORUM_PERCENT);
        }
        if (p.votingPeriod < MIN_VOTING_PERIOD || p.votingPeriod > MAX_VOTING_PERIOD) {
            revert ResearchFundInvalidVotingPeriod(p.votingPeriod, MIN_VOTING_PERIOD, MAX_VOTING_PERIOD);
        }
        if (p.timelockDelay < MIN_TIMELOCK_DELAY || p.timelockDelay > MAX_TIMELOCK_DELAY) {
            revert ResearchFundInvalidTimelockDelay(p.timelockDelay, MIN_TIMELOCK_DELAY, MAX_TIMELOCK_DELAY);
        }
        // Long enough for one proposal to pass and execute; no longer than a study may run.
        uint256 min = block.timestamp + uint256(p.votingPeriod) + p.timelockDelay;
        uint256 max = block.timestamp + MAX_DURATION;
        if (p.end <= min || p.end > max) revert ResearchFundInvalidEnd(p.end, min, max);
    }
}
