import Testing

@testable import Core

/// The shadow copy's decisions without I/O: which frames it takes, when it asks for a write,
/// and what a pass that fails keeps.
@Suite("ShadowCopy")
struct ShadowCopyTests {
    /// Three transactions of 2, 1 and 3 frames, then 2 frames of an open transaction.
    func wal() -> WALBuilder {
        var wal = WALBuilder()
        wal.transaction(pages: 2, fill: 1)
        wal.transaction(pages: 1, fill: 2)
        wal.transaction(pages: 3, fill: 3)
        wal.frame(page: 1, fill: 4, commitSize: 0)
        wal.frame(page: 2, fill: 4, commitSize: 0)
        return wal
    }

    func start(_ wal: WALBuilder) throws -> (WALHeader, ShadowCopy.Commit) {
        let header = try #require(WALHeader(Array(wal.bytes.prefix(32))))
        return (header, ShadowCopy.Commit(end: 32, checksum: header.checksum, lastFrame: nil))
    }

    /// Runs a whole pass over `bytes` as `ShadowWAL` does, recording each write's offset and length.
    func pass(_ copy: inout ShadowCopy, over bytes: [UInt8]) -> [(Int64, Int)] {
        var writes: [(Int64, Int)] = []
        scan: while let next = copy.nextRead(sourceSize: Int64(bytes.count)) {
            let end = min(bytes.count, Int(next.offset) + next.count)
            var frames = bytes[Int(next.offset)..<end]
            feeding: while true {
                switch copy.feed(&frames) {
                case .consumed: break feeding
                case .stopped: break scan
                case .flush:
                    writes.append((copy.writeOffset, copy.buffer.count))
                    copy.flushed()
                }
            }
            if !copy.read(count: next.count, returned: end - Int(next.offset)) { break }
        }
        if !copy.buffer.isEmpty {
            writes.append((copy.writeOffset, copy.buffer.count))
            copy.flushed()
        }
        return writes
    }

    @Test(
        "a pass takes every valid frame, writes once per chunk and once at its end, and commits up to the last commit frame"
    )
    func wholePass() throws {
        let wal = wal()
        let (header, start) = try start(wal)
        let frame = wal.frameSize
        var copy = ShadowCopy(
            header: header, start: start, chunkSize: 100 * frame, writes: true, firstReadFrames: 2, buffer: [])
        let writes = pass(&copy, over: wal.bytes)
        #expect(writes.count == 1, "eight frames fit one chunk: one write, not one per commit")
        #expect(writes.first?.0 == 32 && writes.first?.1 == 8 * frame)
        #expect(copy.committed.end == Int64(32 + 6 * frame))
        #expect(copy.committedFrames == 6)
        #expect(copy.committed.lastFrame == Array(wal.bytes[(32 + 5 * frame)..<(32 + 6 * frame)]))
        #expect(copy.hasTailPastCommit, "the open transaction's frames went to disk and must be cut")
    }

    @Test("a full buffer is written at once, mid-read; a frame that fails validation ends the pass")
    func chunksAndStop() throws {
        let wal = wal()
        let (header, start) = try start(wal)
        let frame = wal.frameSize
        // Stale bytes after the valid frames: a frame of another WAL lifetime.
        var other = WALBuilder(salt1: 9, salt2: 9)
        other.frame(page: 1, fill: 9, commitSize: 1)
        let bytes = wal.bytes + other.bytes.suffix(frame)
        var copy = ShadowCopy(
            header: header, start: start, chunkSize: 3 * frame, writes: true, firstReadFrames: 8, buffer: [])
        let writes = pass(&copy, over: bytes)
        #expect(writes.map(\.1) == [3 * frame, 3 * frame, 2 * frame])
        #expect(writes.map(\.0) == [32, Int64(32 + 3 * frame), Int64(32 + 6 * frame)])
        #expect(copy.committed.end == Int64(32 + 6 * frame), "the stale frame is not taken")
    }

