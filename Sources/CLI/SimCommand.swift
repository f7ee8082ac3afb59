import ArgumentParser
import Core
import Glibc
import IO
import SimHarness

/// `sluice sim`: runs seeds of the deterministic simulator (the real engine against a simulated
/// disk, clock, object store and SQLite VFS) and prints a summary as its last line.
struct SimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim",
        abstract: "Run the deterministic simulator over one seed or a range of seeds.",
        discussion: """
            Each seed decides the workload, the fault mix, the replicator's knobs and every \
            scheduling choice; a failing seed prints the broken invariant, its swarm parameters, \
            the trace tail and the command that reproduces it. The last line is always \
            `seeds N, failed F, simulated S s, wall W s, speed X x`.
            """)

    @Option(name: .long, help: "Run this one seed.")
    var seed: UInt64?

    @Option(name: .long, help: "Run a range of seeds, A..B inclusive.")
    var seeds: String?

    @Option(name: .long, help: "Swarm profile: \(SwarmProfile.allCases.map(\.rawValue).joined(separator: ", ")).")
    var profile: String = SwarmProfile.default.rawValue

    @Option(name: .long, help: "Simulated seconds the app writes in each seed (a catch-up phase follows).")
    var span: Int = 300

    @Flag(name: .long, help: "Print the whole event trace of each seed.")
    var trace = false

    @Flag(name: .long, help: "Run each seed twice and fail it if the two trace digests differ.")
    var checkDeterminism = false

    @Option(
        name: .long,
        help:
            "Run this many seeds at once (default: one per online CPU), each in a process of its own; output stays in seed order."
    )
    var jobs: Int = SimCommand.onlineCPUs

    @Option(
        name: .long,
        help:
            "Stop starting seeds once this many have failed (the seeds already running finish); for mutation checks, which need one failing seed."
    )
    var maxFailures: Int?

    @Option(
        name: .long,
        help:
            "Switch these fault classes off after the draw, comma-separated: \(FaultClass.allCases.map(\.rawValue).joined(separator: ", "))."
    )
    var without: String?

    @Flag(
        name: .long,
        help:
            "With --seed N, a failing seed: run it again without each of its fault classes in turn, and print the ones its failure needs."
    )
    var minimize = false

    /// Set by `--jobs` on the worker processes it starts (`SimWorkerPool`): run the seeds of the
    /// range read one per line from stdin.
    @Flag(name: .long, help: .hidden)
    var worker = false

    /// Like `make -j$(nproc)`: seeds are independent, so a range uses every core by default.
    static var onlineCPUs: Int { max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))) }

    func validate() throws {
        if (seed == nil) == (seeds == nil) { throw ValidationError("give exactly one of --seed N or --seeds A..B") }
        if let seeds, SimCommand.parseRange(seeds) == nil {
            throw ValidationError("--seeds wants A..B with A <= B, got \(seeds)")
        }
        if SwarmProfile(rawValue: profile) == nil {
            throw ValidationError(
                "unknown profile \(profile); known: \(SwarmProfile.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if span < 1 { throw ValidationError("--span must be at least 1 second") }
        if jobs < 1 { throw ValidationError("--jobs must be at least 1") }
        if let maxFailures, maxFailures < 1 { throw ValidationError("--max-failures must be at least 1") }
        if let without, case .failure(let error) = FaultClass.parseList(without) {
            throw ValidationError("--without: \(error)")
        }
        if minimize && seed == nil { throw ValidationError("--minimize works on one seed: give --seed N") }
        if worker && seeds == nil { throw ValidationError("--worker runs seeds of a --seeds range, read from stdin") }
    }

    static func parseRange(_ text: String) -> ClosedRange<UInt64>? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: true)
        guard text.contains(".."), parts.count == 2, let low = UInt64(parts[0]), let high = UInt64(parts[1]),
            low <= high
        else { return nil }
        return low...high
    }

    func run() async throws {
        Self.ensureDeterministicHashing()
        let profile = SwarmProfile(rawValue: profile)!
        let range = seed.map { $0...$0 } ?? Self.parseRange(seeds!)!
        let span = Duration.seconds(span)
        let started = Self.monotonicSeconds()
        var count = 0
        var failed = 0
        var simulated = Duration.zero
        var commits = 0
        var largestWAL: (size: Int64, seed: UInt64?) = (0, nil)
        var longestGap: (gap: SnapshotGap, seed: UInt64)?
        var generations = (started: 0, continued: 0)
        var damage = (objects: 0, seeds: 0, restores: 0)
        var failureClasses: [SimFailureClass] = []
        if minimize {
            try await runMinimize(seed: range.lowerBound, profile: profile, span: span)
            return
        }
        if worker {
            let threads = ThreadPoolRunner(threads: 1, stackSize: 64 << 20)
            let command = self
            try await threads.run { command.serveSeeds(range, profile: profile, span: span) }
            return
        }
        let seeds = Array(range)
        if seeds.count == 1 {
            // Before it runs (as TigerBeetle's VOPR does): a run that crashes or hangs still said
            // what it was running.
            print(
                parametersLine(
                    seeds[0], parameters: drawnParameters(seeds[0], profile: profile, span: span), profile: profile))
            fflush(nil)
        }
        // Seeds run one at a time in this process, or `jobs` at a time in worker processes (see
        // `SimWorkerPool` for why not threads). A seed in this process owns a pool thread while
        // it runs (`SimScheduler.run` drives its world on the calling thread, SQLite's deep call
        // stacks included: 64 MiB); with workers, a thread waits for each. Reports are printed
        // in seed order.
        let workers = jobs > 1 && seeds.count > 1 ? SimWorkerPool(arguments: workerArguments(profile: profile)) : nil
        let threads = ThreadPoolRunner(threads: min(jobs, seeds.count), stackSize: 64 << 20)
        let command = self
        try await withThrowingTaskGroup(of: (Int, SeedOutcome).self) { group in
            func start(_ index: Int) {
                group.addTask {
                    (
                        index,
                        try await threads.run {
                            if let workers {
                                return workers.run(
                                    seed: seeds[index], reproduce: command.reproduceLine(seeds[index], profile: profile)
                                )
                            }
                            return command.runSeed(
                                seeds[index], profile: profile, span: span, printPasses: seeds.count == 1)
                        }
                    )
                }
            }
            var nextToStart = 0
            while nextToStart < min(jobs, seeds.count) {
                start(nextToStart)
                nextToStart += 1
            }
            var finished: [Int: SeedOutcome] = [:]
            var nextToPrint = 0
            var failedSoFar = 0
            while let (index, outcome) = try await group.next() {
                if outcome.failed { failedSoFar += 1 }
                if nextToStart < seeds.count, failedSoFar < maxFailures ?? Int.max {
                    start(nextToStart)
                    nextToStart += 1
                }
                finished[index] = outcome
                while let outcome = finished.removeValue(forKey: nextToPrint) {
                    count += 1
                    simulated += outcome.simulated
                    commits += outcome.commits
                    if outcome.largestWAL > largestWAL.size { largestWAL = (outcome.largestWAL, seeds[nextToPrint]) }
                    if let gap = outcome.snapshotGap, gap.intervals > longestGap?.gap.intervals ?? 0 {
                        longestGap = (gap, seeds[nextToPrint])
                    }
                    generations.started += outcome.generationsStarted
                    generations.continued += outcome.generationsContinued
                    if outcome.damagedObjects > 0 {
                        damage = (
                            damage.objects + outcome.damagedObjects, damage.seeds + 1,
                            damage.restores + outcome.restoresMetDamage
                        )
                    }
                    if let failure = outcome.failureClass {
                        failed += 1
                        failureClasses.append(failure)
                    }
                    if !outcome.output.isEmpty { print(outcome.output) }
                    fflush(nil)
                    nextToPrint += 1
                }
            }
        }
        let wall = Self.monotonicSeconds() - started
        let simulatedSeconds = Double(simulated.components.seconds) + Double(simulated.components.attoseconds) / 1e18
        let speed = wall > 0 ? simulatedSeconds / wall : 0
        // The workload's rate over the time the app writes (the span; the catch-up phase after it
        // is idle), for the seeds that passed (a failed run reports no count).
        let rate = Double(commits) / Double(max(count - failed, 1)) / Double(self.span)
        print("app commits \(commits), \(String(format1: rate)) per simulated second of the \(self.span) s span")
        // Not an invariant (docs/simulation.md): the figure that showed three runaway-WAL bugs.
        if let seed = largestWAL.seed {
            print("largest source WAL \(Self.megabytes(largestWAL.size)) MB (seed \(seed))")
        }
        // Not an invariant either: the figure that showed snapshots starving under store errors.
        if let (gap, seed) = longestGap {
            print(
                "longest snapshot gap \(gap.gapMilliseconds / 1000) s at a \(gap.intervalMilliseconds / 1000) s interval (seed \(seed))"
            )
        }
        // Invariant 7 holds each new generation to a cause; these say how often restarts continued.
        print("generations started \(generations.started), continued at a start \(generations.continued)")
        if damage.objects > 0 {
            print(
                "damage at rest: \(damage.objects) objects in \(damage.seeds) seeds, met by \(damage.restores) restores"
            )
        }
        print(
            "seeds \(count), failed \(failed), simulated \(Int(simulatedSeconds)) s, wall \(String(format1: wall)) s, speed \(Int(speed)) x"
        )
        if let worst = SimFailureClass.exitClass(of: failureClasses) { throw ExitCode(worst.rawValue) }
    }

    /// What one seed printed and counted.
    struct SeedOutcome: Sendable {
        var simulated: Duration
        /// Why the seed failed, or nil if it passed.
        var failureClass: SimFailureClass?
        var output: String
        /// Transactions the app committed (in the first run, with --check-determinism).
        var commits = 0
        /// The largest the source's WAL file grew to, in bytes (first run).
        var largestWAL: Int64 = 0
        /// The longest stretch of the span without a snapshot, for a seed with scheduled ones.
        var snapshotGap: SnapshotGap?
        /// Generations the replicator started, and starts that continued one (first run).
        var generationsStarted = 0
        var generationsContinued = 0
        /// Replica objects damaged at rest, and restores that met such damage (first run).
        var damagedObjects = 0
        var restoresMetDamage = 0

        var failed: Bool { failureClass != nil }
    }

    /// A seed's longest stretch without a snapshot, and its snapshot interval.
    struct SnapshotGap: Sendable, Equatable {
        var gapMilliseconds: Int64
        var intervalMilliseconds: Int64
        /// The gap in snapshot intervals: how far the seed fell behind its schedule.
        var intervals: Double { Double(gapMilliseconds) / Double(max(intervalMilliseconds, 1)) }
    }

    static func megabytes(_ bytes: Int64) -> String { String(format1: Double(bytes) / 1_048_576) }

    /// Runs one seed in this process, which runs no other seed at the same time, so the seed
    /// registers the simulated VFS as SQLite's (process-wide) default.
    private func runSeed(_ seed: UInt64, profile: SwarmProfile, span: Duration, printPasses: Bool) -> SeedOutcome {
        let tail = trace ? 10_000_000 : 64
        var lines: [String] = []
        var result = SimSeedRun.run(
            seed: seed, profile: profile, span: span, registerDefaultVFS: true,
            traceTailLength: tail, keepTrace: trace, without: withoutClasses)
        var simulated = result.simulated
        if result.passed && checkDeterminism {
            // Only the replay's digest is compared, and the digest covers every event: keep no tail.
            let replay = SimSeedRun.run(
                seed: seed, profile: profile, span: span, registerDefaultVFS: true,
                traceTailLength: 0, without: withoutClasses)
            simulated += replay.simulated
            if replay.traceDigest != result.traceDigest {
                result.failure =
                    "nondeterminism: the same seed gave trace digests \(Self.hex(result.traceDigest)) and \(Self.hex(replay.traceDigest))"
                result.failureClass = .escape
            }
        }
        if !result.passed {
            lines.append(result.report)
            lines.append(reproduceLine(seed, profile: profile))
        } else if printPasses || trace {
            let gap = result.longestSnapshotGap.map { ", longest snapshot gap \($0.milliseconds / 1000) s" } ?? ""
            let damage =
                result.damagedObjects > 0
                ? ", \(result.damagedObjects) objects damaged at rest (met by \(result.restoresMetDamage) restores)"
                : ""
            let takeover =
                result.takeover.map {
                    ", taken over at \($0.at.milliseconds / 1000) s (\($0.refusedStarts) restarts refused)"
                } ?? ""
            let late = result.lateWrites > 0 ? ", \(result.lateWrites) writes landed after their lease lapsed" : ""
            lines.append(
                "seed \(seed) passed: \(result.commits) commits, \(result.probes) restore probes, \(result.simulated) simulated, largest WAL \(Self.megabytes(result.largestWAL)) MB\(gap)\(damage)\(takeover)\(late), generations \(result.generationsStarted) (\(result.generationsContinued) continued), snapshots \(result.snapshots), \(result.shadowIndexesChecked) closed shadow indexes checked, \(result.preemptions) preemption pauses, trace digest \(Self.hex(result.traceDigest))"
            )
            // A single seed printed its parameters before it ran.
            if !printPasses { lines.append("swarm: \(result.parameters)") }
        }
        if trace && result.passed {
            lines.append("trace (\(result.traceTail.count) events):")
            lines += result.traceTail.map { "  " + $0 }
        }
        var snapshotGap: SnapshotGap?
        if let gap = result.longestSnapshotGap, let interval = result.parameters.replication.snapshotInterval {
            snapshotGap = SnapshotGap(gapMilliseconds: gap.milliseconds, intervalMilliseconds: interval.milliseconds)
        }
        return SeedOutcome(
            simulated: simulated, failureClass: result.passed ? nil : result.failureClass ?? .crash,
            output: lines.joined(separator: "\n"), commits: result.commits,
            largestWAL: result.largestWAL, snapshotGap: snapshotGap,
            generationsStarted: result.generationsStarted, generationsContinued: result.generationsContinued,
            damagedObjects: result.damagedObjects, restoresMetDamage: result.restoresMetDamage)
    }

    private func workerArguments(profile: SwarmProfile) -> [String] {
        var arguments = ["sim", "--worker", "--seeds", seeds!, "--profile", profile.rawValue, "--span", "\(span)"]
        if checkDeterminism { arguments.append("--check-determinism") }
        if let without { arguments += ["--without", without] }
        if trace { arguments.append("--trace") }
        return arguments
    }

    /// The worker's loop: a seed number per line of stdin, each run and reported in turn, until
    /// end of input. A number outside the range ends the worker with an error.
    private func serveSeeds(_ range: ClosedRange<UInt64>, profile: SwarmProfile, span: Duration) {
        while let line = readLine() {
            guard let seed = UInt64(line), range.contains(seed) else {
                StandardError.write(
                    "error: sim worker got \(line), not a seed of \(range.lowerBound)..\(range.upperBound)\n")
                Glibc.exit(2)
            }
            let outcome = runSeed(seed, profile: profile, span: span, printPasses: false)
            if !outcome.output.isEmpty { print(outcome.output) }
            print(SimWorkerPool.resultLine(outcome))
            fflush(nil)
        }
    }

    func reproduceLine(_ seed: UInt64, profile: SwarmProfile, without: [FaultClass]? = nil) -> String {
        let off = (without ?? withoutClasses).map(\.rawValue).joined(separator: ",")
        return "reproduce: SWIFT_DETERMINISTIC_HASHING=1 sluice sim --seed \(seed) --profile \(profile) --span \(span)"
            + (off.isEmpty ? "" : " --without \(off)") + " --trace"
    }

    /// The classes `--without` switches off (validated already).
    var withoutClasses: [FaultClass] {
        guard let without, case .success(let classes) = FaultClass.parseList(without) else { return [] }
        return classes
    }

    /// The line a single seed starts with: what it runs.
    func parametersLine(_ seed: UInt64, parameters: SwarmParameters, profile: SwarmProfile) -> String {
        "seed \(seed) (profile \(profile.rawValue), span \(span) s) swarm: \(parameters)"
    }

    /// A seed's swarm parameters as it runs them (drawn, then `--without` applied).
    func drawnParameters(_ seed: UInt64, profile: SwarmProfile, span: Duration) -> SwarmParameters {
        var parameters = SwarmParameters.draw(seed: seed, profile: profile, span: span)
        for fault in withoutClasses { fault.switchOff(in: &parameters) }
        return parameters
    }

    private static func hex(_ value: UInt64?) -> String { value.map { String($0, radix: 16) } ?? "none" }

    private static func monotonicSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// Swift seeds its hashing per process unless told otherwise; Set and Dictionary orders (and
    /// so any code that forgets to sort) would then differ between runs of one seed. Re-executes
    /// this process with `SWIFT_DETERMINISTIC_HASHING=1` when it is not set.
    private static func ensureDeterministicHashing() {
        guard getenv("SWIFT_DETERMINISTIC_HASHING") == nil else { return }
        setenv("SWIFT_DETERMINISTIC_HASHING", "1", 1)
        fflush(nil)
        let arguments = CommandLine.arguments.map { strdup($0) } + [nil]
        execv("/proc/self/exe", arguments)
        // Only reached if exec failed: carry on, the run is still seeded, only less strictly.
        StandardError.write("warning: could not re-execute with SWIFT_DETERMINISTIC_HASHING=1 (errno \(errno))\n")
    }
}

extension String {
    /// `value` with one decimal.
    init(format1 value: Double) {
        let tenths = Int((value * 10).rounded())
        self = "\(tenths / 10).\(tenths % 10)"
    }
}
