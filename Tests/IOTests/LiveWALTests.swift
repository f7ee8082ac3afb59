import Core
import Foundation
import IO
import Logging
import SQLite
import Testing

/// `LiveWAL` and the wal-index types against SQLite itself: the hash blocks and header they
/// compute must be the bytes SQLite writes, and transactions they append must be seen whole by
/// SQLite readers, with snapshots held across them.
@Suite("LiveWAL against real SQLite")
struct LiveWALTests {
    let opener = SQLiteDatabaseOpener(runner: InlineRunner())

    var environment: Environment {
        Environment(
            fileSystem: POSIXFileSystem(runner: InlineRunner()), clock: ContinuousClock(),
            wallClock: SystemWallClock(), random: SystemRandom(), sqlite: opener, logger: Logger(label: "test"))
    }

    @Test("the wal-index SQLite writes for 5000 frames is the one WALIndexHeader and WALIndexBlock compute")
    func matchesSQLiteWalIndex() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("db.sqlite")
        let db = try await opener.open(path, options: SQLiteOpenOptions(create: true))
        try await db.execute("PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; CREATE TABLE t (x)")
        for value in 0..<3400 {
            try await db.execute("INSERT INTO t VALUES (randomblob(\(value % 7 == 0 ? 3000 : 10)))")
        }

        let wal = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path + "-wal")))
        let shm = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path + "-shm")))
        try await db.close()
        let walHeader = try #require(WALHeader(Array(wal[0..<32])))
        let frameSize = 24 + walHeader.pageSize
        let frames = (wal.count - 32) / frameSize
        try #require(
            frames > 4062 + 100 && frames <= 4062 + 4096 && shm.count >= 65536,
            "the WAL must reach the second hash block, not the third")
        let header = try #require(WALIndexHeader(shm: Array(shm[0..<96])))
        #expect(Int(header.maxFrame) == frames)
        #expect(header.salt == Array(wal[16..<24]))
        let last = 32 + (frames - 1) * frameSize
        let lastChecksum = WALChecksum(
            s0: UInt32(bigEndianBytes: wal, at: last + 16),
            s1: UInt32(bigEndianBytes: wal, at: last + 20))
        #expect(header.frameChecksum == lastChecksum)
        // Re-encoding SQLite's header gives SQLite's bytes.
        #expect(header.encoded() == Array(shm[0..<48]))

        var blocks = [WALIndexBlock(block: 0, bytes: []), WALIndexBlock(block: 1, bytes: [])]
        for frame in 1...frames {
            let page = UInt32(bigEndianBytes: wal, at: 32 + (frame - 1) * frameSize)
            try blocks[WALIndexBlock.block(ofFrame: UInt32(frame))].append(frame: UInt32(frame), page: page)
        }
        for block in blocks {
            let range = block.writableRange
            let start = Int(block.fileOffset)
            #expect(
                Array(block.bytes[range]) == Array(shm[(start + range.lowerBound)..<(start + range.upperBound)]),
                "hash block \(block.block) differs from SQLite's")
        }
    }

    @Test(
        "appended transactions are seen whole; a held snapshot keeps its view; 5000 frames cross hash blocks; checkpoints work"
    )
    func readersSeeWholeTransactions() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let source = dir.file("source.db")
        let output = dir.file("output.db")
        let writer = try await opener.open(source, options: SQLiteOpenOptions(create: true))
        try await writer.execute("PRAGMA journal_mode=WAL; CREATE TABLE t (x INTEGER, pad BLOB)")
        try await writer.execute("INSERT INTO t VALUES (1, zeroblob(50000))")
        _ = try await writer.checkpoint(.truncate)
        try FileManager.default.copyItem(atPath: source, toPath: output)

        let live = try await LiveWAL.open(output, environment: environment)
        let reader = try await opener.open(output, options: SQLiteOpenOptions(readOnly: true))
        try await reader.execute("BEGIN")
        #expect(try await reader.scalarInteger("SELECT sum(x) FROM t") == 1)

        var expected: Int64 = 1
        for round in 2...60 {
            try await writer.execute("INSERT INTO t VALUES (\(round), randomblob(\(round % 5) * 2000))")
            try await writer.execute("DELETE FROM t WHERE x = \(round - 40)")
            _ = try await writer.checkpoint(.truncate)
            expected = try await writer.scalarInteger("SELECT sum(x) FROM t") ?? 0
            let image = [UInt8](try Data(contentsOf: URL(fileURLWithPath: source)))
            let pageCount = UInt32(image.count / live.pageSize)
            try await live.commit(pages: Array(1...pageCount), commitSize: pageCount) { page in
                image[Int(page - 1) * live.pageSize..<Int(page) * live.pageSize]
            }
            #expect(
                try await reader.scalarInteger("SELECT sum(x) FROM t") == 1,
                "a held snapshot moved in round \(round)")
            let fresh = try await opener.open(output, options: SQLiteOpenOptions(readOnly: true))
            #expect(try await fresh.scalarInteger("SELECT sum(x) FROM t") == expected)
            try await fresh.close()
        }
        try await reader.execute("COMMIT")
        #expect(try await reader.scalarInteger("SELECT sum(x) FROM t") == expected)
        #expect(try await reader.query("PRAGMA integrity_check") == [[.text("ok")]])
        try await reader.close()
        #expect(try await live.checkpoint(), "no reader holds a snapshot: the WAL empties")
        await live.close()
        try await writer.close()
        let check = try await opener.open(output, options: SQLiteOpenOptions(readOnly: true))
        #expect(try await check.scalarInteger("SELECT sum(x) FROM t") == expected)
        try await check.close()
    }
}

extension UInt32 {
    init(bigEndianBytes bytes: [UInt8], at offset: Int) {
        self = bytes[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
    }
}
