import Core
import SimHarness
import TestSupport
import Testing

/// The production S3 client against the simulated S3 endpoint, without faults: every request
/// shape the client sends gets the answer S3 gives, and the store holds the keys a
/// `SimReplicaClient` of the same root would write.
@Suite("Simulated S3 endpoint", .serialized)
struct S3EndpointTests {
    private let generation = Generation(value: 0x0000_0190_0000_abcd)

    @Test("S3 client round trip: write, paged listings, reads, multipart, delete batches")
    func roundTrip() async throws {
        let generation = self.generation
        let payload = S3TestFixtures.bytes(7, count: 1000)
        let segmentData = S3TestFixtures.bytes(8, count: 64)
        try await blocking {
            _ = try SimScheduler.run(seed: 3) { sim in
                let store = SimObjectStore(scheduler: sim)
                let endpoint = S3TestFixtures.endpoint(sim, store: store)
                let client = endpoint.client(
                    prefix: "replica", scheduler: sim, random: sim.randomSource("s3-client"),
                    partSize: 300, listPageSize: 3)
                let simulated = SimReplicaClient(store: store, root: "replica")

                // 1000 bytes at a 300-byte part size: a multipart upload of four parts.
                let snapshot = try await client.writeSnapshot(
                    generation: generation, index: 0, data: BytesSource(payload))
                #expect(snapshot.size == 1000)
                #expect(await endpoint.openUploads == 0)
                #expect(await endpoint.statistics.multipartUploads == 1)
                for offset in stride(from: UInt64(0), to: 10 * 64, by: 64) {
                    let position = Position(generation: generation, index: offset / 256, offset: offset % 256)
                    try await client.writeWALSegment(at: position, data: BytesSource(segmentData))
                }
                // The keys are the ones the simulated client reads: oracles over the store keep working.
                #expect(try await simulated.walSegments(in: generation).count == 10)
                #expect(try await simulated.snapshots(in: generation).map(\.size) == [1000])
                #expect(await store.peek("replica/lease") == nil)

                // Listings of three keys a page.
                #expect(try await client.generations() == [generation])
                let segments = try await client.walSegments(in: generation)
                #expect(segments.count == 10)
                #expect(segments == segments.sorted { ($0.index, $0.offset) < ($1.index, $1.offset) })
                let read = try await client.openSnapshot(generation: generation, index: 0)
                #expect(try await read.readToEnd() == payload)
                await read.close()

                // Deletes go in DeleteObjects batches, both layouts' keys of each position.
                try await client.deleteWALSegments(segments.prefix(6).map(\.position))
                #expect(try await client.walSegments(in: generation).count == 4)
                try await client.deleteGeneration(generation)
                #expect(try await client.generations().isEmpty)
                #expect(await store.allKeys().isEmpty)
            }
        }
    }

