import Core
import SimHarness
import Testing

/// A restore that runs while the replicator's retention deletes what the restore planned
/// (Litestream #224, #1270, #1307). The restore lists the replica and plans on the snapshot
/// that is newest then; its download of that snapshot stalls (a slow link, a throttled store)
/// for longer than the retention window while the app keeps committing, so the replicator
/// snapshots again and its retention deletes the planned snapshot and the WAL below it. When
/// the stalled read reaches the store, the object is gone. One case stalls the snapshot read,
/// the other the first WAL segment read (the snapshot itself is already on disk then).
///
/// The restore must notice, list and plan again, and restore the source exactly at a commit at
/// least as new as the one the replica held when the restore began; it must not fail on an
/// object that retention removed for good reason.
@Suite("Restore while retention deletes its planned snapshot", .serialized)
struct RestoreDuringRetentionTests {
    @Test(
        "A restore whose planned objects retention deletes mid-restore plans again and restores the source exactly",
        arguments: [StalledRead.snapshot, .walSegment])
    func restorePlansAgainAfterRetention(stalled: StalledRead) async throws {
        try await runScenario(seed: 41) { world in
            let app = world.app
            try await app.create()
            var options = ScenarioWorld.options()
            options.snapshotInterval = .seconds(10)
            options.retention = .seconds(20)
            options.retentionCheckInterval = .seconds(5)
            let replicator = try world.startReplicator("replicator", options: options)

            // The app commits about once a second from now until the restore is checked.
            let writer = world.scheduler.spawner.spawn {
                while !Task.isCancelled {
                    _ = try await app.commit(inserts: 1)
                    try await world.sleep(.seconds(1))
                }
            }
            try await world.sleep(.seconds(45))

            // The restore's first snapshot read, or its first WAL segment read, reaches the
            // store only after 60 s, three retention windows.
            let client = InterceptingReplicaClient(base: world.client)
            var firstSnapshotRead: (generation: Generation, index: UInt64)?
            var firstSegmentRead: Position?
            var snapshotReads = 0
            client.beforeSnapshotRead = { generation, index in
                snapshotReads += 1
                guard firstSnapshotRead == nil else { return }
                firstSnapshotRead = (generation, index)
                if stalled == .snapshot { try await world.sleep(.seconds(60)) }
            }
            client.beforeWALRead = { position in
                guard firstSegmentRead == nil else { return }
                firstSegmentRead = position
                if stalled == .walSegment { try await world.sleep(.seconds(60)) }
            }
            let committedAtStart = app.lastCommit
            let restored = try await world.restore(.latest, from: client)

            // The premise: the snapshot the first plan chose was deleted while its read stalled.
            let planned = try #require(firstSnapshotRead)
            let left = try await world.client.snapshots(in: planned.generation).map(\.index)
            #expect(
                !left.contains(planned.index), "retention should have deleted snapshot \(planned.index); left \(left)")
            #expect(snapshotReads >= 2, "the restore should have planned again and read a newer snapshot")
            if stalled == .walSegment {
                let stalledSegment = try #require(firstSegmentRead)
                let segments = try await world.client.walSegments(in: stalledSegment.generation).map(\.position)
                #expect(!segments.contains(stalledSegment), "retention should have deleted segment \(stalledSegment)")
            }
            // What was restored is the source exactly (checked by `restore`) and not older than
            // what the replica held when the restore began.
            #expect(
                restored.commit >= committedAtStart - 2,
                "restored \(restored), the source was at commit \(committedAtStart) when the restore began")

            writer.cancel()
            _ = await writer.result
            if case .failure(let error) = await replicator.stop() {
                throw ScenarioFailure("replicator failed: \(error)")
            }
        }
    }
}

/// Which read of a restore stalls.
enum StalledRead: Sendable, CustomTestStringConvertible {
    case snapshot, walSegment
    var testDescription: String { self == .snapshot ? "snapshot read stalls" : "WAL segment read stalls" }
}
