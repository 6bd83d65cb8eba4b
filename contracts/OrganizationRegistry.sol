// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

import {IOrganizationRegistry} from "./interfaces/IOrganizationRegistry.sol";
import {Accreditation} from "./libraries/Accreditation.sol";
import {ConsentCodes} from "./libraries/ConsentCodes.sol";

/// @title OrganizationRegistry
/// @notice Accreditation of organizations and their members. Deployed as part of ConsentRegistry
/// so that a consent check reads the grant, the patient's epoch and the accreditation from one
/// contract's storage (one cold contract on the check path).
abstract contract OrganizationRegistry is IOrganizationRegistry, AccessControl, EIP712 {
    /// @notice The role that accredits, updates, suspends and reinstates organizations, and may
    /// remove any member.
    bytes32 public constant GOVERNANCE_ROLE = keccak256("GOVERNANCE_ROLE");

    /// @dev keccak256 of the `AcceptMembership(member, organization, role, nonce, deadline)` type string
    bytes32 public constant ACCEPT_MEMBERSHIP_TYPEHASH = keccak256(
        "AcceptMembership(address member,address organization,uint8 role,uint256 nonce,uint256 deadline)"
    );

    uint256 private constant MAX_NAME_LENGTH = 100;
    uint256 private constant MAX_URL_LENGTH = 200;

    /// @dev One slot per address. For an organization's own address, `organization` is itself,
    /// `role` is 0 and `kind`/`status`/`notCommercial` are its own; for a member, `organization` is
    /// the one it acts for and the others are unused (read from the organization's slot).
    /// `notCommercial` is governance's record of the use flags its reads do NOT carry (bit 0:
    /// non-commercial, bit 1: not-for-profit, as ConsentCodes.FLAG_NCU, FLAG_NPU), so that an
    /// organization with no record (0) counts as commercial and for-profit.
    struct Account {
        address organization;
        uint8 role;
        uint8 kind;
        Status status;
        uint8 notCommercial;
    }

    struct OrganizationInfo {
        string name;
        string gatewayUrl;
        bytes32 licenceHash;
    }

    /// @dev Internal only so that ConsentRegistry's check can read it in assembly.
    mapping(address account => Account) internal _accounts;
    mapping(address organization => OrganizationInfo) private _info;
    address[] private _organizations;
    /// @dev Membership offers: the role `organization` offers `member` (0: none). An offer binds
    /// nothing until the member accepts it, so naming an address never blocks it.
    mapping(address member => mapping(address organization => uint8 role)) private _offers;
    /// @dev Counts a member's accepted offers, so that an acceptance signature is used once.
    mapping(address member => uint256) private _membershipNonces;

    modifier onlyOrganizationAdmin(address organization) {
        _checkOrganizationAdmin(organization);
        _;
    }

    /// @inheritdoc IOrganizationRegistry
    function accredit(
        address organization,
        uint8 kind,
        string calldata name,
        string calldata gatewayUrl,
        bytes32 licenceHash
    ) external onlyRole(GOVERNANCE_ROLE) {
        if (organization == address(0)) revert OrganizationRegistryZeroAddress();
        if (kind == 0 || kind > ConsentCodes.MAX_KIND) revert OrganizationRegistryUnknownKind(kind);
        address existing = _accounts[organization].organization;
        if (existing != address(0)) revert OrganizationRegistryAddressInUse(organization, existing);
        _checkInfo(name, gatewayUrl);
        _accounts[organization] = Account(organization, ConsentCodes.ROLE_ORGANIZATION, kind, Status.Active, 0);
        _info[organization] = OrganizationInfo(name, gatewayUrl, licenceHash);
        _organizations.push(organization);
        emit OrganizationAccredited(organization, kind, name, gatewayUrl, licenceHash, msg.sender);
    }

    /// @inheritdoc IOrganizationRegistry
    function updateOrganization(
        address organization,
        string calldata name,
        string calldata gatewayUrl,
        bytes32 licenceHash
    ) external onlyRole(GOVERNANCE_ROLE) {
        _requireOrganization(organization);
        _checkInfo(name, gatewayUrl);
        _info[organization] = OrganizationInfo(name, gatewayUrl, licenceHash);
        emit OrganizationUpdated(organization, name, gatewayUrl, licenceHash, msg.sender);
    }

    /// @inheritdoc IOrganizationRegistry
    function setGatewayUrl(
        address organization,
        string calldata gatewayUrl
    ) external onlyOrganizationAdmin(organization) {
        OrganizationInfo storage info = _info[organization];
        _checkInfo(info.name, gatewayUrl);
        info.gatewayUrl = gatewayUrl;
        emit OrganizationUpdated(organization, info.name, gatewayUrl, info.licenceHash, msg.sender);
    }

    /// @inheritdoc IOrganizationRegistry
    function suspend(address organization, bytes32 reason) external onlyRole(GOVERNANCE_ROLE) {
        Account storage account = _requireOrganization(organization);
        if (account.status != Status.Active) revert OrganizationRegistryWrongStatus(organization, account.status);
        account.status = Status.Suspended;
        emit OrganizationSuspended(organization, reason, msg.sender);
    }

    /// @inheritdoc IOrganizationRegistry
    function reinstate(address organization) external onlyRole(GOVERNANCE_ROLE) {
        Account storage account = _requireOrganization(organization);
        if (account.status != Status.Suspended) {
            revert OrganizationRegistryWrongStatus(organization, account.status);
        }
        account.status = Status.Active;
        emit OrganizationReinstated(organization, msg.sender);
    }

    /// @inheritdoc IOrganizationRegistry
    function setUseProfile(address organization, bool commercial, bool forProfit) external onlyRole(GOVERNANCE_ROLE) {
        Account storage account = _requireOrganization(organization);
        account.notCommercial = (commercial ? 0 : ConsentCodes.FLAG_NCU) | (forProfit ? 0 : ConsentCodes.FLAG_NPU);
        emit OrganizationUseProfileSet(organization, commercial, forProfit, msg.sender);
    }

    /// @inheritdoc IOrganizationRegistry
    function useProfile(address account) external view returns (bool commercial, bool forProfit) {
        uint8 flags = _useFlags(account);
        return (flags & ConsentCodes.FLAG_NCU != 0, flags & ConsentCodes.FLAG_NPU != 0);
    }

    /// @inheritdoc IOrganizationRegistry
    function offerMembership(
        address organization,
        address member,
        uint8 role
    ) external onlyOrganizationAdmin(organization) {
        Status status = _accounts[organization].status;
        if (status != Status.Active) revert OrganizationRegistryWrongStatus(organization, status);
        if (member == address(0)) revert OrganizationRegistryZeroAddress();
        if (role == ConsentCodes.ROLE_ORGANIZATION || role > ConsentCodes.MAX_ROLE) {
            revert OrganizationRegistryUnknownRole(role);
        }
        _offers[member][organization] = role;
        emit MembershipOffered(organization, member, role, msg.sender);
    }

    /// @inheritdoc IOrganizationRegistry
    function withdrawMembershipOffer(
        address organization,
        address member
    ) external onlyOrganizationAdmin(organization) {
        if (_offers[member][organization] == 0) revert OrganizationRegistryNoOffer(organization, member);
        delete _offers[member][organization];
        emit MembershipOfferWithdrawn(organization, member, msg.sender);
    }

    /// @inheritdoc IOrganizationRegistry
    function acceptMembership(address organization, uint8 role) external {
        _acceptMembership(msg.sender, organization, role);
    }

    /// @inheritdoc IOrganizationRegistry
    function acceptMembershipBySig(
        address member,
        address organization,
        uint8 role,
        uint256 deadline,
        bytes calldata signature
    ) external {
        if (block.timestamp > deadline) revert OrganizationRegistrySignatureExpired(deadline);
        bytes32 digest = _hashTypedDataV4(
            keccak256(
                abi.encode(ACCEPT_MEMBERSHIP_TYPEHASH, member, organization, role, _membershipNonces[member], deadline)
            )
        );
        if (!SignatureChecker.isValidSignatureNow(member, digest, signature)) {
            revert OrganizationRegistryInvalidSignature(member);
        }
        _acceptMembership(member, organization, role);
    }

    /// @inheritdoc IOrganizationRegistry
    function removeMember(address organization, address member) external {
        if (msg.sender != member && !hasRole(GOVERNANCE_ROLE, msg.sender)) _checkOrganizationAdmin(organization);
        if (member == organization || _accounts[member].organization != organization) {
            revert OrganizationRegistryNotMember(organization, member);
        }
        delete _accounts[member];
        emit MemberRemoved(organization, member, msg.sender);
    }

    /// @inheritdoc IOrganizationRegistry
    function membershipOffer(address member, address organization) external view returns (uint8 role) {
        return _offers[member][organization];
    }

    /// @inheritdoc IOrganizationRegistry
    function membershipNonce(address member) external view returns (uint256) {
        return _membershipNonces[member];
    }

    /// @inheritdoc IOrganizationRegistry
    function getOrganization(address organization) external view returns (Organization memory) {
        Account storage account = _requireOrganization(organization);
        OrganizationInfo storage info = _info[organization];
        return Organization(account.kind, account.status, info.name, info.gatewayUrl, info.licenceHash);
    }

    /// @inheritdoc IOrganizationRegistry
    function organizationCount() external view returns (uint256) {
        return _organizations.length;
    }

    /// @inheritdoc IOrganizationRegistry
    function organizationAt(uint256 index) external view returns (address) {
        return _organizations[index];
    }

    /// @inheritdoc IOrganizationRegistry
    function accountOf(
        address account
    ) external view returns (address organization, uint8 role, uint8 kind, Status status) {
        (organization, role, kind, status) = _resolve(account);
    }

    /// @dev The organization `account` acts for, its role, and the organization's kind and status:
    /// one storage read for an organization's own address, two for a member.
    function _resolve(
        address account
    ) internal view returns (address organization, uint8 role, uint8 kind, Status status) {
        uint256 word = _accountWord(account);
        organization = address(uint160(word));
        if (organization == address(0)) return (address(0), 0, 0, Status.None);
        role = uint8(word >> 160);
        if (organization != account) word = _accountWord(organization);
        kind = uint8(word >> 168);
        status = Status(uint8(word >> 176));
    }

    /// @dev The DUO use flags (FLAG_NCU: commercial, FLAG_NPU: for-profit) of every read by
    /// `account`, from governance's record of the organization it acts for: both unless recorded.
    function _useFlags(address account) internal view returns (uint8) {
        uint256 word = _accountWord(account);
        address organization = address(uint160(word));
        if (organization != address(0) && organization != account) word = _accountWord(organization);
        return ~uint8(word >> 184) & ConsentCodes.KNOWN_FLAGS;
    }

    /// @dev The organization `account` acts for if it is active as `role` of an organization of
    /// `kind` (`Accreditation.isActive`), else the zero address.
    function _activeOrganization(address account, uint8 kind, uint8 role) internal view returns (address organization) {
        uint256 word = _accountWord(account);
        organization = address(uint160(word));
        uint8 accountRole = uint8(word >> 160);
        if (organization != account) word = _accountWord(organization);
        if (
            !Accreditation.isActive(
                account,
                organization,
                accountRole,
                uint8(word >> 168),
                Status(uint8(word >> 176)),
                kind,
                role
            )
        ) organization = address(0);
    }

    /// @dev The packed `Account` slot of `account`: organization | role << 160 | kind << 168 |
    /// status << 176 | notCommercial << 184 (the layout Solidity gives the struct), read with one SLOAD.
    function _accountWord(address account) internal view returns (uint256 word) {
        assembly ("memory-safe") {
            mstore(0x00, and(account, 0xffffffffffffffffffffffffffffffffffffffff))
            mstore(0x20, _accounts.slot)
            word := sload(keccak256(0x00, 0x40))
        }
    }

    /// @dev `member` accepts `organization`'s offer of `role` (the role it saw, so that an offer
    /// changed meanwhile is not accepted blindly): the organization must still be active and the
    /// address free.
    function _acceptMembership(address member, address organization, uint8 role) private {
        uint8 offered = _offers[member][organization];
        if (offered == 0 || offered != role) revert OrganizationRegistryNoOffer(organization, member);
        Status status = _accounts[organization].status;
        if (status != Status.Active) revert OrganizationRegistryWrongStatus(organization, status);
        address existing = _accounts[member].organization;
        if (existing != address(0)) revert OrganizationRegistryAddressInUse(member, existing);
        delete _offers[member][organization];
        ++_membershipNonces[member];
        _accounts[member] = Account(organization, role, 0, Status.None, 0);
        emit MemberAdded(organization, member, role, member);
    }

    function _requireOrganization(address organization) private view returns (Account storage account) {
        account = _accounts[organization];
        if (organization == address(0) || account.organization != organization) {
            revert OrganizationRegistryUnknownOrganization(organization);
        }
    }

    function _checkOrganizationAdmin(address organization) private view {
        _requireOrganization(organization);
        if (msg.sender == organization) return;
        Account memory caller = _accounts[msg.sender];
        if (caller.organization != organization || caller.role != ConsentCodes.ROLE_ADMIN) {
            revert OrganizationRegistryNotOrganizationAdmin(organization, msg.sender);
        }
    }

    function _checkInfo(string memory name, string calldata gatewayUrl) private pure {
        uint256 nameLength = bytes(name).length;
        if (nameLength == 0 || nameLength > MAX_NAME_LENGTH) revert OrganizationRegistryInvalidName(nameLength);
        bytes memory url = bytes(gatewayUrl);
        if (url.length == 0) return;
        if (url.length > MAX_URL_LENGTH || !(_startsWith(url, "https://") || _startsWith(url, "http://"))) {
            revert OrganizationRegistryInvalidGatewayUrl(gatewayUrl);
        }
    }

    function _startsWith(bytes memory value, bytes memory prefix) private pure returns (bool) {
        if (value.length < prefix.length) return false;
        for (uint256 i = 0; i < prefix.length; ++i) {
            if (value[i] != prefix[i]) return false;
        }
        return true;
    }
}
