/// A way for work to leave the simulation's control. Any escape makes a run irreproducible, so
/// the run fails and names it rather than returning a result that a replay might not repeat.
public enum SimEscape: Sendable, Equatable, CustomStringConvertible {
    /// A job reached the global executor from the simulator thread: a `Task.detached`, or a
    /// `Task {}` created without the injected executor preference.
    case globalEnqueue
    /// A job was handed to the simulator's executor from another thread: something resumed
    /// work from outside the simulation (a real timer, Dispatch, a C callback thread).
    case foreignThreadEnqueue
    /// Code waited on real time (`Task.sleep`, `ContinuousClock.sleep`) instead of the SimClock.
    case realTimeSleep(clock: String)
    /// A simulation API (clock, trace) was called from a thread that is not the simulator's.
    case offThreadCall(String)

    public var description: String {
        switch self {
        case .globalEnqueue:
            return
                "a job was enqueued on the global executor from the simulator thread (Task.detached, or Task {} without the injected TaskSpawner/executor preference)"
        case .foreignThreadEnqueue:
            return
                "a job was enqueued on the simulator from another thread (work resumed by a real timer, Dispatch or a C callback)"
        case .realTimeSleep(let clock):
            return
                "a real-time sleep on \(clock) inside the simulation (Task.sleep or a system clock): sleep on the injected SimClock instead"
        case .offThreadCall(let what):
            return "\(what) was called off the simulator thread"
        }
    }
}

/// Why a simulation run failed.
public enum SimFailure: Sendable, Equatable, CustomStringConvertible {
    /// Nothing can run and no simulated timer is pending, yet the root task has not finished:
    /// every task waits on something only another task could provide, or on real time.
    case deadlock
    /// Work left the simulation's control.
    case escape(SimEscape)
    /// More jobs ran than `SchedulerOptions.maxJobs` allows.
    case jobLimit(Int)
    /// Simulated time would have passed `SchedulerOptions.maxSimulatedTime`.
    case timeLimit(Duration)
    /// The body of the run threw this error (described, since errors need not be Equatable).
    case bodyThrew(String)

    public var description: String {
        switch self {
        case .deadlock:
            return
                "deadlock: no job is runnable and no simulated timer is pending, but the root task has not finished (tasks wait on each other, on a continuation nobody resumes, or on real time)"
        case .escape(let escape):
            return "escape: \(escape)"
        case .jobLimit(let limit):
            return "runaway: more than \(limit) jobs ran (a loop that never sleeps on the SimClock?)"
        case .timeLimit(let limit):
            return "runaway: simulated time would pass \(limit) (a loop that never finishes?)"
        case .bodyThrew(let message):
            return "the simulated body threw: \(message)"
        }
    }
}

/// A failed simulation run, with what a developer needs to replay and debug it.
public struct SimRunError: Error, CustomStringConvertible {
    public var failure: SimFailure
    public var seed: UInt64
    /// Simulated time when the run stopped.
    public var elapsed: Duration
    public var jobs: Int
    /// The last trace events, oldest first, formatted one per line.
    public var traceTail: [String]
    /// The error the body threw, for `.bodyThrew`.
    public var underlying: (any Error)?

    public var description: String {
        "simulation seed \(seed) failed at \(elapsed) after \(jobs) jobs: \(failure)"
    }

    /// `description` followed by the trace tail, for logs and test failure messages.
    public var report: String {
        ([description, "last \(traceTail.count) trace events:"] + traceTail.map { "  " + $0 }).joined(separator: "\n")
    }
}

/// What a successful simulation run produced.
public struct SimRunResult<T> {
    public var value: T
    public var seed: UInt64
    /// Simulated time from the start of the run to the root task's return.
    public var elapsed: Duration
    /// Jobs the scheduler ran.
    public var jobs: Int
    /// Timers that fired (sleeps that completed on the SimClock).
    public var timersFired: Int
    /// FNV-1a over every traced event: two runs with the same digest made the same choices.
    public var traceDigest: UInt64
    public var traceEvents: Int
    /// The last `SchedulerOptions.traceTailLength` trace events, oldest first (`--trace`).
    public var traceTail: [String] = []
}
