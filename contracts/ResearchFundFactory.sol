// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IResearchFund} from "./interfaces/IResearchFund.sol";
import {
    IResearchFundFactory,
    IResearchFundGovernorDeployer,
    IResearchFundTimelockDeployer
} from "./interfaces/IResearchFundFactory.sol";
import {IStudyEscrow} from "./interfaces/IStudyEscrow.sol";
import {ResearchFund} from "./ResearchFund.sol";

/// @title ResearchFundFactory
/// @notice Anyone creates a research fund here, on the one StudyEscrow of the deployment; each fund
/// is announced by `FundCreated`, which is how the indexer finds every fund, its Governor and its
/// timelock.
/// @dev Why a factory and two deployers: the factory holds the fund's creation code (13 kB of
/// runtime), and each fund's constructor asks ResearchFundTimelockDeployer and
/// ResearchFundGovernorDeployer for its timelock and Governor; the three creation codes in one
/// contract would exceed EIP-170's 24,576 bytes. Not minimal clones: the fund and its Governor keep
/// their settings in immutables (no storage read on any member's path), OpenZeppelin's Governor and
/// TimelockController are constructed, not initialized, and a clone initialized apart from its
/// creation could be initialized first by a stranger with settings of its own.
/// Every fund is deployed with the factory's escrow and deployers, so what `FundCreated` names is
/// exactly what the fund runs; a ResearchFund deployed any other way (other deployers, another
/// escrow) is not one of the factory's funds (`isFund`) and no list of Consentry shows it.
contract ResearchFundFactory is IResearchFundFactory {
    IStudyEscrow private immutable _escrow;
    IResearchFundTimelockDeployer private immutable _timelocks;
    IResearchFundGovernorDeployer private immutable _governors;

    mapping(address account => bool) private _isFund;
    uint256 private _fundCount;

    constructor(
        IStudyEscrow escrow_,
        IResearchFundTimelockDeployer timelocks_,
        IResearchFundGovernorDeployer governors_
    ) {
        _escrow = escrow_;
        _timelocks = timelocks_;
        _governors = governors_;
    }

    /// @inheritdoc IResearchFundFactory
    function createFund(IResearchFund.FundParams calldata params) external returns (IResearchFund fund) {
        ResearchFund created = new ResearchFund(_escrow, params, _timelocks, _governors);
        _isFund[address(created)] = true;
        ++_fundCount;
        emit FundCreated(
            created,
            msg.sender,
            params.currency,
            created.governor(),
            created.timelock(),
            params.cause,
            params.goal,
            params.end,
            params.quorumPercent,
            params.votingPeriod,
            params.timelockDelay
        );
        return created;
    }

    /// @inheritdoc IResearchFundFactory
    function isFund(address account) external view returns (bool) {
        return _isFund[account];
    }

    /// @inheritdoc IResearchFundFactory
    function fundCount() external view returns (uint256) {
        return _fundCount;
    }

    /// @inheritdoc IResearchFundFactory
    function escrow() external view returns (IStudyEscrow) {
        return _escrow;
    }

    /// @inheritdoc IResearchFundFactory
    function timelockDeployer() external view returns (IResearchFundTimelockDeployer) {
        return _timelocks;
    }

    /// @inheritdoc IResearchFundFactory
    function governorDeployer() external view returns (IResearchFundGovernorDeployer) {
        return _governors;
    }
}
