import Core

/// Every version of every replica object (keys ending `.lz4`: snapshots and WAL segments, in
/// either layout) the store ever held: when it landed, and when a later write or a delete ended
/// it. The oracle reads it to check a restore's plan against what the store held while the
/// restore listed it (invariant 8).
///
/// The store records into it inside its actor; the oracle reads it from the probe's task without
/// a hop, which is why it is a locked class and not actor state: consulting it adds no
/// scheduling point and draws nothing, so a seed's trace is the same with or without a check.
///
/// Order is counted in store events, not in time: several writes can land in one millisecond,
/// and a listing made in that millisecond may have seen some of them and not others. A
/// `moment` is the number of events so far; a version landed at event `landed` (1-based) and
/// was ended by event `ended`.
// @unchecked: touched only on the simulator's one thread.
public final class ObjectHistory: @unchecked Sendable {
    /// One stored version of a key.
    public struct Version: Sendable, Equatable {
        /// The event that wrote it.
        public var landed: UInt64
        /// When it landed: the modification time a listing shows for it.
        public var written: Timestamp
        /// The event that replaced or deleted it; nil while it is the key's current version.
        public var ended: UInt64?

        /// Whether the version was the key's current one at some instant between the two
        /// moments (inclusive): a listing made in between may have shown it.
        public func mayHaveBeenListed(between start: UInt64, and end: UInt64) -> Bool {
            landed <= end && (ended.map { $0 > start } ?? true)
        }

        /// Whether it was the key's current version from `start` to `end`: a complete listing
        /// made in between showed it, with `written` as its time.
        public func wasListed(throughout start: UInt64, and end: UInt64) -> Bool {
            landed <= start && (ended.map { $0 > end } ?? true)
        }
    }

    private let lock = SimLock()
    private var byKey: [String: [Version]] = [:]
    /// Keys in the order of their first write, for `keys(firstWrittenFrom:)`.
    private var firstWritten: [String] = []
    private var events: UInt64 = 0

    init() {}

    /// Whether the store keeps a history of `key`.
    static func records(_ key: String) -> Bool { key.hasSuffix(".lz4") }

    /// The number of events so far.
    public var moment: UInt64 { lock.withLock { events } }

    /// Notes a write of `key` that landed at `time`, ending its previous version.
    func recordWrite(_ key: String, at time: Timestamp) {
        lock.withLock {
            events += 1
            endCurrent(key)
            if byKey[key] == nil { firstWritten.append(key) }
            byKey[key, default: []].append(Version(landed: events, written: time, ended: nil))
        }
    }

    /// Notes the deletion of `key` (a delete of a missing key is not an event).
    func recordRemoval(_ key: String) {
        lock.withLock {
            events += 1
            endCurrent(key)
        }
    }

    private func endCurrent(_ key: String) {
        guard let last = byKey[key]?.indices.last, byKey[key]![last].ended == nil else { return }
        byKey[key]![last].ended = events
    }

    /// The versions of `key`, oldest first; empty for a key never written.
    public func versions(of key: String) -> [Version] {
        lock.withLock { byKey[key] ?? [] }
    }

    /// The keys first written after the first `count` keys ever written, in the order they
    /// were; with the total so far, to pass as `count` next time.
    public func keys(firstWrittenAfter count: Int) -> (keys: ArraySlice<String>, total: Int) {
        lock.withLock { (firstWritten[min(count, firstWritten.count)...], firstWritten.count) }
    }

    /// Every key ever written under `prefix`, with its versions, sorted by key.
    public func keys(under prefix: String) -> [(key: String, versions: [Version])] {
        lock.withLock {
            byKey.filter { $0.key.hasPrefix(prefix) }.map { (key: $0.key, versions: $0.value) }.sorted {
                $0.key < $1.key
            }
        }
    }
}