    @Test("a failed pass keeps the last commit written and the frames written after it as a partial transaction")
    func failureKeepsWhatWasWritten() throws {
        let wal = wal()
        let (header, start) = try start(wal)
        let frame = wal.frameSize
        var copy = ShadowCopy(
            header: header, start: start, chunkSize: 4 * frame, writes: true, firstReadFrames: 8, buffer: [])
        // Read everything, but the pass "fails" after the first write (4 frames: 2 + 1 committed, 1 of the third).
        var frames = wal.bytes[32...]
        #expect(copy.feed(&frames) == .flush)
        copy.flushed()
        #expect(copy.feed(&frames) == .flush, "four more frames fill the buffer again")
        // The second write never happened: the commit it held (the third transaction) is not kept.
        let outcome = copy.afterFailure
        #expect(outcome.kept.end == Int64(32 + 3 * frame), "the last commit on disk")
        #expect(outcome.keepTo == Int64(32 + 4 * frame), "the frame written after it stays, as a partial")
        let partial = try #require(outcome.partial)
        #expect(partial.frames == 1)
        #expect(partial.firstFrame == Array(wal.bytes[(32 + 3 * frame)..<(32 + 4 * frame)]))
        #expect(partial.lastFrame == partial.firstFrame)

        // The next pass goes on from the partial transaction and ends where a clean pass would.
        var next = ShadowCopy(
            header: header, start: outcome.kept, chunkSize: 100 * frame, writes: true, firstReadFrames: 8, buffer: [])
        next.resume(partial)
        let writes = pass(&next, over: wal.bytes)
        #expect(writes.first?.0 == Int64(32 + 4 * frame))
        #expect(next.committed.end == Int64(32 + 6 * frame))
        #expect(next.committedFrames == 3, "the third transaction, counted whole")
    }

    @Test("once the uncommitted tail is cut, a failure (the sync after it) keeps the commit and no partial")
    func failureAfterTailCut() throws {
        let wal = wal()
        let (header, start) = try start(wal)
        let frame = wal.frameSize
        var copy = ShadowCopy(
            header: header, start: start, chunkSize: 100 * frame, writes: true, firstReadFrames: 8, buffer: [])
        _ = pass(&copy, over: wal.bytes)
        #expect(copy.hasTailPastCommit)
        // Before the cut, a failure keeps the open transaction's two written frames as a partial.
        #expect(copy.afterFailure.partial?.frames == 2)
        copy.tailCut()
        // After it those frames are gone from the file: keeping them would extend the file over
        // them with zeros, and the next pass would resume past the hole (default seed 1255).
        let outcome = copy.afterFailure
        #expect(outcome.partial == nil)
        #expect(outcome.kept == copy.committed && outcome.keepTo == Int64(32 + 6 * frame))
        #expect(!copy.hasTailPastCommit)
    }

    @Test("a resumed partial that a later pass cuts is not kept by a failure after the cut")
    func resumedPartialCut() throws {
        let wal = wal()
        let (header, start) = try start(wal)
        let frame = wal.frameSize
        var first = ShadowCopy(
            header: header, start: start, chunkSize: 4 * frame, writes: true, firstReadFrames: 8, buffer: [])
        var frames = wal.bytes[32...]
        #expect(first.feed(&frames) == .flush)
        first.flushed()
        let partial = try #require(first.afterFailure.partial)
        var next = ShadowCopy(
            header: header, start: first.afterFailure.kept, chunkSize: 100 * frame, writes: true, firstReadFrames: 8,
            buffer: [])
        next.resume(partial)
        // The WAL ends where the partial ends: nothing new, and the file's old tail is cut.
        _ = pass(&next, over: Array(wal.bytes.prefix(32 + 4 * frame)))
        next.tailCut()
        #expect(next.afterFailure.partial == nil)
        #expect(next.afterFailure.keepTo == Int64(32 + 3 * frame))
    }

    @Test("a scan validates without buffering and keeps the committed prefix it validated")
    func scan() throws {
        let wal = wal()
        let (header, start) = try start(wal)
        var copy = ShadowCopy(
            header: header, start: start, chunkSize: 2 * wal.frameSize, writes: false, firstReadFrames: 1, buffer: [])
        #expect(pass(&copy, over: wal.bytes).isEmpty)
        #expect(copy.committed.end == Int64(32 + 6 * wal.frameSize))
        #expect(copy.afterFailure.kept == copy.committed)
        #expect(copy.afterFailure.partial == nil)
    }

    @Test("reads start small and double up to a chunk")
    func readSizes() throws {
        var wal = WALBuilder()
        for fill in 0..<40 { wal.transaction(pages: 1, fill: UInt8(fill)) }
        let (header, start) = try start(wal)
        let frame = wal.frameSize
        var copy = ShadowCopy(
            header: header, start: start, chunkSize: 16 * frame, writes: true, firstReadFrames: 2, buffer: [])
        var sizes: [Int] = []
        while let next = copy.nextRead(sourceSize: Int64(wal.bytes.count)) {
            sizes.append(next.count / frame)
            var frames = wal.bytes[Int(next.offset)..<(Int(next.offset) + next.count)]
            while copy.feed(&frames) == .flush { copy.flushed() }
            _ = copy.read(count: next.count, returned: next.count)
        }
        #expect(sizes == [2, 4, 8, 16, 10])
    }
}
