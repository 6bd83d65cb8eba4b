// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Governor} from "@openzeppelin/contracts/governance/Governor.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {GovernorCountingSimple} from "@openzeppelin/contracts/governance/extensions/GovernorCountingSimple.sol";
import {GovernorTimelockControl} from "@openzeppelin/contracts/governance/extensions/GovernorTimelockControl.sol";
import {GovernorVotes} from "@openzeppelin/contracts/governance/extensions/GovernorVotes.sol";
import {IVotes} from "@openzeppelin/contracts/governance/utils/IVotes.sol";

import {IResearchFund} from "./interfaces/IResearchFund.sol";

/// @title ResearchFundGovernor
/// @notice The Governor of one ResearchFund: members (holders of its shares) propose to sponsor a
/// study of the StudyEscrow or to close the fund, and vote with their shares as they were the
/// second before the proposal; a passed proposal waits in the fund's TimelockController.
/// @dev Deployed by the fund's constructor. Deliberately narrower than a general Governor:
/// - a proposal is exactly one call, on the fund, to `sponsorStudy` or `close` (so the timelock can
///   never pay anything but an escrow study, nor change its own delay or this Governor);
/// - voting delay 0 but votes are read one second before the proposal's snapshot, so shares bought
///   in the proposal's own second (or after) never vote on it (no flash contribution);
/// - a vote of zero weight is refused (a non-member cannot vote);
/// - a vote weighs what the member held then or holds now, whichever is less: who left by ragequit
///   after a proposal was made does not vote on it;
/// - a For vote locks the member in until the proposal can no longer execute (its deadline, the
///   timelock's delay and QUEUE_GRACE), so that the fund refuses that member's ragequit while the
///   proposal may still execute (Moloch v2: who voted to spend cannot leave before paying); past
///   that window the proposal never executes.
contract ResearchFundGovernor is Governor, GovernorCountingSimple, GovernorVotes, GovernorTimelockControl {
    /// @notice How long after its voting deadline and the timelock's delay a passed proposal may
    /// still execute (and locks its For voters in); after that it never executes.
    uint256 public constant QUEUE_GRACE = 7 days;

    /// @notice The proposal is not one call on the fund to `sponsorStudy` or `close`, or the fund is not open.
    error ResearchFundGovernorInvalidProposal();
    /// @notice `account` holds no shares: only members propose.
    error ResearchFundGovernorNotMember(address account);
    /// @notice `account` had no shares at the proposal (or holds none now): only members vote.
    error ResearchFundGovernorNoVotes(address account, uint256 proposalId);
    /// @notice The proposal's execution window closed at `closedAt`: it no longer executes.
    error ResearchFundGovernorExpired(uint256 proposalId, uint256 closedAt);

    IResearchFund private immutable _fund;
    uint32 private immutable _votingPeriod;
    uint8 private immutable _quorumPercent;

    /// @dev Per member: until when its For votes lock it in, and the proposal that set that time.
    mapping(address member => uint256 until) private _lockedUntil;
    mapping(address member => uint256 proposalId) private _lockedBy;

    constructor(
        IResearchFund fund_,
        TimelockController timelock_,
        uint32 votingPeriod_,
        uint8 quorumPercent_
    ) Governor("Consentry ResearchFund") GovernorVotes(IVotes(address(fund_))) GovernorTimelockControl(timelock_) {
        _fund = fund_;
        _votingPeriod = votingPeriod_;
        _quorumPercent = quorumPercent_;
    }

    /// @notice Propose one call on the fund: `sponsorStudy(studyId, amount, protocolHash)` or `close()`.
    /// Members only, while the fund is open.
    function propose(
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        string memory description
    ) public override returns (uint256) {
        if (
            targets.length != 1 ||
            values.length != 1 ||
            calldatas.length != 1 ||
            targets[0] != address(_fund) ||
            values[0] != 0 ||
            !_allowedCall(calldatas[0]) ||
            !_fund.isOpen()
        ) revert ResearchFundGovernorInvalidProposal();
        if (token().getVotes(msg.sender) == 0) revert ResearchFundGovernorNotMember(msg.sender);
        return super.propose(targets, values, calldatas, description);
    }

    /// @notice The proposal that `member` voted For and that may still execute (0: none), which
    /// keeps the member from ragequitting.
    /// Every For vote counts until its proposal's execution window closes, whatever became of it:
    /// a later For vote on a proposal that fails early must not release an earlier one that passed.
    function pendingForVote(address member) external view returns (uint256 proposalId) {
        return block.timestamp < _lockedUntil[member] ? _lockedBy[member] : 0;
    }

    /// @notice When the proposal's execution window closes (it executes only before).
    function executionClosesAt(uint256 proposalId) public view returns (uint256) {
        return proposalDeadline(proposalId) + TimelockController(payable(timelock())).getMinDelay() + QUEUE_GRACE;
    }

    /// @notice The fund whose shares vote here.
    function fund() external view returns (IResearchFund) {
        return _fund;
    }

    /// @notice Share of all shares (one second before the snapshot) that must vote For or Abstain.
    function quorumPercent() external view returns (uint8) {
        return _quorumPercent;
    }

    function votingDelay() public pure override returns (uint256) {
        return 0;
    }

    function votingPeriod() public view override returns (uint256) {
        return _votingPeriod;
    }

    /// @dev No threshold: `propose` itself requires current shares.
    function proposalThreshold() public pure override returns (uint256) {
        return 0;
    }

    function quorum(uint256 timepoint) public view override returns (uint256) {
        return (token().getPastTotalSupply(timepoint - 1) * _quorumPercent) / 100;
    }

    function state(uint256 proposalId) public view override(Governor, GovernorTimelockControl) returns (ProposalState) {
        return super.state(proposalId);
    }

    function proposalNeedsQueuing(
        uint256 proposalId
    ) public view override(Governor, GovernorTimelockControl) returns (bool) {
        return super.proposalNeedsQueuing(proposalId);
    }

    /// @dev Votes as they were the second before the snapshot (the proposal's own second).
    function _getVotes(
        address account,
        uint256 timepoint,
        bytes memory params
    ) internal view override(Governor, GovernorVotes) returns (uint256) {
        uint256 then = super._getVotes(account, timepoint - 1, params);
        uint256 now_ = token().getVotes(account);
        return then < now_ ? then : now_;
    }

    function _countVote(
        uint256 proposalId,
        address account,
        uint8 support,
        uint256 totalWeight,
        bytes memory params
    ) internal override(Governor, GovernorCountingSimple) returns (uint256) {
        if (totalWeight == 0) revert ResearchFundGovernorNoVotes(account, proposalId);
        if (support == uint8(VoteType.For)) {
            uint256 until = executionClosesAt(proposalId);
            if (until > _lockedUntil[account]) {
                _lockedUntil[account] = until;
                _lockedBy[account] = proposalId;
            }
        }
        return super._countVote(proposalId, account, support, totalWeight, params);
    }

    function _queueOperations(
        uint256 proposalId,
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) returns (uint48) {
        return super._queueOperations(proposalId, targets, values, calldatas, descriptionHash);
    }

    function _executeOperations(
        uint256 proposalId,
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) {
        uint256 closesAt = executionClosesAt(proposalId);
        if (block.timestamp >= closesAt) revert ResearchFundGovernorExpired(proposalId, closesAt);
        super._executeOperations(proposalId, targets, values, calldatas, descriptionHash);
    }

    function _cancel(
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) returns (uint256) {
        return super._cancel(targets, values, calldatas, descriptionHash);
    }

    function _executor() internal view override(Governor, GovernorTimelockControl) returns (address) {
        return super._executor();
    }

    function _allowedCall(bytes memory data) private pure returns (bool) {
        if (data.length < 4) return false;
        bytes4 selector = bytes4(data);
        if (selector == IResearchFund.close.selector) return data.length == 4;
        return selector == IResearchFund.sponsorStudy.selector && data.length == 100;
    }
}
