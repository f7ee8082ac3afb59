import CSQLite
import Foundation
import Testing

@testable import Core

/// A real WAL file written by the system SQLite, kept by reading it while the connection that
/// wrote it is still open (with auto-checkpoints off, nothing empties it before we read).
struct RealWAL {
    var bytes: [UInt8]
    /// Write transactions committed in WAL mode (each ends with exactly one commit frame).
    var transactions: Int
    /// `PRAGMA page_count` after the last commit.
    var pageCount: Int
    /// After a complete checkpoint and one more transaction: the restarted WAL, whose tail
    /// still holds stale frames of the previous lifetime.
    var restarted: [UInt8]?

    struct SQLiteFailure: Error, CustomStringConvertible {
        var description: String
    }

    /// Writes `transactions` transactions of a few rows each (CREATE TABLE counts as one).
    static func make(pageSize: Int, transactions: Int, restart: Bool = false) throws -> RealWAL {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("sluice-walformat-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("test.db").path

        var db: OpaquePointer?
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nil) == SQLITE_OK, let db else {
            throw SQLiteFailure(description: "cannot open \(path)")
        }
        defer { sqlite3_close_v2(db) }

        func exec(_ sql: String) throws {
            var message: UnsafeMutablePointer<CChar>?
            if sqlite3_exec(db, sql, nil, nil, &message) != SQLITE_OK {
                let text = message.map { String(cString: $0) } ?? "unknown error"
                sqlite3_free(message)
                throw SQLiteFailure(description: "\(sql): \(text)")
            }
        }
        func integer(_ sql: String) throws -> Int {
            var statement: OpaquePointer?
            guard sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK else {
                throw SQLiteFailure(description: "prepare \(sql)")
            }
            defer { sqlite3_finalize(statement) }
            guard sqlite3_step(statement) == SQLITE_ROW else { throw SQLiteFailure(description: "step \(sql)") }
            return Int(sqlite3_column_int64(statement, 0))
        }

        try exec("PRAGMA page_size=\(pageSize)")
        try exec("PRAGMA journal_mode=WAL")
        try exec("PRAGMA wal_autocheckpoint=0")
        try exec("CREATE TABLE t(id INTEGER PRIMARY KEY, body BLOB)")
        for n in 1..<transactions {
            // Varying row counts and sizes give transactions of one frame and of many.
            try exec(
                "BEGIN; INSERT INTO t(body) SELECT randomblob(\(100 + 37 * n)) FROM (SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) LIMIT \(1 + n % 3); COMMIT;"
            )
        }
        let walPath = path + "-wal"
        var wal = RealWAL(
            bytes: Array(try Data(contentsOf: URL(fileURLWithPath: walPath))),
            transactions: transactions, pageCount: try integer("PRAGMA page_count"))

        if restart {
            var logFrames: Int32 = 0
            var checkpointed: Int32 = 0
            guard sqlite3_wal_checkpoint_v2(db, nil, SQLITE_CHECKPOINT_PASSIVE, &logFrames, &checkpointed) == SQLITE_OK,
                logFrames == checkpointed
            else {
                throw SQLiteFailure(description: "checkpoint did not complete")
            }
            try exec("INSERT INTO t(body) VALUES (x'01')")
            wal.restarted = Array(try Data(contentsOf: URL(fileURLWithPath: walPath)))
        }
        return wal
    }
}

/// An independent, deliberately plain implementation of SQLite's WAL checksum, used to build
/// big-endian WALs and to cross-check `WALChecksum` against what SQLite wrote.
func referenceChecksum(_ bytes: ArraySlice<UInt8>, bigEndian: Bool, seed: (UInt32, UInt32)) -> (UInt32, UInt32) {
    var (s0, s1) = seed
    let base = bytes.startIndex
    func word(_ i: Int) -> UInt32 {
        let b = (0..<4).map { UInt32(bytes[base + i + $0]) }
        return bigEndian ? b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3] : b[3] << 24 | b[2] << 16 | b[1] << 8 | b[0]
    }
    for i in stride(from: 0, to: bytes.count, by: 8) {
        s0 = s0 &+ word(i) &+ s1
        s1 = s1 &+ word(i + 4) &+ s0
    }
    return (s0, s1)
}

func readUInt32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
    UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8
        | UInt32(bytes[offset + 3])
}

func writeUInt32(_ value: UInt32, _ bytes: inout [UInt8], _ offset: Int) {
    for i in 0..<4 { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (24 - 8 * i)) }
}

