import Core

/// How badly the simulated object store behaves. Every fault is drawn per operation from the
/// store's seeded stream, so a seed replays the same faults at the same operations.
///
/// Rates are probabilities per operation in 0...1. `none` is a perfect store.
public struct ObjectStoreFaults: Sendable, Equatable {
    /// An operation fails with a server error before it takes effect (HTTP 500/502/503).
    public var errorRate: Double
    /// An operation is throttled before it takes effect (HTTP 503 SlowDown).
    public var throttleRate: Double
    /// A write or delete takes effect but the caller still sees a failure (a timeout or a reset
    /// after the request was sent), so a retry finds its own work already done.
    public var ambiguousRate: Double
    /// An operation stalls before it reaches the store, for a duration drawn from `stallDuration`.
    public var stallBeforeRate: Double
    /// An operation stalls after it took effect, before the caller hears back.
    public var stallAfterRate: Double
    public var stallDuration: ClosedRange<Duration>
    /// Every operation takes a duration drawn from this range (network round trip).
    public var latency: ClosedRange<Duration>
    /// At most this many entries per listing page; callers page through the rest.
    public var listPageSize: Int
    /// Extra time each listing page takes: a slow listing of a large replica.
    public var listPageDelay: Duration

    // Damage at rest. Each is the chance that a replica data object (a snapshot or WAL segment,
    // a key under `generations/`; never the lease) is damaged when its write lands. The store
    // serves the damage until `SimObjectStore.healDamage()` (the liveness phase), or until the
    // key is written again. Drawn from the store's damage stream, one draw per data write.

    /// Trailing bytes dropped.
    public var truncateRate: Double
    /// A run of bytes inside the object dropped.
    public var dropBytesRate: Double
    /// A few bytes changed in place.
    public var changeBytesRate: Double
    /// The object vanishes from listings and reads.
    public var lossRate: Double

    public init(
        errorRate: Double = 0, throttleRate: Double = 0, ambiguousRate: Double = 0,
        stallBeforeRate: Double = 0, stallAfterRate: Double = 0,
        stallDuration: ClosedRange<Duration> = .seconds(1) ... .seconds(30),
        latency: ClosedRange<Duration> = .zero ... .zero,
        listPageSize: Int = 1000, listPageDelay: Duration = .zero,
        truncateRate: Double = 0, dropBytesRate: Double = 0, changeBytesRate: Double = 0, lossRate: Double = 0
    ) {
        for rate in [
            errorRate, throttleRate, ambiguousRate, stallBeforeRate, stallAfterRate,
            truncateRate, dropBytesRate, changeBytesRate, lossRate,
        ] {
            precondition((0...1).contains(rate), "fault rates are probabilities within 0...1")
        }
        precondition(
            truncateRate + dropBytesRate + changeBytesRate + lossRate <= 1,
            "damage rates share one draw: their sum is at most 1")
        precondition(listPageSize > 0, "listPageSize must be positive")
        precondition(stallDuration.lowerBound >= .zero && latency.lowerBound >= .zero, "durations cannot be negative")
        self.errorRate = errorRate
        self.throttleRate = throttleRate
        self.ambiguousRate = ambiguousRate
        self.stallBeforeRate = stallBeforeRate
        self.stallAfterRate = stallAfterRate
        self.stallDuration = stallDuration
        self.latency = latency
        self.listPageSize = listPageSize
        self.listPageDelay = listPageDelay
        self.truncateRate = truncateRate
        self.dropBytesRate = dropBytesRate
        self.changeBytesRate = changeBytesRate
        self.lossRate = lossRate
    }

    /// A store that never fails, stalls, waits or damages, with large listing pages.
    public static let none = ObjectStoreFaults()

    /// Whether any damage class is on.
    public var damagesObjects: Bool { truncateRate + dropBytesRate + changeBytesRate + lossRate > 0 }

    /// These faults with every damage class off: what requests meet, as opposed to what rests.
    public var withoutDamage: ObjectStoreFaults {
        var faults = self
        faults.truncateRate = 0
        faults.dropBytesRate = 0
        faults.changeBytesRate = 0
        faults.lossRate = 0
        return faults
    }

    /// The damage kind a draw `unit` in 0..<1 picks, or nil for none: the rates are consecutive
    /// slices of one draw.
    func damageKind(for unit: Double) -> ObjectDamage.Kind? {
        var bound = 0.0
        for (kind, rate) in [
            (ObjectDamage.Kind.truncated, truncateRate), (.bytesDropped, dropBytesRate),
            (.bytesChanged, changeBytesRate), (.lost, lossRate),
        ] {
            bound += rate
            if unit < bound { return kind }
        }
        return nil
    }
}

/// What the simulated object store reports, in the shape an S3 client would see.
public enum SimObjectStoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The request failed with a server error, was throttled, or was cut off. `status` is the
    /// HTTP status the store would have sent (500, 503), 0 when the connection dropped.
    case unavailable(operation: String, key: String, status: Int, reason: String)
    /// The object does not exist (HTTP 404).
    case notFound(key: String)
    /// A conditional write found the object in another state than required (HTTP 412).
    case preconditionFailed(key: String)

    public var description: String {
        switch self {
        case .unavailable(let operation, let key, let status, let reason):
            return
                "simulated object store: \(operation) \(key) failed (\(status == 0 ? "no response" : "HTTP \(status)"): \(reason)); retry later"
        case .notFound(let key):
            return "simulated object store: \(key) does not exist"
        case .preconditionFailed(let key):
            return "simulated object store: \(key) changed since it was read (precondition failed)"
        }
    }
}

/// Server errors, throttling and dropped connections are one request failing; a missing object
/// or a failed precondition means the store holds something else than the caller thought.
extension SimObjectStoreError: ReplicaRequestError {
    public var replicaMayHaveChanged: Bool {
        switch self {
        case .unavailable: return false
        case .notFound, .preconditionFailed: return true
        }
    }
}
