// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";

import {Vm, VM_ADDRESS} from "./Vm.sol";

/// @notice Test harness (never deployed): the cheatcodes and the few assertions the Solidity tests
/// need, in place of forge-std. A failed assertion reverts with a message, which fails the test.
abstract contract TestBase {
    Vm internal constant vm = Vm(VM_ADDRESS);

    function check(bool condition, string memory message) internal pure {
        if (!condition) revert(message);
    }

    function checkEq(uint256 actual, uint256 expected, string memory message) internal pure {
        if (actual != expected) {
            revert(
                string.concat(message, ": got ", Strings.toString(actual), ", expected ", Strings.toString(expected))
            );
        }
    }

    function checkEq(address actual, address expected, string memory message) internal pure {
        if (actual != expected) {
            revert(
                string.concat(
                    message,
                    ": got ",
                    Strings.toHexString(actual),
                    ", expected ",
                    Strings.toHexString(expected)
                )
            );
        }
    }

    function checkEq(bytes32 actual, bytes32 expected, string memory message) internal pure {
        if (actual != expected) {
            revert(
                string.concat(
                    message,
                    ": got ",
                    Strings.toHexString(uint256(actual), 32),
                    ", expected ",
                    Strings.toHexString(uint256(expected), 32)
                )
            );
        }
    }

    function checkEq(bool actual, bool expected, string memory message) internal pure {
        if (actual != expected) revert(string.concat(message, actual ? ": got true" : ": got false"));
    }

    function checkEq(bytes memory actual, bytes memory expected, string memory message) internal pure {
        if (keccak256(actual) != keccak256(expected)) {
            revert(string.concat(message, ": got 0x", _hex(actual), ", expected 0x", _hex(expected)));
        }
    }

    /// @dev Maps `x` into [lo, hi] (uniform enough for fuzzing; identity when already inside).
    function bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        require(lo <= hi, "bound: lo > hi");
        if (x >= lo && x <= hi) return x;
        uint256 size = hi - lo;
        if (size == type(uint256).max) return x;
        return lo + (x % (size + 1));
    }

    /// @dev A deterministic pseudo-random word from a fuzzed seed and a counter.
    function rand(uint256 seed, uint256 salt) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(seed, salt)));
    }

    /// @dev The chain id now, read in a call of its own: within one function the optimizer may
    /// treat `block.chainid` as constant (or re-read it where it is used), which `vm.chainId` breaks.
    function chainIdNow() internal view returns (uint256) {
        return TestBase(address(this)).currentChainId();
    }

    function currentChainId() external view returns (uint256) {
        return block.chainid;
    }

    /// @dev The free memory pointer, to give back with `restoreFreeMemory` what a loop body
    /// allocated (a long test otherwise grows its memory with every external call it decodes).
    function freeMemory() internal pure returns (uint256 pointer) {
        assembly ("memory-safe") {
            pointer := mload(0x40)
        }
    }

    function restoreFreeMemory(uint256 pointer) internal pure {
        assembly ("memory-safe") {
            mstore(0x40, pointer)
        }
    }

    function _hex(bytes memory data) private pure returns (string memory) {
        bytes memory out = new bytes(data.length * 2);
        bytes16 digits = "0123456789abcdef";
        for (uint256 i = 0; i < data.length; ++i) {
            out[2 * i] = digits[uint8(data[i]) >> 4];
            out[2 * i + 1] = digits[uint8(data[i]) & 0x0f];
        }
        return string(out);
    }
}
