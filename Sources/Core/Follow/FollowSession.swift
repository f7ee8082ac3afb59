/// The follower's state between polls: the open output, where it stands, and the verifier of
/// the WAL index being followed, whose running checksum new segments must continue.
struct FollowSession {
    let follower: Follower
    let output: String
    var live: LiveWAL
    var cursor: Position
    var verifier: WALStreamVerifier

    private var environment: Environment { follower.environment }
    private var client: any ReplicaClient { follower.client }

    /// Opens the restored output at `position` and replays the current index's segments through
    /// a verifier (discarding the bytes) to learn where its checksum chain stands.
    static func start(_ position: Position, follower: Follower, output: String) async throws -> FollowSession {
        let live = try await LiveWAL.open(output, environment: follower.environment)
        do {
            let cursor = Position(generation: position.generation, index: position.index, offset: position.offset)
            let verifier = try await prime(cursor, client: follower.client, environment: follower.environment)
            return FollowSession(follower: follower, output: output, live: live, cursor: cursor, verifier: verifier)
        } catch {
            await live.close()
            throw error
        }
    }

    static func prime(
        _ cursor: Position, client: any ReplicaClient,
        environment: Environment
    ) async throws -> WALStreamVerifier {
        var verifier = WALStreamVerifier()
        guard cursor.offset > 0 else { return verifier }
        let segments = try await client.walSegments(in: cursor.generation).filter {
            $0.index == cursor.index && $0.offset < cursor.offset
        }
        let sink = DiscardingHandle(path: "/dev/null")
        let objects = ObjectDownloader(client: client, environment: environment)
        var end: UInt64 = 0
        for segment in segments {
            guard segment.offset == end else {
                throw FollowError.discontinuity(segment.position, reason: "the index's bytes end at \(end)")
            }
            end += try await objects.download(.walSegment(segment.position), into: sink, at: end, state: &verifier) {
                $0.consume($1)
            }.written
        }
        guard end == cursor.offset, case .valid = verifier.outcome else {
            throw FollowError.discontinuity(cursor, reason: "the listed segments hold \(end) bytes of the index")
        }
        return verifier
    }

    /// Downloads `segments`, checks that they continue the applied WAL, and commits their pages
    /// as one transaction. Returns false when nothing was applied (a download failed and is
    /// retried at the next poll, or a seal says the previous index is not complete yet).
    mutating func apply(_ segments: [WALSegmentInfo]) async throws -> Bool {
        let spoolPath = output + ".follow-wal"
        let spool = IndexSpool(
            path: spoolPath, fileSystem: environment.fileSystem,
            memoryLimit: follower.options.spoolMemoryLimit)
        var outcome: Result<Bool, any Error>
        do {
            let stopwatch = Stopwatch(environment.clock)
            if let downloaded = try await download(segments, into: spool) {
                let downloadTime = stopwatch.elapsed()
                if !downloaded.batch.writes.isEmpty { try await commit(downloaded.batch, from: spool) }
                environment.logger.debug(
                    "follow.applied",
                    metadata: [
                        "follow.segments": "\(segments.count)", "follow.frames": "\(downloaded.batch.frameCount)",
                        "follow.pages": "\(downloaded.batch.writes.count)", "follow.position": "\(downloaded.cursor)",
                        "follow.download_ms": "\(downloadTime.milliseconds)",
                        "follow.commit_ms": "\((stopwatch.elapsed() - downloadTime).milliseconds)",
                    ])
                cursor = downloaded.cursor
                verifier = downloaded.verifier
                outcome = .success(true)
            } else {
                outcome = .success(false)
            }
        } catch {
            outcome = .failure(error)
        }
        try? await spool.close()
        try? await environment.fileSystem.remove(spoolPath)
        switch outcome {
        case .success(let applied):
            return applied
        case .failure(let error as FollowError):
            throw error
        case .failure(let error as RestoreError) where error.isDamage:
            throw error
        case .failure(let error):
            if Task.isCancelled { throw CancellationError() }
            environment.logger.warning(
                "follow.step_failed",
                metadata: [
                    "follow.position": "\(cursor)", "follow.error": "\(error)",
                    "follow.next": "retried at the next poll; the output is unchanged",
                ])
            return false
        }
    }
}
