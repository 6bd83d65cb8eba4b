// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IPreventionRewards} from "../interfaces/IPreventionRewards.sol";
import {ConsentCodes} from "../libraries/ConsentCodes.sol";
import {PreventionRewards} from "../PreventionRewards.sol";
import {StudyEscrowSetup} from "./StudyEscrowSetup.sol";

/// @notice Test harness (never deployed): StudyEscrowSetup's registry, token, escrow, custodians
/// and patients, plus a PreventionRewards wired as its Ignition module wires it (a study manager
/// of the registry, the token allowed) and a payer, so that one test drives both escrows of the
/// shared accounting core.
abstract contract PreventionRewardsSetup is StudyEscrowSetup {
    PreventionRewards internal rewards;

    address internal constant PAYER = address(0xFEE);
    uint32 internal constant PERIOD = 30 days;

    function setUp() public virtual override {
        super.setUp();
        rewards = new PreventionRewards(registry, address(this), address(this));
        registry.grantRole(registry.STUDY_MANAGER_ROLE(), address(rewards));
        rewards.setCurrencyAllowed(token, true);
        registry.accredit(PAYER, ConsentCodes.KIND_PAYER, "Example Health Insurance", "", bytes32(0));
        token.mint(PAYER, 1e30);
        vm.prank(PAYER);
        token.approve(address(rewards), type(uint256).max);
    }

    /// @dev A flu-vaccination programme of the payer: hospital and lab, 30-day periods from now,
    /// ending after `periods` periods.
    function createProgramme(uint128 reward, uint256 budget, uint256 periods) internal returns (uint256 programmeId) {
        address[] memory custodians = new address[](2);
        custodians[0] = HOSPITAL;
        custodians[1] = LAB;
        IPreventionRewards.ProgrammeParams memory params = IPreventionRewards.ProgrammeParams({
            currency: token,
            category: ConsentCodes.CAT_IMMUNIZATION,
            codeSystem: keccak256("http://hl7.org/fhir/sid/cvx"),
            code: keccak256("141"),
            firstPeriodStart: uint40(block.timestamp),
            periodLength: PERIOD,
            reward: reward,
            endTime: uint40(block.timestamp + periods * PERIOD),
            custodians: custodians
        });
        vm.prank(PAYER);
        programmeId = rewards.createProgramme(params, budget);
    }

    function optInAs(address patient, uint256 programmeId) internal {
        vm.prank(patient);
        rewards.optIn(programmeId);
    }

    function confirm(
        address gateway,
        uint256 programmeId,
        uint32 period,
        address[] memory batch
    ) internal returns (uint256 paid) {
        vm.prank(gateway);
        paid = rewards.reportConfirmations(programmeId, period, batch);
    }

    function rewardBalance(address account) internal view returns (uint256) {
        return rewards.balanceOf(token, account);
    }
}
