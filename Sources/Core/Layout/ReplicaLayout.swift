/// Object keys on a replica, relative to its root.
///
/// Sluice writes the grouped layout (one directory per WAL index, 16-hex names):
///
///     generations/<gen>/snapshots/<index16>.snapshot.lz4
///     generations/<gen>/wal/<index16>/<offset16>.wal.lz4
///
/// and reads Litestream v0.3's flat layout too (8-or-more-hex names, all segments in one folder):
///
///     generations/<gen>/snapshots/<index8>.snapshot.lz4
///     generations/<gen>/wal/<index8>_<offset8>.wal.lz4
public enum ReplicaLayout: String, Sendable, CaseIterable {
    case grouped
    case legacy

    public static let generationsDirectory = "generations"

    public static func generationDirectory(_ generation: Generation) -> String {
        "generations/\(generation)"
    }

    public static func snapshotsDirectory(_ generation: Generation) -> String {
        "generations/\(generation)/snapshots"
    }

    public static func walDirectory(_ generation: Generation) -> String {
        "generations/\(generation)/wal"
    }

    /// Grouped layout only: the folder that holds one index's segments.
    public static func walIndexDirectory(_ generation: Generation, index: UInt64) -> String {
        "generations/\(generation)/wal/\(Hex.format(index, width: 16))"
    }

    public func snapshotKey(_ generation: Generation, index: UInt64) -> String {
        switch self {
        case .grouped:
            return "\(Self.snapshotsDirectory(generation))/\(Hex.format(index, width: 16)).snapshot.lz4"
        case .legacy:
            return "\(Self.snapshotsDirectory(generation))/\(Hex.format(index, width: 8)).snapshot.lz4"
        }
    }

    public func walSegmentKey(_ position: Position) -> String {
        switch self {
        case .grouped:
            return
                "\(Self.walIndexDirectory(position.generation, index: position.index))/\(Hex.format(position.offset, width: 16)).wal.lz4"
        case .legacy:
            return
                "\(Self.walDirectory(position.generation))/\(Hex.format(position.index, width: 8))_\(Hex.format(position.offset, width: 8)).wal.lz4"
        }
    }

    /// Parses a snapshot file name (either layout) into its index.
    public static func parseSnapshotName(_ name: String) -> UInt64? {
        guard name.hasSuffix(".snapshot.lz4") else { return nil }
        return Hex.parse(name.dropLast(".snapshot.lz4".count), widths: 8...16)
    }

    /// Parses a grouped-layout WAL index folder name.
    public static func parseIndexDirectoryName(_ name: String) -> UInt64? {
        parseIndexDirectoryName(utf8: Substring(name).utf8)
    }

    /// Parses a grouped-layout segment file name (inside its index folder) into its offset.
    public static func parseGroupedSegmentName(_ name: String) -> UInt64? {
        parseGroupedSegmentName(utf8: Substring(name).utf8)
    }

    /// Parses a legacy flat segment name `<index>_<offset>.wal.lz4` into (index, offset).
    public static func parseLegacySegmentName(_ name: String) -> (index: UInt64, offset: UInt64)? {
        parseLegacySegmentName(utf8: Substring(name).utf8)
    }

    // The same three over UTF-8 bytes, which `parseWALKey` cuts a key into without copying.

    static func parseIndexDirectoryName(utf8 name: Substring.UTF8View) -> UInt64? {
        Hex.parse(utf8: name, widths: 16...16)
    }

    static func parseGroupedSegmentName(utf8 name: Substring.UTF8View) -> UInt64? {
        walStem(name).flatMap { Hex.parse(utf8: $0, widths: 16...16) }
    }

    static func parseLegacySegmentName(utf8 name: Substring.UTF8View) -> (index: UInt64, offset: UInt64)? {
        guard let stem = walStem(name), let cut = stem.firstIndex(of: UInt8(ascii: "_")),
            let index = Hex.parse(utf8: stem[..<cut], widths: 8...16),
            let offset = Hex.parse(utf8: stem[stem.index(after: cut)...], widths: 8...16)
        else { return nil }
        return (index, offset)
    }

    /// `name` without its `.wal.lz4` suffix, or nil if it has none.
    private static func walStem(_ name: Substring.UTF8View) -> Substring.UTF8View? {
        let suffix = ".wal.lz4".utf8
        guard name.count >= suffix.count, name.suffix(suffix.count).elementsEqual(suffix) else { return nil }
        return name.dropLast(suffix.count)
    }
}
