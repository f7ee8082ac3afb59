/// What a user asked to restore: where to write it, from which history and up to which point.
public struct RestoreRequest: Sendable, Equatable {
    /// The database file to create. Its directory must exist.
    public var outputPath: String
    /// The generation to restore from; nil lets the planner choose the latest one.
    /// `.index` and `.position` targets require it, because indexes mean nothing across generations.
    public var generation: Generation?
    /// How far to replay history.
    public var target: RestoreTarget
    /// How many WAL indexes may download at once (and lie on disk ahead of the applier).
    public var parallelism: Int
    /// Run `PRAGMA integrity_check` on the result before handing it over.
    public var integrityCheck: Bool
    /// Replace an existing file at `outputPath`; without it an existing file is an error.
    public var overwrite: Bool
    /// How many downloaded WAL bytes may wait (on disk, or in memory for small indexes) before
    /// their pages are written into the database. Up to this much, a page rewritten in many
    /// indexes is written once; past it the pages chosen so far are written and the files
    /// removed, so a long history needs no more temp disk than this (plus `parallelism`
    /// indexes). 0 writes each index's pages as it arrives.
    public var applyBatchBytes: Int64

    /// A WAL index up to this many bytes waits in memory rather than in a temp file.
    public var indexMemoryLimit: Int

    /// Where the restore counts bytes downloaded and applied for a progress display; nil counts nothing.
    public var progress: ProgressMeter?

    /// The default `applyBatchBytes`: 256 MiB.
    public static let defaultApplyBatchBytes: Int64 = 256 << 20

    public init(
        outputPath: String, generation: Generation? = nil, target: RestoreTarget = .latest,
        parallelism: Int = 8, integrityCheck: Bool = false, overwrite: Bool = false,
        applyBatchBytes: Int64 = RestoreRequest.defaultApplyBatchBytes,
        indexMemoryLimit: Int = WALDownloader.defaultMemoryLimit
    ) {
        self.outputPath = outputPath
        self.generation = generation
        self.target = target
        self.parallelism = parallelism
        self.integrityCheck = integrityCheck
        self.overwrite = overwrite
        self.applyBatchBytes = applyBatchBytes
        self.indexMemoryLimit = indexMemoryLimit
    }
}

/// How far a restore replays a generation's history.
///
/// Timestamps are object upload times (the replica's listing dates), not transaction times, so a
/// timestamp target is as fine-grained as one uploaded segment: roughly one sync interval.
public enum RestoreTarget: Sendable, Equatable, CustomStringConvertible {
    /// Everything replicated.
    case latest
    /// Everything uploaded at or before the time.
    case timestamp(Timestamp)
    /// The end of that WAL index (every segment of it). Requires an explicit generation.
    case index(UInt64)
    /// An exact transaction boundary: `offset` bytes into WAL index `index`, which must be the end
    /// of a commit frame (or 0, the start of the index). Requires an explicit generation.
    case position(index: UInt64, offset: UInt64)

    /// Whether the target names an index, which only has meaning inside one generation.
    public var requiresGeneration: Bool {
        switch self {
        case .latest, .timestamp: return false
        case .index, .position: return true
        }
    }

    public var description: String {
        switch self {
        case .latest: return "the latest replicated state"
        case .timestamp(let time): return "\(time)"
        case .index(let index): return "the end of WAL index \(Hex.format(index, width: 16))"
        case .position(let index, let offset):
            return "WAL index \(Hex.format(index, width: 16)) offset \(Hex.format(offset, width: 16))"
        }
    }
}
