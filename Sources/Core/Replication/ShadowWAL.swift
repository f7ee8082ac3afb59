/// The local shadow copy of one WAL index: the index's 32-byte header followed by exactly the
/// frames the replicator validated, up to the last commit frame it has seen.
///
/// Two rules make the shadow trustworthy (Litestream 7f81890, #474):
/// - Bytes are validated and written in one pass from one read; the WAL is never read twice
///   (a validating read followed by a copying read lets the WAL change in between).
/// - Frames go to disk as they are validated, in bounded chunks, so a transaction of any size
///   costs a fixed amount of memory. Frames past the last commit are cut off again at the end of
///   a pass: the shadow's size is always a commit boundary, and readers never see more.
/// - What to read, write, cut and keep is decided by `ShadowCopy`, a pure state machine; this
///   type is its I/O edge.
// @unchecked: mutated only by the one database actor that owns it.
public final class ShadowWAL: @unchecked Sendable {
    // Mutated only by the database actor that owns it.
    public let path: String
    public let header: WALHeader
    private let handle: any FileHandle
    /// End of the last committed frame: the shadow's logical size.
    public private(set) var size: Int64
    /// Running checksum after the last committed frame.
    public private(set) var checksum: WALChecksum
    /// The last committed frame, header plus page, for the overwrite check.
    public private(set) var lastFrame: [UInt8]?
    /// Frames a failed pass validated and wrote past `size` before it saw their commit frame.
    private var partial: ShadowCopy.Partial?
    /// The copy loop's write buffer, kept between passes: a chunk-sized buffer allocated anew
    /// each pass was an mmap and an munmap a pass (glibc maps blocks over 64 KiB on their own).
    private var writeBuffer: [UInt8] = []

    /// How far copying has got: `size`, or the end of the frames kept for an unfinished
    /// transaction. It grows when a pass copies anything, committed or not.
    public var copiedEnd: Int64 { partial?.end ?? size }
    /// Whether the file may hold bytes past `size`: a failed pass's frames, kept as `partial` or
    /// not. They are cut before the index is final, since an earlier index's extent is its
    /// file's size.
    private var tailOnDisk = false

    public var frameCount: Int {
        Int((size - Int64(WALFormat.headerSize)) / Int64(header.frameSize))
    }

    private init(
        path: String, header: WALHeader, handle: any FileHandle, size: Int64,
        checksum: WALChecksum, lastFrame: [UInt8]?
    ) {
        self.path = path
        self.header = header
        self.handle = handle
        self.size = size
        self.checksum = checksum
        self.lastFrame = lastFrame
    }

    /// Creates a shadow index holding only `header`, durably.
    public static func create(path: String, header: WALHeader, fileSystem: any FileSystem) async throws -> ShadowWAL {
        try await fileSystem.createDirectory(Path.directory(of: path))
        let handle = try await fileSystem.open(path, mode: .truncate)
        try await handle.write(header.bytes, at: 0)
        try await handle.sync()
        try await fileSystem.syncDirectory(Path.directory(of: path))
        return ShadowWAL(
            path: path, header: header, handle: handle, size: Int64(WALFormat.headerSize),
            checksum: header.checksum, lastFrame: nil)
    }

    /// Frames the first read of a pass asks for; later reads of the pass double it.
    public static let firstReadFrames = 8

    /// Failed reads in a row that validated nothing more, after which `open` gives up.
    static let openRetryLimit = 8

    /// Opens an existing shadow index and re-derives its committed end by validating it, cutting
    /// off a torn or uncommitted tail left by a crash.
    public static func open(path: String, fileSystem: any FileSystem, chunkSize: Int) async throws -> ShadowWAL {
        let handle = try await fileSystem.open(path, mode: .readWrite)
        let fileSize = try await handle.size()
        guard let header = WALHeader(try await handle.read(at: 0, count: WALFormat.headerSize)) else {
            try? await handle.close()
            throw ReplicationError.shadowCorrupt(path: path, reason: "missing or invalid WAL header")
        }
        let shadow = ShadowWAL(
            path: path, header: header, handle: handle, size: Int64(WALFormat.headerSize),
            checksum: header.checksum, lastFrame: nil)
        // A failed read keeps what the scan validated, and the scan goes on from there while
        // retries get further: a start-up that rescanned a large shadow from its header after
        // every I/O error rarely got through it on a flaky disk.
        do {
            try await ProgressRetry.run(fruitlessLimit: openRetryLimit, progress: { shadow.size }) {
                _ = try await shadow.append(from: handle, sourceSize: fileSize, chunkSize: chunkSize, writes: false)
            }
        } catch {
            try? await handle.close()
            throw error
        }
        if fileSize > shadow.size {
            try await handle.truncate(to: shadow.size)
            try await handle.sync()
        }
        return shadow
    }

