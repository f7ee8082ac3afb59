/// One object found in a generation's `snapshots` or `wal` folder, as a listing reports it.
public struct ReplicaObjectEntry: Sendable, Equatable {
    /// The key relative to the folder: `<index>.snapshot.lz4`, or for WAL
    /// `<index16>/<offset16>.wal.lz4` (grouped) or `<index>_<offset>.wal.lz4` (legacy).
    public var key: String
    public var size: Int64
    public var modified: Timestamp

    public init(key: String, size: Int64, modified: Timestamp) {
        self.key = key
        self.size = size
        self.modified = modified
    }
}

extension ReplicaLayout {
    /// Snapshot infos from a listing of a generation's snapshots folder. Names of neither layout
    /// (temp files among them) are skipped; where both layouts hold an index, the grouped copy
    /// wins, as reads prefer it. Sorted by index.
    public static func snapshots(of generation: Generation, from entries: [ReplicaObjectEntry]) -> [SnapshotInfo] {
        var chosen: [UInt64: (info: SnapshotInfo, grouped: Bool)] = [:]
        for entry in entries {
            guard let index = parseSnapshotName(entry.key) else { continue }
            let grouped = entry.key == Path.base(of: ReplicaLayout.grouped.snapshotKey(generation, index: index))
            if let existing = chosen[index], existing.grouped, !grouped { continue }
            chosen[index] = (
                SnapshotInfo(generation: generation, index: index, size: entry.size, createdAt: entry.modified), grouped
            )
        }
        return chosen.values.map(\.info).sorted { $0.index < $1.index }
    }

    /// WAL segment infos from a listing of a generation's wal folder (keys relative to it).
    /// Names of neither layout are skipped; where both layouts hold a position, the grouped copy
    /// wins. Sorted by (index, offset).
    public static func walSegments(of generation: Generation, from entries: [ReplicaObjectEntry]) -> [WALSegmentInfo] {
        var chosen: [Position: (info: WALSegmentInfo, grouped: Bool)] = [:]
        for entry in entries {
            guard let (index, offset, grouped) = parseWALKey(entry.key) else { continue }
            let info = WALSegmentInfo(
                generation: generation, index: index, offset: offset, size: entry.size, createdAt: entry.modified)
            if let existing = chosen[info.position], existing.grouped, !grouped { continue }
            chosen[info.position] = (info, grouped)
        }
        return chosen.values.map(\.info).sorted { ($0.index, $0.offset) < ($1.index, $1.offset) }
    }

    /// Parses a key relative to a wal folder in either layout: `<index16>/<offset16>.wal.lz4`
    /// (grouped) or `<index>_<offset>.wal.lz4` (legacy), cut by bytes into the layout's own
    /// name parsers.
    public static func parseWALKey(_ key: String) -> (index: UInt64, offset: UInt64, grouped: Bool)? {
        let bytes = Substring(key).utf8
        guard let slash = bytes.firstIndex(of: UInt8(ascii: "/")) else {
            return parseLegacySegmentName(utf8: bytes).map { ($0.index, $0.offset, false) }
        }
        guard let index = parseIndexDirectoryName(utf8: bytes[..<slash]),
            let offset = parseGroupedSegmentName(utf8: bytes[bytes.index(after: slash)...])
        else { return nil }
        return (index, offset, true)
    }
}
