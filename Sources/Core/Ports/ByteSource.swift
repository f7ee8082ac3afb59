/// A pull-based stream of bytes with bounded chunks, so that snapshots and WAL segments of any
/// size pass through a fixed amount of memory.
public protocol ByteSource: AnyObject, Sendable {
    /// The next chunk of at most `maxCount` bytes; an empty array means the end of the stream.
    func read(upTo maxCount: Int) async throws -> [UInt8]
    /// Releases what the stream holds (a file handle, a connection). Safe to call twice.
    func close() async
}

extension ByteSource {
    /// Reads the whole stream into memory. For small objects and tests only.
    public func readToEnd(chunkSize: Int = 1 << 20) async throws -> [UInt8] {
        var result: [UInt8] = []
        while true {
            let chunk = try await read(upTo: chunkSize)
            if chunk.isEmpty { break }
            // The first chunk is taken as it is: a source that yields everything at once is not copied.
            if result.isEmpty { result = chunk } else { result.append(contentsOf: chunk) }
        }
        return result
    }
}

/// A byte source over an array held in memory.
// @unchecked: read by one task at a time (ByteSource's contract), which owns `offset`.
public final class BytesSource: ByteSource, @unchecked Sendable {
    private let bytes: [UInt8]
    private var offset = 0

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public func read(upTo maxCount: Int) async throws -> [UInt8] {
        let end = min(bytes.count, offset + maxCount)
        defer { offset = end }
        return Array(bytes[offset..<end])
    }

    public func close() async {}
}

/// Some bytes, then another source's. Closing it closes the other source.
// @unchecked: read by one task at a time (ByteSource's contract), which owns `prefix`.
public final class PrefixedSource: ByteSource, @unchecked Sendable {
    // Read by one task at a time, like every ByteSource.
    private var prefix: [UInt8]
    private let upstream: any ByteSource

    public init(_ prefix: [UInt8], then upstream: any ByteSource) {
        self.prefix = prefix
        self.upstream = upstream
    }

    public func read(upTo maxCount: Int) async throws -> [UInt8] {
        guard !prefix.isEmpty else { return try await upstream.read(upTo: maxCount) }
        let count = min(maxCount, prefix.count)
        defer { prefix.removeFirst(count) }
        return Array(prefix[..<count])
    }

    public func close() async { await upstream.close() }
}

/// A byte source over a byte range of an open file. It never closes the handle it was given
/// unless asked to, because the handle may be the replicator's one long-lived database handle.
// @unchecked: read by one task at a time (ByteSource's contract), which owns `offset`.
public final class FileRangeSource: ByteSource, @unchecked Sendable {
    private let handle: any FileHandle
    private var offset: Int64
    private let end: Int64
    private let closesHandle: Bool
    private let readAttempts: Int

    /// - Parameter readAttempts: Tries at each read before its error is passed on, made at once:
    ///   for files that do not change under the reader (a shadow index, a staged snapshot), where
    ///   a read that failed can simply be made again and one I/O error need not cost everything
    ///   streamed so far.
    public init(handle: any FileHandle, from start: Int64, to end: Int64, closesHandle: Bool, readAttempts: Int = 1) {
        self.handle = handle
        self.offset = start
        self.end = end
        self.closesHandle = closesHandle
        self.readAttempts = max(1, readAttempts)
    }

    public func read(upTo maxCount: Int) async throws -> [UInt8] {
        let count = Int(min(Int64(maxCount), end - offset))
        guard count > 0 else { return [] }
        var attempt = 1
        let chunk: [UInt8]
        while true {
            do {
                chunk = try await handle.read(at: offset, count: count)
                break
            } catch {
                guard attempt < readAttempts, !(error is CancellationError), !Task.isCancelled else { throw error }
                attempt += 1
            }
        }
        if chunk.isEmpty { throw ByteSourceError.truncated(path: handle.path, expected: end, actual: offset) }
        offset += Int64(chunk.count)
        return chunk
    }

    public func close() async {
        if closesHandle { try? await handle.close() }
    }
}

/// Errors raised while streaming.
public enum ByteSourceError: Error, Equatable, CustomStringConvertible {
    case truncated(path: String, expected: Int64, actual: Int64)

    public var description: String {
        switch self {
        case .truncated(let path, let expected, let actual):
            return "\(path): file ended at byte \(actual), expected \(expected) bytes"
        }
    }
}