    /// Copies newly committed frames from the real WAL (which must share this shadow's header),
    /// starting at the shadow's end. Returns the number of frames committed into the shadow.
    @discardableResult
    public func copy(from wal: any FileHandle, walSize: Int64, chunkSize: Int) async throws -> Int {
        try await append(from: wal, sourceSize: walSize, chunkSize: chunkSize, writes: true)
    }

    /// Reads committed shadow bytes, for uploads.
    public func read(at offset: Int64, count: Int) async throws -> [UInt8] {
        try await handle.read(at: offset, count: count)
    }

    public func close() async {
        // An index's file size is its committed end once a later index exists.
        partial = nil
        if tailOnDisk, (try? await handle.truncate(to: size)) != nil, (try? await handle.sync()) != nil {
            tailOnDisk = false
        }
        try? await handle.close()
    }

    /// The validating copy loop: `ShadowCopy` decides, this does the reads, writes, cuts and
    /// syncs. With `writes == false` it only scans (start-up recovery of the shadow itself,
    /// where source and destination are the same file).
    private func append(from source: any FileHandle, sourceSize: Int64, chunkSize: Int, writes: Bool) async throws
        -> Int
    {
        let frameSize = header.frameSize
        var copy = ShadowCopy(
            header: header, start: ShadowCopy.Commit(end: size, checksum: checksum, lastFrame: lastFrame),
            chunkSize: chunkSize, writes: writes, firstReadFrames: Self.firstReadFrames, buffer: writeBuffer)
        writeBuffer = []
        defer { writeBuffer = copy.buffer }
        let resume = partial
        partial = nil
        do {
            if writes, let resume, resume.end <= sourceSize,
                try await source.read(at: size, count: frameSize) == resume.firstFrame,
                try await source.read(at: resume.end - Int64(frameSize), count: frameSize) == resume.lastFrame
            {
                copy.resume(resume)
            }
            scan: while let next = copy.nextRead(sourceSize: sourceSize) {
                let chunk = try await source.read(at: next.offset, count: next.count)
                var frames = chunk[...]
                feeding: while true {
                    switch copy.feed(&frames) {
                    case .consumed: break feeding
                    case .stopped: break scan
                    case .flush:
                        try await handle.write(copy.buffer, at: copy.writeOffset)
                        copy.flushed()
                    }
                }
                if !copy.read(count: next.count, returned: chunk.count) { break }
            }
            if writes {
                if !copy.buffer.isEmpty {
                    try await handle.write(copy.buffer, at: copy.writeOffset)
                    copy.flushed()
                }
                if copy.hasTailPastCommit || tailOnDisk {
                    // An uncommitted tail (this pass's, or an earlier failed one's): never part
                    // of the shadow. The next pass reads it again from the WAL, because SQLite
                    // may still rewrite frames of an open transaction.
                    try await handle.truncate(to: copy.committed.end)
                    copy.tailCut()
                    tailOnDisk = false
                }
                if copy.committed.end > size { try await handle.sync() }
            }
        } catch {
            // Keep the transactions already written whole, once they are durable. Without this a
            // pass was all or nothing: under intermittent I/O errors a backlog longer than what
            // one pass copies between two errors was never copied, while the WAL (which the
            // replicator's read lock keeps from restarting) grew without bound (found by sluice
            // sim, default seed 23: one error in a hundred writes left 187 MB behind). Frames
            // written since the last commit stay as `partial` for the next pass to go on from
            // (default seed 93: a VACUUM's transaction never got through); anything past them is
            // cut first.
            let outcome = copy.afterFailure
            if !writes {
                // A scan keeps the committed prefix it validated, for `open` to go on from.
                (size, checksum, lastFrame) = (outcome.kept.end, outcome.kept.checksum, outcome.kept.lastFrame)
            } else {
                tailOnDisk = true
                if (try? await handle.truncate(to: outcome.keepTo)) != nil, (try? await handle.sync()) != nil {
                    (size, checksum, lastFrame) = (outcome.kept.end, outcome.kept.checksum, outcome.kept.lastFrame)
                    tailOnDisk = outcome.partial != nil
                    partial = outcome.partial
                }
            }
            throw error
        }
        (size, checksum, lastFrame) = (copy.committed.end, copy.committed.checksum, copy.committed.lastFrame)
        return copy.committedFrames
    }
}

extension WALHeader {
    public var frameSize: Int { WALFormat.frameSize(pageSize: pageSize) }
}
