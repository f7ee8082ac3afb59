/// What one retention round deletes from a replica.
public struct RetentionPlan: Sendable, Equatable {
    /// Snapshots older than their generation's restore floor, sorted by (generation, index).
    public var snapshotsToDelete: [SnapshotInfo]
    /// WAL segments below their generation's restore floor, sorted by (generation, index, offset).
    public var segmentsToDelete: [Position]
    /// Whole generations no restore point inside the window can use, sorted.
    public var generationsToDelete: [Generation]
    /// The current generation has no snapshot inside the window: take one first and plan
    /// again. When set, the plan deletes nothing at all.
    public var needsSnapshot: Bool

    public init(
        snapshotsToDelete: [SnapshotInfo] = [], segmentsToDelete: [Position] = [],
        generationsToDelete: [Generation] = [], needsSnapshot: Bool = false
    ) {
        self.snapshotsToDelete = snapshotsToDelete
        self.segmentsToDelete = segmentsToDelete
        self.generationsToDelete = generationsToDelete
        self.needsSnapshot = needsSnapshot
    }

    /// Whether the plan deletes nothing.
    public var isEmpty: Bool {
        snapshotsToDelete.isEmpty && segmentsToDelete.isEmpty && generationsToDelete.isEmpty
    }
}

/// Decides what retention may delete from a replica: a pure function of one complete listing.
///
/// The promise is that every point in time inside `[now − retention, now]` stays restorable.
/// Restoring to a time `t` uses the newest snapshot at or before `t` and replays every WAL
/// index from that snapshot's index on, so each generation is handled on its own:
///
/// - Its *kept* snapshots are those created inside the window.
/// - Its *restore floor* is the index of the newest snapshot at or before the window start,
///   so that the window start itself stays restorable; without one, the lowest index among the
///   kept snapshots. (Should snapshot times not rise with their indexes, the floor is the lower
///   of the two, so whichever a restore picks survives.)
/// - Only snapshots and WAL segments with an index below the floor are deleted.
/// - A generation with no snapshot inside the window that no restore point needs (every one
///   of its objects older than the window, and it is not the generation a restore to the
///   window start would use) is deleted whole. Never deleted whole: the current generation, a
///   protected one, and the newest generation that has a snapshot (by name, which for Sluice's
///   names is creation order, and by snapshot time, for Litestream's random names), so a
///   replica always stays restorable.
/// - A protected generation (one a running restore planned to use) is not touched at all,
///   because the restore may target a time before the window.
/// - If the current generation has no snapshot inside the window, the plan only asks for a
///   snapshot (`needsSnapshot`) and deletes nothing: deleting first could leave the window
///   start unrestorable if the snapshot then failed. Unless its newest snapshot is at the
///   current WAL index: a new one would replace it, and it covers the window already.
///
/// ### Why per generation and by value (Litestream #251)
///
/// Litestream's `FindMinSnapshotByGeneration` took the address of the range loop variable
/// instead of the slice element. Before Go 1.22 that variable was reused across iterations, so
/// the "minimum" pointer ended up pointing at whatever the loop saw last, possibly a snapshot
/// of another generation with a higher index. Retention then deleted every snapshot and WAL
/// segment below that wrong index: good backups vanished and restore failed with "no snapshots
/// available" (the report's generations were `29cf4bced74e92ab` and `5dfeb4aa03232553`,
/// index 24). Here each floor is a plain `UInt64` computed from one generation's own snapshots
/// and applied only to that generation's objects; nothing is shared or referenced across
/// generations, so one generation's indexes can never decide another's deletions.
///
/// The listing must be complete: if listing failed, the caller deletes nothing rather than plan
/// from a partial view (a missing snapshot would look like permission to delete its WAL).
public enum RetentionPlanner {
    /// Plans one retention round.
    ///
    /// - Parameters:
    ///   - listing: the whole replica, freshly listed.
    ///   - now: the current wall-clock time.
    ///   - retention: the window length; zero or negative disables retention (empty plan).
    ///   - currentGeneration: the generation the replicator is writing, if any.
    ///   - currentIndex: the WAL index it is writing, if known.
    ///   - protectedGenerations: generations a running restore uses; left untouched.
    public static func plan(
        listing: ReplicaListing, now: Timestamp, retention: Duration,
        currentGeneration: Generation?, currentIndex: UInt64? = nil,
        protectedGenerations: Set<Generation> = []
    ) -> RetentionPlan {
        guard retention > .zero else { return RetentionPlan() }
        let windowStart = now - retention

        // The current generation must be restorable inside the window before anything goes. A
        // snapshot at the index its newest one has would only replace that one (see
        // `SnapshotSchedule.isWorthTaking`); that one and the WAL after it cover the window.
        if let currentGeneration {
            let snapshots = listing.generation(currentGeneration)?.snapshots ?? []
            let hasKeptSnapshot = snapshots.contains { $0.createdAt >= windowStart }
            let newestIsCurrent = !SnapshotSchedule.isWorthTaking(
                atIndex: currentIndex, newestSnapshotIndex: snapshots.map(\.index).max())
            guard hasKeptSnapshot || newestIsCurrent else { return RetentionPlan(needsSnapshot: true) }
        }

        // Generations that must survive as a whole even without a snapshot inside the window.
        var survivors = newestGenerationsWithSnapshot(in: listing)
        if let generation = generationServingWindowStart(in: listing, windowStart: windowStart) {
            survivors.insert(generation)
        }

        var plan = RetentionPlan()
        for generation in listing.generations {
            let name = generation.generation
            if protectedGenerations.contains(name) { continue }
            if let floor = restoreFloor(of: generation, windowStart: windowStart) {
                plan.snapshotsToDelete += generation.snapshots.filter { $0.index < floor }
                plan.segmentsToDelete += generation.segments.filter { $0.index < floor }.map(\.position)
                continue
            }
            // No snapshot inside the window. Keep it if a restore point may need it.
            let isNeeded =
                name == currentGeneration
                || survivors.contains(name)
                || hasObject(in: generation, atOrAfter: windowStart)
            if isNeeded {
                // Trim below the newest snapshot at or before the window start, if there is one;
                // a generation with no snapshot at all has nothing that could be a floor.
                if let anchor = newestSnapshot(of: generation, atOrBefore: windowStart) {
                    plan.snapshotsToDelete += generation.snapshots.filter { $0.index < anchor.index }
                    plan.segmentsToDelete += generation.segments.filter { $0.index < anchor.index }.map(\.position)
                }
            } else {
                plan.generationsToDelete.append(name)
            }
        }

        plan.snapshotsToDelete.sort {
            ($0.generation, $0.index, $0.createdAt) < ($1.generation, $1.index, $1.createdAt)
        }
        plan.segmentsToDelete.sort { ($0.generation, $0.index, $0.offset) < ($1.generation, $1.index, $1.offset) }
        plan.generationsToDelete.sort()
        return plan
    }

