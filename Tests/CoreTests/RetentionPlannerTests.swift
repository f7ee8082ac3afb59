import Testing

@testable import Core

@Suite("RetentionPlanner")
struct RetentionPlannerTests {
    static let now = Timestamp(millisecondsSince1970: 1_700_000_000_000)
    // The generation IDs from Litestream #251.
    static let genA = Generation("29cf4bced74e92ab")!
    static let genB = Generation("5dfeb4aa03232553")!
    static let genC = Generation("7000000000000000")!

    /// A time `minutes` before now.
    static func ago(_ minutes: Int) -> Timestamp { now - .seconds(60 * minutes) }

    static func snapshot(_ generation: Generation, _ index: UInt64, minutesAgo: Int) -> SnapshotInfo {
        SnapshotInfo(generation: generation, index: index, size: 100, createdAt: ago(minutesAgo))
    }

    static func segment(_ generation: Generation, _ index: UInt64, _ offset: UInt64 = 0, minutesAgo: Int)
        -> WALSegmentInfo
    {
        WALSegmentInfo(generation: generation, index: index, offset: offset, size: 10, createdAt: ago(minutesAgo))
    }

    /// Segments at offsets 0 and 4152 for each index in `indexes`, the first `startMinutesAgo`
    /// minutes ago and each next index one minute later.
    static func segments(_ generation: Generation, _ indexes: ClosedRange<UInt64>, startMinutesAgo: Int)
        -> [WALSegmentInfo]
    {
        indexes.flatMap { index in
            let minutes = startMinutesAgo - Int(index - indexes.lowerBound)
            return [
                Self.segment(generation, index, 0, minutesAgo: minutes),
                Self.segment(generation, index, 4152, minutesAgo: minutes),
            ]
        }
    }

    static func plan(
        _ generations: [GenerationListing], retention minutes: Int, current: Generation?,
        protected: Set<Generation> = []
    ) -> RetentionPlan {
        RetentionPlanner.plan(
            listing: ReplicaListing(generations: generations), now: now,
            retention: .seconds(60 * minutes), currentGeneration: current,
            protectedGenerations: protected)
    }

    // MARK: The Litestream #251 shape

    /// Gen A (older name) has snapshots 0, 24, 30; gen B has 10, 20: the indexes interleave.
    /// With a 90-minute window, A keeps 30 inside the window and 24 as the window-start anchor;
    /// B keeps 10 and 20. A floor borrowed across generations (B's 10 or A's last-seen 30)
    /// would delete the wrong things.
    static func issue251Listing() -> [GenerationListing] {
        [
            GenerationListing(
                generation: genA,
                snapshots: [
                    Self.snapshot(genA, 0, minutesAgo: 300), Self.snapshot(genA, 24, minutesAgo: 120),
                    Self.snapshot(genA, 30, minutesAgo: 30),
                ],
                segments: Self.segments(genA, 0...31, startMinutesAgo: 300)),
            GenerationListing(
                generation: genB,
                snapshots: [Self.snapshot(genB, 20, minutesAgo: 20), Self.snapshot(genB, 10, minutesAgo: 50)],
                segments: Self.segments(genB, 10...22, startMinutesAgo: 50)),
        ]
    }

    @Test("RetentionPlanner: #251: each generation's floor comes from its own snapshots only")
    func issue251PerGenerationFloor() {
        let plan = Self.plan(Self.issue251Listing(), retention: 90, current: Self.genB)
        #expect(!plan.needsSnapshot)
        #expect(plan.generationsToDelete.isEmpty)
        // A: floor 24 (newest snapshot at or before the window start): only snapshot 0 goes.
        #expect(plan.snapshotsToDelete == [Self.snapshot(Self.genA, 0, minutesAgo: 300)])
        let expectedSegments = (UInt64(0)...23).flatMap { index in
            [
                Position(generation: Self.genA, index: index, offset: 0),
                Position(generation: Self.genA, index: index, offset: 4152),
            ]
        }
        #expect(plan.segmentsToDelete == expectedSegments)
        // Nothing of B (the current generation, floor 10) is touched, although A holds higher indexes.
        #expect(!plan.segmentsToDelete.contains { $0.generation == Self.genB })
        #expect(!plan.snapshotsToDelete.contains { $0.generation == Self.genB })
    }

