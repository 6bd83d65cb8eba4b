// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

/// @title SignatureVerifier
/// @notice The one check of a signed action, shared by ConsentRegistry and StudyEscrow: its
/// deadline, its EIP-712 digest with the signer's nonce and the deadline, and the signature, by
/// ecrecover first (EOAs) and ERC-1271 otherwise (contract wallets).
/// @dev Every signed action's struct ends in `(uint64 nonce, uint256 deadline)`; `action` is the
/// ABI encoding of the words before them, typehash first. The nonces stay where each contract
/// packs them with what the action writes anyway, so that using one costs no write of its own:
/// ConsentRegistry keeps two sequential lanes in the patient's slot (Grant; Revoke, RevokeAll and
/// CancelSignatures), StudyEscrow one lane per (study, patient) in the participant's slot (lane 0:
/// Withdraw). The caller reads the current nonce, `verify` binds it into the digest, and the
/// caller consumes it in its action's own write. Each contract reverts with its own errors (they
/// are part of its ABI): `isExpired` first, then `isSigned`.
library SignatureVerifier {
    /// @dev Whether a signature with `deadline` has expired: it is usable up to and including the
    /// deadline's second. Callers check it first and revert with their own error.
    function isExpired(uint256 deadline) internal view returns (bool) {
        return block.timestamp > deadline;
    }

    /// @dev Whether `signer` signed `action` with `nonce` and `deadline` for the EIP-712 domain
    /// `domainSeparator` (EOAs by ecrecover, then contract wallets by ERC-1271, as `isValidNow`).
    function isSigned(
        bytes32 domainSeparator,
        address signer,
        bytes memory action,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) internal view returns (bool) {
        bytes32 digest = MessageHashUtils.toTypedDataHash(
            domainSeparator,
            keccak256(abi.encodePacked(action, nonce, deadline))
        );
        return isValidNow(signer, digest, signature);
    }

    /// @dev Whether `signature` is `signer`'s of `digest`: ecrecover first (an EOA, or an account
    /// with code that also holds its key), then ERC-1271. The zero address never passes: ecrecover
    /// never yields it without an error, and a call to it returns nothing.
    function isValidNow(address signer, bytes32 digest, bytes calldata signature) internal view returns (bool) {
        (address recovered, ECDSA.RecoverError error, ) = ECDSA.tryRecoverCalldata(digest, signature);
        return
            (error == ECDSA.RecoverError.NoError && recovered == signer) ||
            SignatureChecker.isValidERC1271SignatureNowCalldata(signer, digest, signature);
    }
}
