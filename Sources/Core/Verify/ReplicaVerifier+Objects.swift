/// Reading objects for `ReplicaVerifier`: each streams through the LZ4 decoder into a check,
/// and is read again from its start on a transient error.
extension ReplicaVerifier {
    /// How reading one object ended.
    enum ObjectRead {
        /// Read to the end of its LZ4 frame; the skippable frames that led it.
        case whole([LZ4SkippableFrame])
        /// Listed, but not there when opened.
        case missing
        /// Its bytes are not one valid LZ4 frame (corrupt, truncated, data after the end).
        case corrupt(String)
    }

    /// A segment's running state, rewound together when a read is retried.
    struct SegmentState {
        var check: WALIndexCheck
        var sample: BoundarySample
        var offersBoundaries: Bool
    }

    /// Reads a snapshot; returns what is wrong with it, or its page size.
    func checkSnapshot(_ snapshot: SnapshotInfo, key: String) async throws -> (VerifyFinding?, Int?) {
        var state = SnapshotCheck()
        let object = ReplicaObject.snapshot(generation: snapshot.generation, index: snapshot.index)
        let read = try await stream(object, key: key, state: &state) { $0.consume($1) }
        func problem(_ kind: VerifyFinding.Kind, _ message: String) -> VerifyFinding {
            VerifyFinding(.problem, kind, generation: snapshot.generation, object: key, message: message)
        }
        switch read {
        case .missing:
            return (problem(.unreadable, "listed but not found when read"), nil)
        case .corrupt(let reason):
            return (problem(.corruptObject, reason), nil)
        case .whole(let frames):
            if !frames.isEmpty {
                return (problem(.corruptObject, "begins with \(frames.count) unexpected skippable frames"), nil)
            }
            if let message = state.problem { return (problem(.invalidSnapshot, message), nil) }
            return (nil, state.pageSize)
        }
    }

    /// Reads a segment into `check`, offering each commit end to `sample`; returns the seal it
    /// carries when it is an index's first segment.
    func checkSegment(
        _ segment: WALSegmentInfo, key: String, isNewest: Bool, offersBoundaries: Bool,
        check: inout WALIndexCheck, sample: inout BoundarySample
    ) async throws -> WALIndexSeal? {
        let generation = segment.generation
        let index = segment.index
        let random = environment.random
        var state = SegmentState(check: check, sample: sample, offersBoundaries: offersBoundaries)
        let object = ReplicaObject.walSegment(segment.position)
        let read = try await stream(object, key: key, state: &state) { state, chunk in
            for end in state.check.consume(chunk) where state.offersBoundaries {
                state.sample.offer(Position(generation: generation, index: index, offset: end), random: random)
            }
        }
        check = state.check
        sample = state.sample
        switch read {
        case .missing:
            // The newest object of a live replica may be listed before it can be read (an
            // SFTP re-upload renames into place); anywhere else it is lost.
            check.fail(
                .unreadable, key: key,
                isNewest
                    ? "listed but not yet readable (an upload in progress)"
                    : "listed but not found when read",
                severity: isNewest ? .live : .problem)
            return nil
        case .corrupt(let reason):
            check.fail(.corruptObject, key: key, reason)
            return nil
        case .whole(let frames):
            do {
                return try object.seal(from: frames)
            } catch {
                check.fail(.corruptObject, key: key, "\(error)")
                return nil
            }
        }
    }

    /// Streams `object`, decompressed, into `consume`; transient failures are retried from the
    /// object's start with `state` rewound.
    func stream<State>(
        _ object: ReplicaObject, key: String, state: inout State,
        consume: (inout State, ArraySlice<UInt8>) -> Void
    ) async throws -> ObjectRead {
        let initial = state
        var attempt = 1
        while true {
            let counted = progress.map { ObjectProgress(meter: $0, quantity: ProgressMeter.verifyRead) }
            do {
                return try await read(object, counted: counted, state: &state, consume: consume)
            } catch let failure as TransientReadFailure {
                counted?.abandon()
                guard attempt < maxAttempts else {
                    throw VerifyError.unreadable(
                        object: "\(client.location): \(key)", attempts: attempt,
                        reason: "\(failure.underlying)")
                }
                environment.logger.debug(
                    "verify.retry",
                    metadata: [
                        "verify.object": "\(key)", "verify.attempt": "\(attempt)",
                        "verify.error": "\(failure.underlying)",
                    ])
                state = initial
                try await environment.clock.sleep(for: retryDelay * (1 << (attempt - 1)))
                attempt += 1
            }
        }
    }

    /// The chunk asked of the decoder: what bounds memory per object.
    static var chunkSize: Int { 1 << 18 }

    private func read<State>(
        _ object: ReplicaObject, counted: ObjectProgress?, state: inout State,
        consume: (inout State, ArraySlice<UInt8>) -> Void
    ) async throws -> ObjectRead {
        let compressed: CountingSource
        do {
            compressed = CountingSource(
                try await ObjectProgress.$current.withValue(counted) { try await object.open(on: client) })
        } catch {
            return try classify(error)
        }
        let source = LZ4DecompressingSource(compressed)
        do {
            while true {
                try Task.checkCancellation()
                let chunk = try await source.read(upTo: Self.chunkSize)
                if chunk.isEmpty { break }
                consume(&state, chunk[...])
                counted?.reached(compressed.count)
            }
        } catch {
            await source.close()
            return try classify(error)
        }
        await source.close()
        progress?.add(1, to: ProgressMeter.verifyChecked)
        return .whole(source.skippableFrames)
    }

    /// Sorts a read's failure: the object's own state (missing, corrupt) is an answer; anything
    /// else may pass and is retried.
    private func classify(_ error: any Error) throws -> ObjectRead {
        switch error {
        case let lz4 as LZ4Error: return .corrupt(lz4.description)
        case ReplicaClientError.notFound: return .missing
        case is CancellationError: throw error
        default: throw TransientReadFailure(underlying: error)
        }
    }
}

/// A read failure worth retrying.
struct TransientReadFailure: Error {
    var underlying: any Error
}
