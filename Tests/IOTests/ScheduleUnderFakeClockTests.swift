import Foundation
import Glibc
import TestSupport
import Testing

/// End-to-end: the real `sluice replicate` under libfaketime (`FakeClock`), so hours of its
/// schedules pass in seconds: snapshots every `snapshot-interval` from the last snapshot's
/// creation across frequent restarts, retention deleting exactly what left its window and never
/// the newest snapshot, and an idle database uploading nothing more than the schedule demands.
/// A Python writer, on the real clock, is the application.
@Suite("sluice: schedules under a moved clock (libfaketime)", .serialized)
struct ScheduleUnderFakeClockTests {
    /// Intervals in fake time; the replicator's own loops run on the same clock, so they are set
    /// in minutes rather than seconds to keep the CPU they cost at the sped-up rate modest.
    static let loopFlags = ["--sync-interval", "1m", "--monitor-interval", "1m", "--lease-duration", "1h"]

    @Test(
        "replicate restarted every 20 fake minutes: hourly snapshots hold their schedule, retention deletes exactly what left its window"
    )
    func scheduleAndRetentionAcrossRestarts() async throws {
        try await blocking {
            let clock = FakeClock(rate: 720, library: try FakeClock.library())
            let interval = Duration.seconds(3600)
            let retention = Duration.seconds(5400)
            let check = Duration.seconds(900)
            let restartEvery = Duration.seconds(1200)
            let box = try SluiceSandbox()
            defer { box.remove() }
            try box.writer("app.db", ["init"])
            // A write every 72 fake seconds keeps the database changing, so every due snapshot is
            // worth taking.
            let writer = try BackgroundProcess(
                executable: "/usr/bin/env",
                arguments: [
                    "python3", SluiceSandbox.writerScript, box.path("app.db"),
                    "small", "--count", "1000000", "--rate", "10",
                ],
                logPath: box.path("writer.log"))
            defer { writer.killNow() }

            let folder = ReplicaFolder(root: box.path("replica"))
            // Retention runs at every start and every `check`; a restart adds a little.
            var history = ReplicaHistory(window: clock.real(retention), lag: 2 * clock.real(check), label: clock.label)
            func done() -> Bool {
                history.snapshots.count >= 4 && history.deletedCount(.snapshot) >= 2 || !history.violations.isEmpty
            }
            let deadline = realNow() + 60
            var runs = 0
            var runStarts: [Double] = []
            while !done() {
                try #require(
                    realNow() < deadline,
                    "4 snapshots and 2 deleted not seen in 60 s; snapshots \(history.snapshots.map { clock.label($0.modified) })"
                )
                runs += 1
                runStarts.append(realNow())
                let replicator = try clock.sluice(
                    [
                        "replicate", box.path("app.db"), box.url("replica"),
                        "--snapshot-interval", "1h", "--retention", "1h30m",
                        "--retention-check-interval", "15m",
                    ] + Self.loopFlags,
                    box: box, log: "replicate-\(runs).log")
                let restartAt = realNow() + clock.real(restartEvery)
                while realNow() < restartAt && !done() {
                    try #require(replicator.isRunning, "replicate run \(runs) exited early:\n\(replicator.log)")
                    let before = realNow()
                    history.observe(folder.objects(), from: before, to: realNow())
                    Self.pause(0.05)
                }
                #expect(try replicator.terminate() == 0, "replicate run \(runs):\n\(replicator.log)")
                let before = realNow()
                history.observe(folder.objects(), from: before, to: realNow())
            }
            #expect(history.violations.isEmpty, "\(history.violations.prefix(5).joined(separator: "\n"))")
            try expectSchedule(history.snapshots, interval: interval, clock: clock, runStarts: runStarts)
            // The WAL below each deleted snapshot went with it.
            #expect(history.deletedCount(.segment) > 0)
            let kept = folder.objects()
            let floor = try #require(kept.filter { $0.kind == .snapshot }.map(\.index).min())
            #expect(
                kept.allSatisfy { $0.index >= floor },
                "kept below the oldest kept snapshot: \(kept.filter { $0.index < floor })")
        }
    }

    /// Consecutive snapshots are `interval` apart, from one snapshot's creation to the next's,
    /// with a process restarted between them (each lived a third of an interval): never early,
    /// and late by at most a quarter interval (the checkpoint a due snapshot waits for) after it
    /// fell due, or after the start of the process that took it when it fell due between two.
    private func expectSchedule(
        _ snapshots: [ReplicaFolder.Object], interval: Duration, clock: FakeClock, runStarts: [Double],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let times = snapshots.map { clock.label($0.modified) }
        try #require(snapshots.count >= 4, "snapshots at \(times)", sourceLocation: sourceLocation)
        let period = clock.real(interval)
        func late(_ later: ReplicaFolder.Object, after earlier: ReplicaFolder.Object) -> String {
            let gap = clock.minutes(realSeconds: later.modified - earlier.modified)
            return "snapshot \(later.index) came \(gap) after snapshot \(earlier.index); snapshots at \(times), "
                + "runs from \(runStarts.map(clock.label))"
        }
        for (earlier, later) in zip(snapshots, snapshots.dropFirst()) {
            let restarts = runStarts.filter { $0 > earlier.modified && $0 < later.modified }.count
            #expect(
                restarts >= 1, "snapshots \(earlier.index) and \(later.index) were taken by one process",
                sourceLocation: sourceLocation)
            #expect(
                Self.onSchedule(
                    taken: later.modified, due: earlier.modified + period, runStarts: runStarts, slack: period / 4),
                Comment(rawValue: late(later, after: earlier)),
                sourceLocation: sourceLocation)
        }
    }

    /// Whether a snapshot that fell due at `due` (real seconds) and was taken at `taken` kept
    /// its schedule: not before `due` (file times have the kernel's tick as resolution, a few
    /// ms), and at most `slack` after `due`, or after the start of the process that took it if
    /// that one started later (a snapshot that falls due while no replicator runs is taken by
    /// the next one).
    static func onSchedule(taken: Double, due: Double, runStarts: [Double], slack: Double) -> Bool {
        let resolution = 0.01
        let takerStart = runStarts.last { $0 <= taken } ?? due
        return taken >= due - resolution && taken <= max(due, takerStart) + slack
    }

    @Test("replicate on an idle database for 6 fake hours and 4 restarts uploads nothing the schedule does not demand")
    func idleDatabaseIsNotUploadedAgain() async throws {
        try await blocking {
            let clock = FakeClock(rate: 1440, library: try FakeClock.library())
            let interval = Duration.seconds(3600)
            let box = try SluiceSandbox()
            defer { box.remove() }
            try box.writer("app.db", ["init"])
            // Small checkpoints move the writes below onto later WAL indexes than the first snapshot's.
            let flags = ["--snapshot-interval", "1h", "--min-checkpoint-page-count", "10"] + Self.loopFlags
            let folder = ReplicaFolder(root: box.path("replica"))

            // Writes for about ten fake minutes while a replicator runs, then its final sync on SIGTERM.
            var runStarts = [realNow()]
            let first = try clock.sluice(
                ["replicate", box.path("app.db"), box.url("replica")] + flags, box: box, log: "replicate-0.log")
            try #require(
                eventually { folder.objects().contains { $0.kind == .snapshot } }, "no snapshot:\n\(first.log)")
            try box.writer("app.db", ["small", "--count", "20", "--rate", "50"])
            // The database changes past the newest snapshot's WAL index, so the schedule demands
            // one more snapshot an interval after it (a later WAL at the same index is not worth
            // one; that case is the unit tests').
            let changed = try box.writeUntil("app.db") {
                let objects = folder.objects()
                let snapshot = objects.filter { $0.kind == .snapshot }.map(\.index).max()
                return snapshot.map { newest in objects.contains { $0.index > newest } } ?? false
            }
            try #require(changed, "the WAL never went past the snapshot's index:\n\(first.log)")
            #expect(try first.terminate() == 0, "replicate:\n\(first.log)")
            let uploaded = folder.objects()
            let newestSnapshot = try #require(
                uploaded.filter { $0.kind == .snapshot }.max { $0.modified < $1.modified },
                "no snapshot:\n\(first.log)")
            let lastIndex = try #require(uploaded.map(\.index).max())
            try #require(lastIndex != newestSnapshot.index, "a snapshot was taken after the last write")

            var watch = IdleWatch(uploaded: Set(uploaded), demanded: lastIndex)
            let idle = Duration.seconds(6 * 3600)
            let end = realNow() + clock.real(idle)
            var runs = 0
            while realNow() < end && watch.unexpected.isEmpty {
                runs += 1
                runStarts.append(realNow())
                let replicator = try clock.sluice(
                    ["replicate", box.path("app.db"), box.url("replica")] + flags,
                    box: box, log: "replicate-\(runs).log")
                let restartAt = min(end, realNow() + clock.real(idle) / 4)
                while realNow() < restartAt && watch.unexpected.isEmpty {
                    try #require(replicator.isRunning, "replicate run \(runs) exited early:\n\(replicator.log)")
                    watch.observe(folder.objects())
                    Self.pause(0.1)
                }
                #expect(try replicator.terminate() == 0, "replicate run \(runs):\n\(replicator.log)")
            }
            let now = folder.objects()
            watch.observe(now)
            #expect(
                watch.unexpected.isEmpty,
                "uploaded while idle: \(watch.unexpected.map { "\($0) at \(clock.label($0.modified))" })")
            #expect(
                Set(uploaded).isSubset(of: Set(now)),
                "gone while idle: \(Set(uploaded).subtracting(now).sorted { $0.key < $1.key })")
            let taken = try #require(
                watch.taken, "the snapshot the schedule demanded at WAL index \(lastIndex) is missing")
            let period = clock.real(interval)
            #expect(
                Self.onSchedule(
                    taken: taken.modified, due: newestSnapshot.modified + period, runStarts: runStarts,
                    slack: period / 4),
                Comment(
                    rawValue: "taken \(clock.minutes(realSeconds: taken.modified - newestSnapshot.modified)) after "
                        + "the last one; runs from \(runStarts.map(clock.label))"))
            #expect(runs >= 4 || !watch.unexpected.isEmpty, "\(runs) runs")
        }
    }

    /// What may appear in the replica of an idle database: nothing, or the one snapshot the
    /// schedule demands at WAL index `demanded`, written once.
    private struct IdleWatch {
        let uploaded: Set<ReplicaFolder.Object>
        let demanded: UInt64?
        private(set) var taken: ReplicaFolder.Object?
        private(set) var unexpected: [ReplicaFolder.Object] = []

        mutating func observe(_ listing: [ReplicaFolder.Object]) {
            for object in listing where !uploaded.contains(object) {
                if object.kind == .snapshot, object.index == demanded, taken == nil || taken == object {
                    taken = object
                } else if !unexpected.contains(object) {
                    unexpected.append(object)
                }
            }
        }
    }

    /// The gap between two looks at the replica (synchronous, like `eventually`).
    private static func pause(_ seconds: Double) { Thread.sleep(forTimeInterval: seconds) }
}
