/// Decides what a restore downloads and applies, from a replica listing alone.
///
/// Planning is pure so that every rule below is tested without I/O:
///
/// 1. **Generation.** The requested one; otherwise the newest generation that has a snapshot
///    (and, for a timestamp, a snapshot uploaded at or before it). Sluice names generations with
///    their creation time in the high bits, so "newest" is read from the names and never from
///    upload dates that copying a replica changes (Litestream #631). Litestream's names are
///    random: when any candidate's name claims an implausible creation time (before 2000, or more
///    than a day after its own first object), names cannot order generations and the planner
///    falls back to the latest upload time, and says so in the plan's reason; `--generation`
///    makes the choice explicit.
/// 2. **Snapshot.** The highest-index snapshot at or before the target: by upload time for a
///    timestamp, by index for index and position targets, the last one otherwise. Listings are
///    sorted by value, never trusted in backend order (Litestream #538 and v0.3.13's
///    self-comparison bug).
/// 3. **WAL range.** Every index from the snapshot's to the target's must be present and start
///    at offset 0 (Litestream #224/#805: a missing initial segment); the segments of one index
///    must ascend. Whether each segment starts exactly where the previous ended can only be seen
///    once it is decompressed, so the downloader checks that. For a timestamp the range stops at
///    the first segment uploaded after it, so no later segment is applied across a hole.
///
/// A plan with no WAL (the snapshot alone) is valid.
public enum RestorePlanner {
    /// The earliest creation time a Sluice generation name can plausibly carry.
    static let earliestPlausibleCreation = Timestamp(millisecondsSince1970: 946_684_800_000) // 2000-01-01
    /// How far a generation's name may claim to postdate its first object (clock skew between
    /// the replicator and the object store).
    static let creationTolerance: Duration = .seconds(86_400)

    /// Plans a restore of `request` from `listing`.
    /// - Parameter replica: where the listing came from, for the "no backups" message.
    public static func plan(
        _ request: RestoreRequest, listing: ReplicaListing,
        replica: String = "the replica"
    ) throws(RestoreError) -> RestorePlan {
        guard request.parallelism >= 1 else { throw .invalidParallelism(request.parallelism) }
        let (chosen, generationReason) = try chooseGeneration(request, listing: listing, replica: replica)
        let snapshot = try chooseSnapshot(in: chosen, target: request.target)
        let indexes = try chooseWAL(in: chosen, from: snapshot, target: request.target)

        var reason =
            "\(generationReason); snapshot at index \(Hex.format(snapshot.index, width: 16)) uploaded \(snapshot.createdAt)"
        if let first = indexes.first, let last = indexes.last {
            reason += "; WAL indexes \(Hex.format(first.index, width: 16))...\(Hex.format(last.index, width: 16))"
        } else {
            reason += "; no WAL to apply"
        }
        reason += " (target: \(request.target))"
        return RestorePlan(
            generation: chosen.generation, snapshot: snapshot, indexes: indexes,
            target: request.target, reason: reason)
    }

    // MARK: - Generation

    static func chooseGeneration(
        _ request: RestoreRequest, listing: ReplicaListing,
        replica: String
    ) throws(RestoreError) -> (GenerationListing, String) {
        if let generation = request.generation {
            guard let found = listing.generation(generation) else { throw .generationNotFound(generation) }
            return (found, "generation \(generation) as requested")
        }
        guard !request.target.requiresGeneration else { throw .targetRequiresGeneration }

        let withSnapshots = listing.generations.filter { !$0.snapshots.isEmpty }
        guard !withSnapshots.isEmpty else { throw .noBackups(replica: replica) }
        var candidates = withSnapshots
        if case .timestamp(let time) = request.target {
            // A generation that began at or before the target holds the state at the target (its
            // last commit at or before it), even if it ended earlier.
            candidates = candidates.filter { $0.snapshots.contains { $0.createdAt <= time } }
            guard !candidates.isEmpty else { throw .noSnapshot(generation: nil, target: request.target.description) }
        }

        let unordered = candidates.filter { !hasPlausibleName($0) }.map(\.generation)
        if unordered.isEmpty {
            let chosen = candidates[candidates.count - 1] // listing is sorted by name
            return (
                chosen,
                "generation \(chosen.generation), the newest by name of \(candidates.count) with a usable snapshot"
            )
        }
        // Sort by value (end time, then name) so ties never depend on listing order.
        let chosen = candidates.max { lhs, rhs in
            let l = lhs.timeBounds?.end ?? Timestamp(millisecondsSince1970: .min)
            let r = rhs.timeBounds?.end ?? Timestamp(millisecondsSince1970: .min)
            return (l, lhs.generation) < (r, rhs.generation)
        }!
        let named = unordered.prefix(3).map(\.description).joined(separator: ", ")
        return (
            chosen,
            "generation \(chosen.generation), the one with the latest upload of \(candidates.count) with a usable snapshot, because the names of \(named)\(unordered.count > 3 ? ", ..." : "") carry no creation time (Litestream's random names); pass --generation to choose explicitly"
        )
    }

