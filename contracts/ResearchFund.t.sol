// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IResearchFund} from "./interfaces/IResearchFund.sol";
import {ResearchFund} from "./ResearchFund.sol";
import {ResearchFundFactory} from "./ResearchFundFactory.sol";
import {ResearchFundGovernorDeployer} from "./ResearchFundGovernorDeployer.sol";
import {ResearchFundTimelockDeployer} from "./ResearchFundTimelockDeployer.sol";
import {ResearchFundHandler} from "./test/ResearchFundHandler.sol";
import {StudyEscrowSetup} from "./test/StudyEscrowSetup.sol";

/// @notice Invariants of a ResearchFund under random contributions, ragequits, sponsorships,
/// settlements, closing, time and redemptions: the treasury always covers every member's claim;
/// shares exist only in members' hands; no payout exceeds its share (plus earlier rounding dust);
/// no allowed ragequit or redemption reverts (the last redeemer never fails).
/// forge-config: default.invariant.runs = 32
/// forge-config: default.invariant.depth = 50
contract ResearchFundInvariantTest is StudyEscrowSetup {
    ResearchFund internal fund;
    ResearchFundHandler internal handler;

    function setUp() public override {
        super.setUp();
        uint256 studyId = createStudy(1 ether, 10, 10 ether);
        ResearchFundFactory factory = new ResearchFundFactory(
            escrow,
            new ResearchFundTimelockDeployer(),
            new ResearchFundGovernorDeployer()
        );
        fund = ResearchFund(
            address(
                factory.createFund(
                    IResearchFund.FundParams({
                        cause: "Rare disease X",
                        currency: token,
                        goal: 1_000 ether,
                        end: uint40(block.timestamp + 40 days),
                        quorumPercent: 20,
                        votingPeriod: 1 days,
                        timelockDelay: 1 days
                    })
                )
            )
        );
        handler = new ResearchFundHandler(
            fund,
            token,
            studyId,
            keccak256("protocol v1 + ethics approval"),
            escrow.getStudy(studyId).endTime
        );
        token.grantRole(token.MINTER_ROLE(), address(handler));
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function invariant_treasuryCoversEveryClaim() public view {
        address[4] memory members = handler.memberList();
        uint256 claims = 0;
        uint256 shares = 0;
        for (uint256 i = 0; i < 4; ++i) {
            claims += fund.previewShare(fund.balanceOf(members[i]));
            shares += fund.balanceOf(members[i]);
        }
        check(claims <= token.balanceOf(address(fund)), "claims exceed the treasury");
        checkEq(shares, fund.totalSupply(), "shares outside members' hands");
    }

    function invariant_noOverpaymentNoUnexpectedRevert() public view {
        ResearchFundHandler.Ghosts memory g = handler.ghosts();
        checkEq(g.overpaid, 0, "a payout above the member's share");
        checkEq(g.unexpectedReverts, 0, "an allowed action reverted");
        checkEq(g.unexpectedSuccesses, 0, "a refused action succeeded");
    }

    function afterInvariant() public view {
        ResearchFundHandler.Ghosts memory g = handler.ghosts();
        // Money came in, by contribution or direct send (a run of 50 calls without either: ~4e-6).
        check(g.contributions + g.directSends > 0, "the run did hardly anything");
    }

    /// @notice A scripted run through every action: contributions, a sponsorship, a ragequit, the
    /// study's settlement after the end, and every member redeeming to an empty fund.
    function test_handlerScriptEmptiesTheFund() public {
        handler.contribute(0, 10 ether);
        handler.contribute(1, 10 ether);
        handler.contribute(2, 13 ether);
        handler.sendDirect(1);
        handler.sponsor(7 ether + 3);
        handler.ragequit(1, 4 ether);
        handler.redeem(0); // still open: refused
        for (uint256 i = 0; i < 10; ++i) handler.warp(4 days);
        handler.redeem(0); // the study is not settled: refused
        handler.settle();
        handler.redeem(0);
        handler.redeem(1);
        handler.redeem(2);
        handler.redeem(3); // no shares: refused
        ResearchFundHandler.Ghosts memory g = handler.ghosts();
        checkEq(g.redemptions, 3, "redemptions");
        checkEq(g.sponsorships, 1, "sponsorships");
        checkEq(g.settlements, 1, "settlements");
        checkEq(fund.totalSupply(), 0, "shares left");
        checkEq(token.balanceOf(address(fund)), 0, "treasury left");
        invariant_treasuryCoversEveryClaim();
        invariant_noOverpaymentNoUnexpectedRevert();
    }

    /// @notice Redemption rounding with 3 to 4 members of random shares and a random pot: each takes
    /// at most its exact share plus earlier dust, the last redeemer never fails, the fund ends empty.
    function testFuzz_redeemRounding(uint256 seed, uint256 extra) public {
        uint256 n = 3 + (seed % 2);
        for (uint256 i = 0; i < n; ++i) handler.contribute(i, 1 + (rand(seed, i) % 1e6));
        handler.sendDirect(extra);
        for (uint256 i = 0; i < 10; ++i) handler.warp(4 days);
        handler.settle();
        for (uint256 i = 0; i < n; ++i) handler.redeem((rand(seed, 100) + i) % n);
        checkEq(token.balanceOf(address(fund)), 0, "treasury left");
        checkEq(fund.totalSupply(), 0, "shares left");
        invariant_noOverpaymentNoUnexpectedRevert();
    }
}
