// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAuditAnchor} from "./interfaces/IAuditAnchor.sol";
import {IOrganizationRegistry} from "./interfaces/IOrganizationRegistry.sol";
import {ConsentCodes} from "./libraries/ConsentCodes.sol";

/// @title AuditAnchor
/// @notice Merkle roots of custodians' audit-log batches; only their gateways post them.
contract AuditAnchor is IAuditAnchor {
    /// @notice The registry that says who is a gateway of which organization.
    IOrganizationRegistry public immutable registry;

    mapping(address custodian => Batch[]) private _batches;

    constructor(IOrganizationRegistry registry_) {
        registry = registry_;
    }

    /// @inheritdoc IAuditAnchor
    function anchor(
        bytes32 merkleRoot,
        uint64 firstSequence,
        uint64 lastSequence
    ) external returns (uint256 batchIndex) {
        (address custodian, uint8 role, , IOrganizationRegistry.Status status) = registry.accountOf(msg.sender);
        if (
            custodian == address(0) ||
            custodian == msg.sender ||
            role != ConsentCodes.ROLE_GATEWAY ||
            status != IOrganizationRegistry.Status.Active
        ) revert AuditAnchorNotGateway(msg.sender);
        if (merkleRoot == bytes32(0)) revert AuditAnchorEmptyRoot();
        Batch[] storage batches = _batches[custodian];
        uint64 expected = _next(batches);
        if (firstSequence != expected || lastSequence < firstSequence) {
            revert AuditAnchorInvalidRange(expected, firstSequence, lastSequence);
        }
        batchIndex = batches.length;
        batches.push(Batch(merkleRoot, firstSequence, lastSequence, uint40(block.timestamp)));
        emit AuditBatchAnchored(custodian, batchIndex, merkleRoot, firstSequence, lastSequence, msg.sender);
    }

    /// @inheritdoc IAuditAnchor
    function batchCount(address custodian) external view returns (uint256) {
        return _batches[custodian].length;
    }

    /// @inheritdoc IAuditAnchor
    function batchAt(address custodian, uint256 index) external view returns (Batch memory) {
        return _batches[custodian][index];
    }

    /// @inheritdoc IAuditAnchor
    function nextSequence(address custodian) external view returns (uint64) {
        return _next(_batches[custodian]);
    }

    function _next(Batch[] storage batches) private view returns (uint64) {
        uint256 length = batches.length;
        return length == 0 ? 1 : batches[length - 1].lastSequence + 1;
    }
}
