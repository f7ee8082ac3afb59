import Core
import Synchronization
import Testing

/// A store without conditional writes answers `If-None-Match` with 501 Not Implemented. That
/// answer is final: retrying it only delays the error, and the error must tell the user that the
/// store, not the network, is the problem.
@Suite("S3: a 501 to a conditional write fails at once with a message naming the missing feature")
struct S3NotImplementedTests {
    /// A store that implements everything but conditional headers, and records each request.
    final class NoConditionsTransport: HTTPTransport {
        let requests = Mutex<[String]>([])

        func send(_ request: HTTPRequest) async throws -> HTTPResponse {
            let query = request.url.split(separator: "?", maxSplits: 1).dropFirst().first.map(String.init) ?? ""
            requests.withLock { $0.append("\(request.method) \(query)") }
            if request.headers.contains(where: { $0.name.lowercased() == "if-none-match" }) {
                let body =
                    "<Error><Code>NotImplemented</Code><Message>A header you provided implies functionality"
                    + " that is not implemented</Message></Error>"
                return HTTPResponse(status: 501, headers: [], body: Array(body.utf8))
            }
            if request.method == "POST" && query.hasPrefix("uploads") {
                let body = "<InitiateMultipartUploadResult><UploadId>u1</UploadId></InitiateMultipartUploadResult>"
                return HTTPResponse(status: 200, headers: [], body: Array(body.utf8))
            }
            if request.method == "DELETE" { return HTTPResponse(status: 204, headers: [], body: []) }
            return HTTPResponse(status: 200, headers: [HTTPHeader("ETag", "\"e\"")], body: [])
        }

        func stream(_ request: HTTPRequest) async throws -> (response: HTTPResponse, body: (any ByteSource)?) {
            (try await send(request), nil)
        }
    }

    private func client(_ transport: NoConditionsTransport, partSize: Int = 8 << 20) throws -> S3ReplicaClient {
        let configuration = try S3Configuration.resolve(
            S3Location(bucket: "plain", endpoint: "http://127.0.0.1:9"),
            environment: ["AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "s3cr3t-never-shown"],
            readFile: { _ in nil })
        return S3ReplicaClient(
            configuration: configuration, transport: transport, wallClock: FixedWallClock(),
            clock: ContinuousClock(), random: FixedRandom(7), partSize: partSize)
    }

    private func expectNotImplemented(
        _ error: any Error, operation: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        guard case S3Error.notImplemented(_, let named, true, _) = error else {
            Issue.record("expected a conditional notImplemented, got \(error)", sourceLocation: sourceLocation)
            return
        }
        #expect(named == operation, sourceLocation: sourceLocation)
        let message = "\(error)"
        #expect(message.contains("If-None-Match") && message.contains("HTTP 501"), sourceLocation: sourceLocation)
        #expect(!message.contains("s3cr3t") && !message.contains("\n"), sourceLocation: sourceLocation)
    }

    @Test("a segment PUT with If-None-Match is sent once, not retried")
    func putIsNotRetried() async throws {
        let transport = NoConditionsTransport()
        let s3 = try client(transport)
        let error = await #expect(throws: (any Error).self) {
            _ = try await s3.writeNewObject(
                "generations/x/wal/a.wal.lz4", data: BytesSource(Array(repeating: 1, count: 10)))
        }
        try expectNotImplemented(#require(error), operation: "PutObject")
        #expect(transport.requests.withLock { $0 } == ["PUT "])
    }

    @Test("a multipart segment's conditional CompleteMultipartUpload is sent once, then the upload aborted")
    func completeIsNotRetried() async throws {
        let transport = NoConditionsTransport()
        let s3 = try client(transport, partSize: 8)
        let error = await #expect(throws: (any Error).self) {
            _ = try await s3.writeNewObject(
                "generations/x/wal/b.wal.lz4", data: BytesSource(Array(repeating: 2, count: 20)))
        }
        try expectNotImplemented(#require(error), operation: "CompleteMultipartUpload")
        let requests = transport.requests.withLock { $0 }
        #expect(requests.filter { $0 == "POST uploadId=u1" }.count == 1, "\(requests)")
        #expect(requests.last == "DELETE uploadId=u1", "\(requests)")
    }

    @Test("taking a lease on such a store fails at once with the same message")
    func leaseFailsAtOnce() async throws {
        let transport = NoConditionsTransport()
        let s3 = try client(transport)
        let error = await #expect(throws: (any Error).self) {
            _ = try await s3.acquireLease(
                owner: "host:1", token: "t", duration: .seconds(30), now: FixedWallClock().now(), supersedes: nil)
        }
        try expectNotImplemented(#require(error), operation: "PutObject")
        #expect(transport.requests.withLock { $0 }.count == 1)
    }

    @Test("501 is final, and never counts as a request that may have applied")
    func policy() {
        let outcome = S3AttemptOutcome.response(status: 501, code: "NotImplemented")
        #expect(S3RetryPolicy().decide(attempt: 1, outcome: outcome, random: 0) == .fail)
        #expect(!S3RetryPolicy.mayHaveApplied(outcome))
        #expect(S3RetryPolicy.isRetryable(.response(status: 502, code: nil)))
    }
}
