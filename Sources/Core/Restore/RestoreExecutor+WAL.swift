/// What applying a plan's WAL indexes did.
struct WALOutcome: Sendable {
    var applied: [UInt64] = []
    var position: Position
    var downloaded: Int64 = 0
    var writtenPages = 0
}

extension RestoreExecutor {
    /// Applies the plan's WAL indexes to `<out>.tmp` in batches: indexes are downloaded
    /// (verified on the way), their frame headers planned (`PageVersionPlanner`), and once
    /// `request.applyBatchBytes` of WAL wait on disk or `WALBatch.memoryLimit` in memory, or at
    /// the end, the latest version of every page in the batch is written (`PageWriter`) and the
    /// batch's files removed.
    func applyWAL(_ plan: RestorePlan, request: RestoreRequest, paths: RestorePaths, pageSize: Int) async throws
        -> WALOutcome
    {
        var outcome = WALOutcome(position: Position(generation: plan.generation, index: plan.snapshot.index, offset: 0))
        let database = try await fileSystem.open(paths.database, mode: .readWrite)
        do {
            try await WALDownloader.withDownloads(
                of: plan.indexes, generation: plan.generation, client: client, environment: environment,
                paths: paths, parallelism: request.parallelism, memoryLimit: request.indexMemoryLimit,
                progress: request.progress
            ) { downloader in
                var batch = WALBatch(pageSize: pageSize, generation: plan.generation)
                while let index = try await downloader.next() {
                    if batch.planner.frameCount + index.frames.count > PageVersionPlanner.maxFrames {
                        outcome.writtenPages += try await write(&batch, to: database, progress: request.progress)
                    }
                    try batch.add(index)
                    outcome.applied.append(index.index)
                    outcome.downloaded += index.compressedByteCount
                    outcome.position = Position(
                        generation: plan.generation, index: index.index, offset: index.byteCount)
                    if batch.heldBytes >= request.applyBatchBytes || batch.heldMemory >= WALBatch.memoryLimit {
                        outcome.writtenPages += try await write(&batch, to: database, progress: request.progress)
                    }
                }
                outcome.writtenPages += try await write(&batch, to: database, progress: request.progress)
            }
            try await database.close()
        } catch {
            try? await database.close()
            throw error
        }
        return outcome
    }

    /// Writes the batch's pages, removes its files and empties it.
    private func write(
        _ batch: inout WALBatch, to database: any FileHandle,
        progress: ProgressMeter?
    ) async throws -> Int {
        guard !batch.sources.isEmpty else { return 0 }
        let plan = batch.planner.plan()
        let written = try await PageWriter(fileSystem: fileSystem, generation: batch.generation)
            .apply(plan, sources: batch.sources, to: database)
        for source in batch.sources where source.bytes == nil { try await fileSystem.remove(source.path) }
        progress?.add(Int64(written) * Int64(batch.planner.pageSize), to: ProgressMeter.applied)
        environment.logger.debug(
            "restore.applied",
            metadata: [
                "restore.indexes": "\(batch.sources.count)", "restore.last": "\(batch.sources.last?.index ?? 0)",
                "restore.frames": "\(batch.planner.frameCount)", "restore.pages": "\(written)",
            ])
        batch = WALBatch(pageSize: batch.planner.pageSize, generation: batch.generation)
        return written
    }
}

/// Downloaded indexes whose pages are planned but not yet written.
struct WALBatch: Sendable {
    let generation: Generation
    var planner: PageVersionPlanner
    private(set) var sources: [DownloadedIndex] = []
    /// WAL bytes of the batch, in memory and on disk.
    private(set) var heldBytes: Int64 = 0
    /// WAL bytes of the batch's indexes held in memory.
    private(set) var heldMemory: Int64 = 0

    /// The most WAL bytes a batch holds in memory before its pages are written: 16 MiB.
    static let memoryLimit: Int64 = 16 << 20

    init(pageSize: Int, generation: Generation) {
        self.generation = generation
        planner = PageVersionPlanner(pageSize: pageSize)
    }

    /// Plans `index`'s frames; it must apply exactly the frames the verifier counted.
    mutating func add(_ index: DownloadedIndex) throws {
        let applied: Int
        do {
            applied = try planner.add(index.frames)
        } catch {
            throw restoreError(error, index: index)
        }
        guard applied == index.frameCount else {
            throw RestoreError.walNotApplied(
                generation: generation, index: index.index,
                expectedFrames: index.frameCount, appliedFrames: applied)
        }
        sources.append(index)
        heldBytes += Int64(index.byteCount)
        if index.bytes != nil { heldMemory += Int64(index.byteCount) }
    }

    private func restoreError(_ error: PageVersionPlanner.PlanError, index: DownloadedIndex) -> RestoreError {
        switch error {
        case .pageSizeMismatch(_, let walPageSize, let databasePageSize):
            return .pageSizeMismatch(
                generation: generation, index: index.index,
                walPageSize: walPageSize, databasePageSize: databasePageSize)
        case .zeroPage(_, let frame):
            return .invalidWAL(
                generation: generation, index: index.index,
                offset: UInt64(index.frames.pageOffset(frame)) - UInt64(WALFormat.frameHeaderSize),
                reason: "frame \(frame + 1) names page 0")
        }
    }
}
