/// One WAL index downloaded, decompressed and verified, ready to apply.
public struct DownloadedIndex: Sendable, Equatable {
    public var index: UInt64
    /// The temp file holding the index's WAL bytes when `bytes` is nil; the consumer reads its
    /// pages from it.
    public var path: String
    /// The index's WAL bytes, when it was small enough to stay in memory (`IndexSpool`).
    public var bytes: [UInt8]?
    /// WAL bytes in the file (header and frames).
    public var byteCount: UInt64
    /// Frames in the file; the restore must apply exactly this many.
    public var frameCount: Int
    /// Every frame's page number and commit size, as the verifier accepted them.
    public var frames: WALFrameTable
    /// Compressed bytes read from the replica.
    public var compressedByteCount: Int64
    /// Where the previous index ended, as its first segment records (`WALIndexSeal`).
    public var seal: WALIndexSeal?
    /// Whether the file holds the whole index as listed (no position limit cut it).
    public var isWhole: Bool

    public init(
        index: UInt64, path: String, bytes: [UInt8]? = nil, byteCount: UInt64, frameCount: Int,
        frames: WALFrameTable, compressedByteCount: Int64, seal: WALIndexSeal? = nil, isWhole: Bool = true
    ) {
        self.index = index
        self.path = path
        self.bytes = bytes
        self.byteCount = byteCount
        self.frameCount = frameCount
        self.frames = frames
        self.compressedByteCount = compressedByteCount
        self.seal = seal
        self.isWhole = isWhole
    }
}

/// Downloads WAL indexes in parallel and hands them over strictly in index order.
///
/// Shape (after Litestream v0.4-dev's `WALDownloader`, with the v0.3 hazards fixed):
/// - At most `parallelism` indexes are downloading or waiting ahead of the consumer (in memory
///   up to `memoryLimit` each, on disk past it), so disk and memory use are bounded however long
///   the history is.
/// - A worker reads its index's segments one after the other, each streamed to its end before
///   the next is opened: v0.3.13 opened every segment of an index at once and idle bodies timed
///   out on indexes with thousands of segments (Litestream #585).
/// - Each segment must start exactly where the bytes so far end; v0.3.13 only checked that
///   offsets grew, so a missing middle segment silently truncated the WAL.
/// - The bytes must form a valid WAL ending on a commit (`WALStreamVerifier`), because SQLite
///   would silently stop at the first bad frame.
/// - An index whose first segment records where the previous one ended (`WALIndexSeal`) is
///   handed over only if the previous index, as downloaded, is exactly that long: a lost last
///   segment leaves an index that still ends on a commit, and nothing else would notice it.
/// - An error for index k reaches the consumer when it asks for k, never earlier and without
///   waiting for later indexes; nothing after k is handed over.
///
/// Everything runs in one task group under the caller's task, so child tasks inherit the
/// simulator's executor preference. Every temp file is removed by the time
/// `withDownloads` returns: the consumer must be done with the files before its body returns.
// @unchecked: its vars belong to the one consumer task; the continuations are thread-safe.
public final class WALDownloader: @unchecked Sendable {
    // `results` is iterated by the one consumer task only; the continuations are thread-safe.
    private var results: AsyncThrowingStream<DownloadedIndex, any Error>.AsyncIterator
    private let requests: AsyncStream<Void>.Continuation
    private let expectedCount: Int
    private let generation: Generation
    private var deliveredCount = 0
    private var isFinished = false
    private var lastDelivered: DownloadedIndex?

    /// The default `memoryLimit`: 1 MiB.
    public static let defaultMemoryLimit = 1 << 20

    private init(
        results: AsyncThrowingStream<DownloadedIndex, any Error>, requests: AsyncStream<Void>.Continuation,
        expectedCount: Int, generation: Generation
    ) {
        self.results = results.makeAsyncIterator()
        self.requests = requests
        self.expectedCount = expectedCount
        self.generation = generation
    }

