/// What a follower does after a poll.
public enum FollowStep: Sendable, Equatable {
    /// Nothing new.
    case idle
    /// Download and apply these segments, in order: the rest of the current index from the
    /// cursor, then whole later indexes, each from offset 0.
    case apply([WALSegmentInfo])
    /// Something new is listed but cannot be applied yet without skipping history (the reason
    /// says what is missing); a replicator mid-upload fills such gaps by the next poll.
    case wait(String)
    /// The followed generation has nothing more and a newer one is listed: plan afresh, and
    /// switch if the plan chooses it.
    case checkGenerations
}

/// The follower's decisions, pure over values so that every rule is tested without I/O.
public enum FollowDecision {
    /// The next step from `cursor` given what the poll found.
    /// `cursor` is the end of the WAL applied so far (offset 0 before an index's first segment).
    public static func next(after cursor: Position, changes: ReplicaChanges) -> FollowStep {
        let candidates = changes.segments.filter { $0.position.isAtOrAfter(cursor) }
        var run: [WALSegmentInfo] = []
        var rest = candidates[...]
        let current = rest.prefix { $0.index == cursor.index }
        if let first = current.first, first.offset != cursor.offset {
            return .wait(
                "index \(Hex.format(cursor.index, width: 16)) continues at offset \(first.offset), "
                    + "but \(cursor.offset) bytes are applied: a segment is missing")
        }
        run += current
        rest = rest.dropFirst(current.count)
        var expected = cursor.index + 1
        while let first = rest.first, first.index == expected, first.offset == 0 {
            let group = rest.prefix { $0.index == expected }
            run += group
            rest = rest.dropFirst(group.count)
            expected += 1
        }
        if !run.isEmpty { return .apply(run) }
        if let first = rest.first {
            return .wait(
                "index \(Hex.format(first.index, width: 16)) offset \(first.offset) is listed, "
                    + "but index \(Hex.format(expected, width: 16)) does not begin yet")
        }
        return changes.newerGenerations.isEmpty ? .idle : .checkGenerations
    }
}

extension FollowDecision {
    /// The replica key (grouped layout) after which everything a follower at `position` has not
    /// seen sorts: its last applied byte's segment key, or the index's folder name itself (which
    /// sorts before the index's first segment) when nothing of the index is applied.
    public static func listingStartKey(after position: Position) -> String {
        guard position.offset > 0 else {
            return ReplicaLayout.walIndexDirectory(position.generation, index: position.index)
        }
        return ReplicaLayout.grouped.walSegmentKey(
            Position(generation: position.generation, index: position.index, offset: position.offset - 1))
    }
}
