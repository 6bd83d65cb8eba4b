// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IEarningsEscrow} from "./interfaces/IEarningsEscrow.sol";
import {SignatureVerifier} from "./libraries/SignatureVerifier.sol";

/// @title EarningsEscrow
/// @notice The one accounting core of the escrows that pay patients (StudyEscrow,
/// PreventionRewards): allowed currencies and what is owed in each, balances and their crediting,
/// the pay-once bit, pull withdrawals (direct or signed, with a relayer's fee capped per currency)
/// and the recovery of excess tokens.
/// @dev The invariant, per currency: the escrow's token balance equals `accounted` (the child's
/// unspent budgets plus the unwithdrawn balances) plus an excess that only `recoverExcess` takes.
/// Funding adds to `accounted` (`_pull`), a payment moves an amount from a child's budget to a
/// balance (`accounted` unchanged), a reclaim (`_release`) and a withdrawal lower it.
/// A balance is one slot per (currency, account) holding `amount + 1` once opened (0: closed), so
/// that a payment after an opt-in or a join only changes a non-zero slot.
/// The child keeps its budgets, its EIP-712 domain and its nonces (`_withdrawNonce`,
/// `_useWithdrawNonce`: lane 0 of its own signature nonces, packed where it writes anyway).
abstract contract EarningsEscrow is IEarningsEscrow, AccessControl, EIP712, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice The role that allows currencies and recovers excess tokens.
    bytes32 public constant GOVERNANCE_ROLE = keccak256("GOVERNANCE_ROLE");

    /// @dev keccak256("Withdraw(address patient,address token,uint256 fee,address relayer,uint64 nonce,uint256 deadline)")
    bytes32 private constant WITHDRAW_TYPEHASH = keccak256(
        "Withdraw(address patient,address token,uint256 fee,address relayer,uint64 nonce,uint256 deadline)"
    );

    /// @dev The allow flag, whether it was ever allowed (listed) and the accounted total of a
    /// currency, in one slot.
    struct Currency {
        uint240 accounted;
        bool allowed;
        bool listed;
    }

    /// @dev `amount + 1` once opened, 0 when closed.
    mapping(IERC20 token => mapping(address account => uint256 stored)) private _balances;
    mapping(IERC20 token => Currency) private _currencies;
    /// @dev Every currency ever allowed: what an excess recovery must leave owed.
    IERC20[] private _currencyList;
    /// @dev The most a relayer may take of a signed withdrawal, per currency.
    mapping(IERC20 token => uint256 cap) private _withdrawFeeCaps;

    /// @param admin Holder of DEFAULT_ADMIN_ROLE (a multisig or timelock in production).
    /// @param governance Holder of GOVERNANCE_ROLE (currencies, excess recovery).
    constructor(address admin, address governance) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(GOVERNANCE_ROLE, governance);
    }

    // ------------------------------------------------------------------ balances

    /// @inheritdoc IEarningsEscrow
    function withdraw(IERC20 token) external nonReentrant returns (uint256 amount) {
        amount = _withdraw(token, msg.sender);
        token.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IEarningsEscrow
    function withdrawBySig(
        IERC20 token,
        address patient,
        uint256 fee,
        uint256 deadline,
        bytes calldata signature
    ) external nonReentrant returns (uint256 amount) {
        uint256 cap = _withdrawFeeCaps[token];
        if (fee > cap) revert StudyEscrowFeeAboveCap(token, fee, cap);
        // The relayer is the sender: a signature names the one relayer that may send it and take its fee.
        _checkSigned(
            abi.encode(WITHDRAW_TYPEHASH, patient, token, fee, msg.sender),
            patient,
            _withdrawNonce(patient),
            deadline,
            signature
        );
        _useWithdrawNonce(patient);
        amount = _withdraw(token, patient);
        if (fee >= amount) revert StudyEscrowFeeAboveAmount(fee, amount);
        emit WithdrawalRelayed(patient, token, msg.sender, fee);
        if (fee != 0) token.safeTransfer(msg.sender, fee);
        unchecked {
            token.safeTransfer(patient, amount - fee);
        }
    }

    // ------------------------------------------------------------------ governance

    /// @inheritdoc IEarningsEscrow
    function setCurrencyAllowed(IERC20 token, bool allowed) external onlyRole(GOVERNANCE_ROLE) {
        if (address(token).code.length == 0) revert StudyEscrowInvalidCurrency(token);
        Currency storage currency = _currencies[token];
        currency.allowed = allowed;
        if (!currency.listed) {
            currency.listed = true;
            _currencyList.push(token);
        }
        emit CurrencyAllowed(token, allowed, msg.sender);
    }

    /// @inheritdoc IEarningsEscrow
    function setWithdrawFeeCap(IERC20 token, uint256 cap) external onlyRole(GOVERNANCE_ROLE) {
        _withdrawFeeCaps[token] = cap;
        emit WithdrawFeeCapSet(token, cap, msg.sender);
    }

    /// @inheritdoc IEarningsEscrow
    function recoverExcess(
        IERC20 token,
        address to
    ) external onlyRole(GOVERNANCE_ROLE) nonReentrant returns (uint256 amount) {
        if (to == address(0)) revert StudyEscrowInvalidRecipient(to);
        uint256 held = token.balanceOf(address(this));
        uint256 owed = _currencies[token].accounted;
        if (held <= owed) revert StudyEscrowNoExcess(token);
        unchecked {
            amount = held - owed;
        }
        emit ExcessRecovered(token, to, amount, msg.sender);
        // A token may share its balances with another address (a double-entry token): whatever
        // `token` is, no currency ever allowed may lose what the escrow holds of it, and `token`
        // itself must still cover what is owed in it.
        IERC20[] storage list = _currencyList;
        uint256 count = list.length;
        uint256[] memory before = new uint256[](count);
        for (uint256 i = 0; i < count; ++i) {
            if (list[i] != token) before[i] = list[i].balanceOf(address(this));
        }
        token.safeTransfer(to, amount);
        for (uint256 i = 0; i < count; ++i) {
            IERC20 currency = list[i];
            if (currency == token) continue;
            uint256 after_ = currency.balanceOf(address(this));
            if (after_ < before[i]) revert StudyEscrowRecoveryLowersOwed(currency, before[i], after_);
        }
        uint256 left = token.balanceOf(address(this));
        if (left < owed) revert StudyEscrowRecoveryLowersOwed(token, held, left);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IEarningsEscrow
    function balanceOf(IERC20 token, address account) external view returns (uint256) {
        uint256 stored = _balances[token][account];
        return stored == 0 ? 0 : stored - 1;
    }

    /// @inheritdoc IEarningsEscrow
    function isCurrencyAllowed(IERC20 token) external view returns (bool) {
        return _currencies[token].allowed;
    }

    /// @inheritdoc IEarningsEscrow
    function accounted(IERC20 token) external view returns (uint256) {
        return _currencies[token].accounted;
    }

    /// @inheritdoc IEarningsEscrow
    function withdrawFeeCap(IERC20 token) external view returns (uint256) {
        return _withdrawFeeCaps[token];
    }

    /// @notice The EIP-712 domain separator of the escrow's signed actions (chain id and this contract).
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ------------------------------------------------------------------ for the escrows

    /// @dev The patient's current nonce in lane 0 (signed withdrawals).
    function _withdrawNonce(address patient) internal view virtual returns (uint64);

    /// @dev Consumes the patient's lane-0 nonce.
    function _useWithdrawNonce(address patient) internal virtual;

    /// @dev Reverts unless `currency` may fund a new budget.
    function _checkCurrencyAllowed(IERC20 currency) internal view {
        if (!_currencies[currency].allowed) revert StudyEscrowCurrencyNotAllowed(currency);
    }

    /// @dev The balances in `token`, for a child that credits many in one loop.
    function _balancesIn(IERC20 token) internal view returns (mapping(address => uint256) storage) {
        return _balances[token];
    }

    /// @dev Opens `account`'s balance of `token` (a join, an opt-in), so that a payment only
    /// changes a live slot.
    function _openBalance(IERC20 token, address account) internal {
        mapping(address => uint256) storage balances = _balances[token];
        if (balances[account] == 0) balances[account] = 1;
    }

    /// @dev Adds `amount` to a balance, opening it if closed. The amount must come out of a budget
    /// of the same currency (both are accounted).
    function _credit(mapping(address => uint256) storage balances, address account, uint256 amount) internal {
        uint256 stored = balances[account];
        balances[account] = (stored == 0 ? 1 : stored) + amount;
    }

    /// @dev Whether bit `index` of a pay-once bitmap (256 flags a slot, keyed by `keyBase | index
    /// >> 8`) is set; returns the slot's key, its word and the bit.
    function _payOnceBit(
        mapping(uint256 => uint256) storage flags,
        uint256 keyBase,
        uint256 index
    ) internal view returns (uint256 key, uint256 bits, uint256 bit) {
        key = keyBase | (index >> 8);
        bit = 1 << (index & 0xff);
        bits = flags[key];
    }

    /// @dev Pulls `amount` of `currency` from the caller, refusing fee-on-transfer tokens, and adds
    /// it to what the escrow owes (the caller adds it to a budget).
    function _pull(IERC20 currency, uint256 amount) internal {
        uint256 before = currency.balanceOf(address(this));
        currency.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = currency.balanceOf(address(this)) - before;
        if (received != amount) revert StudyEscrowFeeOnTransfer(currency, amount, received);
        _currencies[currency].accounted += uint240(amount);
    }

    /// @dev Lowers what the escrow owes in `currency` by a budget's `amount` that leaves it (a
    /// reclaim); the caller emits and transfers.
    function _unaccount(IERC20 currency, uint256 amount) internal {
        _currencies[currency].accounted -= uint240(amount);
    }

    /// @dev Applies a permit, ignoring its failure when the allowance already covers `amount`
    /// (someone may have submitted the same permit first).
    function _permit(IERC20 currency, uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) internal {
        try IERC20Permit(address(currency)).permit(msg.sender, address(this), amount, deadline, v, r, s) {
            return;
        } catch {
            uint256 allowance = currency.allowance(msg.sender, address(this));
            if (allowance < amount) revert StudyEscrowPermitFailed(currency, msg.sender, allowance, amount);
        }
    }

    /// @dev Reverts unless `patient` signed `action` (the EIP-712 struct's words before its nonce
    /// and deadline) with `nonce`, and the deadline has not passed; the caller consumes the nonce.
    function _checkSigned(
        bytes memory action,
        address patient,
        uint64 nonce,
        uint256 deadline,
        bytes calldata signature
    ) internal view {
        if (patient == address(0)) revert StudyEscrowInvalidPatient(patient);
        if (SignatureVerifier.isExpired(deadline)) revert StudyEscrowSignatureExpired(deadline, block.timestamp);
        if (!SignatureVerifier.isSigned(_domainSeparatorV4(), patient, action, nonce, deadline, signature)) {
            revert StudyEscrowInvalidSignature(patient, nonce);
        }
    }

    /// @dev The one path of every withdrawal, direct or signed: closes `account`'s balance of
    /// `token` (a storage refund) and lowers what the escrow owes in it; the caller transfers.
    function _withdraw(IERC20 token, address account) private returns (uint256 amount) {
        mapping(address => uint256) storage balances = _balances[token];
        uint256 stored = balances[account];
        if (stored <= 1) revert StudyEscrowNothingToWithdraw(account, token);
        unchecked {
            amount = stored - 1;
        }
        balances[account] = 0;
        // `accounted` includes every open balance, so it covers this one.
        unchecked {
            _currencies[token].accounted -= uint240(amount);
        }
        emit Withdrawn(account, token, amount);
    }
}
