/// Appends transactions to a WAL-mode database that readers have open, the way SQLite's own
/// writer does, so they see each one whole or not at all (docs/follow.md has the reasoning).
///
/// One SQLite connection stays open on the database for the follower's life. It takes SQLite's
/// WAL write lock (`BEGIN IMMEDIATE`), which excludes any other writer and any recovery of the
/// wal-index; under it the frames go to the end of `-wal`, their hash entries into `-shm`, and
/// last the wal-index header, which is the commit: a reader starting a transaction trusts only
/// that header, and readers already inside one keep the snapshot they began with, since they
/// ignore frames past their own `maxFrame`. Checkpoints run through the connection, so SQLite
/// itself decides what readers still need.
///
/// - Important: `-wal` and `-shm` stay open until after the connection closes: closing a
///   descriptor of `-shm` would drop the POSIX locks the connection holds on it.
// @unchecked: used by one task at a time, the follower's loop.
public final class LiveWAL: @unchecked Sendable {
    // Used by one task at a time (the follower's loop).
    public let path: String
    public let pageSize: Int
    private let connection: any SQLiteConnection
    private let wal: any FileHandle
    private let shm: any FileHandle
    private let random: any RandomSource
    /// Frames in the WAL after the last commit or checkpoint this writer saw.
    public private(set) var frameCount: UInt32 = 0
    /// Past this many frames a commit is followed by a checkpoint.
    public var checkpointFrames: UInt32 = 1000

    private init(
        path: String, pageSize: Int, connection: any SQLiteConnection, wal: any FileHandle,
        shm: any FileHandle, random: any RandomSource
    ) {
        self.path = path
        self.pageSize = pageSize
        self.connection = connection
        self.wal = wal
        self.shm = shm
        self.random = random
    }

