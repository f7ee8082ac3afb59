/// Carries out a `RestorePlan`: snapshot into `<out>.tmp`, each WAL index applied through SQLite
/// in order, optional integrity check, then one rename onto the output.
///
/// Nothing partial is ever left behind: the output appears only complete and synced, and on any
/// error every temp file is removed.
///
/// Assumption: Sluice snapshots WAL-mode databases (file header bytes 18 and 19 equal 2), so
/// SQLite looks for `<out>.tmp-wal` when it opens `<out>.tmp`. A snapshot in rollback-journal
/// mode would have its WAL ignored; that is refused (`snapshotNotWALMode`) rather than patched.
struct RestoreExecutor: Sendable {
    let client: any ReplicaClient
    let environment: Environment

    private var fileSystem: any FileSystem { environment.fileSystem }

    /// Refuses an output that exists (unless overwriting) or whose directory is missing.
    func checkOutput(_ request: RestoreRequest) async throws {
        let directory = Path.directory(of: request.outputPath)
        guard let stat = try await fileSystem.stat(directory), stat.isDirectory else {
            throw RestoreError.outputDirectoryMissing(path: directory)
        }
        if !request.overwrite, try await fileSystem.stat(request.outputPath) != nil {
            throw RestoreError.outputExists(path: request.outputPath)
        }
    }

    func execute(_ plan: RestorePlan, request: RestoreRequest) async throws -> RestoreReport {
        try await checkOutput(request)
        let paths = RestorePaths(output: request.outputPath)
        await removeTemporaries(paths, plan: plan)
        do {
            return try await build(plan, request: request, paths: paths)
        } catch {
            await removeTemporaries(paths, plan: plan)
            throw error
        }
    }

    private func build(_ plan: RestorePlan, request: RestoreRequest, paths: RestorePaths) async throws -> RestoreReport {
        environment.logger.debug("restore.start", metadata: [
            "restore.output": "\(request.outputPath)", "restore.generation": "\(plan.generation)",
            "restore.snapshot": "\(plan.snapshot.index)", "restore.indexes": "\(plan.indexes.count)",
        ])
        var downloaded = try await downloadSnapshot(plan, paths: paths, needsWALMode: !plan.isSnapshotOnly)

        // Apply each index in order as the downloader hands it over.
        var applied: [UInt64] = []
        var finalPosition = Position(generation: plan.generation, index: plan.snapshot.index, offset: 0)
        if !plan.isSnapshotOnly {
            try await WALDownloader.withDownloads(
                of: plan.indexes, generation: plan.generation, client: client, environment: environment,
                paths: paths, parallelism: request.parallelism
            ) { downloader in
                while let index = try await downloader.next() {
                    try await apply(index, generation: plan.generation, paths: paths)
                    applied.append(index.index)
                    downloaded += index.compressedByteCount
                    finalPosition = Position(generation: plan.generation, index: index.index, offset: index.byteCount)
                }
            }
        }

        if request.integrityCheck { try await checkIntegrity(paths) }
        try await publish(paths, overwrite: request.overwrite)
        return RestoreReport(
            outputPath: request.outputPath, generation: plan.generation, snapshotIndex: plan.snapshot.index,
            appliedIndexes: applied, finalPosition: finalPosition, downloadedByteCount: downloaded)
    }

    /// Streams the snapshot into `<out>.tmp` and syncs it; returns the compressed bytes read.
    private func downloadSnapshot(_ plan: RestorePlan, paths: RestorePaths, needsWALMode: Bool) async throws -> Int64 {
        let object = ReplicaObject.snapshot(generation: plan.generation, index: plan.snapshot.index)
        let handle = try await fileSystem.open(paths.database, mode: .truncate)
        var header: [UInt8] = []
        let stats: DownloadStats
        do {
            stats = try await ObjectDownloader(client: client, environment: environment).download(
                object, into: handle, at: 0, state: &header
            ) { header, chunk in
                if header.count < 100 { header.append(contentsOf: chunk.prefix(100 - header.count)) }
            }
            try await handle.sync()
            try await handle.close()
        } catch {
            try? await handle.close()
            throw error
        }
        // Bytes 18 and 19 of the database header are the write and read versions: 2 means WAL.
        guard header.count == 100, header.starts(with: Array("SQLite format 3\0".utf8)) else {
            throw RestoreError.corruptObject(object: "\(client.location): \(object)", reason: "not an SQLite database")
        }
        if needsWALMode && (header[18] != 2 || header[19] != 2) {
            throw RestoreError.snapshotNotWALMode(generation: plan.generation, index: plan.snapshot.index)
        }
        return stats.compressed
    }

