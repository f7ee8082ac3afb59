import Testing

@testable import Core

@Suite("FollowDecision and FollowBatch")
struct FollowDecisionTests {
    let generation = Generation("1a2508a6ee770cc7")!
    let newer = Generation("1a2508a6ee770cc8")!

    func segment(_ index: UInt64, _ offset: UInt64, generation: Generation? = nil) -> WALSegmentInfo {
        WALSegmentInfo(
            generation: generation ?? self.generation, index: index, offset: offset, size: 10,
            createdAt: Timestamp(millisecondsSince1970: 0))
    }

    func cursor(_ index: UInt64, _ offset: UInt64) -> Position {
        Position(generation: generation, index: index, offset: offset)
    }

    func changes(_ segments: [WALSegmentInfo], newer: [Generation] = []) -> ReplicaChanges {
        ReplicaChanges(segments: segments, newerGenerations: newer, listRequests: 1)
    }

    @Test("nothing past the cursor is idle; segments before it are ignored")
    func idle() {
        #expect(FollowDecision.next(after: cursor(2, 4152), changes: changes([])) == .idle)
        let old = changes([segment(2, 0), segment(1, 9000)])
        #expect(FollowDecision.next(after: cursor(2, 4152), changes: old) == .idle)
    }

    @Test("the rest of the current index, then whole later indexes in order, as one step")
    func applyAcrossIndexes() {
        let listed = [segment(3, 0), segment(2, 4152), segment(2, 8272), segment(4, 0), segment(4, 5000)]
        #expect(
            FollowDecision.next(after: cursor(2, 4152), changes: changes(listed))
                == .apply([segment(2, 4152), segment(2, 8272), segment(3, 0), segment(4, 0), segment(4, 5000)]))
        // Nothing more of the current index: the next one from its start.
        #expect(
            FollowDecision.next(after: cursor(2, 4152), changes: changes([segment(3, 0)]))
                == .apply([segment(3, 0)]))
        // A fresh index (snapshot only so far) starts at offset 0.
        #expect(FollowDecision.next(after: cursor(0, 0), changes: changes([segment(0, 0)])) == .apply([segment(0, 0)]))
    }

    @Test(
        "a segment past a hole waits; a later index whose predecessor is missing waits; the run stops at a missing index"
    )
    func gaps() {
        guard case .wait = FollowDecision.next(after: cursor(2, 4152), changes: changes([segment(2, 9000)])) else {
            Issue.record("a hole inside the index was applied")
            return
        }
        guard case .wait = FollowDecision.next(after: cursor(2, 4152), changes: changes([segment(4, 0)])) else {
            Issue.record("index 4 was applied over a missing index 3")
            return
        }
        guard case .wait = FollowDecision.next(after: cursor(2, 4152), changes: changes([segment(3, 100)])) else {
            Issue.record("index 3 was applied without its first segment")
            return
        }
        #expect(
            FollowDecision.next(after: cursor(2, 4152), changes: changes([segment(3, 0), segment(5, 0)]))
                == .apply([segment(3, 0)]))
    }

    @Test("a newer generation is looked at only once the current one has nothing to apply")
    func generations() {
        #expect(FollowDecision.next(after: cursor(2, 4152), changes: changes([], newer: [newer])) == .checkGenerations)
        #expect(
            FollowDecision.next(after: cursor(2, 4152), changes: changes([segment(3, 0)], newer: [newer]))
                == .apply([segment(3, 0)]))
        let elsewhere = changes([segment(0, 0, generation: newer)], newer: [newer])
        #expect(
            FollowDecision.next(after: cursor(2, 4152), changes: elsewhere)
                == .checkGenerations)
    }

    @Test("the listing starts after the last applied byte: after every applied segment, before any new one")
    func listingStart() {
        let key = FollowDecision.listingStartKey(after: cursor(2, 4152))
        #expect(ReplicaLayout.grouped.walSegmentKey(cursor(2, 0)) < key)
        #expect(ReplicaLayout.grouped.walSegmentKey(cursor(2, 4151)) <= key)
        #expect(key < ReplicaLayout.grouped.walSegmentKey(cursor(2, 4152)))
        #expect(key < ReplicaLayout.grouped.walSegmentKey(cursor(3, 0)))
        let fresh = FollowDecision.listingStartKey(after: cursor(3, 0))
        #expect(ReplicaLayout.grouped.walSegmentKey(cursor(2, 99_999)) < fresh)
        #expect(fresh < ReplicaLayout.grouped.walSegmentKey(cursor(3, 0)))
        #expect(fresh < ReplicaLayout.grouped.snapshotKey(newer, index: 0))
    }

    @Test("a batch writes each page's latest version once, ascending, none past the final size")
    func batch() {
        var batch = FollowBatch()
        #expect(batch.writes.isEmpty)
        batch.add(page: 5, commitSize: 0, dataOffset: 100)
        batch.add(page: 2, commitSize: 0, dataOffset: 200)
        batch.add(page: 7, commitSize: 7, dataOffset: 300)
        batch.add(page: 5, commitSize: 0, dataOffset: 400)
        batch.add(page: 1, commitSize: 5, dataOffset: 500)
        #expect(batch.commitSize == 5)
        #expect(batch.frameCount == 5)
        #expect(batch.writes.map(\.page) == [1, 2, 5])
        #expect(batch.writes.map(\.dataOffset) == [500, 200, 400])
    }
}
