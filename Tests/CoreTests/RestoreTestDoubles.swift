import CLZ4
import Logging
import Synchronization
import Testing

@testable import Core

// Test doubles for restore: an in-memory file system, an in-memory replica that counts open
// streams and injects failures, and a builder of valid WAL bytes.

/// Files in memory. Thread-safe, because downloader workers write to it from several tasks.
final class MemoryFileSystem: FileSystem, Sendable {
    let files = Mutex<[String: [UInt8]]>([:])
    let directories = Mutex<Set<String>>(["/", "/out"])

    func contents(_ path: String) -> [UInt8]? { files.withLock { $0[path] } }
    var paths: [String] { files.withLock { $0.keys.sorted() } }

    func open(_ path: String, mode: FileOpenMode) async throws -> any FileHandle {
        try files.withLock { files in
            switch mode {
            case .readOnly, .readWrite:
                guard files[path] != nil else { throw FileSystemError.notFound(path: path) }
            case .create:
                if files[path] == nil { files[path] = [] }
            case .createNew:
                guard files[path] == nil else { throw FileSystemError.alreadyExists(path: path) }
                files[path] = []
            case .truncate:
                files[path] = []
            }
        }
        return MemoryFileHandle(path: path, fileSystem: self)
    }

    func stat(_ path: String) async throws -> FileStat? {
        if directories.withLock({ $0.contains(path) }) {
            return FileStat(size: 0, isDirectory: true, modified: Timestamp(millisecondsSince1970: 0))
        }
        return files.withLock { $0[path] }.map {
            FileStat(size: Int64($0.count), isDirectory: false, modified: Timestamp(millisecondsSince1970: 0))
        }
    }

    func remove(_ path: String) async throws { _ = files.withLock { $0.removeValue(forKey: path) } }
    func removeTree(_ path: String) async throws { files.withLock { $0 = $0.filter { !$0.key.hasPrefix(path + "/") } } }

    func rename(_ source: String, to target: String) async throws {
        try files.withLock { files in
            guard let bytes = files.removeValue(forKey: source) else { throw FileSystemError.notFound(path: source) }
            files[target] = bytes
        }
    }

    func createDirectory(_ path: String) async throws { _ = directories.withLock { $0.insert(path) } }
    func list(_ path: String) async throws -> [String] {
        files.withLock { $0.keys.filter { Path.directory(of: $0) == path }.map { Path.base(of: $0) }.sorted() }
    }
    func syncDirectory(_ path: String) async throws {}
}

final class MemoryFileHandle: FileHandle, Sendable {
    let path: String
    let fileSystem: MemoryFileSystem

    init(path: String, fileSystem: MemoryFileSystem) {
        self.path = path
        self.fileSystem = fileSystem
    }

    func read(at offset: Int64, count: Int) async throws -> [UInt8] {
        let bytes = fileSystem.contents(path) ?? []
        let start = min(Int(offset), bytes.count)
        return Array(bytes[start..<min(bytes.count, start + count)])
    }

    func write(_ bytes: [UInt8], at offset: Int64) async throws {
        fileSystem.files.withLock { files in
            var file = files[path] ?? []
            let end = Int(offset) + bytes.count
            if file.count < end { file.append(contentsOf: repeatElement(0, count: end - file.count)) }
            file.replaceSubrange(Int(offset)..<end, with: bytes)
            files[path] = file
        }
    }

    func size() async throws -> Int64 { Int64(fileSystem.contents(path)?.count ?? 0) }
    func truncate(to size: Int64) async throws {
        fileSystem.files.withLock { files in
            var file = files[path] ?? []
            if file.count > Int(size) {
                file.removeLast(file.count - Int(size))
            } else {
                file.append(contentsOf: repeatElement(0, count: Int(size) - file.count))
            }
            files[path] = file
        }
    }
    func sync() async throws {}
    func close() async throws {}
}

