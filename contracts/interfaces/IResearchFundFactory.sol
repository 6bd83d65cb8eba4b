// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {IResearchFund} from "./IResearchFund.sol";
import {IStudyEscrow} from "./IStudyEscrow.sol";

/// @title IResearchFundTimelockDeployer
/// @notice Holds the creation code of a fund's TimelockController, so that neither the fund nor
/// the factory has to (together they would exceed EIP-170's 24,576 bytes).
interface IResearchFundTimelockDeployer {
    /// @notice A new TimelockController with `minDelay`, no proposer, canceller or executor, whose
    /// only admin is the caller (a fund in its constructor, which wires and renounces it).
    function deployTimelock(uint256 minDelay) external returns (address timelock);
}

/// @title IResearchFundGovernorDeployer
/// @notice Holds the creation code of a fund's ResearchFundGovernor (see IResearchFundTimelockDeployer).
interface IResearchFundGovernorDeployer {
    /// @notice A new ResearchFundGovernor for `fund`'s shares, queueing in `timelock`. It holds no
    /// power until the timelock grants it a role, which only the timelock's admin can do.
    function deployGovernor(
        IResearchFund fund,
        address timelock,
        uint32 votingPeriod,
        uint8 quorumPercent
    ) external returns (address governor);
}

/// @title IResearchFundFactory
/// @notice Where anyone creates a research fund on the StudyEscrow, and where every fund is
/// announced: the indexer finds each fund, its Governor and its timelock through `FundCreated`.
/// @dev The factory holds no role, keeps no money and can be neither paused nor upgraded: it only
/// deploys. Each fund's constructor checks its settings against the fund's bounds (the fund's own
/// errors, e.g. `ResearchFundInvalidQuorum`, come back from `createFund`).
interface IResearchFundFactory {
    /// @notice `creator` created `fund` with its `governor` and `timelock`, in `currency`, with
    /// these settings. The creator holds no share, role or power in the fund it created.
    event FundCreated(
        IResearchFund indexed fund,
        address indexed creator,
        IERC20 indexed currency,
        address governor,
        address timelock,
        string cause,
        uint256 goal,
        uint40 end,
        uint8 quorumPercent,
        uint32 votingPeriod,
        uint32 timelockDelay
    );

    /// @notice Create a fund for `params.cause` on the StudyEscrow, with its Governor and
    /// TimelockController (each deployed by its deployer), within the fund's bounds. Anyone may call it.
    function createFund(IResearchFund.FundParams calldata params) external returns (IResearchFund fund);

    /// @notice Whether this factory created `account` (a fund deployed any other way is not one of
    /// Consentry's funds, whatever its code).
    function isFund(address account) external view returns (bool);

    /// @notice How many funds this factory has created.
    function fundCount() external view returns (uint256);

    /// @notice The StudyEscrow whose studies every fund of this factory sponsors.
    function escrow() external view returns (IStudyEscrow);

    /// @notice The contract that deploys each fund's TimelockController.
    function timelockDeployer() external view returns (IResearchFundTimelockDeployer);

    /// @notice The contract that deploys each fund's Governor.
    function governorDeployer() external view returns (IResearchFundGovernorDeployer);
}
