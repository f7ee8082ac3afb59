/// One S3 API call before signing: `key` nil addresses the bucket itself.
struct S3Operation: Sendable {
    var name: String
    var method: String
    var key: String?
    var query: [QueryItem] = []
    var headers: [HTTPHeader] = []
    var body: [UInt8] = []
    /// CompleteMultipartUpload can answer 200 with an `<Error>` body; such calls parse it.
    var successMayCarryError = false
    /// Each attempt's overall deadline, when it must be shorter than the default (lease requests).
    var deadline: Duration?

    var isConditional: Bool {
        headers.contains { ["if-match", "if-none-match"].contains($0.name.lowercased()) }
    }
}

/// The final answer to an operation, after retries.
struct S3Answer {
    var operation: String
    var response: HTTPResponse
    var body: (any ByteSource)?
    var errorCode: String?
    var errorMessage: String
    /// An earlier attempt got no answer or a 5xx, so it may have taken effect: a 412 now may be
    /// our own success rather than someone else's write.
    var earlierAttemptMayHaveApplied: Bool
    /// The request carried `If-Match` or `If-None-Match`.
    var conditional = false

    var succeeded: Bool { response.isSuccess && errorCode == nil }

    /// A conditional write (`If-Match`, `If-None-Match`) refused because its condition failed.
    var isPreconditionFailure: Bool { response.status == 412 || errorCode == "PreconditionFailed" }

    /// Throws the error this answer means unless it is a success.
    func requireSuccess(_ client: S3ReplicaClient, key: String?) throws {
        guard !succeeded else { return }
        throw client.error(for: self, key: key)
    }
}

extension S3ReplicaClient {
    /// The URL, `Host` value and unencoded path for `key` (or the bucket).
    func address(key: String?, query: [QueryItem]) -> (url: String, host: String, path: String) {
        let c = configuration
        let host: String
        let path: String
        if c.pathStyle {
            host = c.endpointHost
            path = c.endpointPath + "/" + c.bucket + (key.map { "/" + $0 } ?? "")
        } else {
            host = c.bucket + "." + c.endpointHost
            path = c.endpointPath + "/" + (key ?? "")
        }
        var url = "\(c.scheme)://\(host)\(S3Signer.encodePath(path))"
        if !query.isEmpty { url += "?" + S3Signer.canonicalQuery(query) }
        return (url, host, path)
    }

    var endpointDescription: String {
        "\(configuration.scheme)://\(configuration.endpointHost)\(configuration.endpointPath)"
    }

    /// Sends `operation`, signing every attempt afresh and retrying per the policy. Throws only
    /// when no attempt got an HTTP answer; HTTP failures come back in the answer.
    func perform(_ operation: S3Operation, streaming: Bool = false) async throws -> S3Answer {
        let (url, host, path) = address(key: operation.key, query: operation.query)
        let payloadHash = Digests.hex(Digests.sha256(operation.body))
        // Small control requests get an overall deadline; data transfers only a minimum speed.
        let timeouts =
            operation.body.count > (1 << 20) || streaming
            ? HTTPTimeouts() : HTTPTimeouts(total: min(operation.deadline ?? .seconds(120), .seconds(120)))
        var mayHaveApplied = false
        var attempt = 0
        while true {
            attempt += 1
            let headers = signer.sign(
                method: operation.method, host: host, path: path, query: operation.query,
                headers: operation.headers, payloadHash: payloadHash, date: wallClock.now())
            let request = HTTPRequest(
                method: operation.method, url: url, headers: headers, body: operation.body, timeouts: timeouts)
            let outcome: S3AttemptOutcome
            let delay: Duration
            do {
                let response: HTTPResponse
                let body: (any ByteSource)?
                if streaming {
                    (response, body) = try await transport.stream(request)
                } else {
                    (response, body) = (try await transport.send(request), nil)
                }
                let parsed = response.isSuccess && !operation.successMayCarryError ? nil : S3XML.error(response.body)
                let answer = S3Answer(
                    operation: operation.name, response: response, body: body,
                    errorCode: parsed?.code, errorMessage: parsed?.message ?? "",
                    earlierAttemptMayHaveApplied: mayHaveApplied, conditional: operation.isConditional)
                let responseOutcome = S3AttemptOutcome.response(status: response.status, code: parsed?.code)
                guard !answer.succeeded,
                    case .retry(let wait) = retryPolicy.decide(
                        attempt: attempt, outcome: responseOutcome, random: random.next())
                else { return answer }
                await body?.close()
                (outcome, delay) = (responseOutcome, wait)
            } catch let error as HTTPTransportError {
                let transportOutcome = S3AttemptOutcome.transport(error.kind)
                guard
                    case .retry(let wait) = retryPolicy.decide(
                        attempt: attempt, outcome: transportOutcome, random: random.next())
                else {
                    throw S3Error.unreachable(bucket: bucket, endpoint: endpointDescription, reason: error.message)
                }
                (outcome, delay) = (transportOutcome, wait)
            }
            try await clock.sleep(for: delay)
            mayHaveApplied = mayHaveApplied || S3RetryPolicy.mayHaveApplied(outcome)
        }
    }

    /// The error a failed answer means, with the bucket named and no secrets.
    func error(for answer: S3Answer, key: String?) -> any Error {
        let status = answer.response.status
        let code = answer.errorCode ?? ""
        switch (status, code) {
        case (_, "NoSuchBucket"):
            return S3Error.noSuchBucket(bucket: bucket, endpoint: endpointDescription)
        case (404, _) where key != nil:
            return ReplicaClientError.notFound(replica: location, key: key!)
        case (404, _) where answer.operation == "ListObjectsV2":
            return S3Error.noSuchBucket(bucket: bucket, endpoint: endpointDescription)
        case (403, _):
            return S3Error.accessDenied(
                bucket: bucket, code: code.isEmpty ? "AccessDenied" : code, message: answer.errorMessage)
        case (501, _):
            return S3Error.notImplemented(
                bucket: bucket, operation: answer.operation, conditional: answer.conditional,
                message: answer.errorMessage)
        case (301, _), (_, "PermanentRedirect"), (400, "AuthorizationHeaderMalformed"):
            return S3Error.wrongRegion(
                bucket: bucket, configured: configuration.region,
                actual: answer.response.header("x-amz-bucket-region"))
        default:
            return S3Error.requestFailed(
                bucket: bucket, operation: answer.operation, status: status,
                code: code, message: answer.errorMessage)
        }
    }
}
