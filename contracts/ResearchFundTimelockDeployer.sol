// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

import {IResearchFundTimelockDeployer} from "./interfaces/IResearchFundFactory.sol";

/// @title ResearchFundTimelockDeployer
/// @notice Deploys the TimelockController of each ResearchFund, for the fund's constructor: a
/// fund's creation code with its timelock's and its Governor's would not fit in the factory.
/// @dev Anyone may call it. What a stranger gets is a timelock it administers, bound to nothing:
/// a fund trusts only the timelock its own constructor asked for.
contract ResearchFundTimelockDeployer is IResearchFundTimelockDeployer {
    /// @inheritdoc IResearchFundTimelockDeployer
    function deployTimelock(uint256 minDelay) external returns (address) {
        return address(new TimelockController(minDelay, new address[](0), new address[](0), msg.sender));
    }
}
