// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Test harness (never deployed by Ignition): a hostile ERC-20 that, once armed, calls
/// `target` with `data` in the middle of its next transfer and bubbles up any revert, to prove
/// that the StudyEscrow's token paths cannot be re-entered.
contract MockReentrantToken is ERC20 {
    address public target;
    bytes public data;

    constructor() ERC20("Reentrant Token", "REE") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Call `target_` with `data_` during the next transfer (once).
    function arm(address target_, bytes calldata data_) external {
        target = target_;
        data = data_;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        address callee = target;
        if (callee != address(0) && from != address(0)) {
            target = address(0);
            (bool ok, bytes memory result) = callee.call(data);
            if (!ok) {
                assembly ("memory-safe") {
                    revert(add(result, 0x20), mload(result))
                }
            }
        }
    }
}
