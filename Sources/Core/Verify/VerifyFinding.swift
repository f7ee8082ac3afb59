/// One thing `sluice verify` found on a replica, about one object (or the place where an object
/// should be), on one line.
///
/// Two severities: a `problem` is data that is lost or damaged (a restore to some point would
/// fail or differ); a `live` finding is what a replicator still writing looks like (the newest
/// index still open, a write in progress) and is not a failure.
public struct VerifyFinding: Sendable, Hashable, CustomStringConvertible {
    /// Whether a finding fails the check.
    public enum Severity: String, Sendable, Hashable {
        case problem
        case live
    }

    /// What kind of damage or activity it is; the raw value is the JSON `kind`.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case unexpectedObject = "unexpected-object"
        case hostileKey = "hostile-key"
        case temporaryObject = "temporary-object"
        case noSnapshot = "no-snapshot"
        case missingIndex = "missing-index"
        case missingInitialSegment = "missing-initial-segment"
        case gap
        case overlap
        case indexIncomplete = "index-incomplete"
        case corruptObject = "corrupt-object"
        case invalidWAL = "invalid-wal"
        case unfinishedWAL = "unfinished-wal"
        case pageSizeMismatch = "page-size-mismatch"
        case invalidSnapshot = "invalid-snapshot"
        case unreadable
        case openIndex = "open-index"
        case restoreFailed = "restore-failed"
    }

    public var severity: Severity
    public var kind: Kind
    /// The generation the object belongs to, when it belongs to one.
    public var generation: Generation?
    /// The object's key relative to the replica root (`generations/<gen>/wal/<index>/<offset>.wal.lz4`),
    /// or where a missing object should be.
    public var object: String
    /// What is wrong, in a few words, without the object's name.
    public var message: String

    public init(_ severity: Severity, _ kind: Kind, generation: Generation?, object: String, message: String) {
        self.severity = severity
        self.kind = kind
        self.generation = generation
        self.object = object
        self.message = message
    }

    /// What two checks of one replica agree on when they report "the same" finding: messages
    /// may differ in detail (an offset reached), the kind and the object may not.
    public var identity: String { "\(kind.rawValue) \(object)" }

    /// `problem: <object>: <message>`.
    public var description: String { "\(severity.rawValue): \(object): \(message)" }
}

/// A WAL index or offset as object names spell it: 16 lowercase hex digits.
func hex16(_ value: UInt64) -> String { Hex.format(value, width: 16) }

/// Keys of the objects a finding names, relative to the replica root.
public enum VerifyObjectKey {
    public static func generation(_ generation: Generation) -> String {
        ReplicaLayout.generationDirectory(generation)
    }

    public static func snapshot(_ generation: Generation, index: UInt64) -> String {
        ReplicaLayout.grouped.snapshotKey(generation, index: index)
    }

    public static func segment(_ position: Position) -> String {
        ReplicaLayout.grouped.walSegmentKey(position)
    }

    /// The folder (grouped layout) where an index's segments should be.
    public static func index(_ generation: Generation, index: UInt64) -> String {
        ReplicaLayout.walIndexDirectory(generation, index: index) + "/"
    }

    /// `generations/<gen>/<relative>`, for a key a raw listing returned.
    public static func raw(_ generation: Generation, _ relative: String) -> String {
        "\(ReplicaLayout.generationDirectory(generation))/\(relative)"
    }
}
