import Core

/// Invariant 9 (DESIGN §7): a shadow index, once closed, equals the committed prefix of the
/// source WAL as it stood when the WAL restarted, and the next index begins with the header
/// of the lifetime that followed.
///
/// It watches the app machine's disk (`SimDiskObserver`). Just before a write changes the
/// source WAL's header, a truncate cuts its committed frames, or an unlink removes it, the WAL's
/// bytes are kept as a `WALLifetime`, keyed by its header; the header written next is that
/// lifetime's successor. When the replicator writes the header of shadow index i+1 of a
/// generation, index i is closed (the replicator never appends to it again, and replicas take
/// its file size as its end): its bytes must equal the committed prefix of the lifetime with its
/// header, and the new header must be that lifetime's successor. A shadow missing a commit the
/// WAL held (a stall window between copying and acting), holding one it did not, or an index
/// that skips a lifetime, breaks it.
///
/// Observations read the disk directly, with no scheduling point and no draw, so every seed's
/// trace is as it was without the oracle.
///
/// Power loss: the disk's crash cuts live state and the replicator dies with the machine. A
/// shadow index is only ever closed by the replicator process that saw its WAL lifetime end, so
/// no check needs a lifetime from before a crash; the records are dropped then (a resurrected
/// header, its durable bytes kept by the crash, later ends again with other frames).
// @unchecked: touched only with the app disk's lock held, on the simulator's one thread.
final class ShadowIndexOracle: SimDiskObserver, @unchecked Sendable {
    /// Lifetimes kept: more end only while the replicator is down or not holding its read lock
    /// (each restart otherwise waits for the replicator to copy the lifetime before it).
    static let keptLifetimes = 8

    let walPath: String
    /// The generations directory, with a trailing slash.
    let shadowRoot: String
    private let report: (InvariantViolation) -> Void
    // Touched only with the app disk locked, on the simulator thread.
    private var lifetimes: [WALLifetime] = []
    /// True when the last lifetime ended without a new header (a truncate or an unlink): the
    /// next header written to the empty WAL is its successor.
    private var awaitingSuccessor = false
    /// Shadow indexes checked so far.
    private(set) var checkedIndexes = 0

    /// - Parameter report: Told of each broken promise; it must not throw or suspend.
    init(state: LocalState, report: @escaping (InvariantViolation) -> Void) {
        walPath = state.walPath
        shadowRoot = state.generationsDirectory + "/"
        self.report = report
    }

    func willWrite(_ file: ObservedFile, bytes: UnsafeRawBufferPointer, at offset: Int, on disk: SimDisk) {
        guard offset < WALFormat.headerSize else { return }
        if file.path == walPath {
            walHeaderWillChange(file, bytes: bytes, at: offset, on: disk)
        } else if offset == 0, file.file.size == 0, bytes.count >= WALFormat.headerSize, file.path.hasPrefix(shadowRoot)
        {
            shadowWillBegin(file.path, header: Array(bytes.prefix(WALFormat.headerSize)), on: disk)
        }
    }

    func willTruncate(_ file: ObservedFile, to size: Int, on disk: SimDisk) {
        guard file.path == walPath, disk.liveFileNode(at: walPath)?.node == file.node,
            let header = WALLifetime.header(of: file.file.live)
        else { return }
        let lifetime = WALLifetime(header: header, bytes: file.file.live)
        // A cut that keeps every committed frame leaves the lifetime as it was.
        if size >= WALFormat.headerSize && size >= lifetime.committedLength() { return }
        end(lifetime)
    }

    func willUnlink(_ file: ObservedFile, on disk: SimDisk) {
        guard file.path == walPath, let header = WALLifetime.header(of: file.file.live) else { return }
        end(WALLifetime(header: header, bytes: file.file.live))
    }

    func diskDidCrash() {
        lifetimes = []
        awaitingSuccessor = false
    }

    // MARK: - The source WAL