    @Test("S3 client over a faulty endpoint: retried writes read back as written")
    func faultyEndpoint() async throws {
        let generation = self.generation
        let payloads = (0..<12).map { S3TestFixtures.bytes(100 + UInt64($0), count: 200 + 97 * $0) }
        try await blocking {
            _ = try SimScheduler.run(seed: 6) { sim in
                let store = SimObjectStore(scheduler: sim)
                let faults = S3EndpointFaults(
                    resetRate: 0.1, internalErrorRate: 0.1, slowDownRate: 0.1, ambiguousRate: 0.1,
                    stallRate: 0.05, stallDuration: .seconds(1) ... .seconds(150), truncateRate: 0.2,
                    lateLandingRate: 0.1, lateLandingDelay: .seconds(1) ... .seconds(30))
                let endpoint = S3TestFixtures.endpoint(sim, store: store, faults: faults)
                let client = endpoint.client(
                    prefix: "replica", scheduler: sim, random: sim.randomSource("s3-client"),
                    partSize: 500, listPageSize: 4, retryPolicy: S3RetryPolicy(maxAttempts: 30))
                for (number, payload) in payloads.enumerated() {
                    let position = Position(generation: generation, index: UInt64(number), offset: 0)
                    do {
                        try await client.writeWALSegment(at: position, data: BytesSource(payload))
                    } catch ReplicaClientError.alreadyExists {
                        // A segment write is a create: a retry after an attempt that landed unseen
                        // finds the key taken, by the same bytes (checked below).
                    }
                }
                try await client.writeSnapshot(
                    generation: generation, index: 3, data: BytesSource(payloads.last! + payloads[0]))
                // Late landings carry the bytes of their own request: wait them out, then read.
                try await sim.clock.sleep(for: .seconds(200))
                #expect(await endpoint.statistics.faults > 10)
                let segments = try await client.walSegments(in: generation)
                #expect(segments.map(\.index) == Array(0..<UInt64(payloads.count)))
                for segment in segments {
                    let source = try await client.openWALSegment(at: segment.position)
                    #expect(try await source.readToEnd() == payloads[Int(segment.index)])
                    await source.close()
                }
                #expect(
                    await store.peek("replica/" + ReplicaLayout.grouped.snapshotKey(generation, index: 3))
                        == payloads.last! + payloads[0])
            }
        }
    }

    @Test("S3 lease on the endpoint: conditional create, renew, takeover after expiry, release")
    func leaseCycle() async throws {
        try await blocking {
            _ = try SimScheduler.run(seed: 4) { sim in
                let store = SimObjectStore(scheduler: sim)
                let endpoint = S3TestFixtures.endpoint(sim, store: store)
                let first = endpoint.client(prefix: "replica", scheduler: sim, random: sim.randomSource("first"))
                let second = endpoint.client(prefix: "replica", scheduler: sim, random: sim.randomSource("second"))
                let now = SimWallClock(scheduler: sim).now()

                let lease = try await first.acquireLease(
                    owner: "a", token: "ta", duration: .seconds(30), now: now, supersedes: nil)
                #expect(await store.peek("replica/lease") == lease.encoded)
                await #expect(throws: LeaseError.self) {
                    _ = try await second.acquireLease(
                        owner: "b", token: "tb", duration: .seconds(30), now: now, supersedes: nil)
                }
                let renewed = try await first.renewLease(lease, duration: .seconds(30), now: now + .seconds(10))
                #expect(renewed.version != lease.version)
                // A renewal against a stale ETag of our own lease (one that landed unseen) finds our
                // token in the newer version and keeps that version: it is still our lease.
                let adopted = try await first.renewLease(lease, duration: .seconds(30), now: now + .seconds(11))
                #expect(adopted.version == renewed.version)
                #expect(adopted.expires == renewed.expires)
                let taken = try await second.acquireLease(
                    owner: "b", token: "tb", duration: .seconds(30),
                    now: now + .seconds(60), supersedes: nil)
                #expect(taken.token == "tb")
                await #expect(throws: LeaseError.self) {
                    _ = try await first.renewLease(renewed, duration: .seconds(30), now: now + .seconds(61))
                }
                // Releasing a lease that is no longer ours leaves the successor's in place.
                try await first.releaseLease(renewed)
                #expect(await store.peek("replica/lease") == taken.encoded)
                try await second.releaseLease(taken)
                #expect(await store.peek("replica/lease") == nil)
            }
        }
    }

    @Test("a client with the wrong secret key gets 403 SignatureDoesNotMatch")
    func wrongCredentials() async throws {
        try await blocking {
            _ = try SimScheduler.run(seed: 5) { sim in
                let store = SimObjectStore(scheduler: sim)
                let endpoint = S3TestFixtures.endpoint(sim, store: store)
                let wrong = S3Credentials(
                    accessKeyID: SimS3Endpoint.defaultCredentials.accessKeyID, secretAccessKey: "not-the-secret")
                let client = endpoint.client(
                    prefix: "replica", scheduler: sim, random: sim.randomSource("s3-client"),
                    credentials: wrong)
                let error = await #expect(throws: S3Error.self) { _ = try await client.generations() }
                guard case .accessDenied(_, let code, _)? = error else {
                    Issue.record("expected access denied, got \(String(describing: error))")
                    return
                }
                #expect(code == "SignatureDoesNotMatch")
                #expect(await endpoint.statistics.refusedSignatures == 1)
                let unknown = endpoint.client(
                    prefix: "replica", scheduler: sim, random: sim.randomSource("s3-client-2"),
                    credentials: S3Credentials(accessKeyID: "NOSUCHKEY", secretAccessKey: "x"))
                await #expect(throws: S3Error.self) {
                    try await unknown.writeWALSegment(
                        at: Position(generation: generation, index: 0, offset: 0), data: BytesSource([1]))
                }
                #expect(await store.allKeys().isEmpty)
            }
        }
    }
}
