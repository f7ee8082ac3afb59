import Testing

@testable import Core

/// A database file as SQLite's checkpoints leave it: which frame each page came from (a
/// negative number for the starting file's pages), pages not in `pages` being zeros.
private struct CheckpointModel: Equatable {
    var pages: [UInt32: Int]
    var pageCount: UInt32

    /// What one SQLite checkpoint of `index` (frames numbered from `firstID`) does to the file.
    mutating func checkpoint(_ index: WALFrameTable, firstID: Int) {
        let applied = index.committedCount
        guard applied > 0 else { return }
        let size = index.commitSize(applied - 1)
        for frame in 0..<applied where index.page(frame) <= size { pages[index.page(frame)] = firstID + frame }
        truncate(to: size)
    }

    mutating func truncate(to size: UInt32) {
        pages = pages.filter { $0.key <= size }
        pageCount = size
    }

    /// What a `PageWriter` does with `plan`, in model form.
    mutating func apply(_ plan: PageWritePlan, firstIDs: [Int]) {
        if let smallest = plan.smallestPageCount, pageCount > smallest { truncate(to: smallest) }
        for write in plan.writes { pages[write.page] = firstIDs[write.source] + write.frame }
        if let final = plan.finalPageCount { truncate(to: final) }
    }
}

private func table(_ frames: [(page: UInt32, commit: UInt32)], pageSize: Int = 4096) -> WALFrameTable {
    var table = WALFrameTable(pageSize: pageSize)
    for frame in frames { table.append(page: frame.page, commitSize: frame.commit) }
    return table
}

private func plan(_ indexes: [WALFrameTable]) throws -> PageWritePlan {
    var planner = PageVersionPlanner(pageSize: 4096)
    for index in indexes { _ = try planner.add(index) }
    return planner.plan()
}