/// What an in-memory replica does when an object is opened or read.
enum ObjectBehaviour: Sendable {
    /// Each read waits this long first.
    case slow(Duration)
    /// The first `count` opens fail with a transient error.
    case failOpens(count: Int)
    /// The first `count` streams fail with a transient error after their first chunk.
    case failMidRead(count: Int)
}

/// A replica held in memory, storing objects already LZ4-compressed, that records how many
/// streams are open at once (in total and per WAL index).
final class MemoryReplicaClient: ReplicaClient, Sendable {
    struct State {
        var snapshots: [SnapshotInfo: [UInt8]] = [:]
        var segments: [Position: (info: WALSegmentInfo, bytes: [UInt8])] = [:]
        var behaviours: [Position: ObjectBehaviour] = [:]
        var opens: [Position: Int] = [:]
        var openNow = 0
        var maxOpenNow = 0
        var openPerIndex: [UInt64: Int] = [:]
        var maxOpenPerIndex = 0
        /// Set: opens spool (see `spoolOpens`), with this many failed transfers first.
        var failedTransfersPerOpen: Int?
    }

    let state = Mutex(State())
    var kind: String { "memory" }
    var location: String { "memory://replica" }

    func addSnapshot(
        _ generation: Generation, index: UInt64, raw: [UInt8], at time: Timestamp = Timestamp(millisecondsSince1970: 0)
    ) {
        let info = SnapshotInfo(generation: generation, index: index, size: 0, createdAt: time)
        state.withLock { $0.snapshots[info] = compressFrame(raw) }
    }

    /// Stores a segment; `compressed` overrides the LZ4 encoding (for corrupt objects).
    func addSegment(
        _ position: Position, raw: [UInt8], compressed: [UInt8]? = nil,
        at time: Timestamp = Timestamp(millisecondsSince1970: 0)
    ) {
        let bytes = compressed ?? compressFrame(raw)
        let info = WALSegmentInfo(
            generation: position.generation, index: position.index, offset: position.offset,
            size: Int64(bytes.count), createdAt: time)
        state.withLock { $0.segments[position] = (info, bytes) }
    }

    func setBehaviour(_ behaviour: ObjectBehaviour, at position: Position) {
        state.withLock { $0.behaviours[position] = behaviour }
    }

    /// Makes every open land the object's bytes on `ObjectProgress.current` before it returns a
    /// source, as the S3 and SFTP clients' spools do; each open first makes `failedTransfers`
    /// transfers that land half the object and fail (a retry inside the client).
    func spoolOpens(failedTransfers: Int = 0) {
        state.withLock { $0.failedTransfersPerOpen = failedTransfers }
    }

    private func spool(_ bytes: [UInt8]) {
        guard let failed = state.withLock({ $0.failedTransfersPerOpen }), let progress = ObjectProgress.current else {
            return
        }
        for _ in 0..<failed {
            progress.landed(bytes.count / 2)
            progress.transferFailed()
        }
        progress.landed(bytes.count)
    }

    func opens(of position: Position) -> Int { state.withLock { $0.opens[position] ?? 0 } }
    var maxOpenStreams: Int { state.withLock { $0.maxOpenNow } }
    var openStreams: Int { state.withLock { $0.openNow } }
    var maxOpenStreamsPerIndex: Int { state.withLock { $0.maxOpenPerIndex } }

    func generations() async throws -> [Generation] {
        state.withLock { Set($0.snapshots.keys.map(\.generation)).union($0.segments.keys.map(\.generation)).sorted() }
    }
    func snapshots(in generation: Generation) async throws -> [SnapshotInfo] {
        state.withLock { $0.snapshots.keys.filter { $0.generation == generation } }
    }
    func walSegments(in generation: Generation) async throws -> [WALSegmentInfo] {
        state.withLock { $0.segments.values.map(\.info).filter { $0.generation == generation } }
    }

