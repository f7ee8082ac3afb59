/// Why an S3 request failed. Every message is one line naming the bucket and the cause, and
/// never contains a secret key or session token.
public enum S3Error: Error, Equatable, Sendable, CustomStringConvertible {
    /// No HTTP answer: DNS, connection, TLS or timeout.
    case unreachable(bucket: String, endpoint: String, reason: String)
    case noSuchBucket(bucket: String, endpoint: String)
    /// 403: wrong or unknown keys, a bad signature, or a policy that forbids the operation.
    case accessDenied(bucket: String, code: String, message: String)
    /// 301: the bucket lives in another region than the one configured.
    case wrongRegion(bucket: String, configured: String, actual: String?)
    /// Any other failed request.
    case requestFailed(bucket: String, operation: String, status: Int, code: String, message: String)
    /// DeleteObjects accepted the batch but could not delete `key`.
    case deleteFailed(bucket: String, key: String, code: String, message: String)
    /// An answer that is not what S3 sends.
    case malformedResponse(bucket: String, operation: String, reason: String)
    /// 501: the store does not implement the request; `conditional` when it carried `If-Match` or
    /// `If-None-Match`, which the lease and WAL segment writes cannot do without.
    case notImplemented(bucket: String, operation: String, conditional: Bool, message: String)

    public var description: String {
        switch self {
        case .unreachable(let bucket, let endpoint, let reason):
            return "s3 bucket \(bucket): cannot reach \(endpoint): \(reason); check the endpoint and the network"
        case .noSuchBucket(let bucket, let endpoint):
            return "s3 bucket \(bucket) does not exist at \(endpoint); create it or fix the bucket name"
        case .accessDenied(let bucket, let code, let message):
            let hint: String
            switch code {
            case "SignatureDoesNotMatch": hint = "the secret access key is wrong"
            case "InvalidAccessKeyId": hint = "the access key id is unknown"
            case "ExpiredToken", "InvalidToken": hint = "the session token has expired or is invalid"
            case "RequestTimeTooSkewed": hint = "the system clock is off; fix it"
            default: hint = "check the credentials and the bucket policy"
            }
            return "s3 bucket \(bucket): access denied (\(code)\(message.isEmpty ? "" : ": \(message)")); \(hint)"
        case .wrongRegion(let bucket, let configured, let actual):
            return "s3 bucket \(bucket) is not in region \(configured)"
                + (actual.map { "; it is in \($0): add region=\($0) to the URL" } ?? "; set region= in the URL")
        case .requestFailed(let bucket, let operation, let status, let code, let message):
            return
                "s3 bucket \(bucket): \(operation) failed with HTTP \(status)\(code.isEmpty ? "" : " \(code)")\(message.isEmpty ? "" : ": \(message)")"
        case .deleteFailed(let bucket, let key, let code, let message):
            return "s3 bucket \(bucket): cannot delete \(key): \(code)\(message.isEmpty ? "" : ": \(message)")"
        case .malformedResponse(let bucket, let operation, let reason):
            return "s3 bucket \(bucket): unexpected answer to \(operation): \(reason)"
        case .notImplemented(let bucket, let operation, let conditional, let message):
            let detail = message.isEmpty ? "" : ": \(message)"
            guard conditional else {
                return "s3 bucket \(bucket): the store does not implement \(operation) (HTTP 501\(detail))"
            }
            return "s3 bucket \(bucket): the store does not implement conditional writes on \(operation) "
                + "(HTTP 501\(detail)); sluice needs If-None-Match and If-Match on PutObject and "
                + "CompleteMultipartUpload to keep one writer per replica: use a store that supports them"
        }
    }
}

/// A missing bucket or one that moved region says the replica changed; anything else is one
/// request (with its retries) that did not get through.
extension S3Error: ReplicaRequestError {
    public var replicaMayHaveChanged: Bool {
        switch self {
        case .noSuchBucket, .wrongRegion: return true
        case .unreachable, .accessDenied, .requestFailed, .deleteFailed, .malformedResponse, .notImplemented:
            return false
        }
    }

    public var retryCannotHelp: Bool {
        if case .notImplemented = self { return true }
        return false
    }
}