    /// Whether a generation's name looks like a Sluice name: a creation time after 2000 and not
    /// more than a day after the generation's first object.
    static func hasPlausibleName(_ listing: GenerationListing) -> Bool {
        let created = listing.generation.creationTime
        guard created >= earliestPlausibleCreation else { return false }
        guard let first = listing.timeBounds?.start else { return true }
        return created <= first + creationTolerance
    }

    // MARK: - Snapshot

    static func chooseSnapshot(in listing: GenerationListing, target: RestoreTarget) throws(RestoreError)
        -> SnapshotInfo
    {
        // `listing.snapshots` is sorted by index, so the last match is the highest index.
        let found: SnapshotInfo?
        switch target {
        case .latest:
            found = listing.snapshots.last
        case .timestamp(let time):
            found = listing.snapshots.last { $0.createdAt <= time }
        case .index(let index):
            found = listing.snapshots.last { $0.index <= index }
        case .position(let index, _):
            // A snapshot labelled i is consistent with index i replayed from its start *up to at
            // least* the frames the database file had absorbed when it was read, which may lie
            // past the target; only an earlier index's snapshot rewinds exactly. (Timestamp
            // targets are safe: replicate uploads that WAL before it writes the snapshot.)
            found = listing.snapshots.last { $0.index < index }
            if found == nil, listing.snapshots.contains(where: { $0.index == index }) {
                throw .positionInsideSnapshotIndex(generation: listing.generation, index: index)
            }
        }
        guard let found else { throw .noSnapshot(generation: listing.generation, target: target.description) }
        return found
    }

    // MARK: - WAL

    static func chooseWAL(
        in listing: GenerationListing, from snapshot: SnapshotInfo,
        target: RestoreTarget
    ) throws(RestoreError) -> [IndexPlan] {
        let generation = listing.generation
        var segments = deduplicated(listing.segments.filter { $0.index >= snapshot.index })

        // Cut the segments to the target, and work out the last index the target needs.
        var lastIndex: UInt64?
        var byteLimit: UInt64?
        switch target {
        case .latest:
            lastIndex = segments.last?.index
        case .timestamp(let time):
            if let cut = segments.firstIndex(where: { $0.createdAt > time }) { segments.removeSubrange(cut...) }
            lastIndex = segments.last?.index
        case .index(let index):
            segments.removeAll { $0.index > index }
            // The snapshot alone is the end of its own index when no WAL of it was uploaded.
            lastIndex = segments.isEmpty && index == snapshot.index ? nil : index
        case .position(let index, let offset):
            guard offset == 0 || offset >= UInt64(WALFormat.headerSize) else {
                throw .notACommitBoundary(Position(generation: generation, index: index, offset: offset))
            }
            segments.removeAll { $0.index > index || ($0.index == index && $0.offset >= offset) }
            if offset == 0 {
                // The start of an index is the end of the previous one.
                lastIndex = index > snapshot.index ? index - 1 : nil
            } else {
                lastIndex = index
                byteLimit = offset
            }
        }
        guard let lastIndex else { return [] }

        // Group by index; every index in the range must be present and begin with its header.
        var plans: [IndexPlan] = []
        var cursor = segments[...]
        for index in snapshot.index...lastIndex {
            let count = cursor.prefix { $0.index == index }.count
            let group = Array(cursor.prefix(count))
            cursor = cursor.dropFirst(count)
            guard let first = group.first else { throw .missingWALIndex(generation: generation, index: index) }
            guard first.offset == 0 else {
                throw .missingInitialSegment(generation: generation, index: index, firstOffset: first.offset)
            }
            plans.append(IndexPlan(index: index, segments: group, byteLimit: index == lastIndex ? byteLimit : nil))
        }
        return plans
    }

    /// Drops repeated positions (a store listing one object under both layouts); sorted input.
    static func deduplicated(_ segments: [WALSegmentInfo]) -> [WALSegmentInfo] {
        var result: [WALSegmentInfo] = []
        for segment in segments
        where result.last.map({ ($0.index, $0.offset) != (segment.index, segment.offset) }) ?? true {
            result.append(segment)
        }
        return result
    }
}
