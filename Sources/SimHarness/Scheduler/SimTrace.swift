/// The record of one run: a running FNV-1a digest over every event plus the last few events
/// for failure reports. Only the simulator thread touches it.
///
/// Components append their own events (an upload, a fault, a crash) with `SimTrace.record`, so
/// the digest covers what they did, not just how jobs were picked; two runs of one seed that
/// differ anywhere show different digests.
public final class SimTrace {
    /// One traced event. Scheduler events carry no label, so tracing a job costs no allocation.
    struct Event {
        enum Kind: UInt8 {
            case pick = 1, timer = 2, user = 3, escape = 4
        }
        var kind: Kind
        var at: Duration
        var a: UInt64
        var b: UInt64
        var label: String?
    }

    public private(set) var digest: UInt64 = 0xcbf2_9ce4_8422_2325
    public private(set) var count = 0
    private var ring: [Event] = []
    private var ringStart = 0
    private let capacity: Int

    init(capacity: Int) {
        // No reserve: `--trace` asks for ten million events, which most runs never reach.
        self.capacity = capacity
    }

    /// Appends an event to the current run's trace. Call it only inside a run, on the simulator
    /// thread (inside simulated code); elsewhere it records an escape or does nothing.
    public static func record(_ label: String, _ value: UInt64 = 0) {
        guard let scheduler = SimScheduler.current else { return }
        scheduler.trace(label, value)
    }

    func append(_ kind: Event.Kind, at: Duration, _ a: UInt64, _ b: UInt64, label: String? = nil) {
        var hash = digest
        hash = (hash ^ UInt64(kind.rawValue)) &* 0x0000_0100_0000_01b3
        hash = Self.mix(hash, a)
        hash = Self.mix(hash, b)
        if let label {
            for byte in label.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        }
        digest = hash
        count += 1
        guard capacity > 0 else { return }
        let event = Event(kind: kind, at: at, a: a, b: b, label: label)
        if ring.count < capacity {
            ring.append(event)
        } else {
            ring[ringStart] = event
            ringStart = (ringStart + 1) % capacity
        }
    }

    @inline(__always)
    private static func mix(_ hash: UInt64, _ value: UInt64) -> UInt64 {
        var hash = hash
        var value = value
        for _ in 0..<8 {
            hash = (hash ^ (value & 0xff)) &* 0x0000_0100_0000_01b3
            value >>= 8
        }
        return hash
    }

    /// The retained events, oldest first, one line each.
    func tail() -> [String] {
        let ordered = Array(ring[ringStart...]) + Array(ring[..<ringStart])
        return ordered.map { event in
            switch event.kind {
            case .pick: return "[\(event.at)] run job #\(event.a) of \(event.b) runnable"
            case .timer: return "[\(event.at)] timer fired (\(event.b) due)"
            case .user: return "[\(event.at)] \(event.label ?? "") \(event.a)"
            case .escape: return "[\(event.at)] ESCAPE \(event.label ?? "")"
            }
        }
    }
}
