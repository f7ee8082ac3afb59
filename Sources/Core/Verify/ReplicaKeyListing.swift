/// A replica client that can list every object of a generation as stored, names no layout
/// parses included, so that `sluice verify` can report stray and hostile names that the
/// ordinary listings (`snapshots(in:)`, `walSegments(in:)`) skip without a word.
public protocol ReplicaKeyListing: ReplicaClient {
    /// Every object under `generations/<generation>/`, keys relative to that folder
    /// (`snapshots/<name>`, `wal/<index>/<name>`, anything else as found), in no order.
    /// Empty if the generation does not exist.
    func objectEntries(in generation: Generation) async throws -> [ReplicaObjectEntry]
    /// Names directly under `generations/` that are not generation names, objects or folders.
    func strayGenerationNames() async throws -> [String]
}

/// What a key found under a generation folder is, judged by its name alone.
public enum ReplicaKeyClass: Sendable, Equatable {
    case snapshot
    case walSegment
    /// A writer's `*.tmp` upload name: a write in progress (or one a writer that died left).
    case temporary
    /// A key with an empty, `.` or `..` component, or control characters: it could point
    /// outside the replica in a reader that joined it to a path.
    case hostile(String)
    /// A name neither layout spells.
    case unexpected
}

extension ReplicaKeyClass {
    /// Classifies `key`, relative to a generation folder.
    public static func classify(_ key: String) -> ReplicaKeyClass {
        if let reason = hostileReason(key) { return .hostile(reason) }
        if key.hasSuffix(".tmp") { return .temporary }
        if key.hasPrefix("snapshots/") {
            let name = key.dropFirst("snapshots/".count)
            return !name.contains("/") && ReplicaLayout.parseSnapshotName(String(name)) != nil ? .snapshot : .unexpected
        }
        if key.hasPrefix("wal/") {
            return ReplicaLayout.parseWALKey(String(key.dropFirst("wal/".count))) != nil ? .walSegment : .unexpected
        }
        return .unexpected
    }

    /// Why a key is hostile, or nil when it is not.
    static func hostileReason(_ key: String) -> String? {
        if key.hasPrefix("/") { return "the key has an absolute path" }
        if key.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F || $0 == UInt8(ascii: "\\") }) {
            return "the key holds control characters or backslashes"
        }
        for component in key.split(separator: "/", omittingEmptySubsequences: false) {
            if component == ".." { return "the key has a '..' component" }
            if component == "." { return "the key has a '.' component" }
            if component.isEmpty { return "the key has an empty component" }
        }
        return nil
    }
}

/// A generation's listing as verify sees it: the parsed listing (as restore plans from it) plus
/// findings about names that are not part of it.
public struct VerifyListing: Sendable, Equatable {
    public var listing: GenerationListing
    public var findings: [VerifyFinding]
    /// Positions and snapshot indexes found only under Litestream's flat names, so findings
    /// name the key that exists.
    public var legacySegments: Set<Position>
    public var legacySnapshots: Set<UInt64>

    public init(
        listing: GenerationListing, findings: [VerifyFinding] = [],
        legacySegments: Set<Position> = [], legacySnapshots: Set<UInt64> = []
    ) {
        self.listing = listing
        self.findings = findings
        self.legacySegments = legacySegments
        self.legacySnapshots = legacySnapshots
    }

    /// Builds the listing from raw entries (keys relative to the generation folder).
    public static func make(_ generation: Generation, entries: [ReplicaObjectEntry]) -> VerifyListing {
        var snapshotEntries: [ReplicaObjectEntry] = []
        var walEntries: [ReplicaObjectEntry] = []
        var findings: [VerifyFinding] = []
        for entry in entries.sorted(by: { $0.key < $1.key }) {
            let object = VerifyObjectKey.raw(generation, entry.key)
            switch ReplicaKeyClass.classify(entry.key) {
            case .snapshot:
                snapshotEntries.append(
                    ReplicaObjectEntry(
                        key: String(entry.key.dropFirst("snapshots/".count)),
                        size: entry.size, modified: entry.modified))
            case .walSegment:
                walEntries.append(
                    ReplicaObjectEntry(
                        key: String(entry.key.dropFirst("wal/".count)),
                        size: entry.size, modified: entry.modified))
            case .temporary:
                findings.append(
                    VerifyFinding(
                        .live, .temporaryObject, generation: generation, object: object,
                        message: "an upload in progress (or left by a writer that stopped)"))
            case .hostile(let reason):
                findings.append(
                    VerifyFinding(
                        .problem, .hostileKey, generation: generation, object: object,
                        message: "\(reason); no reader uses it, remove it"))
            case .unexpected:
                findings.append(
                    VerifyFinding(
                        .problem, .unexpectedObject, generation: generation, object: object,
                        message: "not a snapshot or WAL segment name of either layout; "
                            + "restore ignores it"))
            }
        }
        let listing = GenerationListing(
            generation: generation,
            snapshots: ReplicaLayout.snapshots(of: generation, from: snapshotEntries),
            segments: ReplicaLayout.walSegments(of: generation, from: walEntries))
        // Where both layouts hold an object, reads take the grouped one: name that one.
        var groupedSegments: Set<Position> = []
        var legacySegments: Set<Position> = []
        for entry in walEntries {
            guard let (index, offset, grouped) = ReplicaLayout.parseWALKey(entry.key) else { continue }
            let position = Position(generation: generation, index: index, offset: offset)
            if grouped { groupedSegments.insert(position) } else { legacySegments.insert(position) }
        }
        var groupedSnapshots: Set<UInt64> = []
        var legacySnapshots: Set<UInt64> = []
        for entry in snapshotEntries {
            guard let index = ReplicaLayout.parseSnapshotName(entry.key) else { continue }
            let grouped = entry.key == Path.base(of: ReplicaLayout.grouped.snapshotKey(generation, index: index))
            if grouped { groupedSnapshots.insert(index) } else { legacySnapshots.insert(index) }
        }
        legacySegments.subtract(groupedSegments)
        legacySnapshots.subtract(groupedSnapshots)
        return VerifyListing(
            listing: listing, findings: findings, legacySegments: legacySegments,
            legacySnapshots: legacySnapshots)
    }

    /// The key of a listed segment, in the layout it was found in.
    public func key(of position: Position) -> String {
        legacySegments.contains(position)
            ? ReplicaLayout.legacy.walSegmentKey(position) : VerifyObjectKey.segment(position)
    }

    /// The key of a listed snapshot, in the layout it was found in.
    public func key(ofSnapshot index: UInt64) -> String {
        legacySnapshots.contains(index)
            ? ReplicaLayout.legacy.snapshotKey(listing.generation, index: index)
            : VerifyObjectKey.snapshot(listing.generation, index: index)
    }
}

extension ReplicaKeyClass {
    /// A generation folder's names in the order a raw listing reads them: `wal` first, since
    /// retention deletes snapshots before the WAL they needed, then the rest sorted.
    public static func walFirst(_ names: [String]) -> [String] {
        names.filter { $0 == "wal" } + names.filter { $0 != "wal" }.sorted()
    }
}
