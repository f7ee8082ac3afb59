import Core
import Synchronization
import Testing

/// Lease requests must end well inside the lease they keep: held to the default two-minute
/// deadline, one stuck renewal outlives a 30 s lease and another replicator takes the location
/// of a live one.
@Suite("S3 lease requests carry a deadline inside the lease")
struct S3LeaseDeadlineTests {
    /// Answers every request 200 with an ETag and records each request's deadline.
    final class RecordingTransport: HTTPTransport {
        let deadlines = Mutex<[(String, Duration?)]>([])

        func send(_ request: HTTPRequest) async throws -> HTTPResponse {
            deadlines.withLock { $0.append((request.method, request.timeouts.total)) }
            return HTTPResponse(status: 200, headers: [HTTPHeader("ETag", "\"v1\"")], body: [])
        }

        func stream(_ request: HTTPRequest) async throws -> (response: HTTPResponse, body: (any ByteSource)?) {
            (try await send(request), nil)
        }
    }

    private func client(_ transport: RecordingTransport) throws -> S3ReplicaClient {
        let configuration = try S3Configuration.resolve(
            S3Location(bucket: "leases", endpoint: "http://127.0.0.1:9"),
            environment: ["AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"], readFile: { _ in nil })
        return S3ReplicaClient(
            configuration: configuration, transport: transport, wallClock: FixedWallClock(),
            clock: ContinuousClock(), random: FixedRandom(7))
    }

    @Test("taking and renewing a 30 s lease: every attempt must answer within 5 s")
    func leaseRequestsEndInsideTheLease() async throws {
        let transport = RecordingTransport()
        let s3 = try client(transport)
        let now = FixedWallClock().now()
        let lease = try await s3.acquireLease(
            owner: "host:1", token: "t", duration: .seconds(30), now: now, supersedes: nil)
        _ = try await s3.renewLease(lease, duration: .seconds(30), now: now + .seconds(10))
        let recorded = transport.deadlines.withLock { $0 }
        #expect(recorded.count == 2)
        #expect(recorded.allSatisfy { $0.1 == .seconds(5) })
    }

    @Test("a short lease still allows 2 s; other requests keep their two minutes")
    func floorsAndDefaults() async throws {
        let transport = RecordingTransport()
        let s3 = try client(transport)
        let now = FixedWallClock().now()
        _ = try await s3.acquireLease(owner: "host:1", token: "t", duration: .seconds(6), now: now, supersedes: nil)
        _ = try? await s3.generations() // the answer is not a listing; only the request counts
        let recorded = transport.deadlines.withLock { $0 }
        #expect(recorded.map(\.1) == [.seconds(2), .seconds(120)])
    }
}
