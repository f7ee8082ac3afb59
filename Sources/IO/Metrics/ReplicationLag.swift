import Core

/// How far behind the database each replica is, in seconds: the age of the oldest change the
/// shadow WAL holds that the replica does not. A replica that holds everything has no lag; one
/// whose position is not known yet lags from the first change the replicator copied.
///
/// The tracker keeps the times at which the shadow's position moved, from the oldest one some
/// replica still lacks; positions order by generation (names sort by age), then index, offset.
public struct ReplicationLag: Sendable {
    private struct Advance: Sendable {
        var position: Position
        var at: Timestamp
    }

    private var advances: [Advance] = []
    private var replicas: [String: Position?]

    /// At most this many advances are kept. Past it the second-oldest is dropped: the lag of
    /// the replica furthest behind stays exact, a replica in between may show a little less.
    static let capacity = 4096

    /// - Parameter replicas: Every replica location of the database.
    public init(replicas: [String]) {
        self.replicas = Dictionary(uniqueKeysWithValues: replicas.map { ($0, nil) })
    }

    /// The shadow's position after a pass, at `now`.
    public mutating func databaseReached(_ position: Position, at now: Timestamp) {
        if let last = advances.last, !Self.isAfter(position, last.position) { return }
        advances.append(Advance(position: position, at: now))
        if advances.count > Self.capacity { advances.remove(at: 1) }
    }

    /// A replica's position after an attempt.
    public mutating func replicaReached(_ replica: String, _ position: Position?) {
        replicas[replica] = position
        // Drop what every replica holds.
        let positions = Array(replicas.values)
        advances.removeAll { advance in positions.allSatisfy { $0.map { !Self.isAfter(advance.position, $0) } ?? false }
        }
    }

    /// Seconds `replica` is behind at `now` (zero when it holds everything copied so far).
    public func lag(of replica: String, at now: Timestamp) -> Double {
        let held = replicas[replica] ?? nil
        guard let oldest = advances.first(where: { advance in held.map { Self.isAfter(advance.position, $0) } ?? true })
        else {
            return 0
        }
        return Double(max(0, now.millisecondsSince1970 - oldest.at.millisecondsSince1970)) / 1000
    }

    /// Whether `position` is past `other`: a newer generation, or further into the same one.
    static func isAfter(_ position: Position, _ other: Position) -> Bool {
        if position.generation != other.generation { return position.generation > other.generation }
        return (position.index, position.offset) > (other.index, other.offset)
    }
}