    /// Moves an index's WAL beside `<out>.tmp` and checkpoints it in.
    private func apply(_ index: DownloadedIndex, generation: Generation, paths: RestorePaths) async throws {
        try await fileSystem.rename(index.path, to: paths.wal)
        let connection = try await environment.sqlite.open(paths.database, options: SQLiteOpenOptions())
        do {
            // PASSIVE first, to learn how many frames SQLite took from the WAL (TRUNCATE reports
            // zeros once it has reset the log); with no other connection it copies them all.
            // `checkpoint` opens and recovers the WAL itself on a fresh connection (a header read
            // outside a transaction); a WAL it did not recover shows as a frame count that
            // differs from the index's, below. No schema read: nothing here needs the schema, and
            // parsing it again for every index was a cost on every restore.
            let passive = try await connection.checkpoint(.passive)
            guard passive.walFrames == index.frameCount, passive.checkpointedFrames == passive.walFrames else {
                let applied = passive.walFrames != index.frameCount ? passive.walFrames : passive.checkpointedFrames
                throw RestoreError.walNotApplied(generation: generation, index: index.index,
                                                 expectedFrames: index.frameCount, appliedFrames: max(0, applied))
            }
            let truncate = try await connection.checkpoint(.truncate)
            guard !truncate.busy, !passive.busy else { throw RestoreError.checkpointBusy(generation: generation, index: index.index) }
            try await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }
        // The WAL was checkpointed and truncated, so whatever SQLite left behind holds nothing.
        try await fileSystem.remove(paths.wal)
        try await fileSystem.remove(paths.sharedMemory)
        environment.logger.debug("restore.applied", metadata: [
            "restore.index": "\(index.index)", "restore.frames": "\(index.frameCount)",
        ])
    }

    private func checkIntegrity(_ paths: RestorePaths) async throws {
        let connection = try await environment.sqlite.open(paths.database, options: SQLiteOpenOptions())
        let rows: [[SQLiteValue]]
        do {
            rows = try await connection.query("PRAGMA integrity_check")
            try await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }
        try await fileSystem.remove(paths.wal)
        try await fileSystem.remove(paths.sharedMemory)
        guard rows == [[.text("ok")]] else {
            let details = rows.prefix(5).map { $0.first?.textValue ?? "?" }.joined(separator: "; ")
            throw RestoreError.integrityCheckFailed(details: details.isEmpty ? "no result" : details)
        }
    }

    /// Syncs `<out>.tmp` and renames it onto the output, clearing SQLite companions that would
    /// otherwise be replayed onto the restored file.
    private func publish(_ paths: RestorePaths, overwrite: Bool) async throws {
        let handle = try await fileSystem.open(paths.database, mode: .readWrite)
        do {
            try await handle.sync()
            try await handle.close()
        } catch {
            try? await handle.close()
            throw error
        }
        // Check again: something may have created the output while the restore ran.
        if !overwrite, try await fileSystem.stat(paths.output) != nil {
            throw RestoreError.outputExists(path: paths.output)
        }
        for companion in paths.outputCompanions { try await fileSystem.remove(companion) }
        try await fileSystem.rename(paths.database, to: paths.output)
        try await fileSystem.syncDirectory(Path.directory(of: paths.output))
    }

    private func removeTemporaries(_ paths: RestorePaths, plan: RestorePlan) async {
        for path in paths.fixedTemporaries { try? await fileSystem.remove(path) }
        for index in plan.indexes { try? await fileSystem.remove(paths.downloadedWAL(index: index.index)) }
    }
}
