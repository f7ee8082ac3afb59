import Testing

@testable import Core

/// Listings built by hand: times are seconds after 2024-01-01, generations are Sluice names
/// created at a given second unless a test spells out a Litestream name.
private let epoch: Int64 = 1_704_067_200_000

private func at(_ seconds: Int64) -> Timestamp { Timestamp(millisecondsSince1970: epoch + seconds * 1000) }

private func sluiceGeneration(createdAt seconds: Int64, low: UInt64 = 0x12345) -> Generation {
    Generation(value: (UInt64(epoch + seconds * 1000) << 20) | low)
}

private func snapshot(_ generation: Generation, _ index: UInt64, at seconds: Int64) -> SnapshotInfo {
    SnapshotInfo(generation: generation, index: index, size: 100, createdAt: at(seconds))
}

private func segment(_ generation: Generation, _ index: UInt64, _ offset: UInt64, at seconds: Int64) -> WALSegmentInfo {
    WALSegmentInfo(generation: generation, index: index, offset: offset, size: 50, createdAt: at(seconds))
}

private func offsets(_ plan: IndexPlan) -> [UInt64] { plan.segments.map(\.offset) }

@Suite("RestorePlanner")
struct RestorePlannerTests {
    let older = sluiceGeneration(createdAt: 0)
    let newer = sluiceGeneration(createdAt: 1000)
    let empty = sluiceGeneration(createdAt: 5000)

    /// Two generations with history and a third, newest one that has no snapshot yet.
    /// `newer`: snapshot 0 at 1000 s and 2 at 1300 s; WAL index 0 (three segments), 1 (two), 2 (one).
    var listing: ReplicaListing {
        ReplicaListing(generations: [
            GenerationListing(generation: empty, snapshots: [], segments: [segment(empty, 0, 0, at: 5001)]),
            GenerationListing(
                generation: newer,
                snapshots: [snapshot(newer, 2, at: 1300), snapshot(newer, 0, at: 1000)],
                segments: [
                    segment(newer, 2, 0, at: 1310),
                    segment(newer, 1, 5000, at: 1250), segment(newer, 1, 0, at: 1200),
                    segment(newer, 0, 8272, at: 1030), segment(newer, 0, 4152, at: 1020),
                    segment(newer, 0, 0, at: 1010),
                ]),
            GenerationListing(
                generation: older,
                snapshots: [snapshot(older, 0, at: 0)],
                segments: [segment(older, 0, 0, at: 10), segment(older, 0, 4152, at: 20)]),
        ])
    }

    func plan(_ target: RestoreTarget, generation: Generation? = nil, in listing: ReplicaListing? = nil) throws
        -> RestorePlan
    {
        try RestorePlanner.plan(
            RestoreRequest(outputPath: "/out/db", generation: generation, target: target),
            listing: listing ?? self.listing, replica: "file:///replica")
    }

    @Test("latest: newest generation with a snapshot, its last snapshot, every index after it")
    func latest() throws {
        let result = try plan(.latest)
        #expect(result.generation == newer)
        #expect(result.snapshot.index == 2)
        #expect(result.indexes.map(\.index) == [2])
        #expect(result.indexes.allSatisfy { $0.byteLimit == nil })
        #expect(result.reason.contains("newest by name"))
    }

    @Test("explicit generation: an older generation is restored when asked for")
    func explicitGeneration() throws {
        let result = try plan(.latest, generation: older)
        #expect(result.generation == older)
        #expect(result.snapshot.index == 0)
        #expect(result.indexes.count == 1)
        #expect(offsets(result.indexes[0]) == [0, 4152])
        #expect(result.segments.allSatisfy { $0.generation == older })
    }

    @Test("explicit generation: one that is not on the replica is an error naming it")
    func unknownGeneration() {
        let missing = sluiceGeneration(createdAt: 42)
        #expect(throws: RestoreError.generationNotFound(missing)) { try plan(.latest, generation: missing) }
    }

    @Test("timestamp: newest snapshot uploaded before it, segments cut at the first later upload")
    func timestamp() throws {
        let result = try plan(.timestamp(at(1220)))
        #expect(result.generation == newer)
        #expect(result.snapshot.index == 0)
        try #require(result.indexes.map(\.index) == [0, 1])
        #expect(offsets(result.indexes[0]) == [0, 4152, 8272])
        #expect(offsets(result.indexes[1]) == [0]) // the segment at 5000 was uploaded at 1250 s
    }

    @Test("timestamp: a later snapshot is used once it was uploaded")
    func timestampLaterSnapshot() throws {
        let result = try plan(.timestamp(at(1305)))
        #expect(result.snapshot.index == 2)
        #expect(result.isSnapshotOnly) // index 2's segment came at 1310 s
    }

    @Test("timestamp: between generations, the earlier generation's end state is restored")
    func timestampBetweenGenerations() throws {
        let result = try plan(.timestamp(at(500)))
        #expect(result.generation == older)
        #expect(offsets(result.indexes[0]) == [0, 4152])
    }

