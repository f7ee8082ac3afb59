import Core
import SimHarness
import Testing

/// Scenario 7: power loss at every mutation of a short engine workload. The app and the real
/// replicator share one machine; the app commits (synchronous = NORMAL, so the WAL is not fsynced
/// at commit) while the replicator copies, checkpoints and uploads. For each crash point k the
/// same seeded run loses power right after its k-th disk mutation; the disk keeps what was
/// durable plus a seeded subset of what was not (torn sectors, lost size changes, lost
/// directory entries). Then app and replicator restart as new processes on the recovered disk,
/// the app commits a little more, and the replicator must catch up: the source passes
/// integrity_check at a commit it made, and the replica restores exactly to the source's last
/// commit, whatever the crash left behind (continue the generation only if the WAL provably
/// still holds what the shadow copied, else start a new one).
@Suite("Scenario 7: crash at every mutation", .serialized)
struct Scenario7CrashSweepTests {
    static let seed: UInt64 = 7
    /// Crash models in turn: half of everything unsynced survives; nothing does; all of it does
    /// except directory entries, in journal order.
    static let models = [
        DiskCrashModel(),
        DiskCrashModel(sectorSurvivalRate: 0, sizeChangeSurvivalRate: 0, directoryChangeSurvivalRate: 0),
        // Most sectors survive: an early frame of the WAL can be torn while its last one is intact.
        DiskCrashModel(sectorSurvivalRate: 0.97, sizeChangeSurvivalRate: 1, directoryChangeSurvivalRate: 0.9),
        DiskCrashModel(
            sectorSurvivalRate: 1, sizeChangeSurvivalRate: 1, directoryChangeSurvivalRate: 0.5,
            directoryMode: .journalPrefix),
    ]

    /// Indexes of about 40 frames: the shadow holds frames whose WAL bytes were not fsynced yet
    /// (a checkpoint fsyncs the WAL) for several seconds at a time.
    static var options: ReplicationOptions {
        var options = ScenarioWorld.options()
        options.checkpoint.minimumPages = 40
        return options
    }

    /// Creates the database durably (so the crash cannot take the schema away) and returns the
    /// disk's mutation count after set-up.
    static func setUp(_ world: ScenarioWorld) async throws -> Int {
        try await world.app.create()
        _ = try await world.app.checkpoint(.truncate)
        try world.disk.syncDirectory("/", by: world.disk.startProcess(named: "mkfs"))
        return world.disk.mutationCount
    }

    /// The engine workload; stops quietly when the power goes.
    static func workload(_ world: ScenarioWorld) async throws -> ReplicatorProcess {
        let replicator = try world.startReplicator("replicator-1", options: options, logLevel: .critical)
        do {
            for step in 0..<16 {
                // Small and multi-page transactions; the app's own checkpoint once.
                try await world.app.commit(inserts: step % 3 == 2 ? 4 : 1, size: step % 3 == 2 ? 1500 : 300)
                if step == 7 { try await world.app.checkpoint(.passive) }
                try await world.sleep(.milliseconds(step % 2 == 0 ? 200 : 700))
            }
            try await world.sleep(.seconds(3))
        } catch  where world.disk.isHalted {
        }
        return replicator
    }

    /// One run: power loss after mutation `base + k` (none when `k` is nil), recovery, checks.
    /// Returns the number of mutations the workload made before the power went (or in all).
    static func run(crashAfter k: Int?) async throws -> Int {
        try await runScenario(
            seed: seed,
            world: { scheduler in
                try ScenarioWorld(scheduler: scheduler, appSettings: "PRAGMA synchronous = NORMAL")
            }
        ) { world in
            let base = try await setUp(world)
            if let k { world.disk.faults = DiskFaults(crashAfterMutations: base + k) }
            let replicator = try await workload(world)
            let mutations = world.disk.mutationCount - base
            guard let k, world.disk.isHalted else {
                if case .failure(let error) = await replicator.stop() {
                    throw ScenarioFailure("replicator failed: \(error)")
                }
                #expect(try await world.restore().commit == world.app.lastCommit)
                return mutations
            }

            // Power loss: the machine's tasks stop, the disk reboots with what survived.
            await replicator.stop()
            await world.app.close()
            world.disk.crash(
                random: SplitMix64(seed: UInt64(k) &* 0x9E37_79B9 &+ 1), model: Self.models[k % Self.models.count])
            world.disk.faults = .none

            let recovered = try await world.app.recover(on: try world.startNode("app-2"))
            let restarted = try world.startReplicator("replicator-2", options: options, logLevel: .critical)
            for _ in 0..<3 {
                try await world.app.commit(inserts: 1, size: 500)
                try await world.sleep(.milliseconds(400))
            }
            try await world.sleep(.seconds(4))
            let restored = try await world.restore()
            guard restored.commit == world.app.lastCommit else {
                throw ScenarioFailure(
                    "k=\(k): source recovered to commit \(recovered.commit) and is now at \(world.app.lastCommit), the replica restores \(restored)"
                )
            }
            if case .failure(let error) = await restarted.stop() {
                throw ScenarioFailure("k=\(k): restarted replicator failed: \(error)")
            }
            _ = try await world.app.currentState()
            return mutations
        }
    }

    @Test(
        "Scenario 7: power loss after any mutation of app + replicator; restart catches up and the replica restores the source exactly"
    )
    func scenario7CrashSweep() async throws {
        let total = try await Self.run(crashAfter: nil)
        #expect(total > 50, "the workload made only \(total) mutations")
        // Every crash point when the workload is short; otherwise a stride that still covers
        // the whole range, shifted so that neighbouring points are not all skipped.
        let budget = 400
        let stride = max(1, (total + budget - 1) / budget)
        var failures: [String] = []
        var runs = 0
        for k in Swift.stride(from: 0, to: total, by: stride) {
            runs += 1
            do {
                _ = try await Self.run(crashAfter: k)
            } catch {
                failures.append("k=\(k): \(error)")
                if failures.count >= 3 { break }
            }
        }
        #expect(
            failures.isEmpty,
            "\(failures.count) crash points failed (of \(runs) run, \(total) mutations, stride \(stride)): \(failures)")
    }
}