    /// Opens `path`, a WAL-mode database, creating its `-wal` and `-shm` through SQLite.
    public static func open(_ path: String, environment: Environment) async throws -> LiveWAL {
        let options = SQLiteOpenOptions(busyTimeoutMilliseconds: busyTimeoutMilliseconds)
        let connection = try await environment.sqlite.open(path, options: options)
        do {
            let mode = try await connection.query("PRAGMA journal_mode").first?.first?.textValue
            guard mode == "wal" else { throw FollowError.notWALMode(path: path, mode: mode ?? "unknown") }
            guard let size = try await connection.scalarInteger("PRAGMA page_size") else {
                throw FollowError.notWALMode(path: path, mode: "no page size")
            }
            let fileSystem = environment.fileSystem
            let wal = try await fileSystem.open(path + "-wal", mode: .readWrite)
            let shm = try await fileSystem.open(path + "-shm", mode: .readWrite)
            return LiveWAL(
                path: path, pageSize: Int(size), connection: connection, wal: wal, shm: shm,
                random: environment.random)
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// Closes the connection (SQLite checkpoints if it is the last one), then the files.
    public func close() async {
        try? await connection.close()
        try? await wal.close()
        try? await shm.close()
    }

    /// Commits one transaction: `pages` (ascending, each `pageSize` bytes from `content`) with
    /// the database `commitSize` pages long after it. Nothing is visible to readers until the
    /// last write, the wal-index header; a failure before it leaves the database as it was.
    public func commit(
        pages: [UInt32], commitSize: UInt32,
        content: (UInt32) async throws -> ArraySlice<UInt8>
    ) async throws {
        precondition(
            !pages.isEmpty && pages.allSatisfy { $0 >= 1 && $0 <= commitSize },
            "a commit writes pages inside the database")
        try await connection.execute("BEGIN IMMEDIATE")
        do {
            try await append(pages: pages, commitSize: commitSize, content: content)
            try await connection.execute("COMMIT")
        } catch {
            try? await connection.execute("ROLLBACK")
            throw error
        }
        if frameCount >= checkpointFrames { try await checkpoint() }
    }

    /// Copies the WAL into the database and restarts it when no reader needs it, else copies what
    /// readers allow. Returns whether the WAL is now empty. Never waits for readers: a reader
    /// holding a snapshot would otherwise hold up the next commit by the busy timeout.
    @discardableResult
    public func checkpoint() async throws -> Bool {
        try await connection.execute("PRAGMA busy_timeout = 0")
        let result: CheckpointResult
        do {
            result = try await connection.checkpoint(.truncate)
        } catch let error as SQLiteError where error.isBusy {
            result = CheckpointResult(busy: true, walFrames: Int(frameCount), checkpointedFrames: 0)
        }
        try await connection.execute("PRAGMA busy_timeout = \(Self.busyTimeoutMilliseconds)")
        if !result.busy { frameCount = 0 }
        return !result.busy
    }

    /// How long `BEGIN IMMEDIATE` waits for a reader recovering the wal-index.
    static let busyTimeoutMilliseconds: Int32 = 2000

    private func append(
        pages: [UInt32], commitSize: UInt32,
        content: (UInt32) async throws -> ArraySlice<UInt8>
    ) async throws {
        guard let header = WALIndexHeader(shm: try await shm.read(at: 0, count: WALIndexHeader.bothCopiesSize)) else {
            throw FollowError.walIndexUnreadable(path: path + "-shm")
        }
        var encoder: WALFrameEncoder
        if header.maxFrame == 0 {
            encoder = try await restartWAL(previousSalt: header.salt)
        } else {
            guard header.pageSize == pageSize else { throw FollowError.walIndexUnreadable(path: path + "-shm") }
            encoder = WALFrameEncoder(
                pageSize: pageSize, bigEndianChecksums: header.bigEndianChecksums,
                salt: header.salt, checksum: header.frameChecksum)
        }
        let frameSize = Int64(WALFormat.frameSize(pageSize: pageSize))
        var offset = Int64(WALFormat.headerSize) + Int64(header.maxFrame) * frameSize
        var buffer: [UInt8] = []
        for (position, page) in pages.enumerated() {
            let data = try await content(page)
            let isLast = position == pages.count - 1
            encoder.append(page: page, commitSize: isLast ? commitSize : 0, data: data, to: &buffer)
            if buffer.count >= 1 << 20 || isLast {
                try await wal.write(buffer, at: offset)
                offset += Int64(buffer.count)
                buffer.removeAll(keepingCapacity: true)
            }
        }
        try await wal.sync()
        try await index(pages: pages, after: header.maxFrame)
        let next = WALIndexHeader(
            change: header.change &+ 1, bigEndianChecksums: encoder.bigEndianChecksums,
            pageSize: pageSize, maxFrame: header.maxFrame + UInt32(pages.count),
            pageCount: commitSize, frameChecksum: encoder.checksum, salt: encoder.salt)
        // The second copy first: a reader that sees the copies differ waits and reads again.
        let encoded = next.encoded()
        try await shm.write(encoded, at: Int64(WALIndexHeader.size))
        try await shm.write(encoded, at: 0)
        frameCount = next.maxFrame
    }

    /// Writes a fresh WAL header with new salts (the first salt one past the last lifetime's, as
    /// SQLite does, the second random), so no frame of an earlier lifetime can pass as current.
    private func restartWAL(previousSalt: [UInt8]) async throws -> WALFrameEncoder {
        let existing = WALHeader(try await wal.read(at: 0, count: WALFormat.headerSize))
        let first = previousSalt.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) } &+ 1
        let salt = NativeBytes.bigEndian32(first) + NativeBytes.bigEndian32(UInt32(truncatingIfNeeded: random.next()))
        let (bytes, encoder) = WALFrameEncoder.start(
            pageSize: pageSize, checkpointSequence: existing.map { $0.checkpointSequence &+ 1 } ?? 0, salt: salt)
        try await wal.write(bytes, at: 0)
        return encoder
    }

    /// Adds hash entries for frames `after + 1 ...`, block by block.
    private func index(pages: [UInt32], after maxFrame: UInt32) async throws {
        var frame = maxFrame + 1
        var remaining = pages[...]
        while !remaining.isEmpty {
            let blockNumber = WALIndexBlock.block(ofFrame: frame)
            let fileOffset = Int64(blockNumber) * Int64(WALIndexBlock.blockSize)
            let stored = try await shm.read(at: fileOffset, count: WALIndexBlock.blockSize)
            var block = WALIndexBlock(block: blockNumber, bytes: stored)
            if frame - WALIndexBlock.zero(ofBlock: blockNumber) > 1 {
                // Entries a writer left past the last commit are void (SQLite's walCleanupHash).
                block.truncate(keepingFrames: Int(frame - 1 - WALIndexBlock.zero(ofBlock: blockNumber)))
            }
            while let next = remaining.first, WALIndexBlock.block(ofFrame: frame) == blockNumber {
                do {
                    try block.append(frame: frame, page: next)
                } catch {
                    throw FollowError.walIndexUnreadable(path: path + "-shm")
                }
                frame += 1
                remaining = remaining.dropFirst()
            }
            let range = block.writableRange
            try await shm.write(Array(block.bytes[range]), at: fileOffset + Int64(range.lowerBound))
        }
    }
}
