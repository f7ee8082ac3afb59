import Core
import Testing

@testable import SimHarness

/// The exact-plan check of timestamp restores (invariant 8) over hand-built store histories:
/// each case writes snapshot and segment keys at chosen times, brackets a restore by two store
/// moments, and checks which report the oracle accepts.
@Suite("TimestampPlanOracle")
struct TimestampPlanOracleTests {
    private let generation = Generation(value: 0x19b7_6daa_8000_0001)
    private let newer = Generation(value: 0x19b7_6dc0_0000_0001)

    private func time(_ seconds: Int64) -> Timestamp {
        Timestamp(millisecondsSince1970: 1_767_225_600_000 + seconds * 1000)
    }

    private func snapshotKey(_ generation: Generation, _ index: UInt64) -> String {
        "replica/" + ReplicaLayout.grouped.snapshotKey(generation, index: index)
    }

    private func segmentKey(_ generation: Generation, _ index: UInt64, _ offset: UInt64) -> String {
        "replica/" + ReplicaLayout.grouped.walSegmentKey(Position(generation: generation, index: index, offset: offset))
    }

    /// Snapshot 0 at 10 s, index 0's segments at 11 s (0..1000) and 20 s (1000..2000), snapshot 1
    /// at 30 s, index 1's segment at 31 s.
    private func replica() -> ObjectHistory {
        let history = ObjectHistory()
        history.recordWrite(snapshotKey(generation, 0), at: time(10))
        history.recordWrite(segmentKey(generation, 0, 0), at: time(11))
        history.recordWrite(segmentKey(generation, 0, 1000), at: time(20))
        history.recordWrite(snapshotKey(generation, 1), at: time(30))
        history.recordWrite(segmentKey(generation, 1, 0), at: time(31))
        return history
    }

    private func report(snapshot: UInt64, index: UInt64, offset: UInt64, in generation: Generation? = nil)
        -> RestoreReport
    {
        let generation = generation ?? self.generation
        return RestoreReport(
            outputPath: "/out", generation: generation, snapshotIndex: snapshot, appliedIndexes: [],
            finalPosition: Position(generation: generation, index: index, offset: offset), downloadedByteCount: 0)
    }

    private func oracle(_ history: ObjectHistory, end: UInt64? = nil) -> TimestampPlanOracle {
        TimestampPlanOracle(
            replica: ReplicaHistory(history: history, rootPrefix: "replica/"), start: history.moment,
            end: end ?? history.moment)
    }

    @Test("the planner's plan passes: newest snapshot by the target, WAL up to the first later segment")
    func exactPlanPasses() {
        let history = replica()
        #expect(oracle(history).violation(target: time(15), report: report(snapshot: 0, index: 0, offset: 1000)) == nil)
        #expect(oracle(history).violation(target: time(25), report: report(snapshot: 0, index: 0, offset: 2000)) == nil)
        #expect(oracle(history).violation(target: time(35), report: report(snapshot: 1, index: 1, offset: 4000)) == nil)
    }

    @Test("a snapshot uploaded after the target is named")
    func snapshotAfterTarget() throws {
        let violation = try #require(
            oracle(replica()).violation(target: time(25), report: report(snapshot: 1, index: 1, offset: 0)))
        #expect(violation.contains("after the target"), "\(violation)")
    }

    @Test("an older snapshot while a newer one by the target was listed all along is named")
    func olderSnapshotThanPromised() throws {
        let violation = try #require(
            oracle(replica()).violation(target: time(35), report: report(snapshot: 0, index: 1, offset: 4000)))
        #expect(violation.contains("snapshot 0000000000000001"), "\(violation)")
    }

    @Test("WAL cut before a segment uploaded by the target, or past one uploaded after it, is named")
    func walCutWrongly() throws {
        let early = try #require(
            oracle(replica()).violation(target: time(25), report: report(snapshot: 0, index: 0, offset: 1000)))
        #expect(early.contains("stopped at"), "\(early)")
        let late = try #require(
            oracle(replica()).violation(target: time(15), report: report(snapshot: 0, index: 0, offset: 2000)))
        #expect(late.contains("applied WAL segment"), "\(late)")
    }

    @Test("a segment that landed while the restore ran may have been missed by its listing")
    func segmentDuringRestore() {
        let history = ObjectHistory()
        history.recordWrite(snapshotKey(generation, 0), at: time(10))
        history.recordWrite(segmentKey(generation, 0, 0), at: time(11))
        let start = history.moment
        history.recordWrite(segmentKey(generation, 0, 1000), at: time(12))
        let oracle = TimestampPlanOracle(
            replica: ReplicaHistory(history: history, rootPrefix: "replica/"), start: start, end: history.moment)
        #expect(oracle.violation(target: time(12), report: report(snapshot: 0, index: 0, offset: 1000)) == nil)
        #expect(oracle.violation(target: time(12), report: report(snapshot: 0, index: 0, offset: 2000)) == nil)
    }

    @Test("a newer generation with a snapshot by the target is named; a deleted one is not")
    func newerGeneration() throws {
        let history = replica()
        history.recordWrite(snapshotKey(newer, 0), at: time(40))
        let violation = try #require(
            oracle(history).violation(target: time(45), report: report(snapshot: 1, index: 1, offset: 4000)))
        #expect(violation.contains("newer generation"), "\(violation)")
        history.recordRemoval(snapshotKey(newer, 0))
        #expect(oracle(history).violation(target: time(45), report: report(snapshot: 1, index: 1, offset: 4000)) == nil)
    }
}
