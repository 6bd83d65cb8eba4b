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
    /// @notice Governance recorded whether `organization`'s uses of data are commercial and for
    /// profit: the use flags every consent check gives its reads (DUO NCU and NPU restrictions).
    event OrganizationUseProfileSet(address indexed organization, bool commercial, bool forProfit, address actor);
    /// @notice `organization` (through `actor`) offers `member` membership with `role`; nothing
    /// changes for `member` until it accepts.
    event MembershipOffered(address indexed organization, address indexed member, uint8 role, address actor);
    /// @notice `organization` withdrew its offer to `member`.
    event MembershipOfferWithdrawn(address indexed organization, address indexed member, address actor);
    /// @notice `member` accepted and now acts for `organization` with `role` (`actor`: the member,
    /// also when its signature was relayed).
    event MemberAdded(address indexed organization, address indexed member, uint8 role, address actor);
    /// @notice `member` no longer acts for `organization`.
    event MemberRemoved(address indexed organization, address indexed member, address actor);

    /// @notice `organization` has no offer of this role open to `member`.
    error OrganizationRegistryNoOffer(address organization, address member);
    /// @notice The membership acceptance signature's deadline has passed.
    error OrganizationRegistrySignatureExpired(uint256 deadline);
    /// @notice The signature is not `member`'s acceptance (or it was used already).
    error OrganizationRegistryInvalidSignature(address member);
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

    /// @notice Record whether `organization`'s uses are commercial and for profit (at accreditation,
    /// in the same batch, and whenever it changes). Governance only. Until recorded, an
    /// organization counts as commercial and for-profit.
    function setUseProfile(address organization, bool commercial, bool forProfit) external;

    /// @notice Whether the uses of the organization `account` acts for are commercial and for profit,
    /// as governance recorded them (true, true when not recorded, and for an unknown address).
    function useProfile(address account) external view returns (bool commercial, bool forProfit);

    /// @notice Offer `member` membership of `organization` with `role` (called by the organization or
    /// an ADMIN member). It binds nothing until `member` accepts; a new offer replaces the old one.
    function offerMembership(address organization, address member, uint8 role) external;

    /// @notice Withdraw an offer not yet accepted (the organization or an ADMIN member).
    function withdrawMembershipOffer(address organization, address member) external;

    /// @notice Accept `organization`'s offer of `role`, by the member's own address.
    function acceptMembership(address organization, uint8 role) external;

    /// @notice Accept `organization`'s offer of `role` with the member's EIP-712 `AcceptMembership`
    /// signature (an EOA's, or an ERC-1271 contract wallet's), sent by anyone.
    function acceptMembershipBySig(
        address member,
        address organization,
        uint8 role,
        uint256 deadline,
        bytes calldata signature
    ) external;

    /// @notice Remove `member` from `organization` (called by the organization, an ADMIN member, the
    /// member itself, or governance).
    function removeMember(address organization, address member) external;

    /// @notice The role `organization` offers `member` (0: no offer open).
    function membershipOffer(address member, address organization) external view returns (uint8 role);

    /// @notice The nonce an `AcceptMembership` signature of `member` must carry.
    function membershipNonce(address member) external view returns (uint256);

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
