import Core

/// A simulated S3 endpoint: an `HTTPTransport` that answers the production `S3ReplicaClient`'s
/// path-style requests over a `SimObjectStore`, so the real client (SigV4, XML listings,
/// pagination, multipart, conditional lease writes, retries) runs under the simulator.
///
/// Object keys are the store's keys unchanged (the bucket is only checked), so a client whose
/// prefix is a `SimReplicaClient`'s root writes the keys that client would, and every oracle that
/// reads the store sees them. Each request's signature is recomputed with the endpoint's
/// credentials, and bodies are checked against `Content-MD5` and `x-amz-content-sha256`.
///
/// Wire faults (`S3EndpointFaults`) draw from the endpoint's own stream; the store's faults
/// apply underneath to each store operation a request makes and come back as S3 would show
/// them: a store error as 500 InternalError, a throttle as 503 SlowDown, a lost store answer as
/// a lost connection, a store stall as time the request takes (a timeout past its deadline).
public actor SimS3Endpoint: HTTPTransport {
    /// What the endpoint did, for tests and reports.
    public struct Statistics: Sendable, Equatable {
        public var requests = 0
        public var refusedSignatures = 0
        public var faults = 0
        public var lateLandings = 0
        public var multipartUploads = 0
        /// Creates (`If-None-Match: *`) refused because the key existed.
        public var refusedCreates = 0
    }

    public nonisolated let store: SimObjectStore
    public nonisolated let bucket: String
    public nonisolated let region: String
    public nonisolated let credentials: S3Credentials
    let clock: SimClock
    let random: any RandomSource
    let spawner: TaskSpawner
    public private(set) var faults: S3EndpointFaults
    public internal(set) var statistics = Statistics()
    /// Multipart uploads in progress: their parts by number.
    var uploads: [String: (key: String, parts: [Int: [UInt8]])] = [:]
    var nextUploadNumber = 1

    public init(
        store: SimObjectStore, bucket: String, region: String = "us-east-1", credentials: S3Credentials,
        clock: SimClock, random: any RandomSource, spawner: TaskSpawner, faults: S3EndpointFaults = .none
    ) {
        self.store = store
        self.bucket = bucket
        self.region = region
        self.credentials = credentials
        self.clock = clock
        self.random = random
        self.spawner = spawner
        self.faults = faults
    }

    /// An endpoint on the scheduler's clock, spawner and the stream `s3-endpoint` of its seed.
    public init(
        scheduler: SimScheduler, store: SimObjectStore, bucket: String, credentials: S3Credentials,
        faults: S3EndpointFaults = .none
    ) {
        self.init(
            store: store, bucket: bucket, credentials: credentials, clock: scheduler.clock,
            random: scheduler.randomSource("s3-endpoint"), spawner: scheduler.spawner, faults: faults)
    }

    /// Changes the fault mix, e.g. to heal the endpoint for a liveness phase.
    public func setFaults(_ faults: S3EndpointFaults) { self.faults = faults }

    // MARK: - HTTPTransport

    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        try await exchange(request, reader: nil)
    }

    public func stream(_ request: HTTPRequest) async throws -> (response: HTTPResponse, body: (any ByteSource)?) {
        try await stream(request, reader: nil)
    }

    /// `send` for a named reader: the store records the damage its reads and listings meet
    /// (`SimObjectStore.takeDamageSeen(by:)`), as for a `SimReplicaClient` reading as it.
    public func send(_ request: HTTPRequest, reader: String?) async throws -> HTTPResponse {
        try await exchange(request, reader: reader)
    }

    /// `stream` for a named reader (see `send(_:reader:)`).
    public func stream(_ request: HTTPRequest, reader: String?) async throws -> (
        response: HTTPResponse, body: (any ByteSource)?
    ) {
        var response = try await exchange(request, reader: reader)
        guard response.isSuccess else { return (response, nil) }
        let body = response.body
        response.body = []
        return (response, BytesSource(body))
    }

    // MARK: - One request on the wire

    /// Carries one request: wire faults before it, its effect, wire faults after it. The timeout
    /// is the request's total deadline, or for transfers without one its low-speed window (a
    /// stalled transfer moves no bytes).
    private func exchange(_ http: HTTPRequest, reader: String?) async throws -> HTTPResponse {
        statistics.requests += 1
        let started = clock.now
        let deadline = http.timeouts.total ?? http.timeouts.lowSpeedWindow
        guard var request = SimS3Request(http) else {
            return S3Answers.error(400, "InvalidURI", "the URL cannot be parsed", resource: http.url)
        }
        request.reader = reader
        let label = "\(request.operation) \(request.key ?? request.queryValue("prefix") ?? "")"
        if chance(faults.resetRate) { throw fault("reset", label, .connectionLost, "connection reset by peer") }
        if chance(faults.slowDownRate) {
            _ = fault("slow-down", label, .other, "")
            return S3Answers.error(503, "SlowDown", "Please reduce your request rate.", resource: label)
        }
        if chance(faults.internalErrorRate) {
            _ = fault("internal-error", label, .other, "")
            return S3Answers.error(
                500, "InternalError", "We encountered an internal error. Please try again.", resource: label)
        }
        let stall = chance(faults.stallRate) ? draw(faults.stallDuration) : nil
        let stallsAfter = stall != nil && chance(0.5)
        if let stall, !stallsAfter { try await stallFor(stall, deadline: deadline, label: label, applied: false) }
        // A conditional create (a WAL segment's `If-None-Match`) lands late like a plain PUT, its
        // condition judged when it lands, as S3 judges it. Lease writes are never held: a lease
        // write landing late is a hazard of its own, not modelled yet.
        if request.operation == "PutObject", let key = request.key, key != "lease", !key.hasSuffix("/lease"),
            chance(faults.lateLandingRate)
        {
            try await landLate(request, deadline: deadline, label: label)
        }
        let response = try await answer(request)
        if started.duration(to: clock.now) > deadline {
            throw fault("timeout", label, .timedOut, "operation timed out after \(deadline) (applied)")
        }
        if let stall, stallsAfter { try await stallFor(stall, deadline: deadline, label: label, applied: true) }
        if chance(faults.ambiguousRate) {
            throw fault("response-lost", label, .connectionLost, "connection reset after the request was sent")
        }
        if response.isSuccess, request.method == "GET", request.key != nil, !response.body.isEmpty,
            chance(faults.truncateRate)
        {
            let kept = Int(random.next() % UInt64(response.body.count))
            throw fault(
                "truncated-body", label, .connectionLost,
                "transfer closed with \(response.body.count - kept) bytes remaining to read")
        }
        return response
    }

    /// The request's answer once it reaches the store: the signature checked, then its effect,
    /// with the store's own faults shown as S3 shows them.
    private func answer(_ request: SimS3Request) async throws -> HTTPResponse {
        let resource = "/\(request.bucket)/\(request.key ?? "")"
        let isHead = request.method == "HEAD"
        if let problem = request.signatureProblem(credentials: credentials, region: region) {
            statistics.refusedSignatures += 1
            SimTrace.record("s3.refused \(problem.code) \(request.operation)")
            return S3Answers.error(problem.status, problem.code, problem.message, resource: resource, head: isHead)
        }
        guard request.bucket == bucket else {
            return S3Answers.error(
                404, "NoSuchBucket", "The specified bucket does not exist", resource: resource, head: isHead)
        }
        do {
            return try await route(request)
        } catch SimObjectStoreError.unavailable(_, _, let status, let reason) {
            switch status {
            case 0: throw HTTPTransportError(kind: .connectionLost, code: 56, message: reason)
            case 503: return S3Answers.error(503, "SlowDown", reason, resource: resource, head: isHead)
            default: return S3Answers.error(500, "InternalError", reason, resource: resource, head: isHead)
            }
        }
    }

    private func route(_ request: SimS3Request) async throws -> HTTPResponse {
        switch request.operation {
        case "ListObjectsV2": return try await listObjects(request)
        case "DeleteObjects": return try await deleteObjects(request)
        case "PutObject": return try await putObject(request)
        case "GetObject", "HeadObject": return try await getObject(request)
        case "DeleteObject": return try await deleteObject(request)
        case "CreateMultipartUpload": return createMultipartUpload(request)
        case "UploadPart": return uploadPart(request)
        case "CompleteMultipartUpload": return try await completeMultipartUpload(request)
        case "AbortMultipartUpload": return abortMultipartUpload(request)
        default:
            return S3Answers.error(
                405, "MethodNotAllowed", "\(request.method) is not allowed here", resource: request.encodedPath)
        }
    }

    // MARK: - Faults

    /// Stalls for `duration`, or until the deadline and then times out.
    private func stallFor(_ duration: Duration, deadline: Duration, label: String, applied: Bool) async throws {
        SimTrace.record("s3.stall \(applied ? "after" : "before") \(label)")
        guard duration < deadline else {
            try await clock.sleep(for: deadline)
            throw fault(
                "timeout", label, .timedOut, "operation timed out after \(deadline)\(applied ? " (applied)" : "")")
        }
        try await clock.sleep(for: duration)
    }

    /// Holds a PutObject past its deadline (the client times out) and applies it later, on its
    /// own task, so that a retry lands first and this one then overwrites it.
    private func landLate(_ request: SimS3Request, deadline: Duration, label: String) async throws -> Never {
        let delay = deadline + draw(faults.lateLandingDelay)
        statistics.lateLandings += 1
        _ = spawner.spawn { [self] in
            try await clock.sleep(for: delay)
            SimTrace.record("s3.late-landing \(label)")
            _ = try? await answer(request)
        }
        try await clock.sleep(for: deadline)
        throw fault("timeout", label, .timedOut, "operation timed out after \(deadline) (held; lands later)")
    }

    private func fault(_ name: String, _ label: String, _ kind: HTTPTransportError.Kind, _ message: String)
        -> HTTPTransportError
    {
        statistics.faults += 1
        SimTrace.record("s3.\(name) \(label)")
        return HTTPTransportError(kind: kind, code: kind == .timedOut ? 28 : 56, message: message)
    }

    private func chance(_ rate: Double) -> Bool { rate > 0 && random.unitInterval() < rate }

    private func draw(_ range: ClosedRange<Duration>) -> Duration {
        let span = (range.upperBound - range.lowerBound).milliseconds
        return range.lowerBound + .milliseconds(span <= 0 ? 0 : Int64(random.next() % UInt64(span + 1)))
    }
}