    @Test("RetentionPlanner: #251: index 24 and its WAL survive whichever generation is current")
    func issue251Index24Survives() {
        for current in [Self.genA, Self.genB, nil] as [Generation?] {
            let plan = Self.plan(Self.issue251Listing(), retention: 90, current: current)
            #expect(!plan.snapshotsToDelete.contains { $0.generation == Self.genA && $0.index == 24 })
            #expect(!plan.segmentsToDelete.contains { $0.generation == Self.genA && $0.index >= 24 })
            #expect(!plan.segmentsToDelete.contains { $0.generation == Self.genB })
            #expect(plan.snapshotsToDelete.map(\.index) == [0])
        }
    }

    @Test("RetentionPlanner: #251: the current generation's floor ignores a lower-indexed other generation")
    func issue251CurrentFloorOwnOnly() {
        // Current A has snapshots 24 and 30, both inside the window, and WAL from index 20; B's
        // snapshots 10 and 20 are lower. A global minimum (10) would keep A's 20..23; a
        // last-seen value (30, or B's 20 read through a stale reference) would delete A's 24 or
        // keep too much. The right floor for A is 24 itself.
        let a = Self.genA
        let b = Self.genB
        let listing = [
            GenerationListing(
                generation: a, snapshots: [snap(a, 24, 95), snap(a, 30, 30)],
                segments: Self.segments(a, 20...31, startMinutesAgo: 99)),
            GenerationListing(
                generation: b, snapshots: [snap(b, 10, 50), snap(b, 20, 20)],
                segments: Self.segments(b, 10...22, startMinutesAgo: 50)),
        ]
        let plan = Self.plan(listing, retention: 100, current: a)
        #expect(plan.snapshotsToDelete.isEmpty)
        #expect(Set(plan.segmentsToDelete.map(\.index)) == [20, 21, 22, 23])
        #expect(plan.segmentsToDelete.allSatisfy { $0.generation == a })
        #expect(plan.generationsToDelete.isEmpty)
    }

    // MARK: Window start

    @Test("RetentionPlanner: window start: the newest snapshot at or before it stays, older ones go")
    func windowStartAnchor() {
        let gen = Self.genC
        let listing = [
            GenerationListing(
                generation: gen,
                snapshots: [snap(gen, 0, 500), snap(gen, 3, 200), snap(gen, 5, 100), snap(gen, 8, 10)],
                segments: Self.segments(gen, 0...9, startMinutesAgo: 500))
        ]
        let plan = Self.plan(listing, retention: 60, current: gen)
        // Window start = 60 minutes ago; snapshot 5 (100 minutes ago) is the anchor.
        #expect(plan.snapshotsToDelete.map(\.index) == [0, 3])
        #expect(Set(plan.segmentsToDelete.map(\.index)) == Set(0...4))
        #expect(plan.generationsToDelete.isEmpty)
    }

    @Test("RetentionPlanner: window start: a snapshot exactly at the window start is the floor")
    func snapshotAtWindowStart() {
        let gen = Self.genC
        let listing = [
            GenerationListing(
                generation: gen,
                snapshots: [snap(gen, 1, 120), snap(gen, 2, 60), snap(gen, 3, 5)],
                segments: Self.segments(gen, 1...3, startMinutesAgo: 120))
        ]
        let plan = Self.plan(listing, retention: 60, current: gen)
        #expect(plan.snapshotsToDelete.map(\.index) == [1])
        #expect(plan.segmentsToDelete.allSatisfy { $0.index == 1 })
    }

    @Test("RetentionPlanner: window start: without an older snapshot the lowest kept index is the floor")
    func floorWithoutAnchor() {
        let gen = Self.genC
        let listing = [
            GenerationListing(
                generation: gen,
                snapshots: [snap(gen, 4, 30), snap(gen, 6, 10)],
                segments: Self.segments(gen, 2...7, startMinutesAgo: 40))
        ]
        let plan = Self.plan(listing, retention: 60, current: gen)
        #expect(plan.snapshotsToDelete.isEmpty)
        #expect(Set(plan.segmentsToDelete.map(\.index)) == [2, 3])
    }

