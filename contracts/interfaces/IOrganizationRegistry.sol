// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IOrganizationRegistry
/// @notice Accreditation of the organizations that may receive consent (providers, researchers,
/// payers, public-health bodies) and of their member addresses.
/// @dev An organization is identified by its own address (typically its multisig). Every address
/// is either unknown, an organization, or a member of exactly one organization. Kinds and roles
/// are the codes of `ConsentCodes`.
interface IOrganizationRegistry {
    /// @notice Accreditation status of an organization.
    enum Status {
        None,
        Active,
        Suspended
    }

    /// @notice What the registry knows of an organization.
    struct Organization {
        uint8 kind;
        Status status;
        string name;
        /// @dev Base URL of a custodian's FHIR gateway, empty for organizations that hold no data.
        string gatewayUrl;
        /// @dev Hash of the licence documents the governance reviewed.
        bytes32 licenceHash;
    }

    /// @notice An organization was accredited by `actor` (a governance account).
    event OrganizationAccredited(
        address indexed organization,
        uint8 indexed kind,
        string name,
        string gatewayUrl,
        bytes32 licenceHash,
        address actor
    );
    /// @notice An organization's name, gateway URL or licence hash changed.
    event OrganizationUpdated(
        address indexed organization,
        string name,
        string gatewayUrl,
        bytes32 licenceHash,
        address actor
    );
    /// @notice An organization was suspended: none of its addresses passes any check.
    event OrganizationSuspended(address indexed organization, bytes32 reason, address actor);
    /// @notice A suspended organization was reinstated.
    event OrganizationReinstated(address indexed organization, address actor);
    /// @notice `member` now acts for `organization` with `role`.
    event MemberAdded(address indexed organization, address indexed member, uint8 role, address actor);
    /// @notice `member` no longer acts for `organization`.
    event MemberRemoved(address indexed organization, address indexed member, address actor);

    /// @notice The kind is not one of `ConsentCodes`' kinds.
    error OrganizationRegistryUnknownKind(uint8 kind);
    /// @notice The role is not one of `ConsentCodes`' member roles.
    error OrganizationRegistryUnknownRole(uint8 role);
    /// @notice The address is zero.
    error OrganizationRegistryZeroAddress();
    /// @notice The name is empty or longer than 100 bytes.
    error OrganizationRegistryInvalidName(uint256 length);
    /// @notice The gateway URL is longer than 200 bytes or is not http(s).
    error OrganizationRegistryInvalidGatewayUrl(string gatewayUrl);
    /// @notice The address already is an organization or a member.
    error OrganizationRegistryAddressInUse(address account, address organization);
    /// @notice The address is not an accredited organization.
    error OrganizationRegistryUnknownOrganization(address organization);
    /// @notice The organization's status forbids the action.
    error OrganizationRegistryWrongStatus(address organization, Status status);
    /// @notice The address is not a member of the organization.
    error OrganizationRegistryNotMember(address organization, address account);
    /// @notice The caller may not manage the organization's members.
    error OrganizationRegistryNotOrganizationAdmin(address organization, address caller);

    /// @notice Accredit `organization` as `kind`. Governance only.
    function accredit(
        address organization,
        uint8 kind,
        string calldata name,
        string calldata gatewayUrl,
        bytes32 licenceHash
    ) external;

    /// @notice Replace an organization's name, gateway URL and licence hash. Governance only.
    function updateOrganization(
        address organization,
        string calldata name,
        string calldata gatewayUrl,
        bytes32 licenceHash
    ) external;

    /// @notice Set the gateway URL of the caller's organization (the organization or an ADMIN member).
    function setGatewayUrl(address organization, string calldata gatewayUrl) external;

    /// @notice Suspend an active organization, with a short reason code. Governance only.
    function suspend(address organization, bytes32 reason) external;

    /// @notice Reinstate a suspended organization. Governance only.
    function reinstate(address organization) external;

    /// @notice Add `member` with `role` to `organization` (called by the organization or an ADMIN member).
    function addMember(address organization, address member, uint8 role) external;

    /// @notice Remove `member` from `organization` (called by the organization, an ADMIN member, or the member itself).
    function removeMember(address organization, address member) external;

    /// @notice The organization record.
    function getOrganization(address organization) external view returns (Organization memory);

    /// @notice How many organizations were ever accredited.
    function organizationCount() external view returns (uint256);

    /// @notice The `index`-th organization ever accredited (for listing all of them).
    function organizationAt(uint256 index) external view returns (address);

    /// @notice The organization `account` acts for, its role there and that organization's kind and
    /// status; all zero for an unknown address. An organization's own address has role 0.
    function accountOf(
        address account
    ) external view returns (address organization, uint8 role, uint8 kind, Status status);
}