    /// The next index in order, or nil once every planned index has been handed over.
    /// - Throws: the error that stopped this index's download (a `RestoreError`, a
    ///   `ReplicaClientError`, a local file error), or `CancellationError`.
    public func next() async throws -> DownloadedIndex? {
        guard !isFinished else { return nil }
        guard deliveredCount < expectedCount else {
            isFinished = true
            return nil
        }
        requests.yield(())
        do {
            guard let downloaded = try await results.next() else {
                // The stream only ends early when the task was cancelled.
                isFinished = true
                throw CancellationError()
            }
            try checkSeal(of: downloaded)
            deliveredCount += 1
            lastDelivered = downloaded
            return downloaded
        } catch {
            isFinished = true
            throw error
        }
    }

    /// Checks `downloaded`'s seal against the index handed over before it.
    private func checkSeal(of downloaded: DownloadedIndex) throws {
        guard let seal = downloaded.seal, let previous = lastDelivered, previous.index == seal.previousIndex,
            previous.isWhole, previous.byteCount != seal.previousEnd
        else { return }
        throw RestoreError.walIndexIncomplete(
            generation: generation, index: previous.index,
            listedEnd: previous.byteCount, sealedEnd: seal.previousEnd)
    }

    /// Runs `body` with a downloader for `indexes` of `generation`.
    /// - Parameters:
    ///   - indexes: consecutive indexes from a `RestorePlan`.
    ///   - paths: where temp files go (`RestorePaths.downloadedWAL(index:)`).
    ///   - parallelism: how many indexes may be in flight or waiting; at least 1.
    ///   - maxAttempts: tries per segment on transient read errors.
    ///   - memoryLimit: an index up to this many bytes is handed over in memory, a longer one in
    ///     its temp file (`IndexSpool`).
    public static func withDownloads<Result: Sendable>(
        of indexes: [IndexPlan], generation: Generation, client: any ReplicaClient,
        environment: Environment, paths: RestorePaths, parallelism: Int, maxAttempts: Int = 3,
        memoryLimit: Int = WALDownloader.defaultMemoryLimit, progress: ProgressMeter? = nil,
        body: (WALDownloader) async throws -> Result
    ) async throws -> Result {
        precondition(parallelism >= 1, "parallelism must be at least 1")
        precondition(maxAttempts >= 1, "maxAttempts must be at least 1")
        let (resultStream, resultContinuation) = AsyncThrowingStream<DownloadedIndex, any Error>.makeStream()
        let (requestStream, requestContinuation) = AsyncStream<Void>.makeStream()
        let downloader = WALDownloader(
            results: resultStream, requests: requestContinuation, expectedCount: indexes.count,
            generation: generation)
        let producer = Producer(
            indexes: indexes, generation: generation, paths: paths, parallelism: parallelism,
            memoryLimit: memoryLimit, fileSystem: environment.fileSystem,
            objects: ObjectDownloader(
                client: client, environment: environment, maxAttempts: maxAttempts,
                progress: progress))

        let outcome: Swift.Result<Result, any Error> = await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await producer.run(requests: requestStream, results: resultContinuation)
            }
            let outcome: Swift.Result<Result, any Error>
            do {
                outcome = .success(try await body(downloader))
            } catch {
                outcome = .failure(error)
            }
            requestContinuation.finish()
            group.cancelAll()
            await group.waitForAll()
            return outcome
        }
        for plan in indexes {
            try? await environment.fileSystem.remove(paths.downloadedWAL(index: plan.index))
        }
        return try outcome.get()
    }
}

/// The coordinator: starts workers inside the window and hands results over in order.
private struct Producer: Sendable {
    let indexes: [IndexPlan]
    let generation: Generation
    let paths: RestorePaths
    let parallelism: Int
    let memoryLimit: Int
    let fileSystem: any FileSystem
    let objects: ObjectDownloader

    func run(requests: AsyncStream<Void>, results: AsyncThrowingStream<DownloadedIndex, any Error>.Continuation) async {
        var requestIterator = requests.makeAsyncIterator()
        await withTaskGroup(of: (Int, Result<DownloadedIndex, any Error>).self) { workers in
            var nextToStart = 0
            var nextToDeliver = 0
            var ready: [Int: Result<DownloadedIndex, any Error>] = [:]
            defer { workers.cancelAll() }
            while nextToDeliver < indexes.count {
                // Keep the window full: at most `parallelism` indexes beyond what was handed over.
                while nextToStart < indexes.count && nextToStart < nextToDeliver + parallelism {
                    let position = nextToStart
                    workers.addTask { (position, await download(indexes[position])) }
                    nextToStart += 1
                }
                // Hand over only when asked, so finished files wait on disk, not in a buffer.
                guard await requestIterator.next() != nil else {
                    results.finish()
                    return
                }
                while ready[nextToDeliver] == nil {
                    guard let (position, result) = await workers.next() else {
                        results.finish(throwing: CancellationError())
                        return
                    }
                    ready[position] = result
                }
                switch ready.removeValue(forKey: nextToDeliver)! {
                case .success(let downloaded):
                    results.yield(downloaded)
                    nextToDeliver += 1
                case .failure(let error):
                    results.finish(throwing: error)
                    return
                }
            }
            results.finish()
        }
    }

