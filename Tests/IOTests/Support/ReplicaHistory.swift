/// What a test saw in one generation of a file replica over time, checked against retention as
/// it goes: an object may go only once it is below the generation's restore floor (the newest
/// snapshot at or before the window start), must be gone within `lag` of that, is never written
/// twice, and the newest snapshot always stays.
///
/// Times are real seconds; `window` and `lag` are the fake durations divided by the clock's rate.
struct ReplicaHistory {
    typealias Object = ReplicaFolder.Object

    let window: Double
    let lag: Double
    /// Labels a real time for messages (its fake time).
    let label: (Double) -> String
    /// Every object seen, as first seen, by key.
    private(set) var seen: [String: Object] = [:]
    /// The real time by which each deleted object was seen to be gone.
    private(set) var deleted: [String: Double] = [:]
    private(set) var violations: [String] = []

    init(window: Double, lag: Double, label: @escaping (Double) -> String) {
        self.window = window
        self.lag = lag
        self.label = label
    }

    /// Every snapshot seen, deleted or not, oldest first.
    var snapshots: [Object] {
        seen.values.filter { $0.kind == .snapshot }.sorted { ($0.modified, $0.index) < ($1.modified, $1.index) }
    }

    func objects(_ kind: Object.Kind) -> [Object] { seen.values.filter { $0.kind == kind } }

    func deletedCount(_ kind: Object.Kind) -> Int {
        deleted.keys.filter { seen[$0]?.kind == kind }.count
    }

    /// Records a listing taken between real times `before` and `after`, and checks it.
    mutating func observe(_ listing: [Object], from before: Double, to after: Double) {
        var present: [String: Object] = [:]
        for object in listing { present[object.key] = object }
        for object in listing {
            if let earlier = seen[object.key] {
                if earlier.modified != object.modified || earlier.size != object.size {
                    flag(
                        "\(object) was written again (first at \(label(earlier.modified)), again at \(label(object.modified)))"
                    )
                }
                if deleted[object.key] != nil { flag("\(object) came back after it was deleted") }
            } else {
                seen[object.key] = object
            }
        }
        if Set(seen.values.map(\.generation)).count > 1 {
            flag("more than one generation: \(Set(seen.values.map(\.generation)).sorted())")
        }
        for (key, object) in seen where present[key] == nil && deleted[key] == nil {
            deleted[key] = after
            let floor = restoreFloor(windowStart: after - window)
            if floor.map({ object.index >= $0 }) ?? true {
                flag(
                    "\(object) (written \(label(object.modified))) deleted by \(label(after)), inside the window: floor then \(floor.map { "\($0)" } ?? "none")"
                )
            }
        }
        if let overdue = restoreFloor(windowStart: before - window - lag) {
            for object in listing where object.index < overdue {
                flag(
                    "\(object) (written \(label(object.modified))) still there at \(label(before)), below the floor \(overdue) of the window start before the last retention check"
                )
            }
        }
        if let newest = snapshots.last, present[newest.key] == nil {
            flag("the newest snapshot \(newest) is gone at \(label(after))")
        }
    }

    /// The lowest WAL index a restore inside a window starting at `windowStart` needs, as
    /// `RetentionPlanner` computes it from the snapshots' times; nil without a snapshot inside
    /// the window (then nothing may go).
    func restoreFloor(windowStart: Double) -> UInt64? {
        let snapshots = self.snapshots
        guard let lowestKept = snapshots.filter({ $0.modified >= windowStart }).map(\.index).min() else { return nil }
        guard let anchor = snapshots.last(where: { $0.modified <= windowStart }) else { return lowestKept }
        return min(anchor.index, lowestKept)
    }

    private mutating func flag(_ message: String) {
        if !violations.contains(message) { violations.append(message) }
    }
}
