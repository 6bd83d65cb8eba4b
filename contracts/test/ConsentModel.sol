// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IConsentRegistry} from "../interfaces/IConsentRegistry.sol";
import {IOrganizationRegistry} from "../interfaces/IOrganizationRegistry.sol";
import {ConsentCodes} from "../libraries/ConsentCodes.sol";

/// @notice Test harness (never deployed): the consent check written again in plain Solidity, on
/// `ConsentCodes` and the registry's public views only (`accountOf`, `patientState`, `getGrant`,
/// `emergencyAccess`), as the reference the hand-written assembly of `ConsentRegistry` is
/// fuzzed against.
/// @dev The order of the checks, and so the reason reported when several fail:
/// 1. the grantee is unknown (not an organization nor a member)       -> UnknownGrantee
/// 2. its organization is not Active                                    -> OrganizationSuspended
/// 3. the purpose of the use is not well formed                         -> InvalidPurpose
///    (then its use flags are replaced by the organization's recorded use profile)
/// 4. the organization is not of the kind the purpose code needs        -> WrongOrganizationKind
/// 5. a member (not the organization itself) lacks the role it needs    -> WrongMemberRole
/// 6. the grants of the organization for the use's code and each ancestor (most specific first):
///    the first one that allows wins (Allowed, with its expiry); otherwise the reason of the most
///    specific existing grant (epoch, covers, not yet valid, expired, category, in that order)
/// 7. for ETREAT only, and a known category, an open emergency access of the organization
///                                                                      -> EmergencyAccess
/// 8. no grant at all on the chain                                      -> NoGrant
library ConsentModel {
    function grantId(address patient, address grantee, bytes32 scope) internal pure returns (bytes32) {
        return keccak256(abi.encode(patient, grantee, scope));
    }

    function purposeScope(uint8 code) internal pure returns (bytes32) {
        return bytes32(uint256(code));
    }

    /// @dev The scope of a direct grant of `purpose`: its code, and for DS its disease (no flags).
    function grantScope(uint64 purpose) internal pure returns (bytes32) {
        return bytes32(uint256(purpose & 0xffffffff00ff));
    }

    function status(
        IConsentRegistry registry,
        address patient,
        address grantee,
        uint8 category,
        uint64 purpose
    ) internal view returns (IConsentRegistry.Reason reason, uint40 expiresAt, address organization) {
        (address org, uint8 role, uint8 kind, IOrganizationRegistry.Status orgStatus) = registry.accountOf(grantee);
        if (org == address(0)) return (IConsentRegistry.Reason.UnknownGrantee, 0, address(0));
        if (orgStatus != IOrganizationRegistry.Status.Active) {
            return (IConsentRegistry.Reason.OrganizationSuspended, 0, org);
        }
        if (!ConsentCodes.isValidPurpose(purpose)) return (IConsentRegistry.Reason.InvalidPurpose, 0, org);
        // The use flags are governance's record of the organization, not the requester's.
        (bool commercial, bool forProfit) = registry.useProfile(grantee);
        purpose =
            (purpose & ~uint64(0xff00)) |
            (commercial ? uint64(ConsentCodes.FLAG_NCU) << 8 : 0) |
            (forProfit ? uint64(ConsentCodes.FLAG_NPU) << 8 : 0);
        uint8 code = ConsentCodes.code(purpose);
        if (kind != ConsentCodes.requiredKind(code)) return (IConsentRegistry.Reason.WrongOrganizationKind, 0, org);
        if (grantee != org && role != ConsentCodes.requiredRole(code)) {
            return (IConsentRegistry.Reason.WrongMemberRole, 0, org);
        }

        (uint32 epoch, ) = registry.patientState(patient);
        reason = IConsentRegistry.Reason.NoGrant;
        for (uint8 c = code; c != 0; c = ConsentCodes.parent(c)) {
            bytes32 scope = c == code ? grantScope(purpose) : purposeScope(c);
            IConsentRegistry.Grant memory g = registry.getGrant(grantId(patient, org, scope));
            if (g.expiresAt == 0) continue; // no grant
            IConsentRegistry.Reason r = evaluate(g, epoch, category, purpose);
            if (r == IConsentRegistry.Reason.Allowed) return (r, g.expiresAt, org);
            if (reason == IConsentRegistry.Reason.NoGrant) reason = r;
        }
        if (code == ConsentCodes.ETREAT && category < ConsentCodes.CATEGORY_COUNT) {
            (uint40 until, , ) = registry.emergencyAccess(patient, org);
            if (until != 0) return (IConsentRegistry.Reason.EmergencyAccess, until, org);
        }
        return (reason, 0, org);
    }

    /// @dev One existing grant against one use, now.
    function evaluate(
        IConsentRegistry.Grant memory g,
        uint32 epoch,
        uint8 category,
        uint64 used
    ) internal view returns (IConsentRegistry.Reason) {
        if (g.epoch != epoch) return IConsentRegistry.Reason.RevokedByRevokeAll;
        if (!ConsentCodes.covers(g.purpose, used)) return IConsentRegistry.Reason.PurposeNotCovered;
        if (block.timestamp < g.validFrom) return IConsentRegistry.Reason.NotYetValid;
        if (block.timestamp >= g.expiresAt) return IConsentRegistry.Reason.Expired;
        if (category >= ConsentCodes.CATEGORY_COUNT || (g.categories >> category) & 1 == 0) {
            return IConsentRegistry.Reason.CategoryNotGranted;
        }
        return IConsentRegistry.Reason.Allowed;
    }

    /// @dev Whether `patient`'s grant in purpose scope `code` to `organization` would be created by
    /// `grant`, and if not the exact revert data `_grant` must give (its checks, in its order).
    function grantRevertData(
        IConsentRegistry registry,
        address patient,
        address grantee,
        uint32 categories,
        uint64 purpose,
        uint40 validFrom,
        uint40 expiresAt
    ) internal view returns (bytes memory) {
        if (grantee == address(0) || grantee == patient) {
            return abi.encodeWithSelector(IConsentRegistry.ConsentRegistryInvalidGrantee.selector, grantee);
        }
        if (!ConsentCodes.isValidPurpose(purpose)) {
            return abi.encodeWithSelector(IConsentRegistry.ConsentRegistryUnknownPurpose.selector, purpose);
        }
        if (categories == 0) return abi.encodeWithSelector(IConsentRegistry.ConsentRegistryNoCategories.selector);
        uint32 unknown = categories & ~ConsentCodes.ALL_CATEGORIES;
        if (unknown != 0) {
            return abi.encodeWithSelector(IConsentRegistry.ConsentRegistryUnknownCategories.selector, unknown);
        }
        uint8 kind = ConsentCodes.requiredKind(ConsentCodes.code(purpose));
        (address org, , uint8 orgKind, IOrganizationRegistry.Status orgStatus) = registry.accountOf(grantee);
        if (org != grantee || orgStatus != IOrganizationRegistry.Status.Active || orgKind != kind) {
            return abi.encodeWithSelector(IConsentRegistry.ConsentRegistryGranteeNotAccredited.selector, grantee, kind);
        }
        if (expiresAt <= block.timestamp) {
            return
                abi.encodeWithSelector(
                    IConsentRegistry.ConsentRegistryExpiryNotInFuture.selector,
                    expiresAt,
                    block.timestamp
                );
        }
        uint40 from = validFrom == 0 ? uint40(block.timestamp) : validFrom;
        if (from >= expiresAt) {
            return abi.encodeWithSelector(IConsentRegistry.ConsentRegistryInvalidValidity.selector, from, expiresAt);
        }
        return "";
    }
}
