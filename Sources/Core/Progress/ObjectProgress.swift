import Synchronization

/// The bytes of one attempt to read one replica object that are on a `ProgressMeter`, counted
/// once whoever moves them: the client, while it fetches the object into a local spool before
/// its reader gets a source (S3 and SFTP), or the reader, as it reads. Without the client's
/// share a restore from S3 showed "0%" and hours left until a whole snapshot had landed.
///
/// The reader makes one per attempt and opens the object with it as `ObjectProgress.current`.
/// It reaches the client as a task-local rather than as a parameter, so it passes through the
/// `ReplicaClient` port and the wrappers around clients (metrics) without widening every
/// client's `open` for the sake of a display. A failed attempt takes its bytes back off the
/// meter, so retries never push a restore past 100%.
public final class ObjectProgress: Sendable {
    /// The attempt whose object the current task is opening, if anyone is counting.
    @TaskLocal public static var current: ObjectProgress?

    private let meter: ProgressMeter
    private let quantity: Int
    /// Bytes this attempt has put on the meter.
    private let counted = Atomic<Int64>(0)
    /// Of those, the bytes the client's current transfer landed in its spool.
    private let landedByClient = Atomic<Int64>(0)

    /// Counts into `quantity` of `meter`.
    public init(meter: ProgressMeter, quantity: Int) {
        self.meter = meter
        self.quantity = quantity
    }

    /// Bytes on the meter for this attempt.
    public var count: Int64 { counted.load(ordering: .relaxed) }

    // MARK: - The client's side (a transfer thread)

    /// A client's transfer landed `bytes` more of the object.
    public func landed(_ bytes: Int) {
        landedByClient.wrappingAdd(Int64(bytes), ordering: .relaxed)
        counted.wrappingAdd(Int64(bytes), ordering: .relaxed)
        meter.add(Int64(bytes), to: quantity)
    }

    /// The client's transfer failed (it may try again from the start): what it landed comes
    /// off the meter.
    public func transferFailed() {
        let bytes = landedByClient.exchange(0, ordering: .relaxed)
        counted.wrappingSubtract(bytes, ordering: .relaxed)
        meter.add(-bytes, to: quantity)
    }

    // MARK: - The reader's side (once the client has handed over a source)

    /// The reader has read `total` bytes of the object from its start: what goes past the
    /// bytes already counted is added.
    public func reached(_ total: Int64) {
        let already = counted.load(ordering: .relaxed)
        guard total > already else { return }
        counted.store(total, ordering: .relaxed)
        meter.add(total - already, to: quantity)
    }

    /// The attempt failed: everything it counted comes off the meter.
    public func abandon() {
        let bytes = counted.exchange(0, ordering: .relaxed)
        landedByClient.store(0, ordering: .relaxed)
        meter.add(-bytes, to: quantity)
    }
}
