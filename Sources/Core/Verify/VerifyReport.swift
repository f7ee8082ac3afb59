/// What `sluice verify` found on one replica.
public struct VerifyReport: Sendable, Equatable {
    /// One generation's extent and what was read of it.
    public struct GenerationSummary: Sendable, Equatable {
        public var generation: Generation
        public var snapshotCount: Int
        public var segmentCount: Int
        /// The first and last WAL index listed at or after the first snapshot.
        public var firstIndex: UInt64?
        public var lastIndex: UInt64?
        /// Compressed bytes listed (snapshots and segments).
        public var storedByteCount: Int64
        /// WAL bytes read and checked (decompressed).
        public var checkedWALByteCount: UInt64
        public var checkedFrameCount: Int
        /// The earliest and latest object times.
        public var start: Timestamp?
        public var end: Timestamp?

        public init(generation: Generation) {
            self.generation = generation
            snapshotCount = 0
            segmentCount = 0
            storedByteCount = 0
            checkedWALByteCount = 0
            checkedFrameCount = 0
        }
    }

    /// Where the replica is (never with credentials).
    public var location: String
    public var generations: [GenerationSummary]
    /// Problems and live findings, in the order generations were checked.
    public var findings: [VerifyFinding]
    /// Transaction boundaries sampled for `--sample` restores (earlier than the latest state).
    public var sampledBoundaries: [Position]

    public init(
        location: String, generations: [GenerationSummary] = [], findings: [VerifyFinding] = [],
        sampledBoundaries: [Position] = []
    ) {
        self.location = location
        self.generations = generations
        self.findings = findings
        self.sampledBoundaries = sampledBoundaries
    }

    /// Findings that fail the check.
    public var problems: [VerifyFinding] { findings.filter { $0.severity == .problem } }
}

/// How two passes over a changing replica are reconciled into one verdict.
public enum VerifyReconciliation {
    /// A live replicator changes the replica while it is read: a listing may catch an index
    /// between two of its uploads, or an object retention is deleting. Such a finding does not
    /// survive a second look; damage does. So a problem counts only when a second, later pass
    /// reports the same kind for the same object; the first pass's wording is kept. Live
    /// findings come from the second pass (the fresher view).
    public static func confirmed(first: [VerifyFinding], second: [VerifyFinding]) -> [VerifyFinding] {
        let again = Set(second.filter { $0.severity == .problem }.map(\.identity))
        let problems = first.filter { $0.severity == .problem && again.contains($0.identity) }
        return problems + second.filter { $0.severity == .live }
    }
}
