/// What one attempt of an S3 request came to, as far as retrying is concerned.
public enum S3AttemptOutcome: Sendable, Equatable {
    /// An HTTP answer; `code` is the S3 error code from the body, if any (a 200 whose body is an
    /// `<Error>`, as CompleteMultipartUpload can send, has status 200 and a code).
    case response(status: Int, code: String?)
    /// No HTTP answer at all.
    case transport(HTTPTransportError.Kind)
}

/// Whether to try again, and after how long.
public enum S3RetryDecision: Sendable, Equatable {
    case retry(after: Duration)
    case fail
}

/// When S3 requests are retried: a pure decision over the attempt number, the outcome and a
/// random draw, so it is tested without a network.
///
/// Retried: no answer (connect failures, timeouts, dropped connections, DNS), 5xx (including
/// 503 SlowDown, which backs off harder), 408, 429, 400 RequestTimeout, 409 for a conditional
/// write racing another, and a 200 carrying an `<Error>`. Not retried: other 4xx (bad
/// credentials, missing bucket, failed preconditions), 501 (the store does not implement the
/// request, a conditional header for example) and TLS failures, which retrying cannot fix.
/// Delays use full jitter: uniform in [0, min(cap, base * 2^attempt)].
public struct S3RetryPolicy: Sendable, Equatable {
    /// Attempts in all, the first included.
    public var maxAttempts: Int
    public var baseDelay: Duration
    public var maxDelay: Duration

    public init(maxAttempts: Int = 8, baseDelay: Duration = .milliseconds(100), maxDelay: Duration = .seconds(20)) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// The decision after attempt number `attempt` (1-based) ended with `outcome`.
    public func decide(attempt: Int, outcome: S3AttemptOutcome, random: UInt64) -> S3RetryDecision {
        guard Self.isRetryable(outcome), attempt < maxAttempts else { return .fail }
        let slowDown = outcome == .response(status: 503, code: "SlowDown")
        // A throttled request starts its backoff four times higher: the service asked for less load.
        let base = slowDown ? baseDelay * 4 : baseDelay
        let exponent = min(attempt - 1, 30)
        let ceilingMs = min(
            maxDelay.milliseconds,
            base.milliseconds.multipliedReportingOverflow(by: Int64(1) << exponent).overflow
                ? maxDelay.milliseconds : base.milliseconds << exponent)
        let delayMs = ceilingMs <= 0 ? 0 : Int64(random % UInt64(ceilingMs + 1))
        return .retry(after: .milliseconds(delayMs))
    }

    public static func isRetryable(_ outcome: S3AttemptOutcome) -> Bool {
        switch outcome {
        case .transport(let kind):
            switch kind {
            case .couldNotResolve, .couldNotConnect, .timedOut, .connectionLost: return true
            case .tls, .other: return false
            }
        case .response(let status, let code):
            switch status {
            case 200..<300: return code != nil // a 200 whose body is an <Error>
            case 501: return false
            case 500..<600, 408, 429: return true
            case 400: return code == "RequestTimeout"
            case 409: return code == "ConditionalRequestConflict" || code == "OperationAborted"
            default: return false
            }
        }
    }

    /// Whether an attempt may have taken effect without us seeing the answer, so that a later
    /// 412 on a conditional write could be our own earlier success.
    public static func mayHaveApplied(_ outcome: S3AttemptOutcome) -> Bool {
        switch outcome {
        case .transport(let kind): return kind == .timedOut || kind == .connectionLost
        case .response(let status, _): return status >= 500 && status != 501
        }
    }
}
