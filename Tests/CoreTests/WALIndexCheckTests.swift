import Testing

@testable import Core

/// Verify's streaming checks of one WAL index and one snapshot, fed bytes without I/O.
@Suite("WALIndexCheck and SnapshotCheck")
struct WALIndexCheckTests {
    let generation = Generation(value: 7)

    func segment(_ offset: Int) -> WALSegmentInfo {
        WALSegmentInfo(
            generation: generation, index: 1, offset: UInt64(offset), size: 0,
            createdAt: Timestamp(millisecondsSince1970: 0))
    }

    /// Two transactions split into two segments at the commit boundary.
    func wal() -> (bytes: [UInt8], cut: Int) {
        var builder = WALBuilder(pageSize: 512)
        builder.transaction(pages: 2, fill: 1)
        let cut = builder.bytes.count
        builder.transaction(pages: 3, fill: 2)
        return (builder.bytes, cut)
    }

    @Test("index: contiguous segments of a valid WAL pass and report every commit end")
    func whole() {
        let (bytes, cut) = wal()
        var check = WALIndexCheck(generation: generation, index: 1, expectedPageSize: 512)
        let firstBegan = check.begin(segment(0), key: "a")
        let firstEnds = check.consume(bytes[..<cut])
        let secondBegan = check.begin(segment(cut), key: "b")
        let secondEnds = check.consume(bytes[cut...])
        #expect(firstBegan && secondBegan)
        #expect(firstEnds == [UInt64(cut)] && secondEnds == [UInt64(bytes.count)])
        check.finish()
        #expect(check.findings.isEmpty)
        #expect(check.frameCount == 5 && check.length == UInt64(bytes.count))
    }

    @Test("index: a gap and an overlap are told apart and name the segment that does not fit")
    func contiguity() {
        let (bytes, cut) = wal()
        var gap = WALIndexCheck(generation: generation, index: 1, expectedPageSize: nil)
        _ = gap.begin(segment(0), key: "a")
        gap.consume(bytes[..<cut])
        let gapBegan = gap.begin(segment(cut + 536), key: "b")
        #expect(!gapBegan)
        #expect(gap.findings.map(\.kind) == [.gap] && gap.findings[0].object == "b")
        var overlap = WALIndexCheck(generation: generation, index: 1, expectedPageSize: nil)
        _ = overlap.begin(segment(0), key: "a")
        overlap.consume(bytes[..<cut])
        let overlapBegan = overlap.begin(segment(cut - 536), key: "b")
        #expect(!overlapBegan)
        #expect(overlap.findings.map(\.kind) == [.overlap])
    }

    @Test("index: a segment that stops inside a frame is blamed itself, not the next one as a gap")
    func shortSegmentIsNotAGap() {
        let (bytes, cut) = wal()
        var check = WALIndexCheck(generation: generation, index: 1, expectedPageSize: nil)
        _ = check.begin(segment(0), key: "a")
        check.consume(Array("not a WAL".utf8)[...])
        let began = check.begin(segment(cut), key: "b")
        #expect(!began)
        #expect(check.findings.map(\.kind) == [.invalidWAL] && check.findings[0].object == "a", "\(check.findings)")
        // A whole first segment followed by a later one is still a gap in the second.
        var gap = WALIndexCheck(generation: generation, index: 1, expectedPageSize: nil)
        _ = gap.begin(segment(0), key: "a")
        gap.consume(bytes[..<cut])
        _ = gap.begin(segment(cut + 536), key: "b")
        #expect(gap.findings.map(\.kind) == [.gap])
    }

    @Test("index: a bad frame is blamed on the segment that holds it; salts and checksums are told apart")
    func badFrames() {
        let (bytes, cut) = wal()
        for (byte, words) in [(cut + 24 + 10, "fails its checksum"), (cut + 9, "salts that differ")] {
            var damaged = bytes
            damaged[byte] ^= 1
            var check = WALIndexCheck(generation: generation, index: 1, expectedPageSize: 512)
            _ = check.begin(segment(0), key: "a")
            check.consume(damaged[..<cut])
            _ = check.begin(segment(cut), key: "b")
            check.consume(damaged[cut...])
            #expect(check.findings.map(\.kind) == [.invalidWAL])
            #expect(check.findings.first?.object == "b")
            #expect(check.findings.first?.message.contains(words) == true, "\(check.findings)")
        }
    }

    @Test("index: a page size other than the snapshot's, and an end inside a transaction, are problems")
    func pageSizeAndEnd() {
        let (bytes, _) = wal()
        var mismatch = WALIndexCheck(generation: generation, index: 1, expectedPageSize: 4096)
        _ = mismatch.begin(segment(0), key: "a")
        mismatch.consume(bytes[...])
        #expect(mismatch.findings.map(\.kind) == [.pageSizeMismatch])
        var cutShort = WALIndexCheck(generation: generation, index: 1, expectedPageSize: 512)
        _ = cutShort.begin(segment(0), key: "a")
        cutShort.consume(bytes.dropLast(536))
        cutShort.finish()
        #expect(cutShort.findings.map(\.kind) == [.unfinishedWAL])
    }

    @Test("snapshot: an SQLite header with a valid page size and whole pages passes; anything else names why")
    func snapshot() {
        var header = Array("SQLite format 3\0".utf8) + [UInt8](repeating: 0, count: 84)
        header[16] = 0x10 // 4096
        var good = SnapshotCheck()
        good.consume((header + [UInt8](repeating: 0, count: 4096 * 2 - 100))[...])
        #expect(good.problem == nil && good.pageSize == 4096)
        var ragged = SnapshotCheck()
        ragged.consume((header + [UInt8](repeating: 0, count: 10))[...])
        #expect(ragged.problem?.contains("whole number") == true)
        var foreign = SnapshotCheck()
        foreign.consume([UInt8](repeating: 0x42, count: 8192)[...])
        #expect(foreign.problem?.contains("not an SQLite database") == true)
        var empty = SnapshotCheck()
        empty.consume([][...])
        #expect(empty.problem != nil)
    }
}
