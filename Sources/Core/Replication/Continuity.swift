/// What the replicator knows about the shadow WAL of its current index.
public struct ShadowState: Sendable, Equatable {
    public var position: Position
    public var header: WALHeader
    /// The last committed frame in the shadow (header plus page), or nil if it has no frames.
    public var lastFrame: [UInt8]?

    public init(position: Position, header: WALHeader, lastFrame: [UInt8]?) {
        self.position = position
        self.header = header
        self.lastFrame = lastFrame
    }
}

/// What the real `-wal` file looks like right now.
public struct WALObservation: Sendable, Equatable {
    /// The parsed header, or nil when the file is shorter than a header or the header is invalid.
    public var header: WALHeader?
    public var size: Int64
    /// The bytes in the real WAL at the shadow's last-frame offset (same length), if present.
    public var frameAtShadowEnd: [UInt8]?

    public init(header: WALHeader?, size: Int64, frameAtShadowEnd: [UInt8]?) {
        self.header = header
        self.size = size
        self.frameAtShadowEnd = frameAtShadowEnd
    }
}

/// The outcome of comparing the shadow with the real WAL.
public enum ContinuityDecision: Sendable, Equatable {
    /// Same WAL lifetime: copy new frames after the shadow position.
    case append
    /// The WAL restarted exactly once after the shadow's index was complete: start the next index.
    case nextIndex(WALHeader)
    /// The WAL holds no header (a TRUNCATE checkpoint emptied it); nothing to copy yet.
    case idle
    /// Continuity cannot be proven: start a new generation with a snapshot.
    case newGeneration(reason: String)
}

/// Decides whether replication can continue from the shadow WAL.
///
/// The rules (DESIGN.md §3, Litestream's `verify` plus the WAL-overrun check it never ported):
/// a WAL restart is accepted only while the replicator's read lock has been held continuously
/// since it last copied the WAL under the write lock. The proof, from SQLite's WAL locking:
///
/// - A restart (by a writer, or by a RESTART/TRUNCATE checkpoint) needs every frame backfilled
///   and an exclusive lock on read-mark slots 1...N-1.
/// - If our read transaction holds a slot k > 0, no restart can happen at all.
/// - If it holds slot 0 (the WAL was fully backfilled when we took it), no backfill can happen,
///   because backfilling needs slot 0 exclusively. A restart is then possible only while no frame
///   has been added since we took the lock, i.e. when every frame was copied under the write
///   lock before. After one restart, the new frames cannot be backfilled either, so no second
///   restart can discard them before we copy them.
///
/// Hence a header change seen with the lock held is one harmless restart, whatever the new
/// salts and checkpoint sequence (both are per-connection in SQLite and do not count restarts).
/// Anything else (a change seen at start-up, a shorter file with the same header, a rewritten
/// last frame) means frames may be missing.
public enum Continuity {
    public static func decide(shadow: ShadowState, wal: WALObservation, lockHeldSinceLastCopy: Bool)
        -> ContinuityDecision
    {
        guard shadow.position.index < maximumWALIndex else {
            return .newGeneration(reason: "maximum WAL index reached")
        }
        guard let header = wal.header else {
            // An empty or header-less WAL: a TRUNCATE checkpoint ran, which with our lock held
            // means everything in it had been copied.
            if lockHeldSinceLastCopy { return .idle }
            if wal.size == 0, shadow.lastFrame == nil { return .idle }
            return .newGeneration(
                reason: "WAL was checkpointed and truncated while sluice was not holding its read lock")
        }
        if header.bytes == shadow.header.bytes {
            let shadowEnd = Int64(shadow.position.offset)
            if wal.size < shadowEnd {
                return .newGeneration(
                    reason: "WAL truncated by another process (\(wal.size) bytes, shadow at \(shadowEnd))")
            }
            if let last = shadow.lastFrame, wal.frameAtShadowEnd != last {
                return .newGeneration(reason: "WAL overwritten by another process: the last copied frame changed")
            }
            return .append
        }
        if header.pageSize != shadow.header.pageSize {
            return .newGeneration(reason: "page size changed from \(shadow.header.pageSize) to \(header.pageSize)")
        }
        if lockHeldSinceLastCopy {
            return .nextIndex(header)
        }
        return .newGeneration(reason: "WAL header changed while sluice was not running")
    }
}
