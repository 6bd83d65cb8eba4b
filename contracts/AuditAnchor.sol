// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAuditAnchor} from "./interfaces/IAuditAnchor.sol";
import {IOrganizationRegistry} from "./interfaces/IOrganizationRegistry.sol";
import {ConsentCodes} from "./libraries/ConsentCodes.sol";

/// @title AuditAnchor
/// @notice Merkle roots of custodians' audit-log batches; only their gateways post them. Batches
/// are contiguous (each starts right after the custodian's last one) and at most `MAX_BATCH_SIZE`
/// entries, so no single anchor can reserve the sequence space; a mistaken batch is superseded by
/// the custodian organization (or its ADMIN member), and what it replaced stays readable.
contract AuditAnchor is IAuditAnchor {
    /// @notice The most log entries in one batch.
    uint64 public constant MAX_BATCH_SIZE = 10_000;

    /// @notice The registry that says who is a gateway of which organization.
    IOrganizationRegistry public immutable registry;

    mapping(address custodian => Batch[]) private _batches;
    mapping(address custodian => mapping(uint256 batchIndex => Batch[])) private _revisions;

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
        _checkSize(firstSequence, lastSequence);
        batchIndex = batches.length;
        batches.push(Batch(merkleRoot, firstSequence, lastSequence, uint40(block.timestamp)));
        emit AuditBatchAnchored(custodian, batchIndex, merkleRoot, firstSequence, lastSequence, msg.sender);
    }

    /// @inheritdoc IAuditAnchor
    function supersede(address custodian, uint256 batchIndex, bytes32 merkleRoot, uint64 lastSequence) external {
        if (msg.sender != custodian) {
            (address organization, uint8 role, , ) = registry.accountOf(msg.sender);
            if (organization != custodian || role != ConsentCodes.ROLE_ADMIN) {
                revert AuditAnchorNotCustodianAdmin(custodian, msg.sender);
            }
        }
        if (merkleRoot == bytes32(0)) revert AuditAnchorEmptyRoot();
        Batch[] storage batches = _batches[custodian];
        uint256 length = batches.length;
        if (batchIndex >= length) revert AuditAnchorUnknownBatch(custodian, batchIndex);
        Batch storage batch = batches[batchIndex];
        uint64 first = batch.firstSequence;
        if (lastSequence < first || (batchIndex + 1 != length && lastSequence != batch.lastSequence))
            revert AuditAnchorInvalidRange(first, first, lastSequence);
        _checkSize(first, lastSequence);
        _revisions[custodian][batchIndex].push(batch);
        bytes32 previousRoot = batch.merkleRoot;
        batch.merkleRoot = merkleRoot;
        batch.lastSequence = lastSequence;
        batch.anchoredAt = uint40(block.timestamp);
        emit AuditBatchSuperseded(custodian, batchIndex, previousRoot, merkleRoot, lastSequence, msg.sender);
    }

    /// @inheritdoc IAuditAnchor
    function revisionCount(address custodian, uint256 batchIndex) external view returns (uint256) {
        return _revisions[custodian][batchIndex].length;
    }

    /// @inheritdoc IAuditAnchor
    function revisionAt(address custodian, uint256 batchIndex, uint256 revision) external view returns (Batch memory) {
        return _revisions[custodian][batchIndex][revision];
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

    function _checkSize(uint64 firstSequence, uint64 lastSequence) private pure {
        if (lastSequence - firstSequence >= MAX_BATCH_SIZE) {
            revert AuditAnchorBatchTooLarge(firstSequence, lastSequence, MAX_BATCH_SIZE);
        }
    }

    function _next(Batch[] storage batches) private view returns (uint64) {
        uint256 length = batches.length;
        return length == 0 ? 1 : batches[length - 1].lastSequence + 1;
    }
}