    private func walHeaderWillChange(
        _ file: ObservedFile, bytes: UnsafeRawBufferPointer, at offset: Int, on disk: SimDisk
    ) {
        guard disk.liveFileNode(at: walPath)?.node == file.node else { return }
        let live = file.file.live
        var before = [UInt8](repeating: 0, count: WALFormat.headerSize)
        let held = before.withUnsafeMutableBytes { live.read(at: 0, into: $0) }
        var after = before
        for position in offset..<min(WALFormat.headerSize, offset + bytes.count) {
            after[position] = bytes[position - offset]
        }
        guard after != before || held < WALFormat.headerSize else { return }
        let next = WALHeader(after)?.bytes
        if held == WALFormat.headerSize, let current = WALHeader(before) {
            end(WALLifetime(header: current, bytes: live, successor: next))
        } else if awaitingSuccessor, let next, !lifetimes.isEmpty {
            lifetimes[lifetimes.count - 1].successor = next
            awaitingSuccessor = false
        }
    }

    private func end(_ lifetime: WALLifetime) {
        lifetimes.append(lifetime)
        if lifetimes.count > Self.keptLifetimes { lifetimes.removeFirst(lifetimes.count - Self.keptLifetimes) }
        awaitingSuccessor = lifetime.successor == nil
    }

    // MARK: - Shadow indexes

    /// The replicator is writing the header of a shadow file: if it is index i+1 of a
    /// generation, index i is closed now.
    private func shadowWillBegin(_ path: String, header: [UInt8], on disk: SimDisk) {
        let parts = path.dropFirst(shadowRoot.count).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[1] == "wal", let generation = Generation(String(parts[0])),
            let index = LocalState.parseShadowName(String(parts[2])), index > 0
        else { return }
        let closedPath = Path.join(shadowRoot + parts[0] + "/wal", Hex.format(index - 1, width: 16) + ".wal")
        guard let closed = disk.liveFileNode(at: closedPath)?.file.live else { return }
        checkedIndexes += 1
        let name = "generation \(generation) shadow index \(index - 1)"
        guard let closedHeader = WALLifetime.header(of: closed) else {
            report(.shadowIndexDiffers("\(name) was closed without a valid WAL header (\(closed.count) bytes)"))
            return
        }
        guard let match = lifetimes.lastIndex(where: { $0.header.bytes == closedHeader.bytes }) else {
            report(
                .shadowIndexDiffers(
                    "\(name) was closed (index \(index) begins), but no lifetime of the source WAL with its header (salts \(closedHeader.salt1), \(closedHeader.salt2)) has ended"
                ))
            return
        }
        let lifetime = lifetimes[match]
        let length = lifetime.committedLength()
        if closed.count != length || closed.firstDifference(from: lifetime.bytes, upTo: length) != nil {
            let difference =
                closed.firstDifference(from: lifetime.bytes, upTo: min(closed.count, length))
                ?? min(closed.count, length)
            let frame = (difference - WALFormat.headerSize) / closedHeader.frameSize
            report(
                .shadowIndexDiffers(
                    "\(name) holds \(closed.count) bytes (\(Self.frames(closed.count, closedHeader)) frames), the source WAL's committed prefix when it restarted held \(length) bytes (\(Self.frames(length, closedHeader)) frames); they differ from byte \(difference)\(difference >= WALFormat.headerSize ? " (frame \(frame))" : "")"
                ))
        } else if lifetime.successor != header {
            let successor =
                lifetime.successor.flatMap { WALHeader($0) }.map { "salts \($0.salt1), \($0.salt2)" } ?? "none yet"
            let begun = WALHeader(header).map { "salts \($0.salt1), \($0.salt2)" } ?? "an invalid header"
            report(
                .shadowIndexDiffers(
                    "shadow index \(index) of generation \(generation) begins with \(begun), but the source WAL lifetime after index \(index - 1)'s began with \(successor): a lifetime was skipped"
                ))
        }
        // Lifetimes before the matched one can close no later index of any generation.
        lifetimes.removeFirst(match)
    }

    private static func frames(_ length: Int, _ header: WALHeader) -> Int {
        max(0, length - WALFormat.headerSize) / header.frameSize
    }
}
