/// The local shadow copy of one WAL index: the index's 32-byte header followed by exactly the
/// frames the replicator validated, up to the last commit frame it has seen.
///
/// Two rules make the shadow trustworthy (Litestream 7f81890, #474):
/// - Bytes are validated and written in one pass from one read; the WAL is never read twice
///   (a validating read followed by a copying read lets the WAL change in between).
/// - Frames go to disk as they are validated, in bounded chunks, so a transaction of any size
///   costs a fixed amount of memory. Frames past the last commit are cut off again at the end of
///   a pass: the shadow's size is always a commit boundary, and readers never see more.
/// - A pass writes a chunk when it is full and once at its end, not at every commit: a busy
///   database commits hundreds of times between two passes, and one write per commit was most
///   of the replicator's system calls.
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
    private var partial: PartialTransaction?
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

    /// Where a failed pass stopped inside a transaction. The next pass goes on from `end` if the
    /// WAL still holds `firstFrame` at `size` and `lastFrame` just before `end`. A transaction
    /// that was rolled back is overwritten from its first frame on, which the first comparison
    /// sees (stale frames of it may survive further on); SQLite's running checksum covers every
    /// frame in between, and a commit that rewrites an overwritten frame rewrites the checksums
    /// of all frames after it, which the second sees. Otherwise the pass starts again at `size`.
    /// Without this, a transaction longer than what one pass copies between two I/O errors was
    /// never copied at all.
    private struct PartialTransaction {
        var end: Int64
        var checksum: WALChecksum
        var frames: Int
        var firstFrame: [UInt8]
        var lastFrame: [UInt8]
    }

    public var frameCount: Int {
        Int((size - Int64(WALFormat.headerSize)) / Int64(header.frameSize))
    }

    private init(path: String, header: WALHeader, handle: any FileHandle, size: Int64,
                 checksum: WALChecksum, lastFrame: [UInt8]?) {
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
        return ShadowWAL(path: path, header: header, handle: handle, size: Int64(WALFormat.headerSize),
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
        let shadow = ShadowWAL(path: path, header: header, handle: handle, size: Int64(WALFormat.headerSize),
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

    /// The validating copy loop. With `writes == false` it only scans (start-up recovery of the
    /// shadow itself, where source and destination are the same file).
    private func append(from source: any FileHandle, sourceSize: Int64, chunkSize: Int, writes: Bool) async throws -> Int {
        let frameSize = header.frameSize
        let framesPerChunk = max(1, chunkSize / frameSize)
        // Reads start small and double up to a chunk. A WAL that SQLite restarted keeps its old
        // size while new frames overwrite it from the start, and the stale frames past them fail
        // validation: a pass that read a whole chunk every time read a chunk to find a few new
        // frames, several times a second on a quiet database (sluice sim, default seed 140: 1.9 GB
        // read to copy 34 MB).
        var framesPerRead = min(framesPerChunk, Self.firstReadFrames)
        var validator = WALFrameValidator(header: header, seed: checksum)
        var readOffset = size
        var writeOffset = size
        var pending: [UInt8] = []
        swap(&pending, &writeBuffer)
        defer {
            pending.removeAll(keepingCapacity: true)
            swap(&pending, &writeBuffer)
        }
        // What is on disk past the committed end, for a failed pass to leave as `partial`.
        var flushedEnd = size
        var flushedChecksum = checksum
        var flushedFrames = 0
        var flushedLastFrame: ArraySlice<UInt8> = []
        var flushedFirstUncommitted: ArraySlice<UInt8> = []
        var lastAppended: ArraySlice<UInt8> = []
        var firstUncommitted: ArraySlice<UInt8> = []
        pending.reserveCapacity(min(chunkSize, framesPerChunk * frameSize))
        var committedEnd = size
        var committedChecksum = checksum
        var committedLastFrame = lastFrame
        var committedFrames = 0
        var framesSinceCommit = 0
        // The last commit on disk (`committed` may still be in `pending`): what a failed pass keeps.
        var durableEnd = size
        var durableChecksum = checksum
        var durableLastFrame = lastFrame

        func flush() async throws {
            guard writes, !pending.isEmpty else { pending.removeAll(keepingCapacity: true); return }
            try await handle.write(pending, at: writeOffset)
            writeOffset += Int64(pending.count)
            pending.removeAll(keepingCapacity: true)
            // Always called right after a frame was appended: the validator is at `writeOffset`,
            // and everything seen so far, the last commit included, is now on disk.
            flushedEnd = writeOffset
            flushedChecksum = validator.checksum
            flushedFrames = framesSinceCommit
            flushedLastFrame = lastAppended
            flushedFirstUncommitted = firstUncommitted
            (durableEnd, durableChecksum, durableLastFrame) = (committedEnd, committedChecksum, committedLastFrame)
        }

        let resume = partial
        partial = nil
        do {
            if writes, let resume, resume.end <= sourceSize,
               try await source.read(at: size, count: frameSize) == resume.firstFrame,
               try await source.read(at: resume.end - Int64(frameSize), count: frameSize) == resume.lastFrame {
                validator = WALFrameValidator(header: header, seed: resume.checksum)
                readOffset = resume.end
                writeOffset = resume.end
                framesSinceCommit = resume.frames
                (flushedEnd, flushedChecksum, flushedFrames) = (resume.end, resume.checksum, resume.frames)
                flushedLastFrame = resume.lastFrame[...]
                firstUncommitted = resume.firstFrame[...]
                flushedFirstUncommitted = firstUncommitted
            }
            scan: while readOffset + Int64(frameSize) <= sourceSize {
                let wanted = min(framesPerRead, Int((sourceSize - readOffset) / Int64(frameSize)))
                let chunk = try await source.read(at: readOffset, count: wanted * frameSize)
                let frames = chunk.count / frameSize
                for i in 0..<frames {
                    let frame = chunk[(i * frameSize)..<((i + 1) * frameSize)]
                    guard let frameHeader = validator.accept(frame) else { break scan }
                    if writes { pending.append(contentsOf: frame) } else { writeOffset += Int64(frameSize) }
                    lastAppended = frame
                    if framesSinceCommit == 0 { firstUncommitted = frame }
                    framesSinceCommit += 1
                    if frameHeader.isCommit {
                        committedEnd = writeOffset + Int64(pending.count)
                        committedChecksum = validator.checksum
                        committedLastFrame = Array(frame)
                        committedFrames += framesSinceCommit
                        framesSinceCommit = 0
                    }
                    if pending.count >= chunkSize { try await flush() }
                }
                readOffset += Int64(frames * frameSize)
                if frames < wanted { break }
                framesPerRead = min(framesPerChunk, framesPerRead * 2)
            }

            if writes {
                try await flush()
                if writeOffset > committedEnd || tailOnDisk {
                    // An uncommitted tail (this pass's, or an earlier failed one's): never part
                    // of the shadow. The next pass reads it again from the WAL, because SQLite
                    // may still rewrite frames of an open transaction.
                    try await handle.truncate(to: committedEnd)
                    flushedEnd = committedEnd
                    tailOnDisk = false
                }
                if committedEnd > size { try await handle.sync() }
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
            let keepPartial = flushedEnd > durableEnd
            if writes { tailOnDisk = true }
            if writes, (try? await handle.truncate(to: keepPartial ? flushedEnd : durableEnd)) != nil,
               (try? await handle.sync()) != nil {
                size = durableEnd
                checksum = durableChecksum
                lastFrame = durableLastFrame
                tailOnDisk = keepPartial
                if keepPartial {
                    partial = PartialTransaction(end: flushedEnd, checksum: flushedChecksum, frames: flushedFrames,
                                                 firstFrame: Array(flushedFirstUncommitted), lastFrame: Array(flushedLastFrame))
                }
            }
            if !writes {
                // A scan keeps the committed prefix it validated, for `open` to go on from.
                size = committedEnd
                checksum = committedChecksum
                lastFrame = committedLastFrame
            }
            throw error
        }
        size = committedEnd
        checksum = committedChecksum
        lastFrame = committedLastFrame
        return committedFrames
    }
}

extension WALHeader {
    public var frameSize: Int { WALFormat.frameSize(pageSize: pageSize) }
}
