// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @notice Test harness (never deployed by Ignition): an ERC-1271 contract wallet that answers
/// its `owner`'s signatures as valid, but only after burning gas (`rounds` hashes per check).
/// A relayer that pays for `isValidSignature` without a gas cap pays for every round: the gas
/// drain attack of a "patient" that is such a wallet.
contract GasBurningWallet is IERC1271 {
    address public immutable owner;
    uint256 public immutable rounds;

    constructor(address owner_, uint256 rounds_) {
        owner = owner_;
        rounds = rounds_;
    }

    /// @inheritdoc IERC1271
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        bytes32 burnt = hash;
        for (uint256 i = 0; i < rounds; ++i) burnt = keccak256(abi.encode(burnt, i));
        (address recovered, ECDSA.RecoverError error, ) = ECDSA.tryRecover(hash, signature);
        // `burnt` is never zero in practice: the comparison keeps the loop from being optimised away.
        if (burnt != bytes32(0) && error == ECDSA.RecoverError.NoError && recovered == owner) {
            return IERC1271.isValidSignature.selector;
        }
        return 0xffffffff;
    }
}
