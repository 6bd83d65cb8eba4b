// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IAuditAnchor
/// @notice Custodian gateways post the Merkle root of each batch of their access log, so that the
/// off-chain, hash-chained audit trail is tamper-evident at a transaction per batch.
interface IAuditAnchor {
    /// @notice One anchored batch: the log entries `firstSequence..lastSequence` of a custodian.
    struct Batch {
        bytes32 merkleRoot;
        uint64 firstSequence;
        uint64 lastSequence;
        uint40 anchoredAt;
    }

    /// @notice A batch of `custodian`'s audit log was anchored by one of its gateways.
    event AuditBatchAnchored(
        address indexed custodian,
        uint256 indexed batchIndex,
        bytes32 merkleRoot,
        uint64 firstSequence,
        uint64 lastSequence,
        address gateway
    );

    /// @notice The caller is not a GATEWAY member of an active organization.
    error AuditAnchorNotGateway(address caller);
    /// @notice The Merkle root is zero.
    error AuditAnchorEmptyRoot();
    /// @notice The batch does not start right after the previous one, or ends before it starts.
    error AuditAnchorInvalidRange(uint64 expectedFirst, uint64 firstSequence, uint64 lastSequence);

    /// @notice Anchor the batch of log entries `firstSequence..lastSequence` (inclusive) of the
    /// caller's organization. Batches of a custodian are contiguous, starting at sequence 1.
    function anchor(
        bytes32 merkleRoot,
        uint64 firstSequence,
        uint64 lastSequence
    ) external returns (uint256 batchIndex);

    /// @notice How many batches `custodian` anchored.
    function batchCount(address custodian) external view returns (uint256);

    /// @notice The `index`-th batch of `custodian`.
    function batchAt(address custodian, uint256 index) external view returns (Batch memory);

    /// @notice The sequence number the next batch of `custodian` must start at.
    function nextSequence(address custodian) external view returns (uint64);
}