    @Test("timestamp: before every snapshot is an error")
    func timestampTooEarly() {
        let listing = ReplicaListing(generations: [
            GenerationListing(generation: newer, snapshots: [snapshot(newer, 0, at: 1000)], segments: [])
        ])
        #expect(throws: RestoreError.noSnapshot(generation: nil, target: at(999).description)) {
            try plan(.timestamp(at(999)), in: listing)
        }
        #expect(throws: RestoreError.noSnapshot(generation: newer, target: at(999).description)) {
            try plan(.timestamp(at(999)), generation: newer, in: listing)
        }
    }

    @Test("index: requires a generation, then replays every index up to the end of the target")
    func indexTarget() throws {
        #expect(throws: RestoreError.targetRequiresGeneration) { try plan(.index(1)) }
        let result = try plan(.index(1), generation: newer)
        #expect(result.snapshot.index == 0)
        #expect(result.indexes.map(\.index) == [0, 1])
        #expect(offsets(result.indexes[1]) == [0, 5000])
        #expect(result.indexes.allSatisfy { $0.byteLimit == nil })
    }

    @Test("index: the target's own snapshot is preferred and its index replayed")
    func indexWithOwnSnapshot() throws {
        let result = try plan(.index(2), generation: newer)
        #expect(result.snapshot.index == 2)
        #expect(result.indexes.map(\.index) == [2])
    }

    @Test("index: beyond the replicated history names the missing index")
    func indexBeyondEnd() {
        #expect(throws: RestoreError.missingWALIndex(generation: newer, index: 3)) {
            try plan(.index(3), generation: newer)
        }
    }

    @Test("position: segments before the offset, with the offset as the byte limit")
    func positionTarget() throws {
        #expect(throws: RestoreError.targetRequiresGeneration) { try plan(.position(index: 1, offset: 4000)) }
        let inside = try plan(.position(index: 1, offset: 4000), generation: newer)
        #expect(inside.indexes.map(\.index) == [0, 1])
        #expect(inside.indexes[0].byteLimit == nil)
        #expect(offsets(inside.indexes[0]) == [0, 4152, 8272])
        #expect(offsets(inside.indexes[1]) == [0])
        #expect(inside.indexes[1].byteLimit == 4000)
    }

    @Test("position: offset 0 of an index is the end of the one before it")
    func positionAtIndexStart() throws {
        let result = try plan(.position(index: 1, offset: 0), generation: newer)
        #expect(result.indexes.map(\.index) == [0])
        #expect(result.indexes[0].byteLimit == nil)
    }

    @Test("position: inside the index of the generation's earliest snapshot is refused, not guessed")
    func positionInsideSnapshotIndex() {
        // The snapshot labelled 0 may hold pages checkpointed from anywhere in index 0 before it
        // was read, so it cannot be rewound to an earlier point of that index.
        for offset: UInt64 in [0, 8272] {
            #expect(throws: RestoreError.positionInsideSnapshotIndex(generation: newer, index: 0)) {
                try plan(.position(index: 0, offset: offset), generation: newer)
            }
        }
    }

    @Test("position: an offset inside the WAL header is not a transaction boundary")
    func positionInsideHeader() {
        let position = Position(generation: newer, index: 1, offset: 10)
        #expect(throws: RestoreError.notACommitBoundary(position)) {
            try plan(.position(index: 1, offset: 10), generation: newer)
        }
    }

    @Test("missing index: a hole between the snapshot and the end is an error naming the index")
    func missingIndex() {
        let g = newer
        let listing = ReplicaListing(generations: [
            GenerationListing(
                generation: g, snapshots: [snapshot(g, 0, at: 1000)],
                segments: [segment(g, 0, 0, at: 1001), segment(g, 2, 0, at: 1003)])
        ])
        #expect(throws: RestoreError.missingWALIndex(generation: g, index: 1)) { try plan(.latest, in: listing) }
        // The history before the hole is still restorable.
        #expect(throws: Never.self) { try plan(.index(0), generation: g, in: listing) }
    }

    @Test("missing initial segment: an index whose first segment is not at offset 0")
    func missingInitialSegment() {
        let g = newer
        let listing = ReplicaListing(generations: [
            GenerationListing(
                generation: g, snapshots: [snapshot(g, 0, at: 1000)],
                segments: [segment(g, 0, 0, at: 1001), segment(g, 1, 4152, at: 1003), segment(g, 1, 8272, at: 1004)])
        ])
        #expect(throws: RestoreError.missingInitialSegment(generation: g, index: 1, firstOffset: 4152)) {
            try plan(.latest, in: listing)
        }
    }

    @Test("snapshot only: no WAL after the snapshot is a plan with no indexes")
    func snapshotOnly() throws {
        let g = newer
        let listing = ReplicaListing(generations: [
            GenerationListing(
                generation: g, snapshots: [snapshot(g, 3, at: 1000)], segments: [segment(g, 2, 0, at: 999)])
        ])
        let latest = try plan(.latest, in: listing)
        #expect(latest.isSnapshotOnly)
        #expect(latest.snapshot.index == 3)
        #expect(try plan(.index(3), generation: g, in: listing).isSnapshotOnly)
    }

    @Test("no snapshots: a replica without one has no backups; a named generation without one is named")
    func noSnapshots() {
        let g = newer
        let listing = ReplicaListing(generations: [
            GenerationListing(generation: g, snapshots: [], segments: [segment(g, 0, 0, at: 1)])
        ])
        #expect(throws: RestoreError.noBackups(replica: "file:///replica")) { try plan(.latest, in: listing) }
        #expect(throws: RestoreError.noBackups(replica: "file:///replica")) {
            try plan(.latest, in: ReplicaListing(generations: []))
        }
        #expect(throws: RestoreError.noSnapshot(generation: g, target: RestoreTarget.latest.description)) {
            try plan(.latest, generation: g, in: listing)
        }
    }

    @Test("parallelism below 1 is refused")
    func parallelism() {
        #expect(throws: RestoreError.invalidParallelism(0)) {
            try RestorePlanner.plan(RestoreRequest(outputPath: "/o", parallelism: 0), listing: listing)
        }
    }

    @Test("duplicate segment positions (one object under both layouts) are planned once")
    func duplicates() throws {
        let g = newer
        let listing = ReplicaListing(generations: [
            GenerationListing(
                generation: g, snapshots: [snapshot(g, 0, at: 1000)],
                segments: [segment(g, 0, 0, at: 1001), segment(g, 0, 0, at: 1001), segment(g, 0, 4152, at: 1002)])
        ])
        #expect(offsets(try plan(.latest, in: listing).indexes[0]) == [0, 4152])
    }

    // Litestream's generation names are random, so they say nothing about age.
    let litestreamA = Generation("29cf4bced74e92ab")!
    let litestreamB = Generation("5dfeb4aa03232553")!

    @Test("Litestream names: generations are ordered by latest upload, and the plan says why")
    func randomNamesFallBack() throws {
        // B sorts after A by name but A holds the newest data.
        let listing = ReplicaListing(generations: [
            GenerationListing(
                generation: litestreamA, snapshots: [snapshot(litestreamA, 0, at: 2000)],
                segments: [segment(litestreamA, 0, 0, at: 2100)]),
            GenerationListing(
                generation: litestreamB, snapshots: [snapshot(litestreamB, 0, at: 100)],
                segments: [segment(litestreamB, 0, 0, at: 200)]),
        ])
        let result = try plan(.latest, in: listing)
        #expect(result.generation == litestreamA)
        #expect(result.reason.contains("--generation"))
        #expect(result.reason.contains("latest upload"))
        // A timestamp before A began picks B, whose data is older.
        #expect(try plan(.timestamp(at(1000)), in: listing).generation == litestreamB)
    }

    @Test("a Sluice name claiming a creation far after its first object is not trusted")
    func implausibleSluiceName() throws {
        // `late` claims creation a week after its snapshot; `real` has the newest uploads.
        let late = sluiceGeneration(createdAt: 7 * 86_400 + 100)
        let real = sluiceGeneration(createdAt: 50)
        let listing = ReplicaListing(generations: [
            GenerationListing(generation: late, snapshots: [snapshot(late, 0, at: 100)], segments: []),
            GenerationListing(
                generation: real, snapshots: [snapshot(real, 0, at: 60)], segments: [segment(real, 0, 0, at: 900)]),
        ])
        #expect(try plan(.latest, in: listing).generation == real)
        #expect(RestorePlanner.hasPlausibleName(listing.generation(real)!))
        #expect(!RestorePlanner.hasPlausibleName(listing.generation(late)!))
    }

    @Test("Litestream #251 shape: interleaved snapshot indexes across generations never mix")
    func interleavedGenerations() throws {
        // Both generations reach index 24 with snapshots at different indexes; planning one must
        // only ever use its own snapshots and segments.
        let a = litestreamA
        let b = litestreamB
        let listing = ReplicaListing(generations: [
            GenerationListing(
                generation: a, snapshots: [snapshot(a, 10, at: 100), snapshot(a, 24, at: 400)],
                segments: (10...26).map { segment(a, UInt64($0), 0, at: Int64($0) * 20) }),
            GenerationListing(
                generation: b, snapshots: [snapshot(b, 20, at: 150), snapshot(b, 25, at: 450)],
                segments: (20...25).map { segment(b, UInt64($0), 0, at: Int64($0) * 20 + 5) }),
        ])
        let atA = try plan(.index(25), generation: a, in: listing)
        #expect(atA.snapshot == snapshot(a, 24, at: 400))
        #expect(atA.indexes.map(\.index) == [24, 25])
        #expect(atA.segments.allSatisfy { $0.generation == a })

        let atB = try plan(.index(24), generation: b, in: listing)
        #expect(atB.snapshot == snapshot(b, 20, at: 150))
        #expect(atB.indexes.map(\.index) == [20, 21, 22, 23, 24])
        #expect(atB.segments.allSatisfy { $0.generation == b })

        #expect(throws: RestoreError.noSnapshot(generation: b, target: RestoreTarget.index(19).description)) {
            try plan(.index(19), generation: b, in: listing)
        }
    }
}
