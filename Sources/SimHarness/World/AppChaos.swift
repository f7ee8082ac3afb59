import Core
import SQLite

/// What the app does besides committing, through a second connection of its own process:
/// long readers, VACUUM, checkpoints of every mode, and `wal_autocheckpoint` changes on its
/// writing connection (at small values SQLite then checkpoints on its own after commits).
extension SimWorld {
    func appOperationsLoop(until end: Duration, clock: SimClock) async throws {
        guard let interval = parameters.chaos.appChaosInterval else { return }
        let random = scheduler.randomSource("app-operations")
        let mean = Double(interval.milliseconds)
        while true {
            let pause = mean * AppWorkload.negativeLog1p(random.unitInterval() * 0.999)
            try await clock.sleep(for: .milliseconds(Int64(pause)))
            if clock.now.offset >= end { return }
            if appDown || appIdle || appRetired { continue }
            let roll = random.unitInterval()
            do {
                if roll < 0.3 {
                    try await longReader(
                        hold: .milliseconds(
                            Int64(random.next() % UInt64(max(parameters.chaos.longReaderHold.milliseconds, 1)))))
                } else if roll < 0.35 {
                    // Rarer than the rest: each VACUUM writes the whole database into the WAL,
                    // and at one every two seconds they were most of some seeds' replication.
                    try await auxiliary().execute("VACUUM")
                    SimTrace.record("app vacuum")
                } else if roll < 0.7, !parameters.chaos.autocheckpointValues.isEmpty {
                    let values = parameters.chaos.autocheckpointValues
                    let pages = values[Int(random.next() % UInt64(values.count))]
                    try await workload.setAutocheckpoint(pages)
                    SimTrace.record("app wal_autocheckpoint", UInt64(pages))
                } else {
                    let mode = CheckpointMode.allCases[Int(random.next() % 4)]
                    let result = try await auxiliary().checkpoint(mode)
                    SimTrace.record(
                        "app checkpoint \(mode) (second connection) busy=\(result.busy) frames=\(result.walFrames)/\(result.checkpointedFrames)"
                    )
                }
            } catch let error as SQLiteError where error.isBusy {
                SimTrace.record("app operation SQLITE_BUSY")
                _ = try? await appAuxiliary?.execute("ROLLBACK")
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                // The app process died under the operation (a kill or a power loss): its
                // connection is gone; the next operation opens one in the new process.
                SimTrace.record("app operation failed: \(error)")
                try? await appAuxiliary?.close()
                appAuxiliary = nil
            }
        }
    }

    /// A read transaction held open for `hold`: SQLite cannot restart the WAL past it, and
    /// checkpoints stop at its snapshot.
    private func longReader(hold: Duration) async throws {
        let connection = try await auxiliary()
        try await connection.execute("BEGIN")
        // One row is enough to take the snapshot; a scan of the table read the whole database
        // through the VFS on every reader, most of some seeds' cost, and tested nothing more.
        _ = try await connection.query("SELECT n FROM meta WHERE k = 0")
        SimTrace.record("app long reader holds for \(hold)")
        do {
            try await scheduler.clock.sleep(for: hold)
        } catch {
            try? await connection.execute("COMMIT")
            throw error
        }
        try await connection.execute("COMMIT")
    }

    /// The app's second connection, opened in the current app process.
    private func auxiliary() async throws -> any SQLiteConnection {
        if let appAuxiliary { return appAuxiliary }
        let opened = try await app.open(Self.databasePath)
        let connection = appPreemption.map { PreemptingConnection(base: opened, preemption: $0) } ?? opened
        appAuxiliary = connection
        return connection
    }
}
