import Core
import SimHarness
import Testing

/// Regression (found by the lease oracle, `sluice sim` default seed 142, tenth session): the
/// replicator checked its lease once at the start of a retention pass and of a snapshot, then
/// issued their writes after a listing or a WAL upload that could take longer than the lease
/// (a stalled request). Retention deleted WAL segments 5 s after the lease had expired: had
/// another replicator taken the location over meanwhile, both would have written it. Every
/// write that follows a wait now renews the lease if due and is refused without one.
///
/// Each case stalls one request for 35 s, longer than the 30 s lease, and records every write as
/// it is issued against the store's lease object, which must name the replicator and not have
/// expired. The third case guards the rule the others rely on (Tests/Mutations/12): a failed
/// segment upload is tried again in place only while the lease has time left.
@Suite("Regression: writes after a long listing or upload are issued under a live lease", .serialized)
struct RegressionWritesUnderLeaseTests {
    static let owner = "host-a:100"

    /// The intercepting client, recording each write that is issued outside the lease.
    static func watchedClient(_ world: ScenarioWorld) -> (LeasingInterceptingReplicaClient, () -> [String]) {
        let client = LeasingInterceptingReplicaClient(base: world.client)
        var outside: [String] = []
        client.beforeEveryWrite = { what in
            let now = world.wallClock.now()
            let lease = await world.store.peek(world.client.leaseKey).flatMap { Lease.decode($0) }
            if lease?.owner != owner || lease!.expires <= now {
                outside.append("\(what) at \(now), lease \(lease.map { "\($0)" } ?? "none")")
            }
        }
        return (client, { outside })
    }

    @Test(
        "a generation's first snapshot, after a WAL upload that outlasted the lease, is written under a renewed lease")
    func snapshotAfterLongUpload() async throws {
        try await runScenario(seed: 142) { world in
            let app = world.app
            try await app.create()
            for _ in 0..<5 { try await app.commit(inserts: 2) }
            let (client, outside) = Self.watchedClient(world)
            var stalled = false
            // The start-up uploads the WAL before the generation's first snapshot; stall that upload.
            client.beforeWALWrite = { _ in
                if !stalled {
                    stalled = true
                    try await world.sleep(.seconds(35))
                }
            }
            let replicator = try world.startReplicator(
                "replicator-a", options: ScenarioWorld.options(owner: Self.owner), client: client)
            try await world.sleep(.seconds(40))
            #expect(try await world.snapshotCount() == 1)
            #expect(outside().isEmpty, "writes issued outside the lease: \(outside())")
            #expect(try await world.restore(.latest).commit == app.lastCommit)
            if case .failure(let error) = await replicator.stop() {
                throw ScenarioFailure("replicator failed: \(error)")
            }
        }
    }

    @Test("retention whose listing outlasted the lease deletes only under a renewed lease")
    func retentionAfterLongListing() async throws {
        try await runScenario(seed: 142) { world in
            let app = world.app
            try await app.create()
            let (client, outside) = Self.watchedClient(world)
            var options = ScenarioWorld.options(owner: Self.owner)
            options.snapshotInterval = .seconds(5)
            options.retention = .seconds(10)
            options.retentionCheckInterval = .seconds(5)
            let replicator = try world.startReplicator("replicator-a", options: options, client: client)
            try await world.commitSteadily(100, every: .milliseconds(200), inserts: 2)
            // The next retention pass lists the replica's generations: stall that listing.
            var stalled = false
            client.beforeGenerationsListing = {
                if !stalled {
                    stalled = true
                    try await world.sleep(.seconds(35))
                }
            }
            try await world.commitSteadily(300, every: .milliseconds(200), inserts: 2)
            try await world.sleep(.seconds(3))
            #expect(stalled)
            #expect(outside().isEmpty, "writes issued outside the lease: \(outside())")
            #expect(try await world.restore(.latest).commit == app.lastCommit)
            if case .failure(let error) = await replicator.stop() {
                throw ScenarioFailure("replicator failed: \(error)")
            }
        }
    }

    @Test("a WAL upload that fails after outlasting the lease is not tried again in place without one")
    func uploadRetryAfterLapse() async throws {
        try await runScenario(seed: 143) { world in
            let app = world.app
            try await app.create()
            let (client, outside) = Self.watchedClient(world)
            let replicator = try world.startReplicator(
                "replicator-a", options: ScenarioWorld.options(owner: Self.owner), client: client)
            try await world.commitSteadily(20, every: .milliseconds(200), inserts: 2)
            // The next WAL upload hangs for 35 s and then fails, as on a connection that timed out:
            // the segment's retry in place would be issued after the 30 s lease ran out.
            var stalled = false
            client.beforeWALWrite = { position in
                if !stalled {
                    stalled = true
                    try await world.sleep(.seconds(35))
                    throw InterceptingReplicaClient.refusal("wal \(position): timed out")
                }
            }
            try await world.commitSteadily(250, every: .milliseconds(200), inserts: 2)
            try await world.sleep(.seconds(3))
            #expect(stalled)
            #expect(outside().isEmpty, "writes issued outside the lease: \(outside())")
            #expect(try await world.restore(.latest).commit == app.lastCommit)
            if case .failure(let error) = await replicator.stop() {
                throw ScenarioFailure("replicator failed: \(error)")
            }
        }
    }
}
