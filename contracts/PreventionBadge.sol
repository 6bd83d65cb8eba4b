// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";

import {IERC5192} from "./interfaces/IERC5192.sol";
import {IPreventionRewards} from "./interfaces/IPreventionRewards.sol";

/// @title PreventionBadge
/// @notice Achievement tokens of prevention programmes: a patient whose confirmation for a
/// programme and period was paid (`IPreventionRewards.isConfirmed`) may claim one badge for it, an
/// ERC-721 locked to the patient for good (EIP-5192). Claiming is the patient's choice: a badge
/// tells anyone who looks at the address what care was received. The patient may burn it (and
/// claim it again later: one badge at a time per patient, programme and period).
/// @dev Token id: programmeId << 192 | period << 160 | patient, so that there is at most one badge
/// per (patient, programme, period) and the id says which.
contract PreventionBadge is ERC721, IERC5192 {
    IPreventionRewards private immutable _rewards;

    /// @notice `patient` claimed the badge `tokenId` of `programmeId` for `period`.
    event BadgeClaimed(uint256 indexed programmeId, address indexed patient, uint32 period, uint256 tokenId);

    /// @notice The patient has no paid confirmation for the programme and period.
    error PreventionBadgeNotConfirmed(uint256 programmeId, address patient, uint32 period);
    /// @notice The patient already holds the badge of the programme and period.
    error PreventionBadgeAlreadyClaimed(uint256 tokenId);
    /// @notice Badges are locked to their owner: no transfer and no approval.
    error PreventionBadgeLocked(uint256 tokenId);
    /// @notice The caller does not hold the badge.
    error PreventionBadgeNotOwner(uint256 tokenId, address caller);

    constructor(IPreventionRewards rewards_) ERC721("Consentry Prevention Badge", "CPB") {
        _rewards = rewards_;
    }

    /// @notice Claim the caller's badge for `programmeId` and `period`, after a paid confirmation.
    function claim(uint256 programmeId, uint32 period) external returns (uint256 tokenId) {
        if (!_rewards.isConfirmed(programmeId, msg.sender, period)) {
            revert PreventionBadgeNotConfirmed(programmeId, msg.sender, period);
        }
        tokenId = badgeId(programmeId, period, msg.sender);
        if (_ownerOf(tokenId) != address(0)) revert PreventionBadgeAlreadyClaimed(tokenId);
        _mint(msg.sender, tokenId);
        emit Locked(tokenId);
        emit BadgeClaimed(programmeId, msg.sender, period, tokenId);
    }

    /// @notice Burn a badge the caller holds.
    function burn(uint256 tokenId) external {
        if (_ownerOf(tokenId) != msg.sender) revert PreventionBadgeNotOwner(tokenId, msg.sender);
        _burn(tokenId);
    }

    /// @inheritdoc IERC5192
    function locked(uint256 tokenId) external view returns (bool) {
        _requireOwned(tokenId);
        return true;
    }

    /// @notice Approvals are refused: a badge cannot move.
    function approve(address, uint256 tokenId) public pure override {
        revert PreventionBadgeLocked(tokenId);
    }

    /// @notice Approvals are refused: a badge cannot move.
    function setApprovalForAll(address, bool) public pure override {
        revert PreventionBadgeLocked(0);
    }

    /// @notice The PreventionRewards whose confirmations the badges stand for.
    function rewards() external view returns (IPreventionRewards) {
        return _rewards;
    }

    /// @notice Whether `patient` holds the badge of (`programmeId`, `period`).
    function hasBadge(uint256 programmeId, uint32 period, address patient) external view returns (bool) {
        return _ownerOf(badgeId(programmeId, period, patient)) == patient;
    }

    /// @notice The token id of the badge of (`programmeId`, `period`, `patient`).
    function badgeId(uint256 programmeId, uint32 period, address patient) public pure returns (uint256) {
        return (programmeId << 192) | (uint256(period) << 160) | uint160(patient);
    }

    /// @inheritdoc ERC721
    function supportsInterface(bytes4 interfaceId) public view override returns (bool) {
        return interfaceId == type(IERC5192).interfaceId || super.supportsInterface(interfaceId);
    }

    /// @dev Only mints and burns: a badge never changes owner.
    function _update(address to, uint256 tokenId, address auth) internal override returns (address from) {
        from = _ownerOf(tokenId);
        if (from != address(0) && to != address(0)) revert PreventionBadgeLocked(tokenId);
        return super._update(to, tokenId, auth);
    }
}
