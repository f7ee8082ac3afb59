/// How badly the simulated S3 endpoint (`SimS3Endpoint`) behaves on the wire, over and above the
/// store's own faults (`ObjectStoreFaults`), which still apply to each store operation a request
/// makes. Every fault is drawn per request from the endpoint's seeded stream.
///
/// Rates are probabilities per request in 0...1. `none` is a perfect endpoint.
public struct S3EndpointFaults: Sendable, Equatable {
    /// The connection is reset before the request reaches the store: nothing applied.
    public var resetRate: Double
    /// 500 InternalError before the request is applied.
    public var internalErrorRate: Double
    /// 503 SlowDown before the request is applied.
    public var slowDownRate: Double
    /// The request is applied, then its response is lost (a transport error): a retry finds its
    /// own work done.
    public var ambiguousRate: Double
    /// The request stalls, before or after it is applied (an even draw), for a duration drawn
    /// from `stallDuration`. A stall past the request's timeout ends as a timeout.
    public var stallRate: Double
    public var stallDuration: ClosedRange<Duration>
    /// A successful GET's body is cut short; the transport reports the short transfer as a lost
    /// connection, as libcurl does (CURLE_PARTIAL_FILE).
    public var truncateRate: Double
    /// A PutObject other than a lease write is held past the request's timeout and lands later,
    /// after a delay drawn from `lateLandingDelay` past the timeout: a retry of it (or any later
    /// PUT of the key) lands first and is then overwritten, as S3's last-writer-by-arrival
    /// allows, unless the late one is a create (`If-None-Match: *`), which is then refused.
    public var lateLandingRate: Double
    public var lateLandingDelay: ClosedRange<Duration>

    public init(
        resetRate: Double = 0, internalErrorRate: Double = 0, slowDownRate: Double = 0, ambiguousRate: Double = 0,
        stallRate: Double = 0, stallDuration: ClosedRange<Duration> = .seconds(1) ... .seconds(60),
        truncateRate: Double = 0, lateLandingRate: Double = 0,
        lateLandingDelay: ClosedRange<Duration> = .seconds(1) ... .seconds(60)
    ) {
        for rate in [
            resetRate, internalErrorRate, slowDownRate, ambiguousRate, stallRate, truncateRate, lateLandingRate,
        ] {
            precondition((0...1).contains(rate), "fault rates are probabilities within 0...1")
        }
        precondition(
            stallDuration.lowerBound >= .zero && lateLandingDelay.lowerBound >= .zero, "durations cannot be negative")
        self.resetRate = resetRate
        self.internalErrorRate = internalErrorRate
        self.slowDownRate = slowDownRate
        self.ambiguousRate = ambiguousRate
        self.stallRate = stallRate
        self.stallDuration = stallDuration
        self.truncateRate = truncateRate
        self.lateLandingRate = lateLandingRate
        self.lateLandingDelay = lateLandingDelay
    }

    /// An endpoint that never fails or stalls.
    public static let none = S3EndpointFaults()
}
