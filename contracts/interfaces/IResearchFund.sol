// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {IStudyEscrow} from "./IStudyEscrow.sol";

/// @title IResearchFund
/// @notice A research fund for one cause: contributors deposit the fund's currency and receive
/// non-transferable voting shares 1:1; members propose and vote (the fund's Governor, a
/// TimelockController behind it) to sponsor studies of the StudyEscrow; a member may ragequit with
/// its pro-rata share of the treasury before a proposal it did not vote for executes; after the end
/// (or a vote to close) every member redeems its pro-rata share of what is left.
/// @dev The fund itself holds the treasury and is the share token; the timelock only holds the
/// power to spend it (`sponsorStudy`) and to close the fund (`close`), each through a proposal.
interface IResearchFund {
    /// @notice What a creator chooses, each checked against the bounds below.
    struct FundParams {
        /// @dev What the fund is for (a rare disease, a cohort), shown to contributors; 1 to 200 bytes.
        string cause;
        /// @dev The currency; the StudyEscrow must allow it as a study currency.
        IERC20 currency;
        /// @dev The most the fund raises in all (contributions stop once it is reached).
        uint256 goal;
        /// @dev No contribution or proposal at or after this time; members redeem afterwards.
        uint40 end;
        /// @dev Share of all shares (at the proposal) that must vote For or Abstain, in percent.
        uint8 quorumPercent;
        /// @dev How long a proposal is open for votes, in seconds.
        uint32 votingPeriod;
        /// @dev How long a passed proposal waits in the timelock (the window to ragequit), in seconds.
        uint32 timelockDelay;
    }

    /// @notice `member` deposited `amount` and received as many shares; the fund raised `raised` in all.
    event Contributed(address indexed member, uint256 amount, uint256 raised);
    /// @notice The fund sponsored study `studyId` of the escrow with `amount` (a passed proposal).
    event SponsoredStudy(uint256 indexed studyId, uint256 amount, bytes32 protocolHash);
    /// @notice The fund took back its share, `amount`, of the unspent budget of study `studyId`.
    event SettledStudy(uint256 indexed studyId, uint256 amount);
    /// @notice `member` burnt `shares` and took `amount` of the treasury, before the end.
    event RageQuit(address indexed member, uint256 shares, uint256 amount);
    /// @notice The members voted to close the fund.
    event Closed();
    /// @notice `member` burnt `shares` and took `amount`, its pro-rata share of what was left.
    event Redeemed(address indexed member, uint256 shares, uint256 amount);