    /// Downloads one index into memory or its temp file; on failure removes the file.
    private func download(_ plan: IndexPlan) async -> Result<DownloadedIndex, any Error> {
        let path = paths.downloadedWAL(index: plan.index)
        do {
            let handle = IndexSpool(path: path, fileSystem: fileSystem, memoryLimit: memoryLimit)
            do {
                var downloaded = try await download(plan, into: handle, path: path)
                try await handle.close()
                downloaded.bytes = handle.bytes
                return .success(downloaded)
            } catch {
                try? await handle.close()
                throw error
            }
        } catch {
            try? await fileSystem.remove(path)
            return .failure(error)
        }
    }

    /// ` in WAL segment <position>`: the segment holding byte `offset` of its index.
    private static func segment(holding offset: UInt64, in starts: [WALSegmentInfo]) -> String {
        guard let segment = starts.last(where: { $0.offset <= offset }) ?? starts.first else { return "" }
        return " in \(ReplicaObject.walSegment(segment.position))"
    }

    private func download(_ plan: IndexPlan, into handle: any FileHandle, path: String) async throws -> DownloadedIndex
    {
        var verifier = WALStreamVerifier()
        var written: UInt64 = 0
        var compressed: Int64 = 0
        var seal: WALIndexSeal?
        // Where each segment began, so an invalid frame is reported with the object it is in.
        var starts: [WALSegmentInfo] = []
        for segment in plan.segments {
            if let limit = plan.byteLimit, written >= limit { break }
            // Segments are sequential: open one, stream it to its end, then the next.
            guard segment.offset == written else {
                // Segments end after a commit: one that stops inside a frame or a transaction is
                // itself damaged, and what follows it is no gap.
                if segment.offset > written, case .unfinished(let checkedTo, let reason) = verifier.outcome {
                    throw RestoreError.invalidWAL(
                        generation: generation, index: plan.index, offset: checkedTo,
                        reason: reason + Self.segment(holding: written, in: starts))
                }
                throw RestoreError.walGap(
                    generation: generation, index: plan.index, expectedOffset: written, foundOffset: segment.offset)
            }
            starts.append(segment)
            let stats = try await objects.download(
                .walSegment(segment.position), into: handle, at: written, limit: plan.byteLimit.map { $0 - written },
                state: &verifier
            ) { verifier, chunk in verifier.consume(chunk) }
            written += stats.written
            compressed += stats.compressed
            if segment.offset == 0 { seal = stats.seal }
        }
        try Task.checkCancellation()

        let target = Position(generation: generation, index: plan.index, offset: plan.byteLimit ?? written)
        if let limit = plan.byteLimit, written < limit {
            throw RestoreError.positionNotReplicated(target, replicatedEnd: written)
        }
        switch verifier.outcome {
        case .valid(let frameCount):
            guard let frames = verifier.frames else { preconditionFailure("a valid WAL has a header") }
            return DownloadedIndex(
                index: plan.index, path: path, byteCount: written, frameCount: frameCount,
                frames: frames, compressedByteCount: compressed, seal: seal, isWhole: plan.byteLimit == nil)
        case .corrupt(let offset, let reason):
            throw RestoreError.invalidWAL(
                generation: generation, index: plan.index, offset: offset,
                reason: reason + Self.segment(holding: offset, in: starts))
        case .unfinished(let checkedTo, let reason):
            if plan.byteLimit != nil { throw RestoreError.notACommitBoundary(target) }
            throw RestoreError.invalidWAL(
                generation: generation, index: plan.index, offset: checkedTo,
                reason: reason + Self.segment(holding: written, in: starts))
        }
    }
}
