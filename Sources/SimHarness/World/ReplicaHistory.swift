import Core

/// The store's `ObjectHistory` read as a replica: every snapshot and WAL segment ever written
/// under one root, parsed by generation, index and offset (either layout), with its versions.
/// Reading it adds no scheduling point (see `ObjectHistory`).
struct ReplicaHistory {
    /// One snapshot or WAL segment key and every version it had.
    struct Object {
        var generation: Generation
        var index: UInt64
        /// The segment's offset; nil for a snapshot.
        var offset: UInt64?
        var versions: [ObjectHistory.Version]
    }

    let history: ObjectHistory
    /// The key prefix of the replica's root: "" or "<root>/".
    let rootPrefix: String

    /// Every snapshot and WAL segment ever written under the replica, in key order.
    func objects() -> (snapshots: [Object], segments: [Object]) {
        let prefix = rootPrefix + ReplicaLayout.generationsDirectory + "/"
        var snapshots: [Object] = []
        var segments: [Object] = []
        for (key, versions) in history.keys(under: prefix) {
            let relative = key.dropFirst(prefix.count)
            guard let slash = relative.firstIndex(of: "/"), let generation = Generation(String(relative[..<slash]))
            else { continue }
            let rest = relative[relative.index(after: slash)...]
            if rest.hasPrefix("snapshots/"),
                let index = ReplicaLayout.parseSnapshotName(String(rest.dropFirst("snapshots/".count)))
            {
                snapshots.append(Object(generation: generation, index: index, offset: nil, versions: versions))
            } else if rest.hasPrefix("wal/"),
                let parsed = ReplicaLayout.parseWALKey(String(rest.dropFirst("wal/".count)))
            {
                segments.append(
                    Object(generation: generation, index: parsed.index, offset: parsed.offset, versions: versions))
            }
        }
        return (snapshots, segments)
    }

    /// When each generation's first snapshot landed (its earliest write of any snapshot, deleted
    /// since or not), sorted by generation. Reads only snapshot keys: the oracle asks at every
    /// retention probe, and a replica's WAL keys run to thousands.
    func firstSnapshotTimes() -> [(generation: Generation, time: Timestamp)] {
        var earliest: [Generation: Timestamp] = [:]
        for key in history.keys(firstWrittenAfter: 0).keys {
            guard let generation = generation(ofSnapshotKey: key), let first = history.versions(of: key).first?.written
            else { continue }
            earliest[generation] = min(earliest[generation] ?? first, first)
        }
        return earliest.map { (generation: $0.key, time: $0.value) }.sorted { $0.generation < $1.generation }
    }

    /// The generation of a snapshot key under this replica (either layout), or nil for any
    /// other key.
    func generation(ofSnapshotKey key: String) -> Generation? {
        let prefix = rootPrefix + ReplicaLayout.generationsDirectory + "/"
        guard key.hasSuffix(".snapshot.lz4"), key.hasPrefix(prefix) else { return nil }
        return Generation(String(key.dropFirst(prefix.count).prefix { $0 != "/" }))
    }
}
