extension FollowSession {
    /// The temp file a newer generation is restored into before its pages replace the output's.
    var nextGenerationPath: String { output + ".follow-next" }

    /// Plans the latest state afresh; if it lies in a newer generation, restores that into a
    /// temp file and commits every page of it to the output as one transaction. Returns whether
    /// it switched.
    ///
    /// The switch goes through the output's WAL like any step, not by renaming a new file over
    /// it: readers holding a snapshot keep the old state, the next transaction they start sees
    /// the new one, and no reader can pair the new file with the old file's WAL (a connection
    /// opened on the old file whose first query came after a rename would have read the new
    /// WAL's frames over the old file). The cost is the database's size in WAL, once.
    mutating func switchIfNewer(request: RestoreRequest) async throws -> Bool {
        let environment = follower.environment
        let restorer = Restorer(client: follower.client, environment: environment)
        var nextRequest = request
        nextRequest.outputPath = nextGenerationPath
        nextRequest.overwrite = true
        nextRequest.progress = nil
        let plan = try await restorer.plan(nextRequest)
        // Only forward: an older generation chosen (the current one's snapshots pruned meanwhile)
        // would take readers back in time.
        guard plan.generation > cursor.generation else { return false }
        environment.logger.info(
            "follow.generation",
            metadata: [
                "follow.from": "\(cursor.generation)", "follow.to": "\(plan.generation)",
                "follow.reason": "\(plan.reason)",
            ])
        let restored: RestoreReport
        do {
            restored = try await restorer.restore(plan, request: nextRequest)
            try await commitWhole(nextGenerationPath)
        } catch {
            try? await environment.fileSystem.remove(nextGenerationPath)
            throw error
        }
        try await environment.fileSystem.remove(nextGenerationPath)
        let position = restored.finalPosition
        cursor = position
        verifier = try await FollowSession.prime(position, client: follower.client, environment: environment)
        return true
    }

    /// Commits every page of the database at `path` to the output as one transaction, read in
    /// runs of up to 1 MiB.
    private func commitWhole(_ path: String) async throws {
        let fileSystem = follower.environment.fileSystem
        let handle = try await fileSystem.open(path, mode: .readOnly)
        do {
            let header = try await handle.read(at: 0, count: 100)
            let stored = header.count == 100 ? Int(header[16]) << 8 | Int(header[17]) : 0
            let pageSize = stored == 1 ? 65536 : stored
            guard pageSize == live.pageSize else {
                throw FollowError.pageSizeChanged(path: output, from: live.pageSize, to: pageSize)
            }
            let pageCount = UInt32(try await handle.size() / Int64(pageSize))
            let run = max(1, (1 << 20) / pageSize)
            var chunk: [UInt8] = []
            var chunkFirst: UInt32 = 0
            try await live.commit(pages: Array(1...pageCount), commitSize: pageCount) { page in
                if chunk.isEmpty || page >= chunkFirst + UInt32(chunk.count / pageSize) {
                    chunkFirst = page
                    chunk = try await handle.read(at: Int64(page - 1) * Int64(pageSize), count: run * pageSize)
                }
                let start = Int(page - chunkFirst) * pageSize
                guard chunk.count >= start + pageSize else {
                    throw FollowError.discontinuity(cursor, reason: "the restored generation ends inside page \(page)")
                }
                return chunk[start..<start + pageSize]
            }
            try await handle.close()
        } catch {
            try? await handle.close()
            throw error
        }
    }
}
