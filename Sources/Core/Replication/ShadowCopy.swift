/// The decisions of one shadow copy pass, without I/O: fed the bytes a pass reads from the WAL,
/// it validates frames, says where to read next and when its buffer must be written, and what
/// the shadow holds after the pass or after a failure. `ShadowWAL` is its I/O edge.
///
/// A pass writes the buffer when it holds a chunk and once at its end, not at every commit: a
/// busy database commits hundreds of times between two passes, and one write per commit was
/// most of the replicator's system calls. So three ends are tracked: the last commit seen, the
/// last commit written (what a failed pass keeps), and the end of what was written (frames of an
/// unfinished transaction past that commit, which a failed pass keeps as a `Partial`).
struct ShadowCopy {
    /// A committed end of the shadow: its size, the running checksum there, and the frame before it.
    struct Commit: Equatable {
        var end: Int64
        var checksum: WALChecksum
        var lastFrame: [UInt8]?
    }

    /// Where a failed pass stopped inside a transaction. The next pass goes on from `end` if the
    /// WAL still holds `firstFrame` at the committed end and `lastFrame` just before `end`. A
    /// transaction that was rolled back is overwritten from its first frame on, which the first
    /// comparison sees (stale frames of it may survive further on); SQLite's running checksum
    /// covers every frame in between, and a commit that rewrites an overwritten frame rewrites
    /// the checksums of all frames after it, which the second sees. Otherwise the pass starts
    /// again at the committed end. Without this, a transaction longer than what one pass copies
    /// between two I/O errors was never copied at all.
    struct Partial: Equatable {
        var end: Int64
        var checksum: WALChecksum
        var frames: Int
        var firstFrame: [UInt8]
        var lastFrame: [UInt8]
    }

    /// What `feed` stopped at.
    enum Fed: Equatable {
        /// Every frame given was taken; read on if the read was whole.
        case consumed
        /// The buffer holds a chunk: write `buffer` at `writeOffset`, call `flushed()`, then feed
        /// the rest, which `feed` left in its argument.
        case flush
        /// A frame failed validation: the WAL ends here for this pass.
        case stopped
    }

    let frameSize: Int
    let chunkSize: Int
    /// Whether frames are written (a copy) or only validated (a scan of the shadow itself).
    let writes: Bool
    private var validator: WALFrameValidator
    private var framesPerRead: Int
    private let framesPerChunk: Int
    private(set) var readOffset: Int64
    /// Where `buffer` goes when it is written.
    private(set) var writeOffset: Int64
    /// Validated frames not yet written.
    private(set) var buffer: [UInt8]

    private(set) var committed: Commit
    private(set) var committedFrames = 0
    /// The last commit written: what a failed pass keeps.
    private var durable: Commit
    private var framesSinceCommit = 0
    // Slices of the reads they came from: no copy per frame.
    private var lastAppended: ArraySlice<UInt8> = []
    private var firstUncommitted: ArraySlice<UInt8> = []
    /// End of what was written, and the state there.
    private var flushedEnd: Int64
    private var flushedChecksum: WALChecksum
    private var flushedFrames = 0
    private var flushedLastFrame: ArraySlice<UInt8> = []
    private var flushedFirstUncommitted: ArraySlice<UInt8> = []

    /// - Parameters:
    ///   - start: the shadow's committed end.
    ///   - firstReadFrames: frames of the first read; later reads double up to a chunk. A WAL
    ///     that SQLite restarted keeps its old size while new frames overwrite it from the start,
    ///     and the stale frames past them fail validation: a pass that read a whole chunk every
    ///     time read a chunk to find a few new frames, several times a second on a quiet database
    ///     (sluice sim, default seed 140: 1.9 GB read to copy 34 MB).
    ///   - buffer: storage to reuse for the write buffer (emptied, capacity kept).
    init(header: WALHeader, start: Commit, chunkSize: Int, writes: Bool, firstReadFrames: Int, buffer: [UInt8]) {
        frameSize = header.frameSize
        self.chunkSize = chunkSize
        self.writes = writes
        framesPerChunk = max(1, chunkSize / frameSize)
        framesPerRead = min(framesPerChunk, firstReadFrames)
        validator = WALFrameValidator(header: header, seed: start.checksum)
        readOffset = start.end
        writeOffset = start.end
        committed = start
        durable = start
        flushedEnd = start.end
        flushedChecksum = start.checksum
        self.buffer = buffer
        self.buffer.removeAll(keepingCapacity: true)
        if writes { self.buffer.reserveCapacity(min(chunkSize, framesPerChunk * frameSize)) }
    }

