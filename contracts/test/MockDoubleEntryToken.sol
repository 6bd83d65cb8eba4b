// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Test harness (never deployed by Ignition): a "double-entry" ERC-20, as some real tokens
/// were: a second address (`secondEntry`, a `MockSecondEntry`) reads and moves the same balances.
/// The StudyEscrow's excess recovery through the second address must never sweep what the escrow
/// owes in this token.
contract MockDoubleEntryToken is ERC20 {
    address public immutable secondEntry;

    constructor() ERC20("Double Entry Token", "DBL") {
        secondEntry = address(new MockSecondEntry(this));
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice A transfer made through the second address on behalf of `from`.
    function transferFromSecondEntry(address from, address to, uint256 amount) external returns (bool) {
        require(msg.sender == secondEntry, "only the second entry");
        _transfer(from, to, amount);
        return true;
    }
}

/// @notice The second address of a `MockDoubleEntryToken`: the same balances, another address.
contract MockSecondEntry {
    MockDoubleEntryToken public immutable main;

    constructor(MockDoubleEntryToken main_) {
        main = main_;
    }

    function balanceOf(address account) external view returns (uint256) {
        return main.balanceOf(account);
    }

    function totalSupply() external view returns (uint256) {
        return main.totalSupply();
    }

    function transfer(address to, uint256 amount) external returns (bool) {
        return main.transferFromSecondEntry(msg.sender, to, amount);
    }
}