/// The frames a validator accepts from the start of `bytes`, in order, until the first it rejects.
func acceptedFrames(_ bytes: [UInt8], header: WALHeader) -> [WALFrameHeader] {
    var validator = WALFrameValidator(header: header)
    var result: [WALFrameHeader] = []
    var offset = WALFormat.headerSize
    while offset < bytes.count {
        let end = min(bytes.count, offset + validator.frameSize)
        guard let frame = validator.accept(bytes[offset..<end]) else { break }
        result.append(frame)
        offset = end
    }
    return result
}

@Suite("WAL format")
struct WALFormatTests {
    @Test("WALHeader: parses a real SQLite WAL: magic, version, page size, salts", arguments: [1024, 4096, 65536])
    func parsesRealHeader(pageSize: Int) throws {
        let wal = try RealWAL.make(pageSize: pageSize, transactions: 4)
        let header = try #require(WALHeader(wal.bytes))
        #expect(header.pageSize == pageSize)
        #expect(header.formatVersion == WALFormat.formatVersion)
        // SQLite writes native-order checksums; this machine is little-endian.
        #expect(header.magic == WALFormat.magicLittleEndian)
        #expect(!header.bigEndianChecksums)
        #expect(header.salt1 == readUInt32(wal.bytes, 16))
        #expect(header.salt2 == readUInt32(wal.bytes, 20))
        #expect(header.bytes == Array(wal.bytes.prefix(32)))
        // Every frame carries the header's salts.
        let firstFrame = WALFormat.headerSize
        #expect(readUInt32(wal.bytes, firstFrame + 8) == header.salt1)
        #expect(readUInt32(wal.bytes, firstFrame + 12) == header.salt2)
    }

    @Test("WALHeader: any single flipped bit in the 32 header bytes is rejected")
    func rejectsFlippedHeaderBits() throws {
        let wal = try RealWAL.make(pageSize: 4096, transactions: 2)
        #expect(WALHeader(wal.bytes) != nil)
        for byte in 0..<WALFormat.headerSize {
            for bit in 0..<8 {
                var damaged = Array(wal.bytes.prefix(32))
                damaged[byte] ^= UInt8(1 << bit)
                #expect(WALHeader(damaged) == nil, "byte \(byte) bit \(bit)")
            }
        }
    }

    @Test("WALHeader: short input, an empty WAL and a zeroed header are not headers")
    func rejectsShort() throws {
        let wal = try RealWAL.make(pageSize: 4096, transactions: 2)
        #expect(WALHeader(Array(wal.bytes.prefix(31))) == nil)
        #expect(WALHeader([UInt8]()) == nil)
        #expect(WALHeader([UInt8](repeating: 0, count: 32)) == nil)
    }

    @Test("WALFrameValidator: accepts every frame of a real WAL and finds each commit")
    func acceptsRealFrames() throws {
        let wal = try RealWAL.make(pageSize: 4096, transactions: 12)
        let header = try #require(WALHeader(wal.bytes))
        let frameSize = WALFormat.frameSize(pageSize: 4096)
        #expect((wal.bytes.count - 32) % frameSize == 0)
        let frames = acceptedFrames(wal.bytes, header: header)
        #expect(frames.count == (wal.bytes.count - 32) / frameSize)
        #expect(frames.filter(\.isCommit).count == wal.transactions)
        #expect(frames.last?.isCommit == true)
        #expect(frames.last.map { Int($0.commitSize) } == wal.pageCount)
        // Database size never shrinks across these inserts, and each commit names a real page.
        let commitSizes = frames.filter(\.isCommit).map(\.commitSize)
        #expect(commitSizes == commitSizes.sorted())
        #expect(frames.allSatisfy { $0.pageNumber >= 1 && Int($0.pageNumber) <= wal.pageCount })
    }

    @Test("WALFrameValidator: a flipped page byte rejects that frame and leaves the state unchanged")
    func rejectsTornFrame() throws {
        let wal = try RealWAL.make(pageSize: 4096, transactions: 12)
        let header = try #require(WALHeader(wal.bytes))
        let frameSize = WALFormat.frameSize(pageSize: 4096)
        let total = (wal.bytes.count - 32) / frameSize
        let damagedFrame = total / 2
        for position in [WALFormat.frameHeaderSize, WALFormat.frameHeaderSize + 1000, frameSize - 1] {
            var damaged = wal.bytes
            damaged[32 + damagedFrame * frameSize + position] ^= 0x40
            #expect(acceptedFrames(damaged, header: header).count == damagedFrame)

            // The validator that rejected the torn frame still accepts the intact one.
            var validator = WALFrameValidator(header: header)
            for n in 0..<damagedFrame {
                let start = 32 + n * frameSize
                #expect(validator.accept(wal.bytes[start..<start + frameSize]) != nil)
            }
            let before = validator.checksum
            let start = 32 + damagedFrame * frameSize
            #expect(validator.accept(damaged[start..<start + frameSize]) == nil)
            #expect(validator.checksum == before)
            #expect(validator.accept(wal.bytes[start..<start + frameSize]) != nil)
        }
    }

