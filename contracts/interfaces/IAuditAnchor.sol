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

    /// @notice Batch `batchIndex` of `custodian` was superseded by `actor` (the organization or one
    /// of its ADMIN members): its root is now `merkleRoot` and it ends at `lastSequence`. The
    /// versions it replaced stay readable (`revisionCount`, `revisionAt`).
    event AuditBatchSuperseded(
        address indexed custodian,
        uint256 indexed batchIndex,
        bytes32 previousRoot,
        bytes32 merkleRoot,
        uint64 lastSequence,
        address actor
    );

    /// @notice The caller is not a GATEWAY member of an active organization.
    error AuditAnchorNotGateway(address caller);
    /// @notice The Merkle root is zero.
    error AuditAnchorEmptyRoot();
    /// @notice The batch does not start right after the previous one, or ends before it starts.
    error AuditAnchorInvalidRange(uint64 expectedFirst, uint64 firstSequence, uint64 lastSequence);
    /// @notice The batch has more than `maxSize` entries.
    error AuditAnchorBatchTooLarge(uint64 firstSequence, uint64 lastSequence, uint64 maxSize);
    /// @notice The caller is neither the organization `custodian` itself nor one of its ADMIN members.
    error AuditAnchorNotCustodianAdmin(address custodian, address caller);
    /// @notice `custodian` has no batch `batchIndex`.
    error AuditAnchorUnknownBatch(address custodian, uint256 batchIndex);

    /// @notice Anchor the batch of log entries `firstSequence..lastSequence` (inclusive) of the
    /// caller's organization. Batches of a custodian are contiguous, starting at sequence 1.
    function anchor(
        bytes32 merkleRoot,
        uint64 firstSequence,
        uint64 lastSequence
    ) external returns (uint256 batchIndex);

    /// @notice Supersede `custodian`'s batch `batchIndex` (a mistaken or bogus root): the custodian
    /// organization's own address or one of its ADMIN members (never a gateway key, which may be
    /// what went wrong) sets its root; the latest batch may also be given a new `lastSequence`
    /// (within the size bound), so that the next batch starts right after the corrected one. An
    /// earlier batch keeps its range (`lastSequence` must be its own). The replaced versions are kept.
    function supersede(address custodian, uint256 batchIndex, bytes32 merkleRoot, uint64 lastSequence) external;

    /// @notice How many versions batch `batchIndex` of `custodian` had before its current one.
    function revisionCount(address custodian, uint256 batchIndex) external view returns (uint256);

    /// @notice The `revision`-th replaced version (0: as first anchored) of a superseded batch.
    function revisionAt(address custodian, uint256 batchIndex, uint256 revision) external view returns (Batch memory);

    /// @notice How many batches `custodian` anchored.
    function batchCount(address custodian) external view returns (uint256);

    /// @notice The `index`-th batch of `custodian`, as in force (after any supersession).
    function batchAt(address custodian, uint256 index) external view returns (Batch memory);

    /// @notice The sequence number the next batch of `custodian` must start at.
    function nextSequence(address custodian) external view returns (uint64);
}
