import Synchronization

/// Counters a long operation bumps as it goes (bytes downloaded, bytes applied, objects
/// checked) and a progress display samples a few times a second. Each bump is one relaxed atomic
/// add, so the pipeline never waits on the display and takes no lock per chunk or page.
public final class ProgressMeter: Sendable {
    /// What is counted, for the display; fixed when the meter is made.
    public let quantities: [ProgressQuantity]
    // Atomics cannot live in an array; three quantities are enough for every display.
    private let first = Atomic<Int64>(0)
    private let second = Atomic<Int64>(0)
    private let third = Atomic<Int64>(0)
    /// The first quantity's total once the operation knows it (-1 until then).
    private let firstTotal = Atomic<Int64>(-1)

    /// At most three quantities.
    public init(_ quantities: [ProgressQuantity]) {
        precondition((1...3).contains(quantities.count), "a progress line shows one to three quantities")
        self.quantities = quantities
    }

    /// Adds `amount` to quantity `index`.
    public func add(_ amount: Int64, to index: Int) {
        switch index {
        case 0: first.wrappingAdd(amount, ordering: .relaxed)
        case 1: second.wrappingAdd(amount, ordering: .relaxed)
        default: third.wrappingAdd(amount, ordering: .relaxed)
        }
    }

    /// Sets the first quantity's total, known once the operation has planned.
    public func setTotal(_ total: Int64) {
        firstTotal.store(total, ordering: .relaxed)
    }

    /// The counts now, with `elapsed` since the operation began.
    public func reading(label: String, elapsed: Duration) -> ProgressReading {
        var measured = quantities
        let counts = [first.load(ordering: .relaxed), second.load(ordering: .relaxed), third.load(ordering: .relaxed)]
        for index in measured.indices { measured[index].done = counts[index] }
        let total = firstTotal.load(ordering: .relaxed)
        if total >= 0 { measured[0].total = total }
        return ProgressReading(label: label, quantities: measured, elapsed: elapsed)
    }
}

extension ProgressMeter {
    /// The quantities of a restore: compressed bytes downloaded (of the plan's total) and bytes
    /// written into the database.
    /// The total is set when the restore has planned (`setTotal`).
    public static func restore() -> ProgressMeter {
        ProgressMeter([
            ProgressQuantity(verb: "downloaded", unit: .bytes),
            ProgressQuantity(verb: "applied", unit: .bytes),
        ])
    }

    /// The quantities of a verify: compressed bytes read from the replica (the rate is theirs)
    /// and objects read whole.
    public static func verify() -> ProgressMeter {
        ProgressMeter([
            ProgressQuantity(verb: "read", unit: .bytes),
            ProgressQuantity(verb: "checked", unit: .count("objects")),
        ])
    }

    /// Index of the downloaded bytes in a restore meter.
    public static let downloaded = 0
    /// Index of the applied bytes in a restore meter.
    public static let applied = 1
    /// Index of the bytes read in a verify meter.
    public static let verifyRead = 0
    /// Index of the objects checked in a verify meter.
    public static let verifyChecked = 1
}

extension ProgressMeter: Equatable {
    /// One meter is only ever equal to itself: it is where one operation counts.
    public static func == (lhs: ProgressMeter, rhs: ProgressMeter) -> Bool { lhs === rhs }
}

/// One thing a progress line counts.
public struct ProgressQuantity: Sendable, Equatable {
    public enum Unit: Sendable, Equatable {
        case bytes
        /// Whole things, named in the plural ("objects").
        case count(String)
    }

    /// What happens to it: "downloaded", "applied", "checked".
    public var verb: String
    public var unit: Unit
    /// How much there is in all, when known.
    public var total: Int64?
    public var done: Int64

    public init(verb: String, unit: Unit, total: Int64? = nil, done: Int64 = 0) {
        self.verb = verb
        self.unit = unit
        self.total = total
        self.done = done
    }
}

/// A meter's counts at one moment.
public struct ProgressReading: Sendable, Equatable {
    public var label: String
    /// The first quantity sets the rate and the time remaining.
    public var quantities: [ProgressQuantity]
    public var elapsed: Duration

    public init(label: String, quantities: [ProgressQuantity], elapsed: Duration) {
        self.label = label
        self.quantities = quantities
        self.elapsed = elapsed
    }
}
