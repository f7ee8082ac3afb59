/// Carries out a `RestorePlan`: snapshot into `<out>.tmp`, then the latest version of every
/// page the WAL indexes hold written straight into it (`PageVersionPlanner`, `PageWriter`),
/// optional integrity check, one fsync, then one rename onto the output.
///
/// Nothing partial is ever left behind: the output appears only complete and synced, and on any
/// error every temp file is removed.
///
/// The WAL is applied as SQLite's checkpoints would apply it, so the restore must refuse what
/// SQLite would have refused or ignored: a snapshot that is not an SQLite database, one in
/// rollback-journal mode (SQLite ignores a WAL beside it: `snapshotNotWALMode`), a WAL whose
/// page size differs from the database's, a frame for page 0, frames past an index's last
/// commit (`walNotApplied`). Salts, checksums and commit boundaries are checked as the bytes
/// stream in (`WALStreamVerifier`), and index seals by the downloader.
struct RestoreExecutor: Sendable {
    let client: any ReplicaClient
    let environment: Environment

    var fileSystem: any FileSystem { environment.fileSystem }

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

    private func build(_ plan: RestorePlan, request: RestoreRequest, paths: RestorePaths) async throws -> RestoreReport
    {
        environment.logger.debug(
            "restore.start",
            metadata: [
                "restore.output": "\(request.outputPath)", "restore.generation": "\(plan.generation)",
                "restore.snapshot": "\(plan.snapshot.index)", "restore.indexes": "\(plan.indexes.count)",
            ])
        request.progress?.setTotal(plan.downloadByteCount)
        let snapshot = try await downloadSnapshot(
            plan, paths: paths, needsWALMode: !plan.isSnapshotOnly,
            progress: request.progress)
        var outcome = WALOutcome(position: Position(generation: plan.generation, index: plan.snapshot.index, offset: 0))
        if !plan.isSnapshotOnly {
            outcome = try await applyWAL(plan, request: request, paths: paths, pageSize: snapshot.pageSize)
        }
        if request.integrityCheck { try await checkIntegrity(paths) }
        try await publish(paths, overwrite: request.overwrite)
        return RestoreReport(
            outputPath: request.outputPath, generation: plan.generation, snapshotIndex: plan.snapshot.index,
            appliedIndexes: outcome.applied, finalPosition: outcome.position,
            downloadedByteCount: snapshot.compressed + outcome.downloaded, writtenPageCount: outcome.writtenPages)
    }

    /// Streams the snapshot into `<out>.tmp` (synced only once, before the rename); returns the
    /// compressed bytes read and the database's page size.
    private func downloadSnapshot(
        _ plan: RestorePlan, paths: RestorePaths, needsWALMode: Bool,
        progress: ProgressMeter?
    ) async throws -> (compressed: Int64, pageSize: Int) {
        let object = ReplicaObject.snapshot(generation: plan.generation, index: plan.snapshot.index)
        let handle = try await fileSystem.open(paths.database, mode: .truncate)
        var header: [UInt8] = []
        let stats: DownloadStats
        do {
            stats = try await ObjectDownloader(client: client, environment: environment, progress: progress).download(
                object, into: handle, at: 0, state: &header
            ) { header, chunk in
                if header.count < 100 { header.append(contentsOf: chunk.prefix(100 - header.count)) }
            }
            try await handle.close()
        } catch {
            try? await handle.close()
            throw error
        }
        progress?.add(Int64(stats.written), to: ProgressMeter.applied)
        // Bytes 18 and 19 of the database header are the write and read versions: 2 means WAL.
        guard header.count == 100, header.starts(with: Array("SQLite format 3\0".utf8)) else {
            throw RestoreError.corruptObject(object: "\(client.location): \(object)", reason: "not an SQLite database")
        }
        if needsWALMode && (header[18] != 2 || header[19] != 2) {
            throw RestoreError.snapshotNotWALMode(generation: plan.generation, index: plan.snapshot.index)
        }
        // Bytes 16 and 17 are the page size, big-endian; 1 stands for 65536.
        let pageSize = Int(header[16]) << 8 | Int(header[17])
        return (stats.compressed, pageSize == 1 ? 65536 : pageSize)
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