    /// @notice The cause is empty.
    error ResearchFundEmptyCause();
    /// @notice The cause is `length` bytes long, more than `max`.
    error ResearchFundCauseTooLong(uint256 length, uint256 max);
    /// @notice The StudyEscrow does not allow `currency`.
    error ResearchFundCurrencyNotAllowed(IERC20 currency);
    /// @notice The goal is zero or above 2^128 - 1.
    error ResearchFundInvalidGoal(uint256 goal);
    /// @notice The end is earlier than `min` or later than `max`.
    error ResearchFundInvalidEnd(uint40 end, uint256 min, uint256 max);
    /// @notice The quorum is outside [`min`, `max`] percent.
    error ResearchFundInvalidQuorum(uint8 quorumPercent, uint8 min, uint8 max);
    /// @notice The voting period is outside [`min`, `max`] seconds.
    error ResearchFundInvalidVotingPeriod(uint32 votingPeriod, uint32 min, uint32 max);
    /// @notice The timelock delay is outside [`min`, `max`] seconds.
    error ResearchFundInvalidTimelockDelay(uint32 timelockDelay, uint32 min, uint32 max);
    /// @notice The fund is past its end or was closed: no contribution, proposal or sponsoring.
    error ResearchFundNotOpen(uint40 end, bool closed);
    /// @notice The fund is still open: members ragequit, they redeem only after the end or a close.
    error ResearchFundStillOpen(uint40 end);
    /// @notice The amount is zero.
    error ResearchFundZeroAmount();
    /// @notice The contribution would take the shares held (`raised`) above the goal.
    error ResearchFundGoalExceeded(uint256 goal, uint256 raised, uint256 amount);
    /// @notice The fund received `received` instead of `expected` (a fee-on-transfer token).
    error ResearchFundFeeOnTransfer(uint256 expected, uint256 received);
    /// @notice Only the fund's timelock (a passed proposal) may do this.
    error ResearchFundNotTimelock(address caller);
    /// @notice Shares cannot be transferred (ragequit and redeem pay members, not holders).
    error ResearchFundSharesNonTransferable();
    /// @notice A member's votes are its own shares; they cannot be delegated.
    error ResearchFundDelegationDisabled();
    /// @notice `member` has `balance` shares, fewer than `shares` (or none).
    error ResearchFundInsufficientShares(address member, uint256 shares, uint256 balance);
    /// @notice `member` voted For proposal `proposalId`, which has not executed yet: it cannot leave
    /// before paying its part (Moloch v2's rule).
    error ResearchFundVotedForPending(address member, uint256 proposalId);
    /// @notice The treasury holds `balance`, less than the `amount` a proposal spends (members left).
    error ResearchFundInsufficientTreasury(uint256 amount, uint256 balance);
    /// @notice The study pays in another currency than the fund's.
    error ResearchFundCurrencyMismatch(uint256 studyId, IERC20 currency);
    /// @notice The study's protocol hash is not the one the proposal named.
    error ResearchFundTermsMismatch(uint256 studyId, bytes32 expected, bytes32 actual);
    /// @notice The fund never sponsored the study, or already took back its share.
    error ResearchFundNotSponsoring(uint256 studyId);
    /// @notice `count` studies the fund sponsored are not settled yet (`settleStudy` after their end).
    error ResearchFundStudiesOutstanding(uint256 count);
    /// @notice The fund has sponsored a study: it takes no more contributions (a newcomer's money
    /// would pay for the members' earlier spending, since a share is worth its part of the treasury).
    error ResearchFundSpendingStarted();

    /// @notice Deposit `amount` of the currency (from the caller's allowance) for as many shares,
    /// while the fund is open, has sponsored no study yet, and its shares stay within the goal.
    /// The caller's shares vote from the next second on (each member is its own delegate).
    function contribute(uint256 amount) external;

    /// @notice Sponsor study `studyId` of the escrow with `amount` from the treasury, if the study
    /// still has protocol hash `protocolHash` and pays in the fund's currency. Timelock only.
    function sponsorStudy(uint256 studyId, uint256 amount, bytes32 protocolHash) external;

    /// @notice Close the fund now (no more contributions, proposals or sponsoring). Timelock only.
    function close() external;

    /// @notice Take back the fund's pro-rata share of the unspent budget of a sponsored study that
    /// is over. Anyone may call it.
    function settleStudy(uint256 studyId) external returns (uint256 amount);

    /// @notice While the fund is open: burn `shares` of the caller's and take their pro-rata part
    /// of the treasury. Refused while a proposal the caller voted For is pending.
    function ragequit(uint256 shares) external returns (uint256 amount);

    /// @notice After the end or a close, once every sponsored study is settled: burn all the
    /// caller's shares and take their pro-rata part of the treasury (the last member takes the rest).
    function redeem() external returns (uint256 amount);

    /// @notice The StudyEscrow whose studies the fund sponsors.
    function escrow() external view returns (IStudyEscrow);

    /// @notice The fund's currency.
    function currency() external view returns (IERC20);

    /// @notice The fund's Governor (proposals and votes).
    function governor() external view returns (address);

    /// @notice The fund's TimelockController (executes passed proposals on this fund).
    function timelock() external view returns (address);

    /// @notice The cause, the goal, the end, what was raised and whether the members closed it.
    function info()
        external
        view
        returns (
            string memory cause,
            uint256 goal,
            uint40 end,
            uint256 raised,
            bool closed,
            uint256 outstandingStudies
        );

    /// @notice Whether the fund takes contributions and proposals (before its end, not closed).
    function isOpen() external view returns (bool);

    /// @notice What `shares` would take out of the treasury now.
    function previewShare(uint256 shares) external view returns (uint256);
}