    func writeSnapshot(generation: Generation, index: UInt64, data: any ByteSource) async throws -> SnapshotInfo {
        let info = SnapshotInfo(
            generation: generation, index: index, size: 0, createdAt: Timestamp(millisecondsSince1970: 0))
        let bytes = try await data.readToEnd()
        state.withLock { $0.snapshots[info] = bytes }
        return info
    }
    func writeWALSegment(at position: Position, data: any ByteSource) async throws -> WALSegmentInfo {
        let bytes = try await data.readToEnd()
        let info = WALSegmentInfo(
            generation: position.generation, index: position.index, offset: position.offset,
            size: Int64(bytes.count), createdAt: Timestamp(millisecondsSince1970: 0))
        state.withLock { $0.segments[position] = (info, bytes) }
        return info
    }

    func openSnapshot(generation: Generation, index: UInt64) async throws -> any ByteSource {
        let bytes = state.withLock { s in
            s.snapshots.first { $0.key.generation == generation && $0.key.index == index }?.value
        }
        guard let bytes else { throw ReplicaClientError.notFound(replica: location, key: "snapshot \(index)") }
        spool(bytes)
        return BytesSource(bytes)
    }

    func openWALSegment(at position: Position) async throws -> any ByteSource {
        let (bytes, behaviour, attempt): ([UInt8]?, ObjectBehaviour?, Int) = state.withLock { s in
            s.opens[position, default: 0] += 1
            return (s.segments[position]?.bytes, s.behaviours[position], s.opens[position]!)
        }
        guard let bytes else { throw ReplicaClientError.notFound(replica: location, key: "\(position)") }
        if case .failOpens(let count) = behaviour, attempt <= count {
            throw ReplicaClientError.unavailable(replica: location, reason: "connection reset")
        }
        var failAfterFirstChunk = false
        if case .failMidRead(let count) = behaviour, attempt <= count { failAfterFirstChunk = true }
        var delay: Duration = .zero
        if case .slow(let duration) = behaviour { delay = duration }
        spool(bytes)
        state.withLock { s in
            s.openNow += 1
            s.maxOpenNow = max(s.maxOpenNow, s.openNow)
            s.openPerIndex[position.index, default: 0] += 1
            s.maxOpenPerIndex = max(s.maxOpenPerIndex, s.openPerIndex[position.index]!)
        }
        return TrackedSource(bytes: bytes, delay: delay, failAfterFirstChunk: failAfterFirstChunk) { [self] in
            state.withLock { s in
                s.openNow -= 1
                s.openPerIndex[position.index]! -= 1
            }
        }
    }

    func deleteSnapshot(generation: Generation, index: UInt64) async throws {}
    func deleteWALSegments(_ positions: [Position]) async throws {}
    func deleteGeneration(_ generation: Generation) async throws {}
}

/// A stream that can be slow or break, and reports its close once.
// @unchecked: read by one task at a time (ByteSource's contract).
final class TrackedSource: ByteSource, @unchecked Sendable {
    private let inner: BytesSource
    private let delay: Duration
    private var failAfterFirstChunk: Bool
    private var chunks = 0
    private var onClose: (() -> Void)?

    init(bytes: [UInt8], delay: Duration, failAfterFirstChunk: Bool, onClose: @escaping () -> Void) {
        inner = BytesSource(bytes)
        self.delay = delay
        self.failAfterFirstChunk = failAfterFirstChunk
        self.onClose = onClose
    }

    func read(upTo maxCount: Int) async throws -> [UInt8] {
        if delay > .zero { try await Task.sleep(for: delay) }
        if failAfterFirstChunk && chunks == 1 {
            throw ReplicaClientError.unavailable(replica: "memory://replica", reason: "connection closed")
        }
        chunks += 1
        // Small chunks, so a stream takes several reads.
        return try await inner.read(upTo: min(maxCount, 64))
    }

    func close() async {
        onClose?()
        onClose = nil
    }
}

/// Builds valid WAL bytes: a header and frames with correct salts and running checksums.
struct WALBuilder {
    let pageSize: Int
    let salt1: UInt32
    let salt2: UInt32
    private(set) var bytes: [UInt8]
    private var checksum: WALChecksum

