import Core
import Foundation
import IO
import Testing

/// The SFTP client against a private sshd on 127.0.0.1 (see `SSHServer`). The replica folder
/// is local to the test, so expectations check the files the server wrote.
@Suite("SFTPReplicaClient")
struct SFTPReplicaClientTests {
    let generation = Generation(value: 0x0123_4567_89ab_cdef)
    let runner = ThreadPoolRunner(threads: 4)

    private func payload(_ seed: Int, count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: ($0 / 7) &* 13 &+ seed) }
    }

    private func read(_ source: any ByteSource) async throws -> [UInt8] {
        defer { Task { await source.close() } }
        return try await source.readToEnd(chunkSize: 1000)
    }

    private func withServer(_ body: (SSHServer, SFTPReplicaClient) async throws -> Void) async throws {
        let server = try await SSHServer.start()
        defer { server.stop() }
        try await body(server, SFTPReplicaClient(location: server.location(), runner: runner))
    }

    private func modified(_ path: String) throws -> Timestamp {
        let date = try #require(try FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date)
        return Timestamp(millisecondsSince1970: Int64(date.timeIntervalSince1970.rounded(.down)) * 1000)
    }

    @Test("an empty or missing replica lists nothing")
    func empty() async throws {
        try await withServer { server, client async throws in
            #expect(client.kind == "sftp")
            #expect(
                client.location == "sftp://\(server.user)@127.0.0.1:\(server.port)\(server.directory.file("replica"))")
            #expect(try await client.generations() == [])
            #expect(try await client.snapshots(in: generation) == [])
            #expect(try await client.walSegments(in: generation) == [])
        }
    }

    @Test("snapshots and segments round trip in the grouped layout with sizes and times")
    func roundTrip() async throws {
        try await withServer { server, client async throws in
            let snapshot = payload(1, count: 3_000_000)
            let segments: [(Position, [UInt8])] = [
                (Position(generation: generation, index: 0, offset: 0), payload(2, count: 4152)),
                (Position(generation: generation, index: 0, offset: 4152), payload(3, count: 4120)),
                (Position(generation: generation, index: 1, offset: 0), payload(4, count: 0)),
            ]
            let info = try await client.writeSnapshot(generation: generation, index: 0, data: BytesSource(snapshot))
            let snapshotFile = server.directory.file(
                "replica/generations/\(generation)/snapshots/0000000000000000.snapshot.lz4")
            #expect(FileManager.default.contents(atPath: snapshotFile) == Data(snapshot))
            #expect(info.size == Int64(snapshot.count))
            #expect(info.createdAt == (try modified(snapshotFile)))
            for (position, bytes) in segments {
                let segment = try await client.writeWALSegment(at: position, data: BytesSource(bytes))
                #expect(segment.position == position && segment.size == Int64(bytes.count))
            }
            #expect(
                FileManager.default.fileExists(
                    atPath: server.directory.file(
                        "replica/generations/\(generation)/wal/0000000000000001/0000000000000000.wal.lz4")))

            #expect(try await client.generations() == [generation])
            #expect(try await client.snapshots(in: generation) == [info])
            let listed = try await client.walSegments(in: generation)
            #expect(listed.map(\.position) == segments.map(\.0))
            #expect(listed.map(\.size) == segments.map { Int64($0.1.count) })
            #expect(try await read(client.openSnapshot(generation: generation, index: 0)) == snapshot)
            for (position, bytes) in segments {
                #expect(try await read(client.openWALSegment(at: position)) == bytes)
            }
        }
    }

    @Test("both layouts are listed and read; temp names are ignored; the grouped copy wins")
    func bothLayouts() async throws {
        try await withServer { server, client async throws in
            let legacyClient = SFTPReplicaClient(location: server.location(), runner: runner, writeLayout: .legacy)
            try await legacyClient.writeSnapshot(generation: generation, index: 1, data: BytesSource([1, 1]))
            try await legacyClient.writeWALSegment(
                at: Position(generation: generation, index: 1, offset: 0), data: BytesSource([2]))
            try await legacyClient.writeWALSegment(
                at: Position(generation: generation, index: 2, offset: 0), data: BytesSource([3]))
            try await client.writeWALSegment(
                at: Position(generation: generation, index: 2, offset: 0), data: BytesSource([4, 4]))
            #expect(
                FileManager.default.fileExists(
                    atPath: server.directory.file("replica/generations/\(generation)/wal/00000001_00000000.wal.lz4")))
            // Leftovers of interrupted uploads.
            let generationDirectory = server.directory.file("replica/generations/\(generation)")
            for junk in ["snapshots/0000000000000005.snapshot.lz4.1-2-3.tmp", "wal/00000009_00000000.wal.lz4.1-2.tmp"] {
                #expect(FileManager.default.createFile(atPath: generationDirectory + "/" + junk, contents: Data([9])))
            }

            #expect(try await client.snapshots(in: generation).map(\.index) == [1])
            let segments = try await client.walSegments(in: generation)
            #expect(
                segments.map(\.position) == [
                    Position(generation: generation, index: 1, offset: 0),
                    Position(generation: generation, index: 2, offset: 0),
                ])
            #expect(segments.map(\.size) == [1, 2])
            #expect(try await read(client.openSnapshot(generation: generation, index: 1)) == [1, 1])
            #expect(
                try await read(client.openWALSegment(at: Position(generation: generation, index: 1, offset: 0))) == [2])
            #expect(
                try await read(client.openWALSegment(at: Position(generation: generation, index: 2, offset: 0))) == [
                    4, 4,
                ])
        }
    }

    @Test("re-writing a key replaces it and leaves no temp files")
    func rewrite() async throws {
        try await withServer { server, client async throws in
            let position = Position(generation: generation, index: 3, offset: 32)
            try await client.writeWALSegment(at: position, data: BytesSource([1, 2, 3]))
            try await client.writeWALSegment(at: position, data: BytesSource([4, 5]))
            #expect(try await read(client.openWALSegment(at: position)) == [4, 5])
            let names = try FileManager.default.contentsOfDirectory(
                atPath: server.directory.file("replica/generations/\(generation)/wal/0000000000000003"))
            #expect(names == ["0000000000000020.wal.lz4"])
        }
    }

    @Test("a missing object is notFound")
    func missing() async throws {
        try await withServer { _, client async throws in
            do {
                _ = try await client.openSnapshot(generation: generation, index: 7)
                Issue.record("opened a missing snapshot")
            } catch let error as ReplicaClientError {
                guard case .notFound(let replica, let key) = error else {
                    Issue.record("unexpected \(error)")
                    return
                }
                #expect(replica == client.location)
                #expect(key == "generations/\(generation)/snapshots/0000000000000007.snapshot.lz4")
            }
            await #expect(throws: ReplicaClientError.self) {
                _ = try await client.openWALSegment(at: Position(generation: generation, index: 0, offset: 0))
            }
        }
    }

    @Test("deletes remove snapshots, segments, emptied index folders and whole generations")
    func deletes() async throws {
        try await withServer { server, client async throws in
            let legacyClient = SFTPReplicaClient(location: server.location(), runner: runner, writeLayout: .legacy)
            let other = Generation(value: 0x0fed_cba9_8765_4321)
            try await client.writeSnapshot(generation: generation, index: 0, data: BytesSource([1]))
            try await legacyClient.writeSnapshot(generation: generation, index: 1, data: BytesSource([1]))
            let positions = (0..<3).map { Position(generation: generation, index: 0, offset: UInt64($0) * 100) }
            for position in positions { try await client.writeWALSegment(at: position, data: BytesSource([5])) }
            try await legacyClient.writeWALSegment(
                at: Position(generation: generation, index: 1, offset: 0), data: BytesSource([6]))
            try await client.writeSnapshot(generation: other, index: 0, data: BytesSource([7]))
            try await client.writeWALSegment(
                at: Position(generation: other, index: 4, offset: 0), data: BytesSource([8]))
            try await legacyClient.writeWALSegment(
                at: Position(generation: other, index: 5, offset: 0), data: BytesSource([8]))

            try await client.deleteSnapshot(generation: generation, index: 1)
            try await client.deleteSnapshot(generation: generation, index: 1) // missing: fine
            #expect(try await client.snapshots(in: generation).map(\.index) == [0])

            try await client.deleteWALSegments(Array(positions.prefix(2)))
            #expect(try await client.walSegments(in: generation).map(\.offset) == [200, 0])
            try await client.deleteWALSegments([
                positions[2], Position(generation: generation, index: 1, offset: 0),
                Position(generation: generation, index: 9, offset: 0),
            ])
            #expect(try await client.walSegments(in: generation) == [])
            let walDirectory = server.directory.file("replica/generations/\(generation)/wal")
            #expect(try FileManager.default.contentsOfDirectory(atPath: walDirectory) == [])

            // A crashed upload's temp file does not keep a generation alive.
            #expect(
                FileManager.default.createFile(
                    atPath: server.directory.file("replica/generations/\(other)/wal/0000000000000004/x.tmp"),
                    contents: Data()))
            try await client.deleteGeneration(other)
            try await client.deleteGeneration(Generation(value: 0x0111_1111_1111_1111)) // missing: fine
            #expect(try await client.generations() == [generation])
            #expect(!FileManager.default.fileExists(atPath: server.directory.file("replica/generations/\(other)")))
        }
    }

    @Test("a key the server does not know fails in one line without secrets")
    func badKey() async throws {
        try await withServer { server, _ async throws in
            var location = server.location()
            location.privateKeyPath = server.strangerKey
            location.password = "hunter2-secret"
            let client = SFTPReplicaClient(location: location, runner: runner)
            do {
                _ = try await client.generations()
                Issue.record("logged in with an unknown key")
            } catch let error as ReplicaClientError {
                let message = error.description
                #expect(message.contains("127.0.0.1:\(server.port)"))
                #expect(message.contains("refused user \(server.user)"))
                #expect(!message.contains("hunter2"))
                #expect(!message.contains("\n"))
            }
        }
    }

    @Test("a host key listed in a known_hosts file is trusted")
    func knownHosts() async throws {
        try await withServer { server, _ async throws in
            let hostKey = try String(contentsOfFile: server.directory.file("host_key.pub"), encoding: .utf8)
                .split(separator: " ").prefix(2).joined(separator: " ")
            let knownHosts = server.directory.file("known_hosts")
            #expect(
                FileManager.default.createFile(
                    atPath: knownHosts, contents: Data("[127.0.0.1]:\(server.port) \(hostKey)\n".utf8)))
            var location = server.location()
            location.hostKeyCheck = .knownHosts(path: knownHosts)
            let client = SFTPReplicaClient(location: location, runner: runner)
            try await client.writeSnapshot(generation: generation, index: 0, data: BytesSource([1]))
            #expect(try await client.generations() == [generation])
        }
    }

    @Test("a missing key file is named")
    func missingKey() async throws {
        var location = SFTPLocation(user: "u", host: "127.0.0.1", port: 1, path: "/x", hostKeyCheck: .insecure)
        location.privateKeyPath = "/nonexistent/sluice-key"
        do {
            _ = try await SFTPReplicaClient(location: location, runner: runner).generations()
            Issue.record("listed without a key")
        } catch let error as ReplicaClientError {
            #expect(
                error.description
                    == "sftp://u@127.0.0.1:1/x: cannot read the private key file /nonexistent/sluice-key (key= in the URL): No such file or directory"
            )
        }
    }

    @Test("a host key that does not match the pinned fingerprint is refused")
    func wrongHostKey() async throws {
        try await withServer { server, _ async throws in
            var location = server.location()
            location.hostKeyCheck = .sha256(String(repeating: "A", count: 43))
            let client = SFTPReplicaClient(location: location, runner: runner)
            do {
                _ = try await client.generations()
                Issue.record("trusted a host key that does not match")
            } catch let error as ReplicaClientError {
                #expect(error.description.contains("host key is not trusted"))
                #expect(!error.description.contains("\n"))
            }
            // Unknown to an empty known_hosts file: refused too, never trusted on first use.
            let knownHosts = server.directory.file("known_hosts")
            #expect(FileManager.default.createFile(atPath: knownHosts, contents: Data()))
            location.hostKeyCheck = .knownHosts(path: knownHosts)
            await #expect(throws: ReplicaClientError.self) {
                _ = try await SFTPReplicaClient(location: location, runner: runner).generations()
            }
            location.hostKeyCheck = .insecure
            #expect(try await SFTPReplicaClient(location: location, runner: runner).generations() == [])
        }
    }

    @Test("an unreachable server fails in one line")
    func unreachable() async throws {
        let location = SFTPLocation(
            user: "nobody", password: "pw-secret", host: "127.0.0.1", port: 1, path: "/x",
            hostKeyCheck: .insecure)
        do {
            _ = try await SFTPReplicaClient(location: location, runner: runner).generations()
            Issue.record("listed an unreachable server")
        } catch let error as ReplicaClientError {
            #expect(error.description.hasPrefix("sftp://nobody@127.0.0.1:1/x: cannot reach the server"))
            #expect(!error.description.contains("pw-secret"))
        }
    }

    @Test("the factory makes an SFTP client for sftp:// URLs")
    func factory() throws {
        let url = try ReplicaURL(parsing: "sftp://me:pw-secret@127.0.0.1:2222/srv/r?insecure-host-key=true")
        let client = try ReplicaClientFactory.makeClient(for: url, fileSystem: POSIXFileSystem(runner: runner))
        #expect(client.kind == "sftp")
        #expect(client.location == "sftp://me@127.0.0.1:2222/srv/r")
        #expect(client is any ReplicaLeasing)
    }

    // MARK: - Lease

    @Test("lease: a second acquire is refused, naming the holder")
    func leaseSecondAcquire() async throws {
        try await withServer { _, client async throws in try await LeaseContract.secondAcquireIsRefused(client) }
    }

    @Test("lease: an expired lease is taken over and the old holder's renewal is lost")
    func leaseTakeover() async throws {
        try await withServer { _, client async throws in try await LeaseContract.expiredLeaseIsTakenOver(client) }
    }

    @Test("lease: a live lease is taken over early only by a caller superseding its token")
    func leaseSupersede() async throws {
        try await withServer { _, client async throws in try await LeaseContract.supersededLeaseIsTakenOver(client) }
    }

    @Test("lease: renew extends, release frees")
    func leaseRenewRelease() async throws {
        try await withServer { server, client async throws in
            try await LeaseContract.renewAndRelease(client)
            let names = try FileManager.default.contentsOfDirectory(atPath: server.directory.file("replica/lease"))
            #expect(names.count == 1 && names[0].hasSuffix(".lease"))
        }
    }

    @Test("lease: of several racers for an expired lease exactly one wins")
    func leaseRacers() async throws {
        try await withServer { server, _ async throws in
            let location = server.location()
            let runner = self.runner
            try await LeaseContract.racersTakeOverOnce(
                { SFTPReplicaClient(location: location, runner: runner) }, racers: 4)
            // Losers' uploads were renamed nowhere and removed.
            let names = try FileManager.default.contentsOfDirectory(atPath: server.directory.file("replica/lease"))
            #expect(!names.isEmpty && names.allSatisfy { $0.hasSuffix(".lease") }, "\(names)")
        }
    }
}