    @Test("RetentionPlanner: window start: an old generation still live at the window start is kept")
    func oldGenerationServesWindowStart() {
        // A ended 2 hours ago; B began 30 minutes ago. The state at the window start (60 minutes
        // ago) is A's last state, so A must not be deleted yet.
        let a = Self.genA
        let b = Self.genB
        let listing = [
            GenerationListing(
                generation: a, snapshots: [snap(a, 0, 300), snap(a, 2, 180)],
                segments: Self.segments(a, 0...3, startMinutesAgo: 123)),
            GenerationListing(
                generation: b, snapshots: [snap(b, 0, 30), snap(b, 1, 10)],
                segments: Self.segments(b, 0...1, startMinutesAgo: 30)),
        ]
        let plan = Self.plan(listing, retention: 60, current: b)
        #expect(plan.generationsToDelete.isEmpty)
        // A is trimmed to its window-start anchor (index 2).
        #expect(plan.snapshotsToDelete == [snap(a, 0, 300)])
        #expect(Set(plan.segmentsToDelete.map(\.index)) == [0, 1])
        #expect(plan.segmentsToDelete.allSatisfy { $0.generation == a })

        // Once B has a snapshot at or before the window start, A is no longer needed.
        let later = Self.plan(listing, retention: 20, current: b)
        #expect(later.generationsToDelete == [a])
    }

    @Test("RetentionPlanner: window start: a generation whose WAL reaches into the window is kept")
    func generationWithRecentWALKept() {
        // A's only snapshot is old but its segments continue into the window; B took over later.
        let a = Self.genA
        let b = Self.genB
        let listing = [
            GenerationListing(
                generation: a, snapshots: [snap(a, 0, 300)], segments: Self.segments(a, 0...5, startMinutesAgo: 50)),
            GenerationListing(
                generation: b, snapshots: [snap(b, 0, 40), snap(b, 1, 10)],
                segments: Self.segments(b, 0...1, startMinutesAgo: 40)),
        ]
        let plan = Self.plan(listing, retention: 47, current: b)
        #expect(plan.generationsToDelete.isEmpty)
        #expect(plan.snapshotsToDelete.isEmpty)
        #expect(plan.segmentsToDelete.isEmpty)
    }

    // MARK: Whole generations

    @Test("RetentionPlanner: generations: an old generation entirely outside the window is deleted whole")
    func oldGenerationDeleted() {
        let a = Self.genA
        let b = Self.genB
        let listing = [
            GenerationListing(
                generation: a, snapshots: [snap(a, 0, 900)], segments: Self.segments(a, 0...2, startMinutesAgo: 890)),
            GenerationListing(
                generation: b, snapshots: [snap(b, 0, 500), snap(b, 4, 30)],
                segments: Self.segments(b, 0...5, startMinutesAgo: 500)),
        ]
        let plan = Self.plan(listing, retention: 60, current: b)
        #expect(plan.generationsToDelete == [a])
        // Objects of a generation deleted whole are not listed again one by one.
        #expect(!plan.snapshotsToDelete.contains { $0.generation == a })
        #expect(!plan.segmentsToDelete.contains { $0.generation == a })
        // B: anchor is snapshot 0 (500 minutes ago), so nothing of B goes.
        #expect(plan.snapshotsToDelete.isEmpty)
    }

    @Test("RetentionPlanner: generations: a generation with no snapshots and only old segments is deleted")
    func snapshotlessOldGenerationDeleted() {
        let a = Self.genA
        let b = Self.genB
        let c = Self.genC
        let listing = [
            GenerationListing(generation: a, snapshots: [], segments: Self.segments(a, 0...1, startMinutesAgo: 400)),
            GenerationListing(generation: b, snapshots: [], segments: []),
            GenerationListing(
                generation: c, snapshots: [snap(c, 0, 10)], segments: Self.segments(c, 0...0, startMinutesAgo: 10)),
        ]
        let plan = Self.plan(listing, retention: 60, current: c)
        #expect(plan.generationsToDelete == [a, b])
    }

    @Test("RetentionPlanner: generations: a generation with no snapshots but recent segments is left alone")
    func snapshotlessRecentGenerationKept() {
        let a = Self.genA
        let c = Self.genC
        let listing = [
            GenerationListing(generation: a, snapshots: [], segments: Self.segments(a, 0...1, startMinutesAgo: 5)),
            GenerationListing(generation: c, snapshots: [snap(c, 0, 10)], segments: []),
        ]
        let plan = Self.plan(listing, retention: 60, current: c)
        #expect(plan.isEmpty)
    }

