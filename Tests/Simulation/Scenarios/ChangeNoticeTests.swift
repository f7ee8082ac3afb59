import Core
import Testing

@testable import SimHarness

/// Counts an idle replicator's passes and replica attempts; touched on the simulator's thread only.
// @unchecked: touched only on the simulator's one thread.
private final class CountingEvents: ReplicationEvents, @unchecked Sendable {
    var passes = 0
    var attempts = 0
    func databaseSynced(_ report: DatabaseSyncReport) { passes += 1 }
    func replicaSynced(_ report: ReplicaSyncReport) { attempts += 1 }
}

/// WAL change notices (inotify in production, `SimChangeNotifier` here) let an idle database cost
/// a pass every `notifiedPassInterval` and a replica attempt every `longestIdleWait`, instead of a
/// look every half second, a pass every second and an attempt every five; a commit is still
/// noticed at once, and a notice that never comes delays it by at most the pass interval, after
/// which the monitor polls.
@Suite("WAL change notices: an idle database costs next to nothing, a commit still goes up at once", .serialized)
struct ChangeNoticeTests {
    private static func idleReplicator(in world: ScenarioWorld, dropRate: Double) async throws -> (
        ReplicatorProcess, CountingEvents
    ) {
        try await world.app.create()
        try await world.app.commit(inserts: 2)
        var options = ScenarioWorld.options()
        options.notifiedPassInterval = .seconds(10)
        let notifier = SimChangeNotifier(
            disk: world.disk, dropRate: dropRate, random: world.scheduler.randomSource("notices"))
        let events = CountingEvents()
        let process = try world.startReplicator(
            "replicator", options: options, changeNotifier: notifier, events: events)
        // The first sync, then the idle checkpoint (10 s) and the pass that copies its bump frame.
        try await world.sleep(.seconds(30))
        return (process, events)
    }

    /// Commits once and returns how long until a replicator reported that commit replicated.
    private static func replicationDelay(in world: ScenarioWorld, limit: Duration) async throws -> Duration? {
        let commit = try await world.app.commit()
        let start = world.wallClock.now()
        while world.wallClock.now() - start < limit {
            try await world.sleep(.milliseconds(50))
            if let report = world.reported.last(where: { $0.commits >= commit }) { return report.at - start }
        }
        return nil
    }

    @Test("idle with notices: a pass every 10 s, a replica attempt a minute; a commit goes up within the sync interval")
    func idleWithNotices() async throws {
        try await runScenario(seed: 11) { world in
            let (process, events) = try await Self.idleReplicator(in: world, dropRate: 0)
            let (passes, attempts) = (events.passes, events.attempts)
            try await world.sleep(.seconds(300))
            // Polling, this was 300 passes (one a monitor interval) and 60 attempts.
            let idlePasses = events.passes - passes
            let idleAttempts = events.attempts - attempts
            #expect((29...31).contains(idlePasses), "\(idlePasses) passes in 300 idle seconds")
            #expect((4...6).contains(idleAttempts), "\(idleAttempts) replica attempts in 300 idle seconds")

            let delay = try #require(
                try await Self.replicationDelay(in: world, limit: .seconds(30)), "the commit never went up")
            #expect(delay <= .seconds(2), "a noticed commit took \(delay) to go up")
            _ = await process.stop()
            #expect(try await world.restore(.latest).commit == world.app.lastCommit)
        }
    }

    @Test("every notice lost: the pass that runs regardless replicates the commit, and the monitor polls from then on")
    func everyNoticeLost() async throws {
        try await runScenario(seed: 12) { world in
            let (process, _) = try await Self.idleReplicator(in: world, dropRate: 1)
            let first = try #require(
                try await Self.replicationDelay(in: world, limit: .seconds(30)), "a commit never went up")
            #expect(first <= .seconds(12), "an unnoticed commit took \(first) to go up")
            for _ in 0..<4 {
                try await world.sleep(.seconds(7))
                let delay = try #require(
                    try await Self.replicationDelay(in: world, limit: .seconds(30)), "a commit never went up")
                #expect(delay <= .seconds(2), "polling after the missed notice, a commit took \(delay) to go up")
            }
            _ = await process.stop()
            #expect(try await world.restore(.latest).commit == world.app.lastCommit)
        }
    }
}
