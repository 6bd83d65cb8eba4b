// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

import {IResearchFund} from "./interfaces/IResearchFund.sol";
import {IResearchFundGovernorDeployer} from "./interfaces/IResearchFundFactory.sol";
import {ResearchFundGovernor} from "./ResearchFundGovernor.sol";

/// @title ResearchFundGovernorDeployer
/// @notice Deploys the ResearchFundGovernor of each ResearchFund, for the fund's constructor (see
/// ResearchFundTimelockDeployer).
/// @dev Anyone may call it. A Governor a stranger deploys for a real fund's shares and timelock is
/// powerless: only the timelock's admin (the fund, during its constructor) grants the proposer
/// role, and the fund grants it to the Governor its constructor deployed, then renounces.
contract ResearchFundGovernorDeployer is IResearchFundGovernorDeployer {
    /// @inheritdoc IResearchFundGovernorDeployer
    function deployGovernor(
        IResearchFund fund,
        address timelock,
        uint32 votingPeriod,
        uint8 quorumPercent
    ) external returns (address) {
        return
            address(new ResearchFundGovernor(fund, TimelockController(payable(timelock)), votingPeriod, quorumPercent));
    }
}