    @Test("RetentionPlanner: generations: the newest generation with a snapshot always survives")
    func newestWithSnapshotSurvives() {
        // No current generation (e.g. a one-off retention run) and everything is old.
        let a = Self.genA
        let b = Self.genB
        let c = Self.genC
        let listing = [
            GenerationListing(
                generation: a, snapshots: [snap(a, 0, 3000)], segments: Self.segments(a, 0...1, startMinutesAgo: 3000)),
            GenerationListing(
                generation: b, snapshots: [snap(b, 0, 2000), snap(b, 3, 1500)],
                segments: Self.segments(b, 0...4, startMinutesAgo: 2000)),
            GenerationListing(generation: c, snapshots: [], segments: Self.segments(c, 0...0, startMinutesAgo: 1400)),
        ]
        let plan = Self.plan(listing, retention: 60, current: nil)
        #expect(!plan.needsSnapshot)
        #expect(plan.generationsToDelete == [a, c])
        // B is kept restorable from its newest snapshot (3).
        #expect(plan.snapshotsToDelete == [snap(b, 0, 2000)])
        #expect(Set(plan.segmentsToDelete.map(\.index)) == [0, 1, 2])
    }

    @Test("RetentionPlanner: generations: the newest by snapshot time survives even when names are random")
    func newestBySnapshotTimeSurvives() {
        // Litestream's random names: A sorts first but holds the newest snapshot; B sorts last
        // and was written to last, from an older snapshot.
        let a = Self.genA
        let b = Self.genB
        let listing = [
            GenerationListing(generation: a, snapshots: [snap(a, 0, 1000)], segments: []),
            GenerationListing(
                generation: b, snapshots: [snap(b, 0, 2000)], segments: [Self.segment(b, 0, 32, minutesAgo: 900)]),
        ]
        let plan = Self.plan(listing, retention: 60, current: nil)
        #expect(plan.generationsToDelete.isEmpty)
    }

    // MARK: needsSnapshot

    @Test("RetentionPlanner: needsSnapshot: current generation without a snapshot inside the window deletes nothing")
    func needsSnapshot() {
        let a = Self.genA
        let b = Self.genB
        let listing = [
            GenerationListing(
                generation: a, snapshots: [snap(a, 0, 9000)], segments: Self.segments(a, 0...2, startMinutesAgo: 9000)),
            GenerationListing(
                generation: b, snapshots: [snap(b, 0, 500), snap(b, 1, 400)],
                segments: Self.segments(b, 0...6, startMinutesAgo: 500)),
        ]
        let plan = Self.plan(listing, retention: 60, current: b)
        #expect(plan.needsSnapshot)
        #expect(plan.isEmpty)
        #expect(plan == RetentionPlan(needsSnapshot: true))
    }

    @Test("RetentionPlanner: needsSnapshot: current generation missing from the listing or without snapshots")
    func needsSnapshotWhenMissing() {
        let a = Self.genA
        let b = Self.genB
        let listing = [
            GenerationListing(generation: a, snapshots: [snap(a, 0, 9000)], segments: []),
            GenerationListing(generation: b, snapshots: [], segments: Self.segments(b, 0...1, startMinutesAgo: 5)),
        ]
        #expect(Self.plan(listing, retention: 60, current: b) == RetentionPlan(needsSnapshot: true))
        #expect(Self.plan(listing, retention: 60, current: Self.genC) == RetentionPlan(needsSnapshot: true))
    }

