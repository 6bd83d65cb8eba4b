// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title RemunerationToken
/// @notice The ERC-20 in which researchers pay patients (and custodians) through the StudyEscrow,
/// with EIP-2612 permit so that funding a study takes one transaction. Minted by governance (the
/// MINTER_ROLE); on a local development chain (chain id 31337) anyone may draw a capped amount
/// from a faucet for demos. In production the escrow's currency is a stablecoin instead.
contract RemunerationToken is ERC20, ERC20Permit, AccessControl {
    /// @notice The role that mints.
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");
    /// @notice The only chain on which the faucet works: Hardhat's local development chain.
    uint256 public constant FAUCET_CHAIN_ID = 31337;
    /// @notice The most the faucet gives per call.
    uint256 public constant FAUCET_MAX = 10_000 ether;

    /// @notice The faucet was called on a chain other than the local development chain.
    error RemunerationTokenFaucetUnavailable(uint256 chainId);
    /// @notice The faucet amount is zero or above `FAUCET_MAX`.
    error RemunerationTokenFaucetAmountInvalid(uint256 amount, uint256 max);

    /// @notice `account` drew `amount` from the local faucet.
    event FaucetDrawn(address indexed account, uint256 amount);

    /// @param name_ The token name (also the EIP-712 domain name of permits).
    /// @param symbol_ The token symbol.
    /// @param admin Holder of DEFAULT_ADMIN_ROLE (grants and revokes MINTER_ROLE).
    /// @param minter Holder of MINTER_ROLE (governance).
    constructor(
        string memory name_,
        string memory symbol_,
        address admin,
        address minter
    ) ERC20(name_, symbol_) ERC20Permit(name_) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(MINTER_ROLE, minter);
    }

    /// @notice Mint `amount` to `to`. MINTER_ROLE only.
    function mint(address to, uint256 amount) external onlyRole(MINTER_ROLE) {
        _mint(to, amount);
    }

    /// @notice Mint up to `FAUCET_MAX` to the caller, on the local development chain only.
    function faucet(uint256 amount) external {
        if (block.chainid != FAUCET_CHAIN_ID) revert RemunerationTokenFaucetUnavailable(block.chainid);
        if (amount == 0 || amount > FAUCET_MAX) revert RemunerationTokenFaucetAmountInvalid(amount, FAUCET_MAX);
        _mint(msg.sender, amount);
        emit FaucetDrawn(msg.sender, amount);
    }
}
