import Foundation
import Testing

@testable import Core
@testable import IO

/// The S3 replica client against a real S3 implementation (moto) on 127.0.0.1: the same
/// behaviour the file replica client contract asks for, plus S3's own limits and errors.
@Suite(
    .serialized,
    .enabled(if: MotoServer.mustRun, "python3 -m moto.server is not installed (./Scripts/test installs it)"))
struct S3ContractTests {
    let generationA = Generation(value: 0x0000_0180_0000_0001)
    let generationB = Generation(value: 0x0000_0180_0000_0002)

    static func bytes(_ count: Int, seed: UInt64) -> [UInt8] {
        let random = SplitMix64(seed: seed)
        var out = [UInt8]()
        out.reserveCapacity(count + 8)
        while out.count < count { withUnsafeBytes(of: random.next()) { out.append(contentsOf: $0) } }
        return Array(out.prefix(count))
    }

    @Test func writesListsReadsAndDeletes() async throws {
        try await withMoto { moto in
            try await moto.createBucket("contract")
            let client = try moto.client(bucket: "contract", prefix: "db/one")
            #expect(try await client.generations().isEmpty)
            #expect(try await client.snapshots(in: generationA).isEmpty)

            let snapshot = Self.bytes(1000, seed: 1)
            let info = try await client.writeSnapshot(generation: generationA, index: 3, data: BytesSource(snapshot))
            #expect(info.size == 1000)
            try await client.writeSnapshot(generation: generationB, index: 0, data: BytesSource([]))
            for offset in [0, 4152, 8304] as [UInt64] {
                try await client.writeWALSegment(
                    at: Position(generation: generationA, index: 3, offset: offset),
                    data: BytesSource(Self.bytes(100 + Int(offset % 7), seed: offset)))
            }
            try await client.writeWALSegment(
                at: Position(generation: generationA, index: 4, offset: 0), data: BytesSource([1, 2, 3]))

            #expect(try await client.generations() == [generationA, generationB])
            let snapshots = try await client.snapshots(in: generationA)
            #expect(snapshots.map(\.index) == [3])
            #expect(snapshots.first?.size == 1000)
            let segments = try await client.walSegments(in: generationA)
            #expect(segments.map { [$0.index, $0.offset] } == [[3, 0], [3, 4152], [3, 8304], [4, 0]])

            let read = try await client.openSnapshot(generation: generationA, index: 3)
            #expect(try await read.readToEnd(chunkSize: 333) == snapshot)
            await read.close()
            let segment = try await client.openWALSegment(at: Position(generation: generationA, index: 4, offset: 0))
            #expect(try await segment.readToEnd() == [1, 2, 3])
            await segment.close()
            await #expect(
                throws: ReplicaClientError.notFound(
                    replica: client.location, key: "db/one/" + ReplicaLayout.grouped.snapshotKey(generationA, index: 9))
            ) {
                _ = try await client.openSnapshot(generation: generationA, index: 9)
            }

            try await client.deleteWALSegments([
                Position(generation: generationA, index: 3, offset: 4152),
                Position(generation: generationA, index: 9, offset: 0),
            ])
            #expect(try await client.walSegments(in: generationA).count == 3)
            try await client.deleteSnapshot(generation: generationA, index: 3)
            try await client.deleteSnapshot(generation: generationA, index: 3)
            #expect(try await client.snapshots(in: generationA).isEmpty)
            try await client.deleteGeneration(generationA)
            #expect(try await client.generations() == [generationB])

            // Another prefix in the same bucket is another replica.
            let other = try moto.client(bucket: "contract", prefix: "db/two")
            #expect(try await other.generations().isEmpty)
        }
    }

    @Test func readsBothLayoutsAndPrefersGrouped() async throws {
        try await withMoto { moto in
            try await moto.createBucket("layouts")
            let grouped = try moto.client(bucket: "layouts", prefix: "")
            let legacy = try moto.client(bucket: "layouts", prefix: "", writeLayout: .legacy)
            try await legacy.writeSnapshot(generation: generationA, index: 1, data: BytesSource([9]))
            try await legacy.writeWALSegment(
                at: Position(generation: generationA, index: 1, offset: 0), data: BytesSource([1]))
            try await legacy.writeWALSegment(
                at: Position(generation: generationA, index: 1, offset: 32), data: BytesSource([2, 2]))
            try await grouped.writeWALSegment(
                at: Position(generation: generationA, index: 1, offset: 32), data: BytesSource([3, 3, 3]))

            #expect(try await grouped.snapshots(in: generationA).map(\.index) == [1])
            let segments = try await grouped.walSegments(in: generationA)
            #expect(segments.map { [$0.offset, UInt64($0.size)] } == [[0, 1], [32, 3]])
            let read = try await grouped.openWALSegment(at: Position(generation: generationA, index: 1, offset: 32))
            #expect(try await read.readToEnd() == [3, 3, 3])
            await read.close()
            let old = try await grouped.openWALSegment(at: Position(generation: generationA, index: 1, offset: 0))
            #expect(try await old.readToEnd() == [1])
            await old.close()
        }
    }

    @Test func listingsFollowContinuationTokens() async throws {
        try await withMoto { moto in
            try await moto.createBucket("pages")
            let client = try moto.client(bucket: "pages", listPageSize: 7)
            let generations = (1...12).map { Generation(value: 0x100 + UInt64($0)) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for generation in generations {
                    group.addTask {
                        try await client.writeSnapshot(generation: generation, index: 0, data: BytesSource([1]))
                    }
                }
                for offset in 0..<30 {
                    group.addTask {
                        try await client.writeWALSegment(
                            at: Position(generation: generations[0], index: 0, offset: UInt64(offset) * 32),
                            data: BytesSource([UInt8(offset)]))
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await client.generations() == generations)
            #expect(try await client.walSegments(in: generations[0]).map(\.offset) == (0..<30).map { UInt64($0) * 32 })
        }
    }

    @Test func deletesMoreThanOneBatch() async throws {
        try await withMoto { moto in
            try await moto.createBucket("batches")
            let client = try moto.client(bucket: "batches")
            // 1,100 keys: two DeleteObjects batches (S3 takes at most 1000 per request).
            let positions = (0..<1100).map {
                Position(generation: generationA, index: UInt64($0 / 100), offset: UInt64($0 % 100) * 8)
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for chunk in stride(from: 0, to: positions.count, by: 100) {
                    let slice = positions[chunk..<chunk + 100]
                    group.addTask { for p in slice { try await client.writeWALSegment(at: p, data: BytesSource([0])) } }
                }
                try await group.waitForAll()
            }
            #expect(try await client.walSegments(in: generationA).count == 1100)
            try await client.deleteWALSegments(Array(positions.prefix(1050)))
            #expect(try await client.walSegments(in: generationA).map(\.position) == Array(positions.suffix(50)))
            try await client.deleteGeneration(generationA)
            #expect(try await client.generations().isEmpty)
        }
    }

    @Test(arguments: [64 * 1024, 2 * 64 * 1024, 3 * 64 * 1024 + 123, 100])
    func multipartRoundTrips(size: Int) async throws {
        try await withMoto { moto in
            try await moto.createBucket("multipart")
            let client = try moto.client(bucket: "multipart", partSize: 64 * 1024)
            let snapshot = Self.bytes(size, seed: UInt64(size))
            // @unchecked: read by one task at a time (ByteSource's contract).
            final class Chunked: ByteSource, @unchecked Sendable {
                var rest: ArraySlice<UInt8>
                init(_ bytes: [UInt8]) { rest = bytes[...] }
                func read(upTo maxCount: Int) async throws -> [UInt8] {
                    let chunk = Array(rest.prefix(min(maxCount, 10_000)))
                    rest = rest.dropFirst(chunk.count)
                    return chunk
                }
                func close() async {}
            }
            let info = try await client.writeSnapshot(generation: generationA, index: 7, data: Chunked(snapshot))
            #expect(info.size == Int64(size))
            #expect(try await client.snapshots(in: generationA).first?.size == Int64(size))
            let read = try await client.openSnapshot(generation: generationA, index: 7)
            #expect(try await read.readToEnd() == snapshot)
            await read.close()
            // A multipart ETag ends in -<part count>; a single PUT's is a plain MD5.
            let head = try await client.perform(
                S3Operation(
                    name: "HeadObject", method: "HEAD",
                    key: client.key(ReplicaLayout.grouped.snapshotKey(generationA, index: 7))))
            let parts = (size + 64 * 1024 - 1) / (64 * 1024)
            let etag = head.response.header("ETag") ?? ""
            #expect(parts > 1 ? etag.hasSuffix("-\(parts)\"") : !etag.contains("-"))
        }
    }

    @Test func multipartFailureAbortsAndReports() async throws {
        try await withMoto { moto in
            try await moto.createBucket("aborts")
            let client = try moto.client(bucket: "aborts", partSize: 64 * 1024)
            // @unchecked: read by one task at a time (ByteSource's contract).
            final class Failing: ByteSource, @unchecked Sendable {
                var sent = 0
                func read(upTo maxCount: Int) async throws -> [UInt8] {
                    guard sent < 200_000 else {
                        throw ByteSourceError.truncated(path: "source", expected: 300_000, actual: 200_000)
                    }
                    sent += maxCount
                    return [UInt8](repeating: 7, count: maxCount)
                }
                func close() async {}
            }
            await #expect(throws: ByteSourceError.self) {
                try await client.writeSnapshot(generation: generationA, index: 1, data: Failing())
            }
            #expect(try await client.snapshots(in: generationA).isEmpty)
            let uploads = try await client.perform(
                S3Operation(
                    name: "ListMultipartUploads", method: "GET", key: nil,
                    query: [QueryItem("uploads")]))
            #expect(uploads.succeeded)
            #expect(!String(decoding: uploads.response.body, as: UTF8.self).contains("<UploadId>"))
        }
    }

    @Test func missingBucketIsNamed() async throws {
        try await withMoto { moto in
            let client = try moto.client(bucket: "no-such-bucket")
            let error = await #expect(throws: S3Error.self) { _ = try await client.generations() }
            #expect(error == .noSuchBucket(bucket: "no-such-bucket", endpoint: moto.endpoint))
            #expect(error?.description.contains("no-such-bucket") == true)
            await #expect(throws: S3Error.noSuchBucket(bucket: "no-such-bucket", endpoint: moto.endpoint)) {
                try await client.writeSnapshot(generation: generationA, index: 1, data: BytesSource([1]))
            }
        }
    }

    /// With moto's authentication on (after one unauthenticated call that creates the bucket),
    /// an unknown key is refused with 403, reported without the secret.
    @Test func badCredentialsAreRefused() async throws {
        try await withMoto(environment: ["INITIAL_NO_AUTH_ACTION_COUNT": "1"]) { moto in
            try await moto.createBucket("locked")
            let client = try moto.client(bucket: "locked", accessKey: "AKIDUNKNOWN", secret: "very-secret-value")
            let error = await #expect(throws: S3Error.self) { _ = try await client.generations() }
            guard case .accessDenied(let bucket, let code, _) = error else {
                Issue.record("expected access denied, got \(String(describing: error))")
                return
            }
            #expect(bucket == "locked")
            #expect(code == "InvalidAccessKeyId")
            #expect(error?.description.contains("very-secret-value") == false)
        }
    }

    @Test func unreachableEndpointIsNamed() async throws {
        let port = try MotoServer.freePort()
        let location = S3Location(bucket: "nowhere", endpoint: "http://127.0.0.1:\(port)")
        let configuration = try S3Configuration.resolve(
            location, environment: ["AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"], readFile: { _ in nil })
        let client = S3ReplicaClient(
            configuration: configuration, transport: CurlHTTPTransport(runner: ThreadPoolRunner(threads: 1)),
            wallClock: SystemWallClock(), clock: ContinuousClock(), random: SystemRandom(),
            retryPolicy: S3RetryPolicy(maxAttempts: 2, baseDelay: .milliseconds(1)))
        let error = await #expect(throws: S3Error.self) { _ = try await client.generations() }
        guard case .unreachable(let bucket, let endpoint, _) = error else {
            Issue.record("expected unreachable, got \(String(describing: error))")
            return
        }
        #expect(bucket == "nowhere")
        #expect(endpoint == "http://127.0.0.1:\(port)")
    }

    @Test func leaseIsExclusiveExpiresAndIsLostAfterTakeover() async throws {
        try await withMoto { moto in
            try await moto.createBucket("leases")
            let a = try moto.client(bucket: "leases", prefix: "db")
            let b = try moto.client(bucket: "leases", prefix: "db")
            let t0 = Timestamp(millisecondsSince1970: 1_800_000_000_000)

            let leaseA = try await a.acquireLease(owner: "host-a:1", token: "token-a", duration: .seconds(30), now: t0)
            #expect(leaseA.owner == "host-a:1")
            #expect(!leaseA.version.isEmpty)

            // A second replicator is refused, and told who holds the location.
            let refused = await #expect(throws: LeaseError.self) {
                _ = try await b.acquireLease(
                    owner: "host-b:2", token: "token-b", duration: .seconds(30), now: t0 + .seconds(10))
            }
            guard case .held(_, let holder) = refused else {
                Issue.record("expected held")
                return
            }
            #expect(holder.owner == "host-a:1")
            #expect(refused?.description.contains("host-a:1") == true)

            // A renews while it holds the lease.
            let renewedA = try await a.renewLease(leaseA, duration: .seconds(30), now: t0 + .seconds(20))
            #expect(renewedA.expires == t0 + .seconds(50))
            #expect(renewedA.version != leaseA.version)

            // Once A's lease has expired, B takes over...
            let leaseB = try await b.acquireLease(
                owner: "host-b:2", token: "token-b", duration: .seconds(30), now: t0 + .seconds(51))
            #expect(leaseB.token == "token-b")

            // ...and A's next renewal finds it lost, naming the new holder.
            let lost = await #expect(throws: LeaseError.self) {
                _ = try await a.renewLease(renewedA, duration: .seconds(30), now: t0 + .seconds(52))
            }
            guard case .lost(_, let reason) = lost else {
                Issue.record("expected lost")
                return
            }
            #expect(reason.contains("host-b:2"))

            // A's release does not remove B's lease; B's release does.
            try await a.releaseLease(renewedA)
            #expect(try await b.readLease()?.token == "token-b")
            try await b.releaseLease(leaseB)
            #expect(try await b.readLease() == nil)
            let again = try await a.acquireLease(
                owner: "host-a:1", token: "token-a2", duration: .seconds(30), now: t0 + .seconds(60))
            #expect(again.token == "token-a2")
        }
    }

    @Test func leaseIsTakenOverEarlyOnlyBySupersedingItsToken() async throws {
        try await withMoto { moto in
            try await moto.createBucket("supersede")
            try await LeaseContract.supersededLeaseIsTakenOver(try moto.client(bucket: "supersede", prefix: "db"))
        }
    }
}
