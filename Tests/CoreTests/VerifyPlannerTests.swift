import Testing

@testable import Core

/// The pure half of `sluice verify`: listings in, findings and read plans out.
@Suite("VerifyPlanner and ReplicaKeyClass")
struct VerifyPlannerTests {
    let generation = Generation(value: 0x0000_0190_0000_0001)
    let time = Timestamp(millisecondsSince1970: 1_700_000_000_000)

    func listing(snapshots: [UInt64], segments: [(UInt64, UInt64)]) -> VerifyListing {
        VerifyListing(
            listing: GenerationListing(
                generation: generation,
                snapshots: snapshots.map { SnapshotInfo(generation: generation, index: $0, size: 10, createdAt: time) },
                segments: segments.map {
                    WALSegmentInfo(generation: generation, index: $0.0, offset: $0.1, size: 10, createdAt: time)
                }))
    }

    @Test("planner: a whole generation has no problem, checks every index, and marks the newest index open")
    func whole() {
        let plan = VerifyPlanner.plan(
            listing(snapshots: [1], segments: [(0, 0), (1, 0), (1, 4152), (2, 0)]), isNewest: true)
        #expect(plan.findings.map(\.kind) == [.openIndex])
        #expect(plan.findings.allSatisfy { $0.severity == .live })
        #expect(plan.indexes.map(\.index) == [1, 2], "WAL before the first snapshot is never read by a restore")
        #expect(plan.indexes[0].segments.map(\.offset) == [0, 4152])
        let older = VerifyPlanner.plan(listing(snapshots: [1], segments: [(1, 0)]), isNewest: false)
        #expect(older.findings.isEmpty)
    }

    @Test("planner: an index missing in the middle is a problem naming its folder; its neighbours are still read")
    func missingIndex() {
        let plan = VerifyPlanner.plan(listing(snapshots: [0], segments: [(0, 0), (2, 0)]), isNewest: false)
        #expect(plan.findings.count == 1)
        #expect(plan.findings[0].kind == .missingIndex && plan.findings[0].severity == .problem)
        #expect(plan.findings[0].object == "generations/\(generation)/wal/0000000000000001/")
        #expect(plan.indexes.map(\.index) == [0, 2])
    }

    @Test("planner: an index without its offset-0 segment is a problem naming the missing key")
    func missingInitialSegment() {
        let plan = VerifyPlanner.plan(listing(snapshots: [0], segments: [(0, 0), (1, 4152)]), isNewest: false)
        #expect(plan.findings.map(\.kind) == [.missingInitialSegment])
        #expect(plan.findings[0].object == "generations/\(generation)/wal/0000000000000001/0000000000000000.wal.lz4")
        #expect(plan.indexes.map(\.index) == [0])
    }

    @Test("planner: no snapshot is live in the newest generation and a problem in an older one")
    func noSnapshot() {
        let newest = VerifyPlanner.plan(listing(snapshots: [], segments: [(0, 0)]), isNewest: true)
        #expect(newest.findings.map(\.severity) == [.live])
        let older = VerifyPlanner.plan(listing(snapshots: [], segments: [(0, 0)]), isNewest: false)
        #expect(older.findings.map(\.severity) == [.problem])
        #expect(older.findings[0].kind == .noSnapshot)
    }

    @Test("keys: parsed names, temp uploads, stray names and hostile components are told apart")
    func keyClasses() {
        #expect(ReplicaKeyClass.classify("snapshots/0000000000000001.snapshot.lz4") == .snapshot)
        #expect(ReplicaKeyClass.classify("snapshots/00000001.snapshot.lz4") == .snapshot)
        #expect(ReplicaKeyClass.classify("wal/0000000000000001/0000000000001020.wal.lz4") == .walSegment)
        #expect(ReplicaKeyClass.classify("wal/00000001_00001020.wal.lz4") == .walSegment)
        #expect(ReplicaKeyClass.classify("wal/0000000000000001/0000000000001020.wal.lz4.1f-2.tmp") == .temporary)
        #expect(ReplicaKeyClass.classify("wal/0000000000000001/garbage.wal.lz4") == .unexpected)
        #expect(ReplicaKeyClass.classify("snapshots/x/0000000000000001.snapshot.lz4") == .unexpected)
        #expect(ReplicaKeyClass.classify("notes.txt") == .unexpected)
        #expect(ReplicaKeyClass.classify("wal/../../../etc/passwd") == .hostile("the key has a '..' component"))
        #expect(ReplicaKeyClass.classify("/etc/passwd") == .hostile("the key has an absolute path"))
        #expect(ReplicaKeyClass.classify("wal//0000000000000001.wal.lz4") == .hostile("the key has an empty component"))
        #expect(ReplicaKeyClass.classify("wal/./x") == .hostile("the key has a '.' component"))
    }

    @Test("listing: raw entries become the parsed listing plus one finding per stray name, legacy keys kept")
    func rawListing() {
        let entries = [
            "snapshots/00000000.snapshot.lz4", "wal/00000000_00000000.wal.lz4",
            "wal/0000000000000000/0000000000001020.wal.lz4", "wal/0000000000000000/zz.wal.lz4",
            "wal/0000000000000000/../x", "snapshots/0000000000000000.snapshot.lz4.7-1.tmp",
        ].map { ReplicaObjectEntry(key: $0, size: 1, modified: time) }
        let made = VerifyListing.make(generation, entries: entries)
        #expect(made.listing.snapshots.map(\.index) == [0])
        #expect(made.listing.segments.map(\.offset) == [0, 0x1020])
        #expect(
            made.findings.map(\.kind).sorted { $0.rawValue < $1.rawValue } == [
                .hostileKey, .temporaryObject, .unexpectedObject,
            ])
        #expect(
            made.key(of: Position(generation: generation, index: 0, offset: 0))
                == "generations/\(generation)/wal/00000000_00000000.wal.lz4")
        #expect(made.key(ofSnapshot: 0) == "generations/\(generation)/snapshots/00000000.snapshot.lz4")
    }

    @Test("reconciliation: only problems both passes report count; live findings come from the later pass")
    func reconciliation() {
        let gap = VerifyFinding(.problem, .gap, generation: generation, object: "a", message: "first wording")
        let race = VerifyFinding(.problem, .indexIncomplete, generation: generation, object: "b", message: "m")
        let live = VerifyFinding(.live, .openIndex, generation: generation, object: "c", message: "m")
        let again = VerifyFinding(.problem, .gap, generation: generation, object: "a", message: "second wording")
        let result = VerifyReconciliation.confirmed(first: [gap, race, live], second: [again, live])
        #expect(result == [gap, live])
    }

    @Test("sample: a reservoir keeps at most its capacity, every boundary when fewer, deterministically per seed")
    func sample() {
        var few = BoundarySample(capacity: 5)
        for offset in 1...3 {
            few.offer(Position(generation: generation, index: 1, offset: UInt64(offset)), random: SplitMix64(seed: 1))
        }
        #expect(few.sorted.map(\.offset) == [1, 2, 3])
        func draw(_ seed: UInt64) -> [UInt64] {
            let random = SplitMix64(seed: seed)
            var many = BoundarySample(capacity: 4)
            for offset in 1...1000 {
                many.offer(Position(generation: generation, index: 1, offset: UInt64(offset)), random: random)
            }
            return many.sorted.map(\.offset)
        }
        #expect(draw(7).count == 4)
        #expect(draw(7) == draw(7))
        #expect(draw(7).contains { $0 > 4 }, "later boundaries replace early ones")
    }
}
