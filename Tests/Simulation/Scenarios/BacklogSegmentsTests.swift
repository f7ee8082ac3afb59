import Core
import SimHarness
import Testing

/// A backlog is uploaded as segments of at most `maxSegmentSize` (each ending after a commit), so
/// an upload that fails part-way loses one segment's work, not the whole backlog's. Here an
/// outage leaves a backlog of several hundred KB in one WAL index, and then every upload of more
/// than 256 KB breaks: a single-segment backlog could never land. With a 64 KiB cap it does, and
/// every segment ends with a commit frame.
@Suite("Backlogs go up in segments that end at commits", .serialized)
struct BacklogSegmentsTests {
    @Test(
        "after an outage, a backlog larger than any upload that gets through lands in 64 KiB segments, each ending at a commit frame"
    )
    func backlogLandsInSegments() async throws {
        try await runScenario(seed: 877) { world in
            let app = world.app
            try await app.create()
            try await app.commit(inserts: 2)

            let client = InterceptingReplicaClient(base: world.client)
            var outage = false
            client.beforeWALWrite = { position in
                if outage { throw InterceptingReplicaClient.refusal("wal \(position)") }
            }
            var options = ScenarioWorld.options()
            // One WAL index for the whole run, so the backlog is one long range of one index.
            options.checkpoint = CheckpointPolicy(minimumPages: 100_000, idleInterval: nil, truncatePages: nil)
            options.maxSegmentSize = 64 << 10
            let process = try world.startReplicator("replicator", options: options, client: client)
            try await world.sleep(.seconds(3))
            let generation = try #require(try await world.client.generations().last)
            let before = try await world.client.walSegments(in: generation).count

            outage = true
            try await world.commitSteadily(30, every: .milliseconds(500), size: 3000)
            outage = false
            client.walUploadBreaksAfter = 256 << 10
            try await world.sleep(.seconds(30))

            let segments = try await world.client.walSegments(in: generation).sorted { $0.offset < $1.offset }
            let added = segments.count - before
            #expect(added >= 5, "the backlog should have gone up in several segments: \(added)")
            #expect(
                Set(segments.map(\.index)).count == 1, "the scenario means one WAL index: \(Set(segments.map(\.index)))"
            )
            let state = try await world.restore(.latest)
            #expect(
                state.commit == app.lastCommit,
                "30 s after the outage the replica restores commit \(state.commit) of \(app.lastCommit)")
            // Every segment ends with a commit frame, so each boundary is a restore point.
            var pageSize: Int?
            for segment in segments {
                let source = LZ4DecompressingSource(try await world.client.openWALSegment(at: segment.position))
                let bytes = try await source.readToEnd()
                await source.close()
                if segment.offset == 0 { pageSize = WALHeader(Array(bytes.prefix(WALFormat.headerSize)))?.pageSize }
                let frameSize = WALFormat.frameSize(pageSize: try #require(pageSize))
                let frames = segment.offset == 0 ? bytes.count - WALFormat.headerSize : bytes.count
                #expect(
                    frames > 0 && frames % frameSize == 0,
                    "segment at \(segment.offset) holds \(bytes.count) bytes, not whole frames")
                let last = bytes.count - frameSize
                let commitField = bytes[last + 4..<last + 8].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
                #expect(commitField != 0, "segment at \(segment.offset) does not end with a commit frame")
            }
            _ = await process.stop()
        }
    }
}
