// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title IEarningsEscrow
/// @notice The accounting every Consentry escrow that pays patients shares (`EarningsEscrow`):
/// the currencies governance allows, what is owed in each (`accounted`: unspent budgets plus
/// unwithdrawn balances), the balances of patients (and custodians) and their pull withdrawals,
/// direct or signed, and the recovery of tokens sent outside any budget.
/// @dev The errors keep the `StudyEscrow` prefix of the first escrow, whose ABI the sdk, the
/// gateway, the indexer and the app read: renaming them would change its selectors. In a
/// `PreventionRewards` they mean the same (a "study" there is a programme). A signed withdrawal
/// uses the escrow's nonce lane 0 (no study or programme has id 0).
interface IEarningsEscrow {
    // ------------------------------------------------------------------ events

    /// @notice `account` withdrew its balance of `token` (`amount`, a relayer's fee included).
    event Withdrawn(address indexed account, IERC20 indexed token, uint256 amount);

    /// @notice `relayer` sent `patient`'s signed withdrawal of `token` and took `fee` of it.
    event WithdrawalRelayed(address indexed patient, IERC20 indexed token, address indexed relayer, uint256 fee);

    /// @notice Governance set the most a relayer may take of a signed withdrawal in `token`.
    event WithdrawFeeCapSet(IERC20 indexed token, uint256 cap, address actor);

    /// @notice Governance allowed (or disallowed) `token` as the currency of new studies.
    event CurrencyAllowed(IERC20 indexed token, bool allowed, address actor);

    /// @notice Governance recovered `amount` of `token` sent to the escrow outside any study.
    event ExcessRecovered(IERC20 indexed token, address indexed to, uint256 amount, address actor);

    // ------------------------------------------------------------------ errors

    /// @notice The patient address is zero.
    error StudyEscrowInvalidPatient(address patient);
    /// @notice Governance does not allow the token as a study currency.
    error StudyEscrowCurrencyNotAllowed(IERC20 token);
    /// @notice The token is not a contract.
    error StudyEscrowInvalidCurrency(IERC20 token);
    /// @notice The amount is zero.
    error StudyEscrowZeroAmount();
    /// @notice The escrow received `received` instead of `expected` (a fee-on-transfer token).
    error StudyEscrowFeeOnTransfer(IERC20 token, uint256 expected, uint256 received);
    /// @notice The permit failed and the allowance does not cover the amount.
    error StudyEscrowPermitFailed(IERC20 token, address owner, uint256 allowance, uint256 amount);
    /// @notice `account` has nothing to withdraw in `token`.
    error StudyEscrowNothingToWithdraw(address account, IERC20 token);
    /// @notice The escrow holds no excess of `token`.
    error StudyEscrowNoExcess(IERC20 token);
    /// @notice The recipient is the zero address.
    error StudyEscrowInvalidRecipient(address to);
    /// @notice The signature's deadline has passed.
    error StudyEscrowSignatureExpired(uint256 deadline, uint256 timestamp);
    /// @notice The signature is not the patient's for this action, study and nonce.
    error StudyEscrowInvalidSignature(address patient, uint64 nonce);
    /// @notice The signed withdrawal's fee is above what governance allows in `token`.
    error StudyEscrowFeeAboveCap(IERC20 token, uint256 fee, uint256 cap);
    /// @notice The signed withdrawal's fee would take all of the `amount` withdrawn (or more).
    error StudyEscrowFeeAboveAmount(uint256 fee, uint256 amount);
    /// @notice An excess recovery would have lowered what the escrow holds of `currency` (a token
    /// sharing its balances with another address), from `before` to `after_`.
    error StudyEscrowRecoveryLowersOwed(IERC20 currency, uint256 before, uint256 after_);

    // ------------------------------------------------------------------ balances

    /// @notice Send the caller its whole balance of `token`. This closes the caller's balance slot
    /// (a storage refund); the next join or payment opens it again.
    function withdraw(IERC20 token) external returns (uint256 amount);

    /// @notice `withdraw` for a patient without ETH: anyone may send the patient's EIP-712
    /// `Withdraw(patient, token, fee, relayer, nonce, deadline)` signature (EOA or ERC-1271), and
    /// the sender must be the `relayer` it names. The patient's whole balance of `token` is
    /// withdrawn: `fee` goes to the relayer, the rest to the patient. The fee is at most
    /// `withdrawFeeCap(token)` and below the amount. The nonce is the patient's withdrawal nonce in
    /// lane 0 (StudyEscrow: `getParticipant(0, patient).nonce`), which `cancelSignatures(0)` bumps.
    function withdrawBySig(
        IERC20 token,
        address patient,
        uint256 fee,
        uint256 deadline,
        bytes calldata signature
    ) external returns (uint256 amount);

    // ------------------------------------------------------------------ governance

    /// @notice Set the most a relayer may take of a signed withdrawal in `token` (0: relayed
    /// withdrawals pay no fee). Governance only.
    function setWithdrawFeeCap(IERC20 token, uint256 cap) external;

    /// @notice Allow or disallow `token` as the currency of new studies (or programmes). Governance only.
    function setCurrencyAllowed(IERC20 token, bool allowed) external;

    /// @notice Send the escrow's excess of `token` (tokens sent to it outside any budget) to `to`.
    /// Reverts if the escrow would then hold less of any currency ever allowed than before (a token
    /// sharing balances with another address), or less of `token` than it owes. Governance only.
    function recoverExcess(IERC20 token, address to) external returns (uint256 amount);

    // ------------------------------------------------------------------ views

    /// @notice What `account` may withdraw in `token`.
    function balanceOf(IERC20 token, address account) external view returns (uint256);

    /// @notice Whether `token` may be the currency of new studies (or programmes).
    function isCurrencyAllowed(IERC20 token) external view returns (bool);

    /// @notice The unspent budgets plus the unwithdrawn balances in `token`.
    function accounted(IERC20 token) external view returns (uint256);

    /// @notice The most a relayer may take of a signed withdrawal in `token`.
    function withdrawFeeCap(IERC20 token) external view returns (uint256);
}
