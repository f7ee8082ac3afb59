import Testing

@testable import Core

/// Times are seconds after 2024-01-01; one Sluice generation created at second 0.
private let epoch: Int64 = 1_704_067_200_000
private func at(_ seconds: Int64) -> Timestamp { Timestamp(millisecondsSince1970: epoch + seconds * 1000) }
private let generation = Generation(value: UInt64(epoch) << 20 | 0x777)

/// Snapshots every 100 s at indexes 0, 2, 4, ..., with one WAL segment per index each 50 s.
private func listing(upTo seconds: Int64) -> ReplicaListing {
    var snapshots: [SnapshotInfo] = []
    var segments: [WALSegmentInfo] = []
    for second in stride(from: Int64(0), through: seconds, by: 50) {
        let index = UInt64(second / 50)
        if second % 100 == 0 {
            snapshots.append(SnapshotInfo(generation: generation, index: index, size: 10, createdAt: at(second)))
        }
        segments.append(
            WALSegmentInfo(generation: generation, index: index, offset: 0, size: 10, createdAt: at(second + 1)))
    }
    return ReplicaListing(generations: [
        GenerationListing(generation: generation, snapshots: snapshots, segments: segments)
    ])
}

/// `listing` with what one retention round at `now` deletes removed.
private func retained(_ listing: ReplicaListing, now: Int64, retention: Duration) -> ReplicaListing {
    let plan = RetentionPlanner.plan(
        listing: listing, now: at(now), retention: retention, currentGeneration: generation)
    let snapshots = Set(plan.snapshotsToDelete.map(\.index))
    let segments = Set(plan.segmentsToDelete)
    return ReplicaListing(
        generations: listing.generations.map { entry in
            GenerationListing(
                generation: entry.generation,
                snapshots: entry.snapshots.filter { !snapshots.contains($0.index) },
                segments: entry.segments.filter { !segments.contains($0.position) })
        })
}

@Suite("RestoreReplanning")
struct RestoreReplanningTests {
    let request = RestoreRequest(outputPath: "/out.db")

    @Test("After retention deleted the planned snapshot, the new plan starts from a newer one and is taken")
    func retentionMovesThePlanForward() throws {
        let before = listing(upTo: 300)
        let failed = try RestorePlanner.plan(request, listing: before)
        #expect(failed.snapshot.index == 6)
        // The replicator went on for 300 s, snapshotting, and retention (120 s) ran: the window
        // starts at 480 s, so the snapshot of 400 s serves its start and the one of 300 s goes.
        let after = retained(listing(upTo: 600), now: 600, retention: .seconds(120))
        #expect(!after.generations[0].snapshots.contains { $0.index == failed.snapshot.index })
        let fresh = try RestorePlanner.plan(request, listing: after)
        let next = try #require(RestoreReplanning.nextPlan(after: failed, fresh: fresh, replans: 0))
        #expect(next.snapshot.index == 12)
        #expect(next == fresh)
    }

    @Test("A new plan identical to the failed one gives up: the listing still shows the object that cannot be read")
    func unchangedPlanGivesUp() throws {
        let plan = try RestorePlanner.plan(request, listing: listing(upTo: 300))
        #expect(RestoreReplanning.nextPlan(after: plan, fresh: plan, replans: 0) == nil)
    }

    @Test("After the limit of new plans, the restore gives up even if the replica changed again")
    func limitOfNewPlans() throws {
        let failed = try RestorePlanner.plan(request, listing: listing(upTo: 300))
        let fresh = try RestorePlanner.plan(request, listing: listing(upTo: 400))
        #expect(RestoreReplanning.nextPlan(after: failed, fresh: fresh, replans: RestoreReplanning.limit - 1) == fresh)
        #expect(RestoreReplanning.nextPlan(after: failed, fresh: fresh, replans: RestoreReplanning.limit) == nil)
    }

    @Test("A target that left the retention window fails to plan again, with the planner's own error")
    func targetOutsideTheWindow() throws {
        let target = RestoreRequest(outputPath: "/out.db", target: .timestamp(at(120)))
        let failed = try RestorePlanner.plan(target, listing: listing(upTo: 300))
        #expect(failed.snapshot.index == 2)
        let after = retained(listing(upTo: 500), now: 500, retention: .seconds(120))
        #expect(throws: RestoreError.self) { _ = try RestorePlanner.plan(target, listing: after) }
    }
}