@Suite("PageVersionPlanner")
struct PageVersionPlannerTests {
    @Test("the latest version of each page wins, within an index and across indexes; writes come source by source")
    func latestWins() throws {
        let plan = try plan([
            table([(1, 0), (2, 0), (1, 3)]),
            table([(3, 0), (2, 3)]),
        ])
        #expect(
            plan.writes == [
                PageWrite(source: 0, frame: 2, page: 1), PageWrite(source: 1, frame: 0, page: 3),
                PageWrite(source: 1, frame: 1, page: 2),
            ])
        #expect(plan.finalPageCount == 3)
        #expect(plan.smallestPageCount == 3)
    }

    @Test("frames after an index's last commit are not applied, and the count says so")
    func uncommittedTail() throws {
        var planner = PageVersionPlanner(pageSize: 4096)
        #expect(try planner.add(table([(1, 0), (2, 2), (1, 0), (5, 0)])) == 2)
        #expect(planner.frameCount == 2)
        #expect(
            planner.plan().writes == [PageWrite(source: 0, frame: 0, page: 1), PageWrite(source: 0, frame: 1, page: 2)])
    }

    @Test("a page past its index's final size is skipped, as SQLite's checkpoint skips it")
    func pastIndexSize() throws {
        // The first transaction grew to 4 pages, the second (a VACUUM) shrank to 2.
        let plan = try plan([table([(3, 0), (4, 4), (1, 0), (2, 2)])])
        #expect(plan.writes.map(\.page) == [1, 2])
        #expect(plan.finalPageCount == 2)
    }

    @Test("a page a later index cut off and nothing wrote again is left out (zeros), and the cut is planned")
    func shrinkThenRegrow() throws {
        let plan = try plan([
            table([(5, 0), (6, 6)]), // pages 5 and 6, 6 pages
            table([(1, 2)]), // a VACUUM down to 2 pages
            table([(6, 6)]), // back to 6 pages, rewriting page 6 only
        ])
        #expect(plan.writes == [PageWrite(source: 1, frame: 0, page: 1), PageWrite(source: 2, frame: 0, page: 6)])
        #expect(plan.smallestPageCount == 2)
        #expect(plan.finalPageCount == 6)
    }

    @Test("indexes without frames change nothing; a run of only those leaves the file as it is")
    func emptyIndexes() throws {
        let empty = try plan([table([]), table([])])
        #expect(empty == PageWritePlan(pageSize: 4096, smallestPageCount: nil, finalPageCount: nil, writes: []))
        let between = try plan([table([(1, 1)]), table([]), table([(2, 2)]), table([])])
        #expect(between.writes == [PageWrite(source: 0, frame: 0, page: 1), PageWrite(source: 2, frame: 0, page: 2)])
        #expect(between.finalPageCount == 2 && between.smallestPageCount == 1)
    }

    @Test("a WAL of another page size or a frame for page 0 is refused, and the planner is left as it was")
    func refusals() throws {
        var planner = PageVersionPlanner(pageSize: 4096)
        _ = try planner.add(table([(1, 1)]))
        #expect(
            throws: PageVersionPlanner.PlanError.pageSizeMismatch(source: 1, walPageSize: 1024, databasePageSize: 4096)
        ) {
            _ = try planner.add(table([(1, 1)], pageSize: 1024))
        }
        #expect(throws: PageVersionPlanner.PlanError.zeroPage(source: 1, frame: 1)) {
            _ = try planner.add(table([(2, 0), (0, 2)]))
        }
        #expect(planner.sourceCount == 1 && planner.frameCount == 1)
        #expect(planner.plan().writes == [PageWrite(source: 0, frame: 0, page: 1)])
    }

    @Test(
        "random histories: the plan leaves the file exactly as checkpoints one index at a time do",
        arguments: [UInt64(1), 2, 3, 4, 5, 6, 7, 8])
    func matchesCheckpoints(seed: UInt64) throws {
        let random = SplitMix64(seed: seed)
        let start = UInt32(1 + random.next() % 20)
        var model = CheckpointModel(
            pages: Dictionary(uniqueKeysWithValues: (1...start).map { ($0, -Int($0)) }), pageCount: start)
        var planned = model
        var planner = PageVersionPlanner(pageSize: 4096)
        var firstIDs: [Int] = []
        var nextID = 0
        for _ in 0..<(1 + random.next() % 30) {
            let index = Self.randomIndex(random)
            model.checkpoint(index, firstID: nextID)
            firstIDs.append(nextID)
            nextID += try planner.add(index)
        }
        planned.apply(planner.plan(), firstIDs: firstIDs)
        #expect(planned == model)
    }

    @Test("many frames over few pages: compaction keeps memory to the pages and the plan unchanged")
    func compaction() throws {
        let random = SplitMix64(seed: 99)
        var model = CheckpointModel(pages: [:], pageCount: 0)
        var planned = model
        var planner = PageVersionPlanner(pageSize: 4096)
        var firstIDs: [Int] = []
        var nextID = 0
        for _ in 0..<40 {
            var frames: [(page: UInt32, commit: UInt32)] = []
            for frame in 0..<5000 { frames.append((UInt32(1 + random.next() % 300), frame % 50 == 49 ? 300 : 0)) }
            let index = table(frames)
            model.checkpoint(index, firstID: nextID)
            firstIDs.append(nextID)
            nextID += try planner.add(index)
        }
        let plan = planner.plan()
        #expect(plan.writes.count == 300)
        planned.apply(plan, firstIDs: firstIDs)
        #expect(planned == model)
    }

    /// Transactions over pages 1...40 whose sizes grow and shrink, sometimes with an
    /// uncommitted tail, sometimes no frames at all.
    private static func randomIndex(_ random: SplitMix64) -> WALFrameTable {
        var index = WALFrameTable(pageSize: 4096)
        for _ in 0..<(random.next() % 4) {
            let size = UInt32(1 + random.next() % 40)
            let count = 1 + Int(random.next() % 6)
            for frame in 0..<count {
                // Mostly pages inside the new size; now and then one past it.
                let page = UInt32(1 + random.next() % UInt64(random.next() % 8 == 0 ? 40 : size))
                index.append(page: page, commitSize: frame == count - 1 ? size : 0)
            }
        }
        if random.next() % 4 == 0 { index.append(page: UInt32(1 + random.next() % 40), commitSize: 0) }
        return index
    }
}
