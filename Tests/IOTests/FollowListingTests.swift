import Core
import Foundation
import IO
import Testing

/// What a follower's poll of a file replica lists (`FileReplicaClient.changes(after:)`).
@Suite("follow: file replica changes listing")
struct FollowListingTests {
    let generation = Generation("1a2508a6ee770cc7")!
    let newer = Generation("1a2508a6ee770cc8")!

    func position(_ index: UInt64, _ offset: UInt64, _ generation: Generation? = nil) -> Position {
        Position(generation: generation ?? self.generation, index: index, offset: offset)
    }

    func replica(_ dir: TemporaryDirectory, layout: ReplicaLayout = .grouped) -> FileReplicaClient {
        FileReplicaClient(
            root: dir.file("replica"), fileSystem: POSIXFileSystem(runner: InlineRunner()),
            writeLayout: layout)
    }

    func put(_ client: FileReplicaClient, _ positions: [Position]) async throws {
        for position in positions { try await client.writeWALSegment(at: position, data: BytesSource([1, 2, 3])) }
    }

    @Test(
        "a steady poll lists one folder and looks at the next index with a stat; an idle one lists the generations too")
    func steady() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let client = replica(dir)
        try await put(client, [position(2, 0), position(2, 4152), position(2, 8272)])
        var changes = try await client.changes(after: position(2, 4152))
        #expect(changes.segments.map(\.position) == [position(2, 4152), position(2, 8272)])
        #expect(changes.listRequests == 1)

        try await put(client, [position(3, 0), position(4, 0), position(0, 0, newer)])
        changes = try await client.changes(after: position(2, 9000))
        #expect(changes.segments.map(\.position) == [position(3, 0), position(4, 0)])
        #expect(changes.listRequests == 3, "the current index and the two that follow")
        #expect(changes.newerGenerations.isEmpty, "generations are listed only when nothing is new")

        changes = try await client.changes(after: position(4, 100))
        #expect(changes.segments.isEmpty)
        #expect(changes.newerGenerations == [newer])
        #expect(changes.listRequests == 2)
    }

    @Test("a replica in Litestream's flat layout is followed through the full listing")
    func legacy() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let client = replica(dir, layout: .legacy)
        try await put(client, [position(1, 0), position(1, 4152)])
        let changes = try await client.changes(after: position(1, 4152))
        #expect(changes.segments.map(\.position) == [position(1, 4152)])
        #expect(changes.listRequests == 2)
    }
}