    @Test("WALFrameValidator: a flipped byte in the checksummed frame header is rejected")
    func rejectsDamagedFrameHeader() throws {
        let wal = try RealWAL.make(pageSize: 4096, transactions: 6)
        let header = try #require(WALHeader(wal.bytes))
        let frameSize = WALFormat.frameSize(pageSize: 4096)
        for byte in [0, 3, 4, 7, 16, 23] {
            var damaged = wal.bytes
            damaged[32 + frameSize + byte] ^= 0x01
            #expect(acceptedFrames(damaged, header: header).count == 1, "byte \(byte)")
        }
    }

    @Test("WALFrameValidator: a frame with foreign salts is rejected even though its checksum holds")
    func rejectsForeignSalts() throws {
        let wal = try RealWAL.make(pageSize: 4096, transactions: 6)
        let header = try #require(WALHeader(wal.bytes))
        let frameSize = WALFormat.frameSize(pageSize: 4096)
        // Salts are not covered by the frame checksum, so only the salt check can catch this.
        for saltOffset in [8, 12] {
            var damaged = wal.bytes
            let start = 32 + 2 * frameSize
            writeUInt32(readUInt32(damaged, start + saltOffset) &+ 1, &damaged, start + saltOffset)
            #expect(acceptedFrames(damaged, header: header).count == 2)
        }
    }