    init(pageSize: Int = 512, salt1: UInt32 = 0x1111_2222, salt2: UInt32 = 0x3333_4444) {
        self.pageSize = pageSize
        self.salt1 = salt1
        self.salt2 = salt2
        var header = [UInt8](repeating: 0, count: 32)
        Self.put(WALFormat.magicLittleEndian, &header, 0)
        Self.put(WALFormat.formatVersion, &header, 4)
        Self.put(UInt32(pageSize), &header, 8)
        Self.put(0, &header, 12)
        Self.put(salt1, &header, 16)
        Self.put(salt2, &header, 20)
        var sum = WALChecksum()
        sum.update(header[0..<24], bigEndian: false)
        Self.put(sum.s0, &header, 24)
        Self.put(sum.s1, &header, 28)
        bytes = header
        checksum = sum
    }

    /// Appends one frame for `page` filled with `fill`; `commitSize` non-zero ends a transaction.
    mutating func frame(page: UInt32, fill: UInt8, commitSize: UInt32) {
        var header = [UInt8](repeating: 0, count: 24)
        Self.put(page, &header, 0)
        Self.put(commitSize, &header, 4)
        Self.put(salt1, &header, 8)
        Self.put(salt2, &header, 12)
        let pageBytes = [UInt8](repeating: fill, count: pageSize)
        checksum.update(header[0..<8], bigEndian: false)
        checksum.update(pageBytes[...], bigEndian: false)
        Self.put(checksum.s0, &header, 16)
        Self.put(checksum.s1, &header, 20)
        bytes += header + pageBytes
    }

    /// Appends a transaction of `pages` frames, the last a commit.
    mutating func transaction(pages: Int, fill: UInt8) {
        for page in 1...pages { frame(page: UInt32(page), fill: fill, commitSize: page == pages ? UInt32(pages) : 0) }
    }

    var frameSize: Int { 24 + pageSize }

    private static func put(_ value: UInt32, _ bytes: inout [UInt8], _ offset: Int) {
        bytes[offset] = UInt8(truncatingIfNeeded: value >> 24)
        bytes[offset + 1] = UInt8(truncatingIfNeeded: value >> 16)
        bytes[offset + 2] = UInt8(truncatingIfNeeded: value >> 8)
        bytes[offset + 3] = UInt8(truncatingIfNeeded: value)
    }
}

struct FixedWallClock: WallClock {
    func now() -> Timestamp { Timestamp(millisecondsSince1970: 1_704_067_200_000) }
}

/// An opener for tests that never touch SQLite.
struct NoSQLite: SQLiteOpener {
    func open(_ path: String, options: SQLiteOpenOptions) async throws -> any SQLiteConnection {
        throw SQLiteError(code: 1, message: "no SQLite in this test", context: path)
    }
}

func testEnvironment(fileSystem: any FileSystem, sqlite: any SQLiteOpener = NoSQLite()) -> Environment {
    Environment(
        fileSystem: fileSystem, clock: ContinuousClock(), wallClock: FixedWallClock(),
        random: SplitMix64(seed: 1), sqlite: sqlite, logger: Logger(label: "restore-tests"))
}

/// One LZ4 frame of `bytes`, made with liblz4's one-shot call. `LZ4FrameEncoder` reserves a
/// 1 MiB bound per call, which takes about half a second in a debug build; fixtures make many.
func compressFrame(_ bytes: [UInt8]) -> [UInt8] {
    var preferences = LZ4F_preferences_t()
    preferences.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled
    let bound = LZ4F_compressFrameBound(bytes.count, &preferences)
    var output = [UInt8](repeating: 0, count: bound)
    let written = output.withUnsafeMutableBytes { out in
        bytes.withUnsafeBytes { inp in
            LZ4F_compressFrame(out.baseAddress, bound, inp.baseAddress, inp.count, &preferences)
        }
    }
    precondition(LZ4F_isError(written) == 0, "LZ4F_compressFrame failed")
    return Array(output.prefix(written))
}
