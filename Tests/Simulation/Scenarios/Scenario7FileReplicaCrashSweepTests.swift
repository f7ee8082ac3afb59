import Core
import SimHarness
import Testing

/// Scenario 7, the replica's side: power loss of the machine holding a folder replica at every
/// mutation the real `FileReplicaClient` makes there (temp file create, write, fsync, rename,
/// directory fsync, folder creation, lease record create and prune). The replicator on the app
/// machine keeps running through the replica host's reboot, as it would through a NAS reboot.
///
/// What is guaranteed, and checked for each crash point k:
/// 1. Right after the reboot the replica restores (integrity_check passes, the content is the
///    source at one of its commits) to a position at or after the last position the replicator
///    reported replicated before the power went: a write is reported only once its object and
///    every folder on its path are fsynced, so nothing reported is lost.
/// 2. The replicator keeps replicating to the rebooted host (temp files, half-made lease
///    records and lost renames left by the crash do not stop it), and after the app's last
///    commit the replica restores exactly to it.
@Suite("Scenario 7: crash of a folder replica's machine at every mutation", .serialized)
struct Scenario7FileReplicaCrashSweepTests {
    static let seed: UInt64 = 17
    /// Crash models in turn, as in `Scenario7CrashSweepTests`.
    static let models = [
        DiskCrashModel(),
        DiskCrashModel(sectorSurvivalRate: 0, sizeChangeSurvivalRate: 0, directoryChangeSurvivalRate: 0),
        DiskCrashModel(sectorSurvivalRate: 0.97, sizeChangeSurvivalRate: 1, directoryChangeSurvivalRate: 0.9),
        DiskCrashModel(
            sectorSurvivalRate: 1, sizeChangeSurvivalRate: 1, directoryChangeSurvivalRate: 0.5,
            directoryMode: .journalPrefix),
    ]

    /// What one run saw.
    struct Outcome {
        var mutations: Int
        var crashed: Bool
        /// The replicator exited on a half-written lease record and was restarted after its expiry.
        var restarted = false
    }

    static func sameOrLater(_ a: Position, than b: Position) -> Bool {
        (a.generation, a.index, a.offset) >= (b.generation, b.index, b.offset)
    }

    /// One run: power loss of the replica host after its mutation k (none when k is nil).
    static func run(crashAfter k: Int?) async throws -> Outcome {
        try await runScenario(seed: seed) { world in
            let host = SimReplicaHost(disk: SimDisk(wallClock: { world.wallClock.now() }))
            let client = host.client()
            try await world.app.create()
            _ = try await world.app.checkpoint(.truncate)
            if let k { host.disk.faults = DiskFaults(crashAfterMutations: k) }
            var replicator = try world.startReplicator("replicator", client: client, logLevel: .critical)
            var crashed = false
            func rebootIfHalted() async throws {
                guard let k, host.disk.isHalted, !crashed else { return }
                crashed = true
                // What was reported before the reboot must survive it.
                let reportedBefore = world.reported.last?.position
                try await world.sleep(.milliseconds(500))
                host.reboot(
                    random: SplitMix64(seed: UInt64(k) &* 0x9E37_79B9 &+ 3), model: Self.models[k % Self.models.count])
                guard let reportedBefore else { return }
                let state = try await world.restore(from: client)
                let restored = try #require(world.lastRestoreReport).finalPosition
                guard sameOrLater(restored, than: reportedBefore) else {
                    throw ScenarioFailure(
                        "k=\(k): reported \(reportedBefore) before the power loss, the rebooted replica restores only \(restored) (commit \(state.commit))"
                    )
                }
            }
            for step in 0..<24 {
                try await world.app.commit(inserts: step % 3 == 2 ? 4 : 1, size: step % 3 == 2 ? 1500 : 300)
                try await world.sleep(.milliseconds(step % 2 == 0 ? 200 : 700))
                try await rebootIfHalted()
            }
            for _ in 0..<10 {
                try await world.sleep(.milliseconds(500))
                try await rebootIfHalted()
            }
            // The power loss may come in the final sync; the reboot's catch-up gets its own time.
            if crashed { try await world.sleep(.seconds(5)) }
            let mutations = host.disk.mutationCount
            var restarted = false
            if crashed,
                case .failure(let error)? = try await replicator.outcome(within: .zero, clock: world.scheduler.clock)
            {
                // A crash inside a lease record's create can leave the record's name without its
                // bytes; an unreadable record counts as held until a lease duration after it was
                // written (`EpochLease`), so the replicator exits, and its supervisor restarts it.
                guard Self.isHalfWrittenLease(error) else {
                    throw ScenarioFailure("k=\(k.map(String.init) ?? "none"): replicator failed: \(error)")
                }
                restarted = true
                try await world.sleep(ScenarioWorld.options().leaseDuration + .seconds(2))
                replicator = try world.startReplicator("replicator-2", client: client, logLevel: .critical)
                try await world.sleep(.seconds(5))
            }
            return try await finish(
                world, replicator, client, k: k, mutations: mutations, crashed: crashed, restarted: restarted)
        }
    }

    /// Whether the replicator stopped for a lease record the crash left unreadable.
    static func isHalfWrittenLease(_ error: any Error) -> Bool {
        switch error as? LeaseError {
        case .held(_, let holder)?: holder.owner.contains("unreadable")
        case .lost(_, let reason)?: reason.contains("unreadable")
        case nil: false
        }
    }

    /// Stops the replicator and checks the replica restores the source's last commit exactly.
    static func finish(
        _ world: ScenarioWorld, _ replicator: ReplicatorProcess, _ client: FileReplicaClient,
        k: Int?, mutations: Int, crashed: Bool, restarted: Bool
    ) async throws -> Outcome {
        if case .failure(let error) = await replicator.stop() {
            throw ScenarioFailure("k=\(k.map(String.init) ?? "none"): replicator failed: \(error)")
        }
        let restored = try await world.restore(from: client)
        guard restored.commit == world.app.lastCommit else {
            throw ScenarioFailure(
                "k=\(k.map(String.init) ?? "none"): the source is at commit \(world.app.lastCommit), the replica restores \(restored)"
            )
        }
        return Outcome(mutations: mutations, crashed: crashed, restarted: restarted)
    }

    @Test(
        "Scenario 7 (folder replica): power loss of the replica's machine after any of the file client's mutations; the replica keeps what was reported and catches up"
    )
    func fileReplicaCrashSweep() async throws {
        let total = try await Self.run(crashAfter: nil).mutations
        #expect(total > 50, "the file client made only \(total) mutations")
        let budget = 300
        let stride = max(1, (total + budget - 1) / budget)
        var failures: [String] = []
        var runs = 0
        var restarts: [Int] = []
        for k in Swift.stride(from: 0, to: total, by: stride) {
            runs += 1
            do {
                let outcome = try await Self.run(crashAfter: k)
                #expect(outcome.crashed, "k=\(k): the power loss never came")
                if outcome.restarted { restarts.append(k) }
            } catch {
                failures.append("k=\(k): \(error)")
                if failures.count >= 3 { break }
            }
        }
        // Only a crash inside a lease record's create can need a restart: a handful of points.
        #expect(restarts.count <= runs / 10, "restarts after half-written lease records at \(restarts)")
        #expect(
            failures.isEmpty,
            "\(failures.count) crash points failed (of \(runs) run, \(total) mutations, stride \(stride)): \(failures)")
    }
}
