/// Retention: deleting what no restore point inside the window needs (`RetentionPlanner`).
extension ReplicaSyncer {
    /// Deletes what retention no longer needs, if a retention check is due. A failed listing
    /// deletes nothing.
    public func enforceRetentionIfDue() async throws {
        guard let retention = options.retention else { return }
        let now = environment.wallClock.now()
        let every = min(options.retentionCheckInterval, retention)
        if let last = lastRetention, now - last < every { return }
        lastRetention = now
        try await enforceRetention(retention: retention, now: now)
    }

    public func enforceRetention(retention: Duration, now: Timestamp) async throws {
        guard mayWrite else { throw ReplicaSyncError.leaseNotHeld(replica: client.location) }
        let listing = try await ReplicaListing.load(from: client)
        let current = await database.position
        let plan = RetentionPlanner.plan(
            listing: listing, now: now, retention: retention, currentGeneration: current?.generation,
            currentIndex: current?.index)
        if plan.needsSnapshot {
            try await snapshot()
            return
        }
        // Every delete is a write: the lease is renewed between them, since a round of many
        // deletes on a stalling store outlived a 120 s lease and another replicator took the
        // location over meanwhile (sluice sim, default seed 385). The listing may also have
        // taken longer than the lease had left.
        for snapshot in plan.snapshotsToDelete {
            try await ensureLease()
            try await client.deleteSnapshot(generation: snapshot.generation, index: snapshot.index)
        }
        try await deleteSegments(plan.segmentsToDelete)
        for name in plan.generationsToDelete {
            // Its objects go as the rest do, each under the lease; then what is left of it.
            if let generation = listing.generation(name) {
                for snapshot in generation.snapshots {
                    try await ensureLease()
                    try await client.deleteSnapshot(generation: name, index: snapshot.index)
                }
                try await deleteSegments(generation.segments.map(\.position))
            }
            try await ensureLease()
            try await client.deleteGeneration(name)
        }
        if !plan.isEmpty {
            logger.info(
                "retention",
                metadata: [
                    "snapshots.deleted": "\(plan.snapshotsToDelete.count)",
                    "segments.deleted": "\(plan.segmentsToDelete.count)",
                    "generations.deleted": "\(plan.generationsToDelete.count)",
                ])
        }
    }

    /// Segments deleted per request batch, each batch under a lease checked just before it.
    static let segmentDeleteBatch = 32

    private func deleteSegments(_ positions: [Position]) async throws {
        var start = 0
        while start < positions.count {
            let end = min(start + Self.segmentDeleteBatch, positions.count)
            try await ensureLease()
            try await client.deleteWALSegments(Array(positions[start..<end]))
            start = end
        }
    }
}
