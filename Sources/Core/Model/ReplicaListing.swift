/// Everything one generation holds on a replica, sorted: snapshots by index, segments by
/// (index, offset). Listings are the truth about where a replica stands; this is their one
/// in-memory shape, shared by restore planning, retention planning and the listing commands.
public struct GenerationListing: Sendable, Equatable {
    public var generation: Generation
    public var snapshots: [SnapshotInfo]
    public var segments: [WALSegmentInfo]

    public init(generation: Generation, snapshots: [SnapshotInfo], segments: [WALSegmentInfo]) {
        self.generation = generation
        self.snapshots = snapshots.sorted { $0.index < $1.index }
        self.segments = segments.sorted { ($0.index, $0.offset) < ($1.index, $1.offset) }
    }

    /// The earliest and latest object times, or nil for an empty generation. Segments written
    /// after the last snapshot count (Litestream's c633eb1 dropped them and understated the end).
    public var timeBounds: (start: Timestamp, end: Timestamp)? {
        let times = snapshots.map(\.createdAt) + segments.map(\.createdAt)
        guard let first = times.min(), let last = times.max() else { return nil }
        return (first, last)
    }
}

/// Every generation on one replica.
public struct ReplicaListing: Sendable, Equatable {
    /// Sorted by generation name (for Sluice's own names, by creation time).
    public var generations: [GenerationListing]

    public init(generations: [GenerationListing]) {
        self.generations = generations.sorted { $0.generation < $1.generation }
    }

    /// Lists a whole replica: generations, then each one's snapshots and segments.
    public static func load(from client: any ReplicaClient) async throws -> ReplicaListing {
        var result: [GenerationListing] = []
        for generation in try await client.generations().sorted() {
            result.append(
                GenerationListing(
                    generation: generation,
                    snapshots: try await client.snapshots(in: generation),
                    segments: try await client.walSegments(in: generation)))
        }
        return ReplicaListing(generations: result)
    }

    public func generation(_ generation: Generation) -> GenerationListing? {
        generations.first { $0.generation == generation }
    }
}
