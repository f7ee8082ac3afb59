/// What a follower's poll found on the replica past its position.
public struct ReplicaChanges: Sendable, Equatable {
    /// WAL segments of the followed generation at or after the position, sorted by (index, offset).
    public var segments: [WALSegmentInfo]
    /// Generations whose names sort after the followed one (newer, for Sluice's names).
    public var newerGenerations: [Generation]
    /// Listing requests the poll cost (one for stores that list from a key onwards).
    public var listRequests: Int

    public init(segments: [WALSegmentInfo], newerGenerations: [Generation], listRequests: Int) {
        self.segments = segments.sorted { ($0.index, $0.offset) < ($1.index, $1.offset) }
        self.newerGenerations = newerGenerations.sorted()
        self.listRequests = listRequests
    }
}

/// A replica that can list only what may be new after a position, in one request: an object
/// store listing keys from a start key onwards. Segment keys sort by (index, offset) inside a
/// generation and generation names by creation time, so "every key after the segment the
/// follower has" is exactly its generation's new segments followed by newer generations' objects.
public protocol ReplicaChangeListing: ReplicaClient {
    /// Segments of `position.generation` starting at or after `position`, and newer generations;
    /// at most one listing request (a long answer may be cut short: the next poll goes on).
    func changes(after position: Position) async throws -> ReplicaChanges
}

extension ReplicaClient {
    /// The changes past `position`: in one request where the store supports it, otherwise from
    /// `listedChanges`.
    public func followChanges(after position: Position) async throws -> ReplicaChanges {
        if let listing = self as? any ReplicaChangeListing { return try await listing.changes(after: position) }
        return try await listedChanges(after: position)
    }

    /// The changes past `position` from a listing of generation names and of the followed
    /// generation's WAL: two listing requests, and a cost that grows with the generation's history.
    public func listedChanges(after position: Position) async throws -> ReplicaChanges {
        let newer = try await generations().filter { $0 > position.generation }
        let segments = try await walSegments(in: position.generation).filter { $0.position.isAtOrAfter(position) }
        return ReplicaChanges(segments: segments, newerGenerations: newer, listRequests: 2)
    }
}
