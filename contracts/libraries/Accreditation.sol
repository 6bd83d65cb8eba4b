// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IOrganizationRegistry} from "../interfaces/IOrganizationRegistry.sol";
import {ConsentCodes} from "./ConsentCodes.sol";

/// @title Accreditation
/// @notice The one rule of who acts for an active organization: `isActive(account, kind, role)`,
/// on an account as `IOrganizationRegistry.accountOf` resolves it. OrganizationRegistry (and so
/// ConsentRegistry) applies it to its own storage, StudyEscrow through `accountOf`.
/// @dev Roles: ROLE_ORGANIZATION is the organization's own address only; ROLE_ADMIN is held by the
/// organization's own address and its ADMIN members (the organization may do all its admins may);
/// any other role by the members given it. The consent check (`ConsentCheck`) tells the same
/// facts apart as reasons, and AuditAnchor's gateways may belong to an organization of any kind:
/// both read `accountOf` themselves.
library Accreditation {
    /// @dev Whether `account`, resolved to (`organization`, `role`, `kind`, `status`), acts as
    /// `wantRole` for an active organization of `wantKind`.
    function isActive(
        address account,
        address organization,
        uint8 role,
        uint8 kind,
        IOrganizationRegistry.Status status,
        uint8 wantKind,
        uint8 wantRole
    ) internal pure returns (bool) {
        bool holdsRole =
            organization == account
                ? wantRole == ConsentCodes.ROLE_ORGANIZATION || wantRole == ConsentCodes.ROLE_ADMIN
                : role == wantRole && wantRole != ConsentCodes.ROLE_ORGANIZATION;
        return
            holdsRole &&
            organization != address(0) &&
            status == IOrganizationRegistry.Status.Active &&
            kind == wantKind;
    }

    /// @dev The organization `account` acts for if `isActive(account, kind, role)` holds in
    /// `registry`, else the zero address.
    function activeOrganization(
        IOrganizationRegistry registry,
        address account,
        uint8 kind,
        uint8 role
    ) internal view returns (address) {
        (address organization, uint8 accountRole, uint8 accountKind, IOrganizationRegistry.Status status) = registry
            .accountOf(account);
        return
            isActive(account, organization, accountRole, accountKind, status, kind, role) ? organization : address(0);
    }
}
