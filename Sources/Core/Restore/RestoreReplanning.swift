/// What a restore does when an object its plan listed is gone by the time it is read.
///
/// Retention runs inside the replicator, usually on another machine, and cannot see a restore
/// that runs elsewhere, often with read-only credentials that could not announce it anyway
/// (Litestream #224, #1270, #1307: restores failing on segments retention deleted under them).
/// So a restore does not try to hold retention off. When a planned object turns out to be
/// missing, it lists the replica again and plans the same request again:
///
/// - Retention deletes only what no restore point inside its window needs, so the new plan for
///   "latest", or for a time still inside the window, uses the newer snapshot and WAL that
///   retention kept, and the restore goes on from scratch with it.
/// - A target that has meanwhile left the window fails with the planner's own error (no
///   snapshot at or before it, generation not found), which is the truth about the replica.
/// - A new plan identical to the failed one means the listing still shows an object that cannot
///   be read. That is damage or an inconsistent store, not retention, so the original error
///   stands rather than retrying a plan that will fail the same way.
///
/// A replica that changes under every attempt (retention racing a restore again and again) is
/// given up on after `limit` new plans.
public enum RestoreReplanning {
    /// How many new plans one restore makes after objects vanished.
    public static let limit = 3

    /// The plan to carry out next after `failed` hit a missing object, or nil to give up with
    /// that error: `fresh` is the same request planned from a new listing, and `replans` the
    /// number of new plans this restore has already made.
    public static func nextPlan(after failed: RestorePlan, fresh: RestorePlan, replans: Int) -> RestorePlan? {
        guard replans < limit, fresh != failed else { return nil }
        return fresh
    }
}
