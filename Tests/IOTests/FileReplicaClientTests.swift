import Core
import Foundation
import IO
import Testing

@Suite("FileReplicaClient")
struct FileReplicaClientTests {
    let fs = POSIXFileSystem(runner: ThreadPoolRunner(threads: 2))
    let generation = Generation(value: 0x0123_4567_89ab_cdef)

    private func payload(_ seed: Int, count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: ($0 / 7) &* 13 &+ seed) }
    }

    private func compressed(_ bytes: [UInt8]) -> any ByteSource {
        LZ4CompressingSource(BytesSource(bytes))
    }

    private func decompressed(_ source: any ByteSource) async throws -> [UInt8] {
        let reader = LZ4DecompressingSource(source)
        defer { Task { await reader.close() } }
        return try await reader.readToEnd(chunkSize: 1000)
    }

    @Test("an empty or missing replica lists nothing")
    func empty() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let client = FileReplicaClient(root: dir.file("replica/"), fileSystem: fs)
        #expect(client.kind == "file")
        #expect(client.location == dir.file("replica"))
        #expect(try await client.generations() == [])
        #expect(try await client.snapshots(in: generation) == [])
        #expect(try await client.walSegments(in: generation) == [])
    }

    @Test("snapshots and segments round trip through LZ4 in the grouped layout")
    func roundTripGrouped() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let client = FileReplicaClient(root: dir.file("replica"), fileSystem: fs)
        let snapshot = payload(1, count: 100_000)
        let segments: [(Position, [UInt8])] = [
            (Position(generation: generation, index: 0, offset: 0), payload(2, count: 4152)),
            (Position(generation: generation, index: 0, offset: 4152), payload(3, count: 4120)),
            (Position(generation: generation, index: 1, offset: 0), payload(4, count: 32 + 4120)),
        ]

        let info = try await client.writeSnapshot(generation: generation, index: 0, data: compressed(snapshot))
        #expect(info.index == 0 && info.generation == generation)
        let written = try await fs.stat(
            dir.file("replica/generations/\(generation)/snapshots/0000000000000000.snapshot.lz4"))
        #expect(info.size == written?.size)
        #expect(info.createdAt == written?.modified)
        for (position, bytes) in segments {
            let segment = try await client.writeWALSegment(at: position, data: compressed(bytes))
            #expect(segment.position == position)
        }
        #expect(
            try await fs.stat(
                dir.file("replica/generations/\(generation)/wal/0000000000000001/0000000000000000.wal.lz4")) != nil)

        #expect(try await client.generations() == [generation])
        #expect(try await client.snapshots(in: generation) == [info])
        let listed = try await client.walSegments(in: generation)
        #expect(listed.map(\.position) == segments.map(\.0))

        #expect(try await decompressed(try await client.openSnapshot(generation: generation, index: 0)) == snapshot)
        for (position, bytes) in segments {
            #expect(try await decompressed(try await client.openWALSegment(at: position)) == bytes)
        }

        // A retried write replaces the object and leaves no temp file.
        try await client.writeWALSegment(at: segments[0].0, data: compressed(payload(9, count: 10)))
        #expect(try await decompressed(try await client.openWALSegment(at: segments[0].0)) == payload(9, count: 10))
        let names = try await fs.list(dir.file("replica/generations/\(generation)/wal/0000000000000000"))
        #expect(names == ["0000000000000000.wal.lz4", "0000000000001038.wal.lz4"])
    }

    @Test("the legacy layout is written on request and read by a grouped client")
    func legacyWrite() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let legacy = FileReplicaClient(root: dir.path, fileSystem: fs, writeLayout: .legacy)
        let position = Position(generation: generation, index: 2, offset: 0x20)
        try await legacy.writeSnapshot(generation: generation, index: 2, data: compressed([1, 2, 3]))
        try await legacy.writeWALSegment(at: position, data: compressed([4, 5]))
        #expect(try await fs.list(dir.file("generations/\(generation)/snapshots")) == ["00000002.snapshot.lz4"])
        #expect(try await fs.list(dir.file("generations/\(generation)/wal")) == ["00000002_00000020.wal.lz4"])

        let reader = FileReplicaClient(root: dir.path, fileSystem: fs)
        #expect(try await reader.snapshots(in: generation).map(\.index) == [2])
        #expect(try await reader.walSegments(in: generation).map(\.position) == [position])
        #expect(try await decompressed(try await reader.openSnapshot(generation: generation, index: 2)) == [1, 2, 3])
        #expect(try await decompressed(try await reader.openWALSegment(at: position)) == [4, 5])
    }

    @Test("listings merge both layouts and ignore temp and foreign files")
    func mixedListing() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let client = FileReplicaClient(root: dir.path, fileSystem: fs)
        let base = "generations/\(generation)"
        // Litestream-named objects, made by hand.
        for (name, bytes) in [
            ("snapshots/00000000.snapshot.lz4", [UInt8](repeating: 1, count: 11)),
            ("wal/00000000_00000000.wal.lz4", [UInt8](repeating: 2, count: 12)),
            ("wal/00000000_00001038.wal.lz4", [UInt8](repeating: 3, count: 13)),
            ("snapshots/00000001.snapshot.lz4.123-4.tmp", [0]),
            ("wal/00000000_00002070.wal.lz4.tmp", [0]),
            ("wal/notes.txt", [0]),
        ] {
            try await fs.createDirectory(Path.directory(of: dir.file("\(base)/\(name)")))
            try await fs.writeAtomically(bytes, to: dir.file("\(base)/\(name)"))
        }
        try await client.writeSnapshot(generation: generation, index: 1, data: BytesSource([7]))
        try await client.writeWALSegment(
            at: Position(generation: generation, index: 1, offset: 0), data: BytesSource([8, 8]))
        try await fs.writeAtomically([0], to: dir.file("\(base)/wal/0000000000000001/0000000000001038.wal.lz4.9-9.tmp"))
        try await fs.createDirectory(dir.file("generations/not-a-generation"))

        #expect(try await client.generations() == [generation])
        let snapshots = try await client.snapshots(in: generation)
        #expect(snapshots.map(\.index) == [0, 1])
        #expect(snapshots.map(\.size) == [11, 1])
        let segments = try await client.walSegments(in: generation)
        #expect(segments.map { [$0.index, $0.offset] } == [[0, 0], [0, 0x1038], [1, 0]])
        #expect(segments.map(\.size) == [12, 13, 2])
        #expect(
            try await client.openWALSegment(at: Position(generation: generation, index: 0, offset: 0x1038)).readToEnd()
                == [UInt8](repeating: 3, count: 13))
    }

    @Test("missing objects throw notFound naming the replica and key")
    func notFound() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let client = FileReplicaClient(root: dir.file("nowhere"), fileSystem: fs)
        let position = Position(generation: generation, index: 3, offset: 0)
        await #expect(
            throws: ReplicaClientError.notFound(
                replica: dir.file("nowhere"), key: "generations/\(generation)/snapshots/0000000000000003.snapshot.lz4")
        ) {
            _ = try await client.openSnapshot(generation: generation, index: 3)
        }
        await #expect(
            throws: ReplicaClientError.notFound(
                replica: dir.file("nowhere"),
                key: "generations/\(generation)/wal/0000000000000003/0000000000000000.wal.lz4")
        ) {
            _ = try await client.openWALSegment(at: position)
        }
    }

    @Test("deletes accept missing objects and prune emptied index folders")
    func deletes() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let client = FileReplicaClient(root: dir.path, fileSystem: fs)
        let positions = [(0, 0), (0, 0x1038), (1, 0), (2, 0)].map {
            Position(generation: generation, index: UInt64($0.0), offset: UInt64($0.1))
        }
        for position in positions { try await client.writeWALSegment(at: position, data: BytesSource([1])) }
        let legacyPosition = Position(generation: generation, index: 2, offset: 0x20)
        try await FileReplicaClient(root: dir.path, fileSystem: fs, writeLayout: .legacy)
            .writeWALSegment(at: legacyPosition, data: BytesSource([2]))
        try await client.writeSnapshot(generation: generation, index: 0, data: BytesSource([3]))

        // Index 0 loses one of two segments and keeps its folder; index 1 empties and is pruned.
        try await client.deleteWALSegments([
            positions[0], positions[2], legacyPosition,
            Position(generation: generation, index: 9, offset: 0),
        ])
        let walNames = try await fs.list(dir.file("generations/\(generation)/wal"))
        #expect(walNames == ["0000000000000000", "0000000000000002"])
        #expect(try await client.walSegments(in: generation).map(\.position) == [positions[1], positions[3]])

        try await client.deleteSnapshot(generation: generation, index: 0)
        try await client.deleteSnapshot(generation: generation, index: 0)
        #expect(try await client.snapshots(in: generation) == [])

        try await client.deleteGeneration(generation)
        try await client.deleteGeneration(generation)
        #expect(try await client.generations() == [])
    }

    @Test("a failed write leaves neither the object nor a temp file")
    func failedWrite() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let client = FileReplicaClient(root: dir.path, fileSystem: fs)
        let position = Position(generation: generation, index: 0, offset: 0)
        await #expect(throws: FailingSource.Failure.self) {
            try await client.writeWALSegment(at: position, data: FailingSource())
        }
        #expect(try await fs.list(dir.file("generations/\(generation)/wal/0000000000000000")) == [])
        #expect(try await client.walSegments(in: generation) == [])
    }

    @Test("the factory resolves relative file URLs against the working directory")
    func factory() throws {
        let relative = try ReplicaClientFactory.makeClient(
            for: ReplicaURL(parsing: "backups/./db/../db2/"), fileSystem: fs)
        #expect(relative.kind == "file")
        #expect(relative.location == FileManager.default.currentDirectoryPath + "/backups/db2")
        let absolute = try ReplicaClientFactory.makeClient(
            for: ReplicaURL(parsing: "file:///srv/replica%20one"), fileSystem: fs)
        #expect(absolute.location == "/srv/replica one")
    }
}

/// A source that yields one chunk and then fails, like a dropped upstream.
// @unchecked: read by one task at a time (ByteSource's contract).
final class FailingSource: ByteSource, @unchecked Sendable {
    struct Failure: Error {}
    private var calls = 0

    func read(upTo maxCount: Int) async throws -> [UInt8] {
        calls += 1
        if calls == 1 { return [1, 2, 3] }
        throw Failure()
    }

    func close() async {}
}
