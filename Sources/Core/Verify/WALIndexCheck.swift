/// Checks one WAL index as its segments stream past, in order, holding at most one frame:
/// each segment must start where the bytes so far end, and the bytes must be a valid WAL (header,
/// salts, the checksum chain across segments) ending on a commit, with the generation's page size.
///
/// A plain value: the I/O layer feeds it decompressed bytes and reports what went wrong reading
/// an object; it says what it found. After the first finding the rest of the index is skipped
/// (nothing after a break in the chain can be checked).
public struct WALIndexCheck: Sendable {
    public let generation: Generation
    public let index: UInt64
    /// The page size the generation's first snapshot has; nil when unknown.
    public let expectedPageSize: Int?
    private var verifier = WALStreamVerifier(recordsFrames: false, recordsCommits: true)
    /// Where each segment began in the index's bytes, with its key: to name the one a bad frame is in.
    private var starts: [(offset: UInt64, key: String)] = []
    public private(set) var findings: [VerifyFinding] = []
    /// The index's length so far (decompressed bytes of the segments read).
    public private(set) var length: UInt64 = 0
    private var pageSizeChecked = false

    public init(generation: Generation, index: UInt64, expectedPageSize: Int?) {
        self.generation = generation
        self.index = index
        self.expectedPageSize = expectedPageSize
    }

    /// Whether a finding stopped the check.
    public var isStopped: Bool { !findings.isEmpty }

    /// Frames accepted so far.
    public var frameCount: Int { verifier.frameCount }

    /// Starts a segment; false (with a finding) when it does not begin where the last one ended.
    public mutating func begin(_ segment: WALSegmentInfo, key: String) -> Bool {
        guard !isStopped else { return false }
        // Segments end after a commit: one that stops inside a frame or a transaction is itself
        // damaged, and the next one leaves no gap.
        if segment.offset > length, let previous = starts.last,
            case .unfinished(let checkedTo, let reason) = verifier.outcome
        {
            fail(
                .invalidWAL, key: previous.key,
                "\(reason): its last whole transaction ends at \(hex16(checkedTo)) of \(hex16(length)) bytes, "
                    + "and the next segment starts at \(hex16(segment.offset))")
            return false
        }
        if segment.offset != length {
            let overlap = segment.offset < length
            findings.append(
                VerifyFinding(
                    .problem, overlap ? .overlap : .gap, generation: generation, object: key,
                    message: overlap
                        ? "overlaps the previous segment: it starts at offset \(hex16(segment.offset)), "
                            + "but the index already reaches \(hex16(length))"
                        : "leaves a gap: it starts at offset \(hex16(segment.offset)), "
                            + "but the previous segments end at \(hex16(length)); a segment is lost"))
            return false
        }
        starts.append((segment.offset, key))
        return true
    }

    /// Feeds decompressed bytes of the current segment; returns the commit ends they completed.
    @discardableResult
    public mutating func consume(_ bytes: ArraySlice<UInt8>) -> [UInt64] {
        guard !isStopped else { return [] }
        length += UInt64(bytes.count)
        verifier.consume(bytes)
        if !pageSizeChecked, let pageSize = verifier.pageSize {
            pageSizeChecked = true
            if let expectedPageSize, expectedPageSize != pageSize {
                fail(
                    .pageSizeMismatch, key: starts.first?.key ?? VerifyObjectKey.index(generation, index: index),
                    "the WAL has \(pageSize)-byte pages but the generation's snapshot has "
                        + "\(expectedPageSize)-byte pages")
            }
        }
        if case .corrupt(let offset, let reason) = verifier.outcome {
            fail(.invalidWAL, key: key(at: offset), "\(reason) (at WAL offset \(hex16(offset)) of the index)")
        }
        return verifier.takeCommitEnds()
    }

    /// Records a failure to read the current segment (corrupt LZ4, a bad leading frame, gone).
    public mutating func fail(
        _ kind: VerifyFinding.Kind, key: String, _ message: String,
        severity: VerifyFinding.Severity = .problem
    ) {
        guard !isStopped else { return }
        findings.append(VerifyFinding(severity, kind, generation: generation, object: key, message: message))
    }

    /// Ends the index: its bytes must end on a commit frame.
    public mutating func finish() {
        guard !isStopped, !starts.isEmpty else { return }
        if case .unfinished(let checkedTo, let reason) = verifier.outcome {
            fail(
                .unfinishedWAL, key: starts[starts.count - 1].key,
                "\(reason): the index's last whole transaction ends at \(hex16(checkedTo)) of \(hex16(length)) bytes")
        }
    }

    /// The segment holding byte `offset` of the index.
    private func key(at offset: UInt64) -> String {
        starts.last { $0.offset <= offset }?.key ?? starts.first?.key ?? VerifyObjectKey.index(generation, index: index)
    }
}