    @Test("WALFrameValidator: a truncated WAL ends at the last whole frame")
    func truncatedEnd() throws {
        let wal = try RealWAL.make(pageSize: 4096, transactions: 8)
        let header = try #require(WALHeader(wal.bytes))
        let frameSize = WALFormat.frameSize(pageSize: 4096)
        let total = (wal.bytes.count - 32) / frameSize
        for cut in [1, 23, 24, 25, frameSize / 2, frameSize - 1] {
            let truncated = Array(wal.bytes.prefix(wal.bytes.count - frameSize + cut))
            #expect(acceptedFrames(truncated, header: header).count == total - 1, "cut \(cut)")
            #expect(
                WALFormat.alignToFrame(Int64(truncated.count), pageSize: 4096) == Int64(32 + (total - 1) * frameSize))
        }
    }

    @Test("WALFrameValidator: after a WAL restart, stale frames of the old lifetime are rejected")
    func staleFramesAfterRestart() throws {
        let wal = try RealWAL.make(pageSize: 4096, transactions: 10, restart: true)
        let restarted = try #require(wal.restarted)
        let old = try #require(WALHeader(wal.bytes))
        let new = try #require(WALHeader(restarted))
        #expect(new.salt1 == old.salt1 &+ 1)
        #expect(new.checkpointSequence == old.checkpointSequence &+ 1)
        // The file did not shrink: the old frames are still there behind the new ones.
        #expect(restarted.count == wal.bytes.count)
        let frames = acceptedFrames(restarted, header: new)
        #expect(frames.count >= 1)
        #expect(frames.count < (restarted.count - 32) / new.frameSizeForTests)
        #expect(frames.last?.isCommit == true)
        // The first rejected frame is a stale frame with the old salts.
        let next = 32 + frames.count * new.frameSizeForTests
        #expect(readUInt32(restarted, next + 8) == old.salt1)
        // And the old header's validator no longer accepts the rewritten first frame.
        #expect(acceptedFrames(restarted, header: old).isEmpty)
    }

    @Test("WALChecksum: the reference checksum reproduces what SQLite wrote, header and frames")
    func referenceMatchesSQLite() throws {
        let wal = try RealWAL.make(pageSize: 1024, transactions: 8)
        let bytes = wal.bytes
        var sum = referenceChecksum(bytes[0..<24], bigEndian: false, seed: (0, 0))
        #expect(sum.0 == readUInt32(bytes, 24))
        #expect(sum.1 == readUInt32(bytes, 28))
        var coreSum = WALChecksum()
        coreSum.update(bytes[0..<24], bigEndian: false)
        #expect(coreSum == WALChecksum(s0: sum.0, s1: sum.1))
        let frameSize = WALFormat.frameSize(pageSize: 1024)
        for start in stride(from: 32, to: bytes.count, by: frameSize) {
            sum = referenceChecksum(bytes[start..<start + 8], bigEndian: false, seed: sum)
            sum = referenceChecksum(bytes[start + 24..<start + frameSize], bigEndian: false, seed: sum)
            #expect(sum.0 == readUInt32(bytes, start + 16))
            #expect(sum.1 == readUInt32(bytes, start + 20))
        }
    }

    /// Rewrites a little-endian WAL as SQLite on a big-endian machine would have written it:
    /// magic 0x377f0683 and every checksum recomputed over big-endian words.
    static func bigEndianCopy(of wal: [UInt8], pageSize: Int) -> [UInt8] {
        var bytes = wal
        writeUInt32(WALFormat.magicBigEndian, &bytes, 0)
        var sum = referenceChecksum(bytes[0..<24], bigEndian: true, seed: (0, 0))
        writeUInt32(sum.0, &bytes, 24)
        writeUInt32(sum.1, &bytes, 28)
        let frameSize = WALFormat.frameSize(pageSize: pageSize)
        for start in stride(from: 32, to: bytes.count - frameSize + 1, by: frameSize) {
            sum = referenceChecksum(bytes[start..<start + 8], bigEndian: true, seed: sum)
            sum = referenceChecksum(bytes[start + 24..<start + frameSize], bigEndian: true, seed: sum)
            writeUInt32(sum.0, &bytes, start + 16)
            writeUInt32(sum.1, &bytes, start + 20)
        }
        return bytes
    }

    @Test("WALFrameValidator: a big-endian-checksum WAL validates frame by frame")
    func bigEndianWAL() throws {
        let wal = try RealWAL.make(pageSize: 4096, transactions: 10)
        let bigEndian = Self.bigEndianCopy(of: wal.bytes, pageSize: 4096)
        let header = try #require(WALHeader(bigEndian))
        #expect(header.bigEndianChecksums)
        #expect(header.magic == WALFormat.magicBigEndian)
        let frameSize = WALFormat.frameSize(pageSize: 4096)
        let frames = acceptedFrames(bigEndian, header: header)
        #expect(frames.count == (bigEndian.count - 32) / frameSize)
        #expect(frames.filter(\.isCommit).count == wal.transactions)
        // The checksums really differ between byte orders, so neither validator accepts the
        // other order's frames.
        let littleEndianHeader = try #require(WALHeader(wal.bytes))
        #expect(header.checksum != littleEndianHeader.checksum)
        var crossed = bigEndian
        crossed.replaceSubrange(0..<32, with: wal.bytes[0..<32])
        #expect(acceptedFrames(crossed, header: littleEndianHeader).isEmpty)
        // A torn page in the big-endian WAL is caught too.
        var damaged = bigEndian
        damaged[32 + 3 * frameSize + 100] ^= 0x80
        #expect(acceptedFrames(damaged, header: header).count == 3)
    }

    @Test("WALFormat: alignToFrame and walSize")
    func alignment() throws {
        let pageSize = 4096
        let frame = Int64(WALFormat.frameSize(pageSize: pageSize))
        #expect(frame == 4120)
        #expect(WALFormat.alignToFrame(0, pageSize: pageSize) == 0)
        #expect(WALFormat.alignToFrame(31, pageSize: pageSize) == 0)
        #expect(WALFormat.alignToFrame(32, pageSize: pageSize) == 32)
        #expect(WALFormat.alignToFrame(32 + frame - 1, pageSize: pageSize) == 32)
        #expect(WALFormat.alignToFrame(32 + frame, pageSize: pageSize) == 32 + frame)
        #expect(WALFormat.alignToFrame(32 + 5 * frame + 7, pageSize: pageSize) == 32 + 5 * frame)
        #expect(WALFormat.walSize(pageSize: pageSize, frames: 0) == 32)
        #expect(WALFormat.walSize(pageSize: pageSize, frames: 3) == 32 + 3 * frame)

        let wal = try RealWAL.make(pageSize: pageSize, transactions: 5)
        let size = Int64(wal.bytes.count)
        let frames = Int((size - 32) / frame)
        #expect(WALFormat.walSize(pageSize: pageSize, frames: frames) == size)
        #expect(WALFormat.alignToFrame(size, pageSize: pageSize) == size)
        #expect(WALFormat.alignToFrame(size + 17, pageSize: pageSize) == size)
        #expect(WALFormat.alignToFrame(size - 1, pageSize: pageSize) == size - frame)
    }
}

extension WALHeader {
    var frameSizeForTests: Int { WALFormat.frameSize(pageSize: pageSize) }
}
