/// What a replicator that stopped cleanly leaves beside the database (`<local state>/stopped`), so
/// that its successor can prove nothing happened to the database in between and continue the
/// generation instead of starting a new one with a full snapshot.
///
/// A record is written only when the stop's checkpoint was complete: the database file then
/// holds every frame up to `position`, so `databaseSize` and `databaseDigest` describe the state
/// at that position exactly. A start that finds the shadow still at `position` and the database
/// file with the same size and digest (read while it holds its read lock, see
/// `ReplicatedDatabase.proveUnchangedSinceStop`) knows that every commit since then is in the
/// WAL it finds, so it can take the WAL as a continuation even though the WAL was emptied,
/// deleted or restarted meanwhile. docs/replication.md has the argument in full.
///
/// The record is bound to a position: a record left behind by an earlier stop proves nothing
/// once the shadow has moved on, so a stale one is harmless.
public struct StopRecord: Sendable, Equatable {
    public var position: Position
    public var databaseSize: Int64
    /// XXH64 of the whole database file.
    public var databaseDigest: UInt64

    public init(position: Position, databaseSize: Int64, databaseDigest: UInt64) {
        self.position = position
        self.databaseSize = databaseSize
        self.databaseDigest = databaseDigest
    }

    private static let magic = "sluice stop record 1"

    /// The record as its file holds it: a first line naming the format, then `key value` lines.
    public var encoded: [UInt8] {
        let lines = [
            Self.magic,
            "generation \(position.generation)",
            "index \(position.index)",
            "offset \(position.offset)",
            "database-size \(databaseSize)",
            "database-xxh64 \(Hex.format(databaseDigest, width: 16))",
        ]
        return Array((lines.joined(separator: "\n") + "\n").utf8)
    }

    /// Parses a record; nil for anything else (another format, a torn or edited file), which the
    /// start then treats as no record at all.
    public init?(encoded bytes: [UInt8]) {
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n")
        guard lines.first == Self.magic[...], lines.count == 6 else { return nil }
        var fields: [Substring: Substring] = [:]
        for line in lines.dropFirst() {
            guard let space = line.firstIndex(of: " ") else { return nil }
            fields[line[..<space]] = line[line.index(after: space)...]
        }
        guard let generation = fields["generation"].flatMap({ Generation(String($0)) }),
            let index = fields["index"].flatMap({ UInt64($0) }),
            let offset = fields["offset"].flatMap({ UInt64($0) }),
            let size = fields["database-size"].flatMap({ Int64($0) }), size >= 0,
            let digest = fields["database-xxh64"].flatMap({ Hex.parse($0, widths: 16...16) })
        else { return nil }
        self.init(
            position: Position(generation: generation, index: index, offset: offset), databaseSize: size,
            databaseDigest: digest)
    }

    /// The record in the local state, or nil when there is none or it cannot be parsed. An I/O
    /// error is thrown: the start retries rather than start a generation for one failed read.
    public static func read(state: LocalState, fileSystem: any FileSystem) async throws -> StopRecord? {
        guard
            let bytes = try await FileSystemError.nilIfNotFound({ try await fileSystem.readAll(state.stopRecordFile) })
        else {
            return nil
        }
        return StopRecord(encoded: bytes)
    }

    public func write(state: LocalState, fileSystem: any FileSystem) async throws {
        try await fileSystem.writeAtomically(encoded, to: state.stopRecordFile)
    }

    /// Removes the record; a running replicator must leave none behind for a crash to find.
    public static func remove(state: LocalState, fileSystem: any FileSystem) async throws {
        try await fileSystem.remove(state.stopRecordFile)
        try await fileSystem.syncDirectory(state.directory)
    }

    /// The XXH64 digest of the first `size` bytes of a file, read through `handle` in `chunkSize`
    /// pieces (the database's long-lived handle: never a second descriptor of the database file),
    /// each read tried again after an error: a whole database is many reads, and one I/O error
    /// among them would cost the next start a full snapshot. Nil when the file turned out
    /// shorter: it changed while being read.
    public static func digest(of handle: any FileHandle, size: Int64, chunkSize: Int) async throws -> UInt64? {
        let source = FileRangeSource(handle: handle, from: 0, to: size, closesHandle: false, readAttempts: 8)
        var hasher = XXH64()
        var remaining = size
        do {
            while remaining > 0 {
                let bytes = try await source.read(upTo: chunkSize)
                hasher.update(bytes)
                remaining -= Int64(bytes.count)
            }
        } catch is ByteSourceError {
            return nil
        }
        return hasher.digest()
    }
}
