import Core
import IO
import Testing

/// What the `sluice replicate -exec` end-to-end tests share: shell snippets for the command, which
/// record what they saw in files of the sandbox (the tests wait on files, never on sleeps), and
/// the lease takeover that ends replication for good.
extension SluiceSandbox {
    /// Exits 90 at once unless the file replica `replica` (a sandbox name) already holds a
    /// snapshot: how a test tells that the command started after the first sync.
    func requireSnapshotScript(_ replica: String = "replica") -> String {
        "ls \(path(replica))/generations/*/snapshots/*.snapshot.lz4 >/dev/null 2>&1 || exit 90"
    }

    /// A command that touches `ready`, then waits until SIGTERM, writes `got-signal` and exits
    /// with `exitStatus`.
    func waitForSignalScript(exitStatus: Int) -> String {
        let script = """
            trap "echo TERM > \(path("got-signal")); exit \(exitStatus)" TERM; \
            touch \(path("ready")); while :; do sleep 0.05; done
            """
        return "sh -c '\(script)'"
    }

    /// Another replicator takes the file replica `replica` over: seen from an hour later, sluice's
    /// lease has expired. Sluice finds it lost at its next renewal.
    func takeLeaseOver(_ replica: String) async throws {
        let intruder = FileReplicaClient(
            root: path(replica), fileSystem: POSIXFileSystem(runner: ThreadPoolRunner(threads: 1)))
        // The replicator renews its 3 s lease every second, and each renewal can win the race
        // for the next record: an acquisition may give up ("the lease kept changing") and, like
        // any second replicator, tries again.
        for attempt in 1... {
            do {
                _ = try await intruder.acquireLease(
                    owner: "intruder", token: "intruder-token", duration: .seconds(3600),
                    now: SystemWallClock().now() + .seconds(3600))
                return
            } catch ReplicaClientError.unavailable where attempt < 20 {
                continue
            }
        }
    }

    /// Waits for `sluice`, running `waitForSignalScript`, to stop on a fatal replication error:
    /// exit status 1, the command sent SIGTERM, and exactly one `error:` line, which is returned.
    func requireStoppedByFatalError(_ sluice: BackgroundProcess) throws -> Substring {
        try #require(waitForExit(sluice.process, timeout: .seconds(60)), "sluice kept running; log:\n\(sluice.log)")
        #expect(sluice.process.terminationStatus == 1, "log:\n\(sluice.log)")
        #expect(exists("got-signal"), "the command was not sent SIGTERM")
        let errors = sluice.log.split(separator: "\n").filter { $0.hasPrefix("error: ") }
        #expect(errors.count == 1, "log:\n\(sluice.log)")
        return try #require(errors.last, "log:\n\(sluice.log)")
    }
}
