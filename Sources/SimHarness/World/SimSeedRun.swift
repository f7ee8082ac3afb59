import Core
import Logging

/// The outcome of one seed: what it drew, how far it got, and, if it failed, why.
public struct SimSeedResult: Sendable {
    public var seed: UInt64
    public var parameters: SwarmParameters
    /// Simulated time the run covered.
    public var simulated: Duration
    /// The trace digest of a run that finished (determinism checks compare it).
    public var traceDigest: UInt64?
    public var jobs: Int
    public var commits: Int
    public var probes: Int
    /// How many times the supervisor started the replicator (1 means it never exited).
    public var replicatorStarts: Int = 0
    /// How many of those runs ended with an error of their own (not a kill or a planned restart).
    public var replicatorExits = 0
    /// The largest the source's WAL file grew to after any commit, in bytes.
    public var largestWAL: Int64 = 0
    /// The longest stretch of the span without a snapshot landing (nil without scheduled snapshots).
    public var longestSnapshotGap: Duration?
    /// Generations the replicator started, starts that continued one, and snapshots written
    /// (invariant 7 keeps the first from growing without a cause).
    public var generationsStarted = 0
    public var generationsContinued = 0
    public var snapshots = 0
    /// Replica objects the store damaged at rest (lost ones included).
    public var damagedObjects = 0
    /// Restores that met damage at rest and failed by name, or did not need what they met.
    public var restoresMetDamage = 0
    /// Writes a network partition held past the lease they were issued under and then delivered
    /// (they may land after another replicator took the location over; see `LeaseOracle`).
    public var lateWrites = 0
    /// For a seed whose second replicator took the location over: when (since the run began),
    /// and how many starts of the first replicator its lease refused afterwards.
    public var takeover: (at: Duration, refusedStarts: Int)?
    /// Closed shadow indexes invariant 9 checked.
    public var shadowIndexesChecked = 0
    /// Pauses taken at the replicator's preemption points.
    public var preemptions = 0
    /// One line: the broken invariant (or the scheduler's failure) and its details.
    public var failure: String?
    /// What kind of failure it was (nil for a passing run).
    public var failureClass: SimFailureClass?
    /// The trace tail of a failed run, or of any run when the whole trace was asked for.
    public var traceTail: [String]

    public var passed: Bool { failure == nil }

    /// Everything a developer needs to reproduce and debug a failure.
    public var report: String {
        var lines = [
            "seed \(seed) \(failure.map { "FAILED: \($0)" } ?? "passed") at \(simulated)",
            "swarm: \(parameters)",
            "commits \(commits), probes \(probes), jobs \(jobs)",
        ]
        if !traceTail.isEmpty {
            lines.append("trace tail (\(traceTail.count) events):")
            lines += traceTail.map { "  " + $0 }
        }
        return lines.joined(separator: "\n")
    }
}

/// Runs single seeds of the whole simulated world.
public enum SimSeedRun {
    /// Runs `seed` under `profile`.
    ///
    /// - Parameters:
    ///   - span: How long the app writes (simulated); the catch-up phase adds `SimWorld.catchUpBound`.
    ///   - registerDefaultVFS: Registers the app's SimVFS as SQLite's default and reseeds SQLite's
    ///     PRNG, so `randomblob` and WAL salts replay too. Only in a process of its own.
    ///   - traceTailLength: Trace events kept for the report; `--trace` asks for all of them.
    ///   - keepTrace: Return the trace tail of a passing run too.
    ///   - without: Fault classes switched off after the draw (`sluice sim --without`).
    public static func run(
        seed: UInt64, profile: SwarmProfile, span: Duration = .seconds(60),
        registerDefaultVFS: Bool = false, traceTailLength: Int = 64, keepTrace: Bool = false,
        logLevel: Logger.Level = .info, without: [FaultClass] = []
    ) -> SimSeedResult {
        var parameters = SwarmParameters.draw(seed: seed, profile: profile, span: span)
        for fault in without { fault.switchOff(in: &parameters) }
        let options = SchedulerOptions(
            randomPickProbability: parameters.randomPickProbability,
            maxSimulatedTime: span + SimWorld.catchUpBound + .seconds(3600),
            traceTailLength: traceTailLength)
        var result = SimSeedResult(
            seed: seed, parameters: parameters, simulated: .zero, traceDigest: nil, jobs: 0,
            commits: 0, probes: 0, failure: nil, traceTail: [])
        do {
            let run = try SimScheduler.run(seed: seed, options: options) { scheduler in
                let world = try SimWorld(
                    scheduler: scheduler, parameters: parameters,
                    registerDefaultVFS: registerDefaultVFS, logLevel: logLevel)
                return try await world.run()
            }
            result.simulated = run.elapsed
            result.traceDigest = run.traceDigest
            result.jobs = run.jobs
            result.commits = run.value.commits
            result.probes = run.value.probes
            result.replicatorStarts = run.value.replicatorStarts
            result.replicatorExits = run.value.replicatorExits
            result.largestWAL = run.value.largestWAL
            result.longestSnapshotGap = run.value.longestSnapshotGap
            result.generationsStarted = run.value.generationsStarted
            result.generationsContinued = run.value.generationsContinued
            result.snapshots = run.value.storeStatistics.snapshotWrites.count
            result.damagedObjects = run.value.storeStatistics.damaged
            result.restoresMetDamage = run.value.restoresMetDamage
            result.lateWrites = run.value.lateWrites
            result.takeover = run.value.takeover
            result.shadowIndexesChecked = run.value.shadowIndexesChecked
            result.preemptions = run.value.preemptions
            // The tail of a passing run is only kept on request: the scheduler hands it out with failures.
            if keepTrace { result.traceTail = run.traceTail }
        } catch let error as SimRunError {
            result.simulated = error.elapsed
            result.jobs = error.jobs
            if let violation = error.underlying as? InvariantViolation {
                result.failure = violation.description
                result.failureClass = SimFailureClass(violation)
            } else {
                result.failure = error.failure.description
                result.failureClass = SimFailureClass(error.failure)
            }
            result.traceTail = error.traceTail
        } catch {
            result.failure = "\(error)"
            result.failureClass = .crash
        }
        return result
    }
}
