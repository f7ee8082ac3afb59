extension FollowSession {
    /// The temp file a newer generation is restored into before it replaces the output.
    var nextGenerationPath: String { output + ".follow-next" }

    /// Plans the latest state afresh; if it lies in another generation, restores that into a
    /// temp file and swaps it in for the output. Returns whether it switched.
    ///
    /// The swap is a rename, so readers with the old file open keep reading it. It waits until
    /// a checkpoint has emptied the old WAL: a reader opening the output by name in the instant
    /// of the swap then finds no frames of the old file to lay over the new one.
    mutating func switchIfNewer(request: RestoreRequest) async throws -> Bool {
        let environment = follower.environment
        let restorer = Restorer(client: follower.client, environment: environment)
        var nextRequest = request
        nextRequest.outputPath = nextGenerationPath
        nextRequest.overwrite = true
        let plan = try await restorer.plan(nextRequest)
        // Only forward: an older generation chosen (the current one's snapshots pruned meanwhile)
        // would take readers back in time.
        guard plan.generation > cursor.generation else { return false }
        environment.logger.info("follow.generation", metadata: [
            "follow.from": "\(cursor.generation)", "follow.to": "\(plan.generation)", "follow.reason": "\(plan.reason)",
        ])
        let restored = try await restorer.restore(plan, request: nextRequest)
        do {
            try await waitForEmptyWAL()
            try await environment.fileSystem.rename(nextGenerationPath, to: output)
            try await environment.fileSystem.syncDirectory(Path.directory(of: output))
        } catch {
            try? await environment.fileSystem.remove(nextGenerationPath)
            throw error
        }
        // The old file's WAL and wal-index are empty; the new file gets its own.
        await live.close()
        for companion in RestorePaths(output: output).outputCompanions {
            try await environment.fileSystem.remove(companion)
        }
        self = try await FollowSession.start(restored.finalPosition, follower: follower, output: output)
        return true
    }

    /// Checkpoints until the WAL is empty; readers holding snapshots that need its frames delay
    /// that, and the follower waits for them a poll interval at a time.
    private func waitForEmptyWAL() async throws {
        var logged = false
        while try await !live.checkpoint() {
            if !logged {
                follower.environment.logger.notice("follow.waiting", metadata: [
                    "follow.reason": "readers still use the old generation's WAL; the switch waits for them to finish",
                ])
                logged = true
            }
            try await follower.environment.clock.sleep(for: follower.options.interval)
        }
    }
}