    /// The lowest WAL index a restore to any time inside the window can start from, for a
    /// generation with at least one snapshot inside the window; nil otherwise.
    static func restoreFloor(of generation: GenerationListing, windowStart: Timestamp) -> UInt64? {
        let keptIndexes = generation.snapshots.filter { $0.createdAt >= windowStart }.map(\.index)
        guard let lowestKept = keptIndexes.min() else { return nil }
        guard let anchor = newestSnapshot(of: generation, atOrBefore: windowStart) else { return lowestKept }
        return min(anchor.index, lowestKept)
    }

    /// The snapshot a restore to `time` would start from: the newest created at or before it
    /// (ties broken by the higher index).
    static func newestSnapshot(of generation: GenerationListing, atOrBefore time: Timestamp) -> SnapshotInfo? {
        generation.snapshots
            .filter { $0.createdAt <= time }
            .max { ($0.createdAt, $0.index) < ($1.createdAt, $1.index) }
    }

    /// The newest generation that has a snapshot, by name and by snapshot time (one or two
    /// generations). Deleting it whole could leave the replica with nothing to restore.
    static func newestGenerationsWithSnapshot(in listing: ReplicaListing) -> Set<Generation> {
        let withSnapshots = listing.generations.filter { !$0.snapshots.isEmpty }
        var result: Set<Generation> = []
        if let byName = withSnapshots.map(\.generation).max() { result.insert(byName) }
        let byTime = withSnapshots.max { lhs, rhs in
            (lhs.snapshots.map(\.createdAt).max()!, lhs.generation) < (
                rhs.snapshots.map(\.createdAt).max()!, rhs.generation
            )
        }
        if let byTime { result.insert(byTime.generation) }
        return result
    }

    /// The generation a restore to the window start would use: among those with a snapshot at
    /// or before it, the one written to most recently at or before it (ties by name).
    static func generationServingWindowStart(in listing: ReplicaListing, windowStart: Timestamp) -> Generation? {
        var best: (lastWrite: Timestamp, generation: Generation)?
        for generation in listing.generations where newestSnapshot(of: generation, atOrBefore: windowStart) != nil {
            let times = generation.snapshots.map(\.createdAt) + generation.segments.map(\.createdAt)
            guard let lastWrite = times.filter({ $0 <= windowStart }).max() else { continue }
            if best.map({ ($0.lastWrite, $0.generation) < (lastWrite, generation.generation) }) ?? true {
                best = (lastWrite, generation.generation)
            }
        }
        return best?.generation
    }

    static func hasObject(in generation: GenerationListing, atOrAfter time: Timestamp) -> Bool {
        generation.snapshots.contains { $0.createdAt >= time } || generation.segments.contains { $0.createdAt >= time }
    }
}
