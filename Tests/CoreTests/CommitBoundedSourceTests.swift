import Testing

@testable import Core

@Suite("CommitBoundedSource")
struct CommitBoundedSourceTests {
    /// Offsets just past each commit frame of `wal`.
    static func commitEnds(_ wal: [UInt8], pageSize: Int) -> [Int] {
        let frameSize = WALFormat.frameSize(pageSize: pageSize)
        var ends: [Int] = []
        var offset = WALFormat.headerSize
        while offset + frameSize <= wal.count {
            let field = wal[offset + 4..<offset + 8].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            offset += frameSize
            if field != 0 { ends.append(offset) }
        }
        return ends
    }

    /// Cuts `wal` into segments the way the syncer does, reading `chunk` bytes at a time.
    static func segments(of wal: [UInt8], pageSize: Int, limit: Int64, chunk: Int) async throws -> [[UInt8]] {
        var result: [[UInt8]] = []
        var start = 0
        while start < wal.count {
            let source = CommitBoundedSource(
                BytesSource(Array(wal[start...])), pageSize: pageSize,
                startsWithHeader: start == 0, limit: limit)
            let bytes = try await source.readToEnd(chunkSize: chunk)
            #expect(Int64(bytes.count) == source.emitted)
            result.append(bytes)
            start += bytes.count
        }
        return result
    }

    @Test(
        "CommitBoundedSource: each segment ends at the first commit boundary at or past the limit, and together they are the WAL"
    )
    func cutsAtCommitBoundaries() async throws {
        for pageSize in [1024, 4096] {
            let wal = try RealWAL.make(pageSize: pageSize, transactions: 40).bytes
            let ends = Self.commitEnds(wal, pageSize: pageSize)
            #expect(ends.count == 40 && ends.last == wal.count)
            let frameSize = WALFormat.frameSize(pageSize: pageSize)
            // Chunks that split frame headers (7 and 1000 bytes), a frame exactly, and all at once.
            for chunk in [7, 1000, frameSize, 1 << 20] {
                for limit in [
                    Int64(1), Int64(frameSize), Int64(3 * frameSize + 5), Int64(wal.count / 3), Int64(wal.count * 2),
                ] {
                    let pieces = try await Self.segments(of: wal, pageSize: pageSize, limit: limit, chunk: chunk)
                    #expect(pieces.flatMap { $0 } == wal, "page \(pageSize), chunk \(chunk), limit \(limit)")
                    var start = 0
                    for piece in pieces {
                        let end = start + piece.count
                        let expected = ends.first { $0 >= start + Int(limit) } ?? wal.count
                        #expect(
                            end == expected,
                            "page \(pageSize), chunk \(chunk), limit \(limit): segment from \(start) ends at \(end), expected \(expected)"
                        )
                        start = end
                    }
                }
            }
        }
    }

    @Test("CommitBoundedSource: asked for big chunks, it reads little past the segment's end")
    func readsLittlePastTheCut() async throws {
        for pageSize in [1024, 4096] {
            let frameSize = WALFormat.frameSize(pageSize: pageSize)
            // Transactions of one frame and of several, so a segment's cut can lie frames past the limit.
            let wal = try RealWAL.make(pageSize: pageSize, transactions: 40).bytes
            for limit in [Int64(1), Int64(frameSize), Int64(3 * frameSize + 5), Int64(wal.count / 3)] {
                var start = 0
                while start < wal.count {
                    let upstream = CountingSource(BytesSource(Array(wal[start...])))
                    let source = CommitBoundedSource(
                        upstream, pageSize: pageSize, startsWithHeader: start == 0, limit: limit)
                    let bytes = try await source.readToEnd(chunkSize: 1 << 20)
                    // Up to the limit exactly what is needed, then frame by frame, doubling: at most
                    // as far past the cut as the cut is past the limit, plus two frames.
                    let pastLimit = max(0, Int(source.emitted) - Int(limit))
                    #expect(
                        upstream.handedOut - bytes.count <= pastLimit + 2 * frameSize,
                        "page \(pageSize), limit \(limit), segment from \(start): read \(upstream.handedOut) for \(bytes.count)"
                    )
                    start += bytes.count
                }
            }
        }
    }

    /// Counts the bytes it hands out.
    // @unchecked: read by one task at a time (ByteSource's contract).
    final class CountingSource: ByteSource, @unchecked Sendable {
        let base: any ByteSource
        private(set) var handedOut = 0
        init(_ base: any ByteSource) { self.base = base }
        func read(upTo maxCount: Int) async throws -> [UInt8] {
            let bytes = try await base.read(upTo: maxCount)
            handedOut += bytes.count
            return bytes
        }
        func close() async { await base.close() }
    }

    @Test("CommitBoundedSource: a limit past the data passes everything through as one segment, uncut")
    func largeLimitPassesThrough() async throws {
        let wal = try RealWAL.make(pageSize: 1024, transactions: 10).bytes
        let source = CommitBoundedSource(BytesSource(wal), pageSize: 1024, startsWithHeader: true, limit: 16 << 20)
        #expect(try await source.readToEnd(chunkSize: 4096) == wal)
        #expect(source.emitted == Int64(wal.count))
        #expect(try await source.read(upTo: 4096).isEmpty)
    }
}
