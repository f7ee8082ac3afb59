/// Why a restore could not be planned or carried out. Each message is one line saying what is
/// wrong and what the user can do about it.
public enum RestoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The replica holds no generation with a snapshot.
    case noBackups(replica: String)
    /// The requested generation is not on the replica.
    case generationNotFound(Generation)
    /// No snapshot (in the generation, or in any generation when nil) is at or before the target.
    case noSnapshot(generation: Generation?, target: String)
    /// `.index` and `.position` targets were given without a generation.
    case targetRequiresGeneration
    /// Parallelism below 1.
    case invalidParallelism(Int)
    /// A WAL index between the snapshot and the target has no segments.
    case missingWALIndex(generation: Generation, index: UInt64)
    /// An index's first segment is not at offset 0, so its WAL header is missing.
    case missingInitialSegment(generation: Generation, index: UInt64, firstOffset: UInt64)
    /// A segment does not start where the previous one ended.
    case walGap(generation: Generation, index: UInt64, expectedOffset: UInt64, foundOffset: UInt64)
    /// An index ends earlier on the replica than the next index's seal says it ended: its last
    /// segment is missing (`WALIndexSeal`).
    case walIndexIncomplete(generation: Generation, index: UInt64, listedEnd: UInt64, sealedEnd: UInt64)
    /// The replicated WAL of an index ends before the requested position.
    case positionNotReplicated(Position, replicatedEnd: UInt64)
    /// The requested offset is not the end of a transaction.
    case notACommitBoundary(Position)
    /// The WAL bytes of an index do not form valid frames up to their end.
    case invalidWAL(generation: Generation, index: UInt64, offset: UInt64, reason: String)
    /// The snapshot is not a WAL-mode database, so SQLite would ignore the WAL to be applied.
    case snapshotNotWALMode(generation: Generation, index: UInt64)
    /// The output file exists and overwriting was not asked for.
    case outputExists(path: String)
    /// The output's directory does not exist.
    case outputDirectoryMissing(path: String)
    /// A WAL index's page size differs from the snapshot's (SQLite would call it corrupt).
    case pageSizeMismatch(generation: Generation, index: UInt64, walPageSize: Int, databasePageSize: Int)
    /// Fewer frames would be applied than the downloaded WAL holds (frames past its last commit).
    case walNotApplied(generation: Generation, index: UInt64, expectedFrames: Int, appliedFrames: Int)
    /// `PRAGMA integrity_check` did not answer "ok".
    case integrityCheckFailed(details: String)
    /// An object's bytes are not a valid LZ4 frame (corrupt or truncated).
    case corruptObject(object: String, reason: String)
    /// An object could not be read, even after retrying.
    case downloadFailed(object: String, attempts: Int, reason: String)
    /// An exact position was asked for inside the WAL index of the generation's earliest
    /// snapshot; that snapshot may already hold pages from later in its own index.
    case positionInsideSnapshotIndex(generation: Generation, index: UInt64)

    public var description: String {
        switch self {
        case .positionInsideSnapshotIndex(let generation, let index):
            return
                "generation \(generation) has no snapshot before WAL index \(Hex.format(index, width: 16)), and a snapshot taken during that index cannot be rewound to a position inside it; restore to the end of the index (--index) or to a timestamp"
        case .noBackups(let replica):
            return
                "no backups found on \(replica): it holds no generation with a snapshot; check the replica URL or path"
        case .generationNotFound(let generation):
            return "generation \(generation) does not exist on the replica; list them with `sluice generations`"
        case .noSnapshot(let generation?, let target):
            return
                "generation \(generation) has no snapshot at or before \(target); choose a later target or another generation"
        case .noSnapshot(nil, let target):
            return "no generation has a snapshot at or before \(target); choose a later target"
        case .targetRequiresGeneration:
            return
                "restoring to a WAL index or position requires --generation, since indexes restart in every generation"
        case .invalidParallelism(let value):
            return "parallelism must be at least 1, got \(value)"
        case .missingWALIndex(let generation, let index):
            return
                "generation \(generation) is missing WAL index \(Hex.format(index, width: 16)); restore to an earlier target or another generation"
        case .missingInitialSegment(let generation, let index, let firstOffset):
            return
                "generation \(generation) WAL index \(Hex.format(index, width: 16)) has no initial segment (first offset is \(Hex.format(firstOffset, width: 16))); restore to before this index or choose another generation"
        case .walGap(let generation, let index, let expected, let found) where found < expected:
            return "generation \(generation) WAL index \(Hex.format(index, width: 16)) has overlapping segments: "
                + "the segment at offset \(Hex.format(found, width: 16)) starts before the previous ones end at "
                + "\(Hex.format(expected, width: 16)); restore to an earlier target"
        case .walGap(let generation, let index, let expected, let found):
            return
                "generation \(generation) WAL index \(Hex.format(index, width: 16)) has a gap: expected a segment at offset \(Hex.format(expected, width: 16)), found \(Hex.format(found, width: 16)); restore to an earlier target"
        case .walIndexIncomplete(let generation, let index, let listed, let sealed):
            return
                "generation \(generation) WAL index \(Hex.format(index, width: 16)) ends at offset \(Hex.format(listed, width: 16)) on the replica, but the next index records that it ended at \(Hex.format(sealed, width: 16)): its last segment is missing; restore to an earlier target"
        case .positionNotReplicated(let position, let end):
            return
                "position \(position) is beyond the replicated WAL, which ends at offset \(Hex.format(end, width: 16)) in that index; choose an earlier position"
        case .notACommitBoundary(let position):
            return "position \(position) is not the end of a transaction; pick an offset listed by `sluice wal`"
        case .invalidWAL(let generation, let index, let offset, let reason):
            return
                "generation \(generation) WAL index \(Hex.format(index, width: 16)) is invalid at offset \(Hex.format(offset, width: 16)): \(reason); restore to an earlier target"
        case .snapshotNotWALMode(let generation, let index):
            return
                "snapshot \(Hex.format(index, width: 16)) of generation \(generation) is not a WAL-mode database, so its WAL cannot be applied; restore to the snapshot's own index"
        case .outputExists(let path):
            return "\(path) already exists; remove it or choose another -o"
        case .outputDirectoryMissing(let path):
            return "output directory \(path) does not exist; create it or choose another -o"
        case .pageSizeMismatch(let generation, let index, let walPageSize, let databasePageSize):
            return
                "WAL index \(Hex.format(index, width: 16)) of generation \(generation) has \(walPageSize)-byte pages, but the snapshot has \(databasePageSize)-byte pages; the WAL does not match the snapshot, restore to an earlier target"
        case .walNotApplied(let generation, let index, let expected, let applied):
            return
                "only \(applied) of \(expected) frames of WAL index \(Hex.format(index, width: 16)) of generation \(generation); the WAL does not match the snapshot, restore to an earlier target"
        case .integrityCheckFailed(let details):
            return
                "the restored database failed PRAGMA integrity_check: \(details); nothing was written, try an earlier target"
        case .corruptObject(let object, let reason):
            return "\(object) is corrupt (\(reason)); restore to an earlier target or another generation"
        case .downloadFailed(let object, let attempts, let reason):
            return
                "could not read \(object) after \(attempts) attempts: \(reason); check the replica is reachable and retry"
        }
    }
}
