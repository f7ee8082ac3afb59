/// Decides, from one generation's listing alone, what `sluice verify` reports without reading
/// an object and which objects it then reads, in what order.
///
/// Rules (each mirrors what a restore needs, `RestorePlanner`):
/// 1. A generation without a snapshot cannot be restored: a problem, unless it is the newest
///    generation, which a replicator may be starting right now (`live`).
/// 2. Every WAL index from the first snapshot's to the last listed one must have segments, and
///    each index's first segment must be at offset 0 (it carries the WAL header). WAL older than
///    the first snapshot is never read by a restore and is not checked.
/// 3. Every snapshot is read (header and length) and every segment of every checked index, in
///    order, so contiguity, decoding, salts and the checksum chain are checked as they stream.
/// 4. The newest index of the newest generation is still open while a replicator runs: its end
///    is only what the listing showed (`live`, informational).
public enum VerifyPlanner {
    /// What to check in one generation.
    public struct Plan: Sendable, Equatable {
        public var findings: [VerifyFinding]
        public var snapshots: [SnapshotInfo]
        /// Indexes whose segments are read, ascending, each with its segments by offset.
        public var indexes: [IndexPlan]
    }

    /// Plans the checks of `listing`; `isNewest` marks the replica's newest generation.
    public static func plan(_ listing: VerifyListing, isNewest: Bool) -> Plan {
        let generation = listing.listing.generation
        var findings: [VerifyFinding] = []
        guard let first = listing.listing.snapshots.first else {
            let message =
                isNewest
                ? "the newest generation has no snapshot yet (a replicator starting it)"
                : "the generation has no snapshot, so nothing in it can be restored"
            findings.append(
                VerifyFinding(
                    isNewest ? .live : .problem, .noSnapshot, generation: generation,
                    object: VerifyObjectKey.generation(generation) + "/snapshots/",
                    message: message))
            return Plan(findings: findings, snapshots: [], indexes: [])
        }
        let segments = RestorePlanner.deduplicated(listing.listing.segments.filter { $0.index >= first.index })
        var indexes: [IndexPlan] = []
        var cursor = segments[...]
        if let last = segments.last?.index {
            for index in first.index...last {
                let count = cursor.prefix { $0.index == index }.count
                let group = Array(cursor.prefix(count))
                cursor = cursor.dropFirst(count)
                guard let head = group.first else {
                    findings.append(
                        VerifyFinding(
                            .problem, .missingIndex, generation: generation,
                            object: VerifyObjectKey.index(generation, index: index),
                            message: "WAL index \(hex16(index)) is missing "
                                + "(later indexes exist); restores past it fail"))
                    continue
                }
                guard head.offset == 0 else {
                    findings.append(
                        VerifyFinding(
                            .problem, .missingInitialSegment, generation: generation,
                            object: listing.key(of: Position(generation: generation, index: index, offset: 0)),
                            message: "missing: the index's first segment (with the WAL header) is not listed; "
                                + "the first is at offset \(hex16(head.offset))"))
                    continue
                }
                indexes.append(IndexPlan(index: index, segments: group))
            }
            if isNewest {
                findings.append(
                    VerifyFinding(
                        .live, .openIndex, generation: generation,
                        object: VerifyObjectKey.index(generation, index: last),
                        message: "the newest WAL index, still open while a replicator runs; "
                            + "checked up to the listing"))
            }
        }
        return Plan(findings: findings, snapshots: listing.listing.snapshots, indexes: indexes)
    }
}
