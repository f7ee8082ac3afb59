/// A step's segments downloaded and verified, not yet committed.
struct DownloadedStep {
    var batch: FollowBatch
    var cursor: Position
    var verifier: WALStreamVerifier
}

extension FollowSession {
    /// Streams `segments` into `spool`, through the verifier of their index, and gathers their
    /// frames. Stops before a segment that does not start where the bytes so far end (the rest
    /// waits for the next poll). Nil when nothing can be applied yet; a step whose segments hold
    /// no frame (an index's header alone) moves the cursor and commits nothing.
    func download(_ segments: [WALSegmentInfo], into spool: any FileHandle) async throws -> DownloadedStep? {
        var step = DownloadedStep(batch: FollowBatch(), cursor: cursor, verifier: verifier)
        let objects = ObjectDownloader(client: follower.client, environment: follower.environment)
        var spoolEnd: UInt64 = 0
        for segment in segments {
            var next = (cursor: step.cursor, verifier: step.verifier)
            if segment.index != step.cursor.index {
                precondition(
                    segment.index == step.cursor.index + 1 && segment.offset == 0,
                    "FollowDecision runs indexes in order")
                next = (
                    Position(generation: step.cursor.generation, index: segment.index, offset: 0),
                    WALStreamVerifier()
                )
            }
            guard segment.offset == next.cursor.offset else { break }
            let framesBefore = next.verifier.frameCount
            let stats = try await objects.download(
                .walSegment(segment.position), into: spool, at: spoolEnd,
                state: &next.verifier
            ) { $0.consume($1) }
            let previousEnd = step.cursor.offset
            if segment.offset == 0, let seal = stats.seal, seal.previousEnd != previousEnd {
                // The previous index ended later than what was applied: its last segment is not
                // listed yet. Apply nothing past it.
                follower.environment.logger.notice(
                    "follow.waiting",
                    metadata: [
                        "follow.reason": .string(
                            "index \(Hex.format(seal.previousIndex, width: 16)) ended at "
                                + "\(seal.previousEnd), \(previousEnd) applied")
                    ])
                break
            }
            try check(next.verifier, segment: segment)
            guard let frames = next.verifier.frames, frames.pageSize == live.pageSize else {
                throw RestoreError.pageSizeMismatch(
                    generation: segment.generation, index: segment.index,
                    walPageSize: next.verifier.pageSize ?? 0, databasePageSize: live.pageSize)
            }
            for frame in framesBefore..<next.verifier.frameCount {
                guard frames.page(frame) != 0 else {
                    let header = UInt64(frames.pageOffset(frame)) - UInt64(WALFormat.frameHeaderSize)
                    throw RestoreError.invalidWAL(
                        generation: segment.generation, index: segment.index, offset: header,
                        reason: "frame \(frame + 1) names page 0")
                }
                let dataOffset = Int64(spoolEnd) + frames.pageOffset(frame) - Int64(segment.offset)
                step.batch.add(page: frames.page(frame), commitSize: frames.commitSize(frame), dataOffset: dataOffset)
            }
            spoolEnd += stats.written
            next.cursor.offset += stats.written
            (step.cursor, step.verifier) = next
        }
        return step.cursor == cursor ? nil : step
    }

    /// Every segment must leave its index's bytes valid and ending on a commit.
    private func check(_ verifier: WALStreamVerifier, segment: WALSegmentInfo) throws {
        switch verifier.outcome {
        case .valid:
            return
        case .corrupt(let offset, let reason), .unfinished(let offset, let reason):
            throw RestoreError.invalidWAL(
                generation: segment.generation, index: segment.index, offset: offset,
                reason: reason)
        }
    }

    /// Commits the batch's pages, read back from the spool, as one transaction of the output.
    func commit(_ batch: FollowBatch, from spool: any FileHandle) async throws {
        guard let commitSize = batch.commitSize else { return }
        let writes = batch.writes
        let offsets = Dictionary(uniqueKeysWithValues: writes.map { ($0.page, $0.dataOffset) })
        let pageSize = live.pageSize
        try await live.commit(pages: writes.map(\.page), commitSize: commitSize) { page in
            guard let offset = offsets[page] else { preconditionFailure("a page of the batch") }
            let bytes = try await spool.read(at: offset, count: pageSize)
            guard bytes.count == pageSize else {
                throw FollowError.discontinuity(cursor, reason: "the downloaded WAL ends inside page \(page)")
            }
            return bytes[...]
        }
    }
}
