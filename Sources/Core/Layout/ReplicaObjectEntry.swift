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
            chosen[index] = (SnapshotInfo(generation: generation, index: index, size: entry.size, createdAt: entry.modified), grouped)
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
            let info = WALSegmentInfo(generation: generation, index: index, offset: offset, size: entry.size, createdAt: entry.modified)
            if let existing = chosen[info.position], existing.grouped, !grouped { continue }
            chosen[info.position] = (info, grouped)
        }
        return chosen.values.map(\.info).sorted { ($0.index, $0.offset) < ($1.index, $1.offset) }
    }

    /// Parses a key relative to a wal folder in either layout: `<index16>/<offset16>.wal.lz4`
    /// (grouped) or `<index>_<offset>.wal.lz4` with 8 to 16 digits each (legacy), lowercase hex.
    /// One pass over the bytes: a restore and every resumed sync parse a whole generation's keys.
    public static func parseWALKey(_ key: String) -> (index: UInt64, offset: UInt64, grouped: Bool)? {
        var key = key
        return key.withUTF8 { parseWALKey(bytes: $0) }
    }

    private static let walSuffix = Array(".wal.lz4".utf8)

    private static func parseWALKey(bytes: UnsafeBufferPointer<UInt8>) -> (index: UInt64, offset: UInt64, grouped: Bool)? {
        let stemEnd = bytes.count - walSuffix.count
        guard stemEnd > 0, walSuffix.indices.allSatisfy({ bytes[stemEnd + $0] == walSuffix[$0] }) else { return nil }
        var index: UInt64 = 0
        var position = 0
        while position < stemEnd, let digit = hexDigit(bytes[position]) {
            guard position < 16 else { return nil }
            index = index << 4 | digit
            position += 1
        }
        guard position < stemEnd else { return nil }
        let separator = bytes[position]
        let indexWidth = position
        position += 1
        var offset: UInt64 = 0
        let offsetStart = position
        while position < stemEnd, let digit = hexDigit(bytes[position]) {
            guard position - offsetStart < 16 else { return nil }
            offset = offset << 4 | digit
            position += 1
        }
        guard position == stemEnd else { return nil }
        let offsetWidth = stemEnd - offsetStart
        switch separator {
        case UInt8(ascii: "/") where indexWidth == 16 && offsetWidth == 16:
            return (index, offset, true)
        case UInt8(ascii: "_") where (8...16).contains(indexWidth) && (8...16).contains(offsetWidth):
            return (index, offset, false)
        default:
            return nil
        }
    }

    @inline(__always)
    private static func hexDigit(_ byte: UInt8) -> UInt64? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt64(byte &- UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt64(byte &- UInt8(ascii: "a") &+ 10)
        default: return nil
        }
    }
}