    /// Goes on from a failed pass's frames (the caller checked the WAL still holds them).
    mutating func resume(_ partial: Partial) {
        validator = WALFrameValidator(header: validator.header, seed: partial.checksum)
        readOffset = partial.end
        writeOffset = partial.end
        framesSinceCommit = partial.frames
        (flushedEnd, flushedChecksum, flushedFrames) = (partial.end, partial.checksum, partial.frames)
        flushedLastFrame = partial.lastFrame[...]
        firstUncommitted = partial.firstFrame[...]
        flushedFirstUncommitted = firstUncommitted
    }

    /// The next read of the WAL, or nil when the frames it holds are all read.
    func nextRead(sourceSize: Int64) -> (offset: Int64, count: Int)? {
        guard readOffset + Int64(frameSize) <= sourceSize else { return nil }
        let wanted = min(framesPerRead, Int((sourceSize - readOffset) / Int64(frameSize)))
        return (readOffset, wanted * frameSize)
    }

    /// Takes the frames of a read from the front of `frames`, stopping early when the buffer must
    /// be written (`.flush`, the rest left in `frames`) or a frame fails validation.
    mutating func feed(_ frames: inout ArraySlice<UInt8>) -> Fed {
        while frames.count >= frameSize {
            let frame = frames.prefix(frameSize)
            guard let frameHeader = validator.accept(frame) else { return .stopped }
            frames.removeFirst(frameSize)
            readOffset += Int64(frameSize)
            if writes { buffer.append(contentsOf: frame) } else { writeOffset += Int64(frameSize) }
            lastAppended = frame
            if framesSinceCommit == 0 { firstUncommitted = frame }
            framesSinceCommit += 1
            if frameHeader.isCommit {
                committed = Commit(
                    end: writeOffset + Int64(buffer.count), checksum: validator.checksum, lastFrame: Array(frame))
                committedFrames += framesSinceCommit
                framesSinceCommit = 0
            }
            if buffer.count >= chunkSize { return .flush }
        }
        return .consumed
    }

    /// A read of `count` bytes returned `returned`: fewer means the WAL ended. Doubles the next read.
    mutating func read(count: Int, returned: Int) -> Bool {
        framesPerRead = min(framesPerChunk, framesPerRead * 2)
        return returned >= count
    }

    /// The buffer was written at `writeOffset`: everything fed so far, the last commit included,
    /// is on disk.
    mutating func flushed() {
        writeOffset += Int64(buffer.count)
        buffer.removeAll(keepingCapacity: true)
        flushedEnd = writeOffset
        flushedChecksum = validator.checksum
        flushedFrames = framesSinceCommit
        flushedLastFrame = lastAppended
        flushedFirstUncommitted = firstUncommitted
        durable = committed
    }

    /// After the last write of a successful pass: whether the file holds bytes past the last
    /// commit (this pass's unfinished transaction), which are cut, since SQLite may still
    /// rewrite frames of an open transaction.
    var hasTailPastCommit: Bool { writeOffset > committed.end }

    /// The file was cut back to the last commit after the pass's last write: nothing past it is
    /// on disk any more, so a failure from here on (the sync that follows) keeps that commit and
    /// no partial transaction. Keeping the frames the cut removed as a partial made the failure
    /// path extend the file over them with zeros, and the next pass resumed past the hole.
    mutating func tailCut() {
        precondition(buffer.isEmpty, "the tail is cut only after the pass's last write")
        writeOffset = committed.end
        flushedEnd = committed.end
        flushedChecksum = committed.checksum
        flushedFrames = 0
        durable = committed
    }

    /// What a failed pass keeps: the last commit written, and the frames written after it as a
    /// partial transaction when there are any (cut to `keepTo`, then synced).
    var afterFailure: (kept: Commit, keepTo: Int64, partial: Partial?) {
        guard writes else { return (committed, committed.end, nil) }
        guard flushedEnd > durable.end else { return (durable, durable.end, nil) }
        let partial = Partial(
            end: flushedEnd, checksum: flushedChecksum, frames: flushedFrames,
            firstFrame: Array(flushedFirstUncommitted), lastFrame: Array(flushedLastFrame))
        return (durable, flushedEnd, partial)
    }
}
