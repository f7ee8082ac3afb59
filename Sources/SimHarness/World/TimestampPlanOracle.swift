import Core

/// Invariant 8 for timestamp restores: the plan a restore to time T carried out is exactly the
/// one `RestorePlanner` promises for the replica as it stood while the restore listed it.
///
/// ### What is checked
/// From the restore's report (generation g, snapshot index s, final position F) and the store's
/// history of every object version (`ObjectHistory`), for a restore bracketed by two store
/// moments:
///
/// 1. **The snapshot was uploaded at or before T**: some version of snapshot (g, s) that may have
///    been listed during the restore was written at or before T.
/// 2. **It is g's newest such snapshot**: no snapshot of g with a higher index was listed
///    throughout the restore with a write time at or before T.
/// 3. **g is the newest such generation**: no generation named after g had a snapshot listed
///    throughout the restore with a write time at or before T (Sluice's names sort by age).
/// 4. **Every applied segment was uploaded at or before T**: each segment of g from (s, 0) up to
///    F that may have been listed has such a version.
/// 5. **The WAL stops where T cuts it**: the first segment of g at or after F that may have
///    been listed was not listed throughout the restore with a write time at or before T (the
///    planner stops at the first segment uploaded after T, not earlier).
///
/// ### What is not checked, and why
/// An object written, replaced or deleted while the restore ran may or may not have been in its
/// listing (retention and the replicator keep running, and a restore may plan again), so the
/// checks that say "the planner must have used this" (2, 3, 5) only count versions current for
/// the whole restore, and the checks that say "the planner cannot have used this" (1, 4) accept
/// any version current at some instant of it. Where both layouts hold one position, any copy
/// satisfies 1 and 4 and every copy must be listed throughout for 2, 3 and 5. Whether segments
/// join up byte for byte is the downloader's check, not the plan's.
struct TimestampPlanOracle {
    /// Every version of every object of the replica.
    let replica: ReplicaHistory
    /// Store moments before the restore began and after it returned.
    let start: UInt64
    let end: UInt64

    private typealias Object = ReplicaHistory.Object

    /// A description of the first promise the restore to `target` broke, or nil.
    func violation(target: Timestamp, report: RestoreReport) -> String? {
        let (snapshots, segments) = replica.objects()
        let maybe: (Object) -> Bool = { $0.versions.contains { $0.mayHaveBeenListed(between: start, and: end) } }
        let maybeByTarget: (Object) -> Bool = { object in
            object.versions.contains { $0.mayHaveBeenListed(between: start, and: end) && $0.written <= target }
        }
        let certainlyByTarget: (Object) -> Bool = { object in
            object.versions.contains { $0.wasListed(throughout: start, and: end) && $0.written <= target }
        }
        let generation = report.generation
        let used = snapshots.filter { $0.generation == generation && $0.index == report.snapshotIndex }
        if !used.contains(where: maybeByTarget) {
            return
                "restore to \(target) used snapshot \(Hex.format(report.snapshotIndex, width: 16)) of generation \(generation), uploaded at \(uploadTimes(used)), after the target"
        }
        let later = Dictionary(
            grouping: snapshots.filter { $0.generation == generation && $0.index > report.snapshotIndex }, by: \.index)
        if let missed = later.keys.sorted().first(where: { later[$0]!.allSatisfy(certainlyByTarget) }) {
            return
                "restore to \(target) used snapshot \(Hex.format(report.snapshotIndex, width: 16)) of generation \(generation), but snapshot \(Hex.format(missed, width: 16)), uploaded at \(uploadTimes(later[missed]!)), was listed all along"
        }
        let newer = Dictionary(
            grouping: snapshots.filter { $0.generation > generation }, by: { "\($0.generation)/\($0.index)" })
        if let missed = newer.keys.sorted().first(where: { newer[$0]!.allSatisfy(certainlyByTarget) }) {
            return
                "restore to \(target) used generation \(generation), but the newer generation's snapshot \(missed), uploaded at \(uploadTimes(newer[missed]!)), was listed all along"
        }

        // The WAL: every position of g from the snapshot's index on, copies of a position together.
        let floor = (report.snapshotIndex, UInt64(0))
        let final = (report.finalPosition.index, report.finalPosition.offset)
        let positions = Dictionary(
            grouping: segments.filter { $0.generation == generation && ($0.index, $0.offset!) >= floor },
            by: { Position(generation: generation, index: $0.index, offset: $0.offset!) })
        for position in positions.keys.sorted(by: { ($0.index, $0.offset) < ($1.index, $1.offset) }) {
            let copies = positions[position]!
            guard copies.contains(where: maybe) else { continue }
            if (position.index, position.offset) < final {
                if !copies.contains(where: maybeByTarget) {
                    return
                        "restore to \(target) applied WAL segment \(position), uploaded at \(uploadTimes(copies)), after the target"
                }
                continue
            }
            if copies.allSatisfy(certainlyByTarget) {
                return
                    "restore to \(target) stopped at \(report.finalPosition), but the next segment \(position), uploaded at \(uploadTimes(copies)), was listed all along"
            }
            return nil
        }
        return nil
    }

    private func uploadTimes(_ objects: [Object]) -> String {
        let times = objects.flatMap(\.versions).filter { $0.mayHaveBeenListed(between: start, and: end) }.map {
            "\($0.written)"
        }
        return times.isEmpty ? "(never listed)" : times.joined(separator: " and ")
    }
}
