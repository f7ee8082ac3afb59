/// One object on a replica that restore reads.
public enum ReplicaObject: Sendable, Equatable, CustomStringConvertible {
    case snapshot(generation: Generation, index: UInt64)
    case walSegment(Position)

    public var description: String {
        switch self {
        case .snapshot(let generation, let index):
            return "snapshot \(Hex.format(index, width: 16)) of generation \(generation)"
        case .walSegment(let position):
            return "WAL segment \(position)"
        }
    }

    /// What the skippable frames before the object's LZ4 frame say: a WAL segment's seal of the
    /// previous index (`WALIndexSeal`), or nothing; any other leading frame is damage.
    func seal(from frames: [LZ4SkippableFrame]) throws -> WALIndexSeal? {
        switch self {
        case .snapshot:
            guard frames.isEmpty else { throw WALIndexSeal.SealError.unexpected("\(frames.count) skippable frames") }
            return nil
        case .walSegment(let position):
            return try WALIndexSeal.read(frames, segmentAt: position)
        }
    }

    func open(on client: any ReplicaClient) async throws -> any ByteSource {
        switch self {
        case .snapshot(let generation, let index):
            return try await client.openSnapshot(generation: generation, index: index)
        case .walSegment(let position): return try await client.openWALSegment(at: position)
        }
    }
}

/// Bytes moved by one object download.
struct DownloadStats: Sendable, Equatable {
    /// Decompressed bytes written to the local file.
    var written: UInt64 = 0
    /// Compressed bytes read from the replica (the successful attempt only).
    var compressed: Int64 = 0
    /// The previous index's end, from a WAL segment's leading seal.
    var seal: WALIndexSeal?
}

/// Streams replica objects, decompressed, into local files through a fixed-size buffer, and
/// retries transient read failures (Litestream #585: v0.3 restore had no retry at all).
///
/// A retry restarts the object from its beginning: LZ4 frames cannot resume mid-stream, and the
/// caller's running state (a WAL verifier) is rewound to where the object began. Missing objects,
/// unknown object names, corrupt LZ4 data and local file errors are not retried: trying again
/// cannot change them.
struct ObjectDownloader: Sendable {
    var client: any ReplicaClient
    var environment: Environment
    var maxAttempts = 3
    var chunkSize = 1 << 20
    /// The wait before the second attempt; doubled for each later one.
    var retryDelay: Duration = .milliseconds(200)
    /// Told of every compressed chunk fetched or read (`ProgressMeter.downloaded`), through an
    /// `ObjectProgress` per attempt.
    var progress: ProgressMeter?

    /// Decompresses `object` into `handle` from byte `offset`, writing at most `limit` bytes, and
    /// passes every written chunk to `consume` with `state`.
    func download<State>(
        _ object: ReplicaObject, into handle: any FileHandle, at offset: UInt64, limit: UInt64? = nil,
        state: inout State, consume: (inout State, ArraySlice<UInt8>) -> Void
    ) async throws -> DownloadStats {
        let initial = state
        var attempt = 1
        while true {
            let counted = progress.map { ObjectProgress(meter: $0, quantity: ProgressMeter.downloaded) }
            do {
                return try await attemptDownload(
                    object, into: handle, at: offset, limit: limit, counted: counted, state: &state, consume: consume)
            } catch let failure as RemoteFailure {
                counted?.abandon()
                guard attempt < maxAttempts else {
                    throw RestoreError.downloadFailed(
                        object: "\(client.location): \(object)", attempts: attempt, reason: "\(failure.underlying)")
                }
                environment.logger.debug(
                    "restore.retry",
                    metadata: [
                        "restore.object": "\(object)", "restore.attempt": "\(attempt)",
                        "restore.error": "\(failure.underlying)",
                    ])
                state = initial
                try await handle.truncate(to: Int64(offset))
                try await environment.clock.sleep(for: retryDelay * (1 << (attempt - 1)))
                attempt += 1
            }
        }
    }

    private func attemptDownload<State>(
        _ object: ReplicaObject, into handle: any FileHandle, at offset: UInt64, limit: UInt64?,
        counted: ObjectProgress?, state: inout State, consume: (inout State, ArraySlice<UInt8>) -> Void
    ) async throws -> DownloadStats {
        let compressed = try await ObjectProgress.$current.withValue(counted) {
            try await remote(object) { try await object.open(on: client) }
        }
        let counting = CountingSource(compressed)
        let source = LZ4DecompressingSource(counting)
        var stats = DownloadStats()
        do {
            while limit.map({ stats.written < $0 }) ?? true {
                try Task.checkCancellation()
                let wanted = limit.map { min(UInt64(chunkSize), $0 - stats.written) } ?? UInt64(chunkSize)
                let chunk = try await remote(object) { try await source.read(upTo: Int(wanted)) }
                if chunk.isEmpty { break }
                try await handle.write(chunk, at: Int64(offset + stats.written))
                stats.written += UInt64(chunk.count)
                counted?.reached(counting.count)
                consume(&state, chunk[...])
            }
            // A restore to a position stops writing at its limit, but the object is checked to
            // its end all the same: only the frame's end mark and content checksum say that the
            // bytes written were the bytes uploaded, and a restore that reads a damaged object
            // must fail (DESIGN §7, invariant 8).
            if limit != nil {
                while try await !remote(object, { try await source.read(upTo: chunkSize) }).isEmpty {}
                counted?.reached(counting.count)
            }
        } catch {
            await source.close()
            throw error
        }
        await source.close()
        stats.compressed = counting.count
        do {
            stats.seal = try object.seal(from: source.skippableFrames)
        } catch {
            throw RestoreError.corruptObject(object: "\(client.location): \(object)", reason: "\(error)")
        }
        return stats
    }

    /// Runs a replica read, sorting its failures into permanent ones (thrown as they are, or as
    /// `RestoreError.corruptObject`) and transient ones (wrapped for a retry).
    private func remote<T>(_ object: ReplicaObject, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as LZ4Error {
            throw RestoreError.corruptObject(object: "\(client.location): \(object)", reason: error.description)
        } catch let error as ReplicaClientError {
            switch error {
            case .notFound, .malformedObject, .alreadyExists: throw error
            case .unavailable: throw RemoteFailure(underlying: error)
            }
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as RestoreError {
            throw error
        } catch {
            throw RemoteFailure(underlying: error)
        }
    }
}

/// A replica read failure worth retrying.
private struct RemoteFailure: Error {
    var underlying: any Error
}
