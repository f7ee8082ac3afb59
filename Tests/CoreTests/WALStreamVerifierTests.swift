import Testing

@testable import Core

@Suite("WALStreamVerifier")
struct WALStreamVerifierTests {
    func wal() -> WALBuilder {
        var wal = WALBuilder(pageSize: 1024, salt1: 7, salt2: 9)
        wal.transaction(pages: 3, fill: 0xAB)
        wal.transaction(pages: 1, fill: 0xCD)
        return wal
    }

    @Test("valid: the same verdict whatever the chunk sizes", arguments: [1, 7, 32, 1000, 1048, 100_000])
    func chunking(chunk: Int) throws {
        let bytes = wal().bytes
        var verifier = WALStreamVerifier()
        var start = 0
        while start < bytes.count {
            verifier.consume(bytes[start..<min(bytes.count, start + chunk)])
            start += chunk
        }
        #expect(verifier.outcome == .valid(frameCount: 4))
        #expect(verifier.byteCount == UInt64(bytes.count))
        #expect(verifier.pageSize == 1024)
        let frames = try #require(verifier.frames)
        #expect((0..<frames.count).map { frames.page($0) } == [1, 2, 3, 1])
        #expect((0..<frames.count).map { frames.commitSize($0) } == [0, 0, 3, 1])
        #expect(frames.committedCount == 4)
    }

    @Test("a header alone is a valid empty WAL; less than a header is unfinished")
    func headerOnly() {
        let header = Array(wal().bytes.prefix(32))
        var whole = WALStreamVerifier()
        whole.consume(header[...])
        #expect(whole.outcome == .valid(frameCount: 0))
        var short = WALStreamVerifier()
        short.consume(header.prefix(20))
        guard case .unfinished(0, _) = short.outcome else {
            Issue.record("\(short.outcome)")
            return
        }
    }

    @Test("ending inside a transaction or a frame is unfinished at the last commit")
    func unfinished() {
        let builder = wal()
        let frame = builder.frameSize
        var midTransaction = WALStreamVerifier()
        midTransaction.consume(builder.bytes.prefix(32 + 2 * frame))
        #expect(midTransaction.outcome == .unfinished(checkedTo: 32, reason: "the WAL ends inside a transaction"))
        var midFrame = WALStreamVerifier()
        midFrame.consume(builder.bytes.prefix(32 + 3 * frame + 10))
        #expect(
            midFrame.outcome == .unfinished(checkedTo: UInt64(32 + 3 * frame), reason: "the WAL ends inside a frame"))
    }

    @Test("a bad header, a changed page or frames of another WAL are corrupt at their offset")
    func corrupt() {
        var bytes = wal().bytes
        var badHeader = WALStreamVerifier()
        bytes[8] ^= 1
        badHeader.consume(bytes[...])
        #expect(badHeader.outcome == .corrupt(offset: 0, reason: "the WAL header is not valid"))

        let builder = wal()
        bytes = builder.bytes
        bytes[32 + builder.frameSize + 24 + 5] ^= 1 // page of frame 2
        var badPage = WALStreamVerifier()
        badPage.consume(bytes[...])
        #expect(
            badPage.outcome == .corrupt(offset: UInt64(32 + builder.frameSize), reason: "frame 2 fails its checksum"))

        // The second transaction taken from a WAL with other salts.
        var other = WALBuilder(pageSize: 1024, salt1: 8, salt2: 9)
        other.transaction(pages: 3, fill: 0xAB)
        other.transaction(pages: 1, fill: 0xCD)
        let spliced =
            Array(builder.bytes.prefix(32 + 3 * builder.frameSize)) + Array(other.bytes.suffix(builder.frameSize))
        var mixed = WALStreamVerifier()
        mixed.consume(spliced[...])
        #expect(
            mixed.outcome
                == .corrupt(
                    offset: UInt64(32 + 3 * builder.frameSize),
                    reason: "frame 4 has salts that differ from the WAL header's"))
    }
}
