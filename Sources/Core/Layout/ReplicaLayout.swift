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
            return "\(Self.walIndexDirectory(position.generation, index: position.index))/\(Hex.format(position.offset, width: 16)).wal.lz4"
        case .legacy:
            return "\(Self.walDirectory(position.generation))/\(Hex.format(position.index, width: 8))_\(Hex.format(position.offset, width: 8)).wal.lz4"
        }
    }

    /// Parses a snapshot file name (either layout) into its index.
    public static func parseSnapshotName(_ name: String) -> UInt64? {
        guard name.hasSuffix(".snapshot.lz4") else { return nil }
        return Hex.parse(name.dropLast(".snapshot.lz4".count), widths: 8...16)
    }

    /// Parses a grouped-layout WAL index folder name.
    public static func parseIndexDirectoryName(_ name: String) -> UInt64? {
        Hex.parse(Substring(name), widths: 16...16)
    }

    /// Parses a grouped-layout segment file name (inside its index folder) into its offset.
    public static func parseGroupedSegmentName(_ name: String) -> UInt64? {
        guard name.hasSuffix(".wal.lz4") else { return nil }
        return Hex.parse(name.dropLast(".wal.lz4".count), widths: 16...16)
    }

    /// Parses a legacy flat segment name `<index>_<offset>.wal.lz4` into (index, offset).
    public static func parseLegacySegmentName(_ name: String) -> (index: UInt64, offset: UInt64)? {
        guard name.hasSuffix(".wal.lz4") else { return nil }
        let stem = name.dropLast(".wal.lz4".count)
        let parts = stem.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 2,
              let index = Hex.parse(parts[0], widths: 8...16),
              let offset = Hex.parse(parts[1], widths: 8...16)
        else { return nil }
        return (index, offset)
    }
}
