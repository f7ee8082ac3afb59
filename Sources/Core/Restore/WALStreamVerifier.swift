/// Checks a WAL index's bytes as they stream past, holding at most one frame in memory, and
/// records each accepted frame's page number and commit size (`frames`, eight bytes a frame) so
/// that restore can choose page versions without reading the WAL again.
///
/// SQLite replays a WAL only up to its first invalid frame and ignores frames after the last
/// commit, silently. A restore that relied on that would report reaching a position it never
/// reached, so restore verifies the same things first: a valid header, then frames whose salts
/// and running checksum hold, ending exactly on a commit frame.
public struct WALStreamVerifier: Sendable {
    /// The outcome once the stream has ended.
    public enum Outcome: Sendable, Equatable {
        /// All bytes are a header and whole valid frames, the last a commit (or no frames at all).
        case valid(frameCount: Int)
        /// A header or frame at `offset` is not valid: the bytes are corrupt or do not belong together.
        case corrupt(offset: UInt64, reason: String)
        /// Every whole frame is valid, but the bytes stop inside the header, a frame or a
        /// transaction; `checkedTo` is where the valid part ends (after the last commit frame
        /// when the stream ends inside a transaction).
        case unfinished(checkedTo: UInt64, reason: String)
    }

    private var header: WALHeader?
    private var validator: WALFrameValidator?
    private var pending: [UInt8] = []
    private var failure: (offset: UInt64, reason: String)?
    /// Bytes fed so far.
    public private(set) var byteCount: UInt64 = 0
    /// Bytes checked so far (header and whole frames).
    public private(set) var checkedCount: UInt64 = 0
    /// Frames accepted so far.
    public private(set) var frameCount = 0
    /// Whether the last accepted frame ended a transaction.
    public private(set) var endsOnCommit = true
    /// The byte just after the last commit frame (the header's end before any commit).
    public private(set) var lastCommitEnd: UInt64 = 0
    /// The header fields of every frame accepted so far; nil until the header is seen.
    public private(set) var frames: WALFrameTable?
    /// Whether `frames` is kept; `sluice verify` reads whole indexes and needs none of it.
    private let recordsFrames: Bool
    /// Commit ends not yet taken (`takeCommitEnds`), when asked to record them.
    private var commitEnds: [UInt64] = []
    private let recordsCommits: Bool

    /// - Parameters:
    ///   - recordsFrames: keep every frame's page number and commit size in `frames`.
    ///   - recordsCommits: keep the end of every commit frame until `takeCommitEnds` takes them.
    public init(recordsFrames: Bool = true, recordsCommits: Bool = false) {
        self.recordsFrames = recordsFrames
        self.recordsCommits = recordsCommits
    }

    /// The byte offsets just after each commit frame accepted since the last call.
    public mutating func takeCommitEnds() -> [UInt64] {
        defer { commitEnds.removeAll(keepingCapacity: true) }
        return commitEnds
    }

    /// The page size from the header, once seen.
    public var pageSize: Int? { header?.pageSize }

    /// Feeds the next bytes of the stream. Whole headers and frames are checked where they lie
    /// in `bytes`; only a header or frame split across calls is gathered in `pending`.
    public mutating func consume(_ bytes: ArraySlice<UInt8>) {
        byteCount += UInt64(bytes.count)
        guard failure == nil else { return }
        var input = bytes
        if !pending.isEmpty {
            let take = min(unitSize - pending.count, input.count)
            pending.append(contentsOf: input.prefix(take))
            input = input.dropFirst(take)
            guard pending.count == unitSize else { return }
            let unit = pending
            pending.removeAll(keepingCapacity: true)
            guard accept(unit[...]) else { return }
        }
        while input.count >= unitSize {
            // Taken before `accept`, which turns the unit size from the header's to a frame's.
            let size = unitSize
            guard accept(input.prefix(size)) else { return }
            input = input.dropFirst(size)
        }
        pending.append(contentsOf: input)
    }

    /// What the next check needs: the header, then one frame at a time.
    private var unitSize: Int { validator?.frameSize ?? WALFormat.headerSize }

    /// Checks one header or frame; false (with `failure` set) if it is not valid.
    private mutating func accept(_ unit: ArraySlice<UInt8>) -> Bool {
        if validator == nil {
            guard let parsed = WALHeader(unit) else {
                failure = (0, "the WAL header is not valid")
                return false
            }
            header = parsed
            validator = WALFrameValidator(header: parsed)
            frames = WALFrameTable(pageSize: parsed.pageSize)
            checkedCount = UInt64(WALFormat.headerSize)
            lastCommitEnd = checkedCount
            return true
        }
        guard let frame = validator!.accept(unit) else {
            failure = (checkedCount, Self.rejection(of: unit, frameNumber: frameCount + 1, header: header))
            return false
        }
        frameCount += 1
        if recordsFrames { frames?.append(page: frame.pageNumber, commitSize: frame.commitSize) }
        endsOnCommit = frame.isCommit
        checkedCount += UInt64(unit.count)
        if frame.isCommit {
            lastCommitEnd = checkedCount
            if recordsCommits { commitEnds.append(checkedCount) }
        }
        return true
    }

    /// Why the validator refused a whole frame: its salts, or its checksum.
    private static func rejection(of unit: ArraySlice<UInt8>, frameNumber: Int, header: WALHeader?) -> String {
        let frame = unit.withUnsafeBytes { WALFrameHeader($0) }
        if let header, frame.salt1 != header.salt1 || frame.salt2 != header.salt2 {
            return "frame \(frameNumber) has salts that differ from the WAL header's"
        }
        return "frame \(frameNumber) fails its checksum"
    }

    /// The verdict on everything fed so far, taken as the whole stream.
    public var outcome: Outcome {
        if let failure { return .corrupt(offset: failure.offset, reason: failure.reason) }
        if header == nil {
            return .unfinished(checkedTo: 0, reason: "the WAL ends inside its header after \(byteCount) bytes")
        }
        if checkedCount != byteCount {
            return .unfinished(checkedTo: lastCommitEnd, reason: "the WAL ends inside a frame")
        }
        if !endsOnCommit {
            return .unfinished(checkedTo: lastCommitEnd, reason: "the WAL ends inside a transaction")
        }
        return .valid(frameCount: frameCount)
    }
}
