import Core
import SimHarness
import Testing

/// Scenario 1 (Litestream #251, fixed by 393317b / d09f4ef): retention over a replica holding two
/// generations whose snapshot indexes interleave. Litestream's `FindMinSnapshotByGeneration` took
/// the address of its loop variable, so the "minimum retained snapshot" of a generation was
/// whatever snapshot the loop saw last, possibly another generation's with a higher index, and
/// retention deleted good snapshots and WAL below it ("no snapshots available").
///
/// The real replicator writes generation A (snapshots every minute, WAL indexes rolling every
/// few commits), is killed, the app checkpoints while it is down, and a new replicator starts
/// generation B, whose snapshot indexes climb through the same values again. Its retention
/// (5 min window, checked every 150 s) then runs with the window start inside generation A's
/// life. Afterwards every quiet moment inside the window (a time when everything committed was
/// replicated) must restore, by timestamp, to exactly the commit the source held then: the
/// newest snapshot of A at or before the window start, and everything after it, must survive.
@Suite("Scenario 1: retention across interleaved generations", .serialized)
struct Scenario1RetentionAcrossGenerationsTests {
    @Test(
        "Scenario 1: retention keeps each generation's own minimum snapshot; every point inside the window restores exactly"
    )
    func scenario1RetentionAcrossGenerations() async throws {
        try await runScenario(seed: 1) { world in
            let app = world.app
            try await app.create()
            var options = ScenarioWorld.options()
            let retention: Duration = .seconds(300)
            options.retention = retention
            options.retentionCheckInterval = .seconds(150)
            options.snapshotInterval = .seconds(60)

            // Quiet moments: everything up to `commit` was uploaded at `time`, nothing after it yet.
            var marks: [(time: Timestamp, commit: Int)] = []
            func writeAndMark(for duration: Duration) async throws {
                let end = world.wallClock.now() + duration
                while world.wallClock.now() < end {
                    try await app.commit(inserts: 1)
                    try await world.sleep(.seconds(3))
                    marks.append((world.wallClock.now(), app.lastCommit))
                    try await world.sleep(.seconds(2))
                }
            }

            let generationA = try world.startReplicator("replicator-1", options: options)
            try await world.sleep(.seconds(2))
            try await writeAndMark(for: .seconds(240))
            await generationA.kill()
            for _ in 0..<2 { try await app.commit(inserts: 1) }
            try #require(try await app.checkpoint(.truncate)?.busy == false)
            let startB = world.wallClock.now()
            let generationB = try world.startReplicator("replicator-2", options: options)
            try await world.sleep(.seconds(3))
            // B's retention ran at its start and runs again 150 s later with the window start
            // 150 s before B began, inside generation A's life.
            try await writeAndMark(for: .seconds(165))
            let windowStart = startB + .seconds(150) - retention

            let generations = try await world.client.generations()
            try #require(generations.count == 2)
            let snapshotsA = try await world.client.snapshots(in: generations[0])
            let snapshotsB = try await world.client.snapshots(in: generations[1])
            // The premise: B's snapshot indexes climb past indexes A's snapshots used.
            #expect(
                snapshotsB.map(\.index).max()! > snapshotsA.map(\.index).min()!,
                "A \(snapshotsA.map(\.index)), B \(snapshotsB.map(\.index))")
            // Retention ran: A's first snapshot (index 0, long before the window) is gone, and the
            // newest snapshot of A at or before the window start is A's oldest left.
            #expect(
                !snapshotsA.contains { $0.index == 0 },
                "retention should have deleted A's first snapshot: \(snapshotsA)")
            let anchor = snapshotsA.filter { $0.createdAt <= windowStart - .seconds(5) }
            #expect(!anchor.isEmpty, "A's snapshot at or before the window start must survive: \(snapshotsA)")
            #expect(snapshotsB.contains { $0.index == 0 }, "B's first snapshot is inside the window and must survive")

            // Every quiet moment inside the window restores to exactly the commit of that moment.
            let inWindow = marks.filter { $0.time >= windowStart + .seconds(5) }
            #expect(inWindow.count > 40)
            var failures: [String] = []
            for mark in inWindow {
                do {
                    let state = try await world.restore(.timestamp(mark.time))
                    if state.commit != mark.commit {
                        failures.append("\(mark.time): restored commit \(state.commit), expected \(mark.commit)")
                    }
                } catch {
                    failures.append("\(mark.time) (commit \(mark.commit)): \(error)")
                }
            }
            #expect(
                failures.isEmpty,
                "\(failures.count) of \(inWindow.count) points inside the window: \(failures.prefix(3))")
            if case .failure(let error) = await generationB.stop() {
                throw ScenarioFailure("replicator failed: \(error)")
            }
            #expect(try await world.restore().commit == app.lastCommit)
        }
    }
}
