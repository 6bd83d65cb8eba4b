// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {RemunerationToken} from "../RemunerationToken.sol";
import {ResearchFund} from "../ResearchFund.sol";
import {TestBase} from "./TestBase.sol";

/// @notice Test harness (never deployed): the actions the invariant fuzzer drives against a
/// ResearchFund — contributions by four members, ragequits, direct sends, sponsoring a study and
/// closing (as the timelock, i.e. a passed proposal), settling the study, the passing of time and
/// redemptions — with ghost accounting. No pro-rata payment may exceed the member's exact share
/// plus the rounding dust earlier payers left behind (under 1 unit each); an action the model allows
/// that reverts is a violation (so the last redeemer never fails).
/// @dev No immutables: EDR's invariant runner must recognize the deployed code as this artifact.
contract ResearchFundHandler is TestBase {
    ResearchFund internal fund;
    RemunerationToken internal token;
    address internal timelock;
    uint256 internal studyId;
    bytes32 internal protocolHash;
    uint256 internal studyEnd;
    address[4] internal members = [address(0xF1), address(0xF2), address(0xF3), address(0xF4)];

    struct Ghosts {
        uint256 contributions;
        uint256 ragequits;
        uint256 redemptions;
        uint256 sponsorships;
        uint256 settlements;
        uint256 overpaid;
        uint256 unexpectedReverts;
        /// @dev Actions that succeeded where the rules refuse them.
        uint256 unexpectedSuccesses;
        uint256 payouts;
        uint256 directSends;
    }

    Ghosts internal g;

    constructor(
        ResearchFund fund_,
        RemunerationToken token_,
        uint256 studyId_,
        bytes32 protocolHash_,
        uint256 studyEnd_
    ) {
        fund = fund_;
        token = token_;
        timelock = fund_.timelock();
        studyId = studyId_;
        protocolHash = protocolHash_;
        studyEnd = studyEnd_;
        for (uint256 i = 0; i < 4; ++i) {
            vm.prank(members[i]);
            token_.approve(address(fund_), type(uint256).max);
        }
    }

    function ghosts() external view returns (Ghosts memory) {
        return g;
    }

    function memberList() external view returns (address[4] memory) {
        return members;
    }

    // ------------------------------------------------------------------ actions

    function contribute(uint256 memberSeed, uint256 amount) external {
        address member = members[memberSeed % 4];
        (, uint256 goal, , , , ) = fund.info();
        uint256 held = fund.totalSupply(); // the goal caps the shares held, not all ever raised
        if (held >= goal) return;
        amount = bound(amount, 1, goal - held);
        token.mint(member, amount);
        // No contribution once the fund has paid for a study.
        bool allowed = fund.isOpen() && g.sponsorships == 0;
        vm.prank(member);
        try fund.contribute(amount) {
            ++g.contributions;
            if (!allowed) ++g.unexpectedSuccesses;
        } catch {
            if (allowed) ++g.unexpectedReverts;
        }
    }

    function ragequit(uint256 memberSeed, uint256 shares) external {
        address member = members[memberSeed % 4];
        uint256 held = fund.balanceOf(member);
        if (held == 0) return;
        shares = bound(shares, 1, held);
        (uint256 pot, uint256 supply) = (token.balanceOf(address(fund)), fund.totalSupply());
        bool open = fund.isOpen();
        vm.prank(member);
        try fund.ragequit(shares) returns (uint256 amount) {
            ++g.ragequits;
            _checkPayout(member, amount, shares, pot, supply);
        } catch {
            if (open) ++g.unexpectedReverts;
        }
    }

    function redeem(uint256 memberSeed) external {
        address member = members[memberSeed % 4];
        uint256 shares = fund.balanceOf(member);
        (, , , , , uint256 outstanding) = fund.info();
        bool due = !fund.isOpen() && outstanding == 0 && shares != 0;
        (uint256 pot, uint256 supply) = (token.balanceOf(address(fund)), fund.totalSupply());
        vm.prank(member);
        try fund.redeem() returns (uint256 amount) {
            ++g.redemptions;
            _checkPayout(member, amount, shares, pot, supply);
        } catch {
            if (due) ++g.unexpectedReverts;
        }
    }

    function sendDirect(uint256 amount) external {
        token.mint(address(fund), bound(amount, 1, 10 ether));
        ++g.directSends;
    }

    /// @notice A passed proposal sponsors the study with part of the treasury.
    function sponsor(uint256 amount) external {
        uint256 balance = token.balanceOf(address(fund));
        // Not before a few contributions: the first sponsorship ends them (a run that spends at
        // once tests little else).
        if (balance == 0 || g.contributions < 3) return;
        amount = bound(amount, 1, balance);
        bool due = fund.isOpen() && block.timestamp < studyEnd;
        vm.prank(timelock);
        try fund.sponsorStudy(studyId, amount, protocolHash) {
            ++g.sponsorships;
        } catch {
            if (due) ++g.unexpectedReverts;
        }
    }

    /// @notice The members vote to close (not before a few contributions: a run that closes an
    /// empty fund at once tests nothing).
    function close() external {
        if (!fund.isOpen() || g.contributions < 3) return;
        vm.prank(timelock);
        fund.close();
    }

    function settle() external {
        try fund.settleStudy(studyId) {
            ++g.settlements;
        } catch {}
    }

    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + bound(seconds_, 1, 4 days));
    }

    // ------------------------------------------------------------------ private

    /// @dev `amount` for `shares` of `supply` out of `pot`: at most the exact share plus the dust
    /// earlier payers left (fewer units than payouts so far), and what the member received.
    function _checkPayout(address member, uint256 amount, uint256 shares, uint256 pot, uint256 supply) private {
        ++g.payouts;
        if (amount * supply > pot * shares + g.payouts * supply) ++g.overpaid;
        if (token.balanceOf(member) < amount) ++g.overpaid;
    }
}
