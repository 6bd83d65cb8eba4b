// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IERC5192
/// @notice Minimal soulbound NFTs (EIP-5192): an ERC-721 whose tokens may be locked to their owner.
/// The ERC-165 identifier of this interface is 0xb45a3c0e.
interface IERC5192 {
    /// @notice `tokenId` is locked: it cannot be transferred.
    event Locked(uint256 tokenId);

    /// @notice `tokenId` is unlocked: it can be transferred.
    event Unlocked(uint256 tokenId);

    /// @notice Whether `tokenId` is locked (reverts for a token that does not exist).
    function locked(uint256 tokenId) external view returns (bool);
}