    @Test(
        "RetentionPlanner: needsSnapshot: not when the newest snapshot is at the current index (a new one would replace it, and the restore points before it)"
    )
    func noSnapshotOverSameIndex() {
        let a = Self.genA
        let b = Self.genB
        let listing = [
            GenerationListing(
                generation: a, snapshots: [snap(a, 0, 9000)], segments: Self.segments(a, 0...2, startMinutesAgo: 9000)),
            GenerationListing(
                generation: b, snapshots: [snap(b, 0, 500), snap(b, 6, 400)],
                segments: Self.segments(b, 0...6, startMinutesAgo: 500)),
        ]
        let plan = RetentionPlanner.plan(
            listing: ReplicaListing(generations: listing), now: Self.now, retention: .seconds(3600),
            currentGeneration: b, currentIndex: 6)
        #expect(!plan.needsSnapshot)
        // The newest snapshot and its index's WAL cover the window; A and B's older history go.
        #expect(plan.generationsToDelete == [a])
        #expect(plan.snapshotsToDelete.map(\.index) == [0])
        #expect(Set(plan.segmentsToDelete.map(\.index)) == Set(0...5))
        // At a later index the newest snapshot no longer covers what a new one would: ask for it.
        #expect(
            RetentionPlanner.plan(
                listing: ReplicaListing(generations: listing), now: Self.now, retention: .seconds(3600),
                currentGeneration: b, currentIndex: 7) == RetentionPlan(needsSnapshot: true))
    }

    // MARK: Protected generations and disabled retention

    @Test("RetentionPlanner: protected: a generation a restore uses is neither deleted nor trimmed")
    func protectedUntouched() {
        let a = Self.genA
        let b = Self.genB
        let listing = [
            GenerationListing(
                generation: a, snapshots: [snap(a, 0, 9000)], segments: Self.segments(a, 0...2, startMinutesAgo: 9000)),
            GenerationListing(
                generation: b, snapshots: [snap(b, 0, 500), snap(b, 2, 100), snap(b, 5, 10)],
                segments: Self.segments(b, 0...6, startMinutesAgo: 500)),
        ]
        let unprotected = Self.plan(listing, retention: 60, current: b)
        #expect(unprotected.generationsToDelete == [a])
        #expect(!unprotected.snapshotsToDelete.isEmpty)

        let protectedA = Self.plan(listing, retention: 60, current: b, protected: [a])
        #expect(protectedA.generationsToDelete.isEmpty)
        #expect(!protectedA.segmentsToDelete.contains { $0.generation == a })
        #expect(protectedA.snapshotsToDelete == unprotected.snapshotsToDelete)

        let protectedB = Self.plan(listing, retention: 60, current: b, protected: [b])
        #expect(protectedB.snapshotsToDelete.isEmpty)
        #expect(protectedB.segmentsToDelete.isEmpty)
        #expect(protectedB.generationsToDelete == [a])
    }

    @Test("RetentionPlanner: zero retention disables retention")
    func zeroRetention() {
        let plan = RetentionPlanner.plan(
            listing: ReplicaListing(generations: Self.issue251Listing()), now: Self.now,
            retention: .zero, currentGeneration: Self.genB)
        #expect(plan == RetentionPlan())
    }

    @Test("RetentionPlanner: output is sorted and independent of listing order")
    func deterministicOrder() {
        let a = Self.genA
        let b = Self.genB
        let c = Self.genC
        var generations = [
            GenerationListing(
                generation: c, snapshots: [snap(c, 9, 5), snap(c, 2, 300), snap(c, 0, 400)],
                segments: Self.segments(c, 0...9, startMinutesAgo: 400).reversed()),
            GenerationListing(generation: a, snapshots: [snap(a, 0, 9000)], segments: []),
            GenerationListing(generation: b, snapshots: [], segments: Self.segments(b, 0...1, startMinutesAgo: 9000)),
        ]
        let first = Self.plan(generations, retention: 60, current: c)
        generations.reverse()
        let second = Self.plan(generations, retention: 60, current: c)
        #expect(first == second)
        #expect(first.generationsToDelete == [a, b])
        #expect(first.snapshotsToDelete.map(\.index) == [0])
        let keys = first.segmentsToDelete.map { ($0.index, $0.offset) }
        #expect(zip(keys, keys.dropFirst()).allSatisfy { $0 < $1 })
    }

    // MARK: Oracle over random listings

    @Test("RetentionPlanner: property: every time inside the window stays restorable in random listings")
    func randomListingsStayRestorable() {
        // Builds random replicas (interleaving indexes, non-monotonic snapshot times, empty and
        // snapshot-less generations), plans, applies the plan, and checks the restore promise
        // independently: for each time in the window and each surviving generation that had a
        // snapshot at or before it, the snapshot a restore would pick and every segment from its
        // index on are still there.
        let random = SplitMix64(seed: 251)
        for round in 0..<400 {
            let listing = Self.randomListing(random)
            let names = listing.generations.map(\.generation)
            let current: Generation? =
                names.isEmpty || random.next() % 4 == 0 ? nil : names[Int(random.next() % UInt64(names.count))]
            let protected: Set<Generation> =
                names.isEmpty || random.next() % 3 != 0 ? [] : [names[Int(random.next() % UInt64(names.count))]]
            let retentionMinutes = Int(1 + random.next() % 600)
            let plan = Self.plan(
                listing.generations, retention: retentionMinutes, current: current, protected: protected)
            let windowStart = Self.ago(retentionMinutes)

            if plan.needsSnapshot {
                #expect(plan.isEmpty, "round \(round)")
                continue
            }
            if let current {
                #expect(!plan.generationsToDelete.contains(current), "round \(round)")
            }
            #expect(plan.generationsToDelete.allSatisfy { !protected.contains($0) }, "round \(round)")

            let after = Self.apply(plan, to: listing)
            // A replica that had a snapshot still has one.
            if listing.generations.contains(where: { !$0.snapshots.isEmpty }) {
                #expect(after.generations.contains { !$0.snapshots.isEmpty }, "round \(round)")
            }
            for generation in after.generations {
                let before = listing.generation(generation.generation)!
                // Any generation with a snapshot inside the window survives.
                for probe in [windowStart] + before.snapshots.map(\.createdAt).filter({ $0 >= windowStart }) {
                    guard
                        let chosen = before.snapshots.filter({ $0.createdAt <= probe })
                            .max(by: { ($0.createdAt, $0.index) < ($1.createdAt, $1.index) })
                    else { continue }
                    #expect(
                        generation.snapshots.contains(chosen),
                        "round \(round): snapshot \(chosen.index) of \(generation.generation) for \(probe)")
                    let needed = before.segments.filter { $0.index >= chosen.index }
                    #expect(needed.allSatisfy { generation.segments.contains($0) }, "round \(round)")
                }
            }
            for generation in listing.generations
            where generation.snapshots.contains(where: { $0.createdAt >= windowStart }) {
                #expect(!plan.generationsToDelete.contains(generation.generation), "round \(round)")
            }
        }
    }

    static func randomListing(_ random: SplitMix64) -> ReplicaListing {
        let count = Int(random.next() % 4)
        var generations: [GenerationListing] = []
        for _ in 0..<count {
            let name = Generation(value: random.next())
            var snapshots: [SnapshotInfo] = []
            var segments: [WALSegmentInfo] = []
            let indexes = Int(random.next() % 12)
            let start = Int(random.next() % 1200)
            for index in 0..<indexes {
                let minutes = max(0, start - index * Int(random.next() % 60))
                if random.next() % 3 == 0 {
                    // Occasionally skew a snapshot's time against its index.
                    let skew = random.next() % 5 == 0 ? Int(random.next() % 120) - 60 : 0
                    snapshots.append(Self.snapshot(name, UInt64(index), minutesAgo: max(0, minutes + skew)))
                }
                for offset in 0..<UInt64(random.next() % 3) {
                    segments.append(Self.segment(name, UInt64(index), 32 + offset * 4120, minutesAgo: minutes))
                }
            }
            generations.append(GenerationListing(generation: name, snapshots: snapshots, segments: segments))
        }
        return ReplicaListing(generations: generations)
    }

    static func apply(_ plan: RetentionPlan, to listing: ReplicaListing) -> ReplicaListing {
        let deadSnapshots = Set(plan.snapshotsToDelete)
        let deadSegments = Set(plan.segmentsToDelete)
        return ReplicaListing(
            generations: listing.generations.compactMap { generation in
                guard !plan.generationsToDelete.contains(generation.generation) else { return nil }
                return GenerationListing(
                    generation: generation.generation,
                    snapshots: generation.snapshots.filter { !deadSnapshots.contains($0) },
                    segments: generation.segments.filter { !deadSegments.contains($0.position) })
            })
    }
}

/// Shorthand so listings read as tables.
private func snap(_ generation: Generation, _ index: UInt64, _ minutesAgo: Int) -> SnapshotInfo {
    RetentionPlannerTests.snapshot(generation, index, minutesAgo: minutesAgo)
}
