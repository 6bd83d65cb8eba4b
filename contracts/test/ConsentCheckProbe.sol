// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IConsentRegistry} from "../interfaces/IConsentRegistry.sol";

/// @notice Test harness (never deployed): measures the gas of a consent check made from another
/// contract, as a custodian's or an escrow's contract would make it.
contract ConsentCheckProbe {
    event Measured(uint256 gasUsed, bool allowed, uint40 expiresAt);

    function measure(
        IConsentRegistry registry,
        address patient,
        address grantee,
        uint8 category,
        uint64 purpose
    ) external returns (uint256 gasUsed) {
        uint256 before = gasleft();
        (bool allowed, uint40 expiresAt) = registry.mayUse(patient, grantee, purpose, category);
        gasUsed = before - gasleft();
        emit Measured(gasUsed, allowed, expiresAt);
    }
}
