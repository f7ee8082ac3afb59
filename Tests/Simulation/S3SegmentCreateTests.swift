import Core
import SimHarness
import TestSupport
import Testing

/// WAL segments go to S3 as creates (`If-None-Match: *`): a key, once written, keeps its body.
/// Without that, a killed replicator's upload landing late replaced the different body its
/// successor had stored under the same key (`sluice sim`, default seed 374).
@Suite("S3 WAL segment writes are creates", .serialized)
struct S3SegmentCreateTests {
    private let generation = Generation(value: 0x0000_0190_0000_abcd)

    @Test(
        "a second write of a segment key is refused with alreadyExists and leaves the first body, single PUT or multipart"
    )
    func secondWriteIsRefused() async throws {
        let generation = self.generation
        let first = S3TestFixtures.bytes(1, count: 1000)
        let second = S3TestFixtures.bytes(2, count: 1400)
        try await blocking {
            _ = try SimScheduler.run(seed: 11) { sim in
                let store = SimObjectStore(scheduler: sim)
                let endpoint = S3TestFixtures.endpoint(sim, store: store)
                for partSize in [4096, 300] {
                    let client = endpoint.client(
                        prefix: "replica-\(partSize)", scheduler: sim, random: sim.randomSource("s3"),
                        partSize: partSize)
                    let position = Position(generation: generation, index: 2, offset: 0x1000)
                    try await client.writeWALSegment(at: position, data: BytesSource(first))
                    let refusal = await #expect(throws: ReplicaClientError.self) {
                        try await client.writeWALSegment(at: position, data: BytesSource(second))
                    }
                    guard case .alreadyExists(_, let key) = refusal else {
                        Issue.record("expected alreadyExists, got \(String(describing: refusal))")
                        continue
                    }
                    #expect(key == "replica-\(partSize)/" + ReplicaLayout.grouped.walSegmentKey(position))
                    #expect(await store.peek(key) == first)
                    // A refused multipart upload is aborted, not left to a lifecycle rule.
                    #expect(await endpoint.openUploads == 0)
                    // Snapshots still replace: a retried snapshot at one index is the same state.
                    try await client.writeSnapshot(generation: generation, index: 2, data: BytesSource(first))
                    try await client.writeSnapshot(generation: generation, index: 2, data: BytesSource(second))
                    let snapshot = try await client.openSnapshot(generation: generation, index: 2)
                    #expect(try await snapshot.readToEnd() == second)
                    await snapshot.close()
                }
            }
        }
    }

    @Test("a killed replicator's upload landing after its successor's is refused: the successor's body stays")
    func lateLandingIsRefused() async throws {
        let generation = self.generation
        let killed = S3TestFixtures.bytes(3, count: 700)
        let successor = S3TestFixtures.bytes(4, count: 900)
        try await blocking {
            _ = try SimScheduler.run(seed: 12) { sim in
                let store = SimObjectStore(scheduler: sim)
                // The killed replicator's connection holds every PUT past its deadline, then lands it.
                let held = S3TestFixtures.endpoint(
                    sim, store: store,
                    faults: S3EndpointFaults(lateLandingRate: 1, lateLandingDelay: .seconds(30) ... .seconds(30)))
                let healthy = S3TestFixtures.endpoint(sim, store: store)
                let position = Position(generation: generation, index: 0, offset: 0x21038)
                let old = held.client(
                    prefix: "replica", scheduler: sim, random: sim.randomSource("old"),
                    retryPolicy: S3RetryPolicy(maxAttempts: 1))
                await #expect(throws: S3Error.self) {
                    try await old.writeWALSegment(at: position, data: BytesSource(killed))
                }
                let new = healthy.client(prefix: "replica", scheduler: sim, random: sim.randomSource("new"))
                try await new.writeWALSegment(at: position, data: BytesSource(successor))
                try await sim.clock.sleep(for: .seconds(60))
                #expect(await held.statistics.lateLandings == 1)
                #expect(await store.peek("replica/" + ReplicaLayout.grouped.walSegmentKey(position)) == successor)
            }
        }
    }
}
