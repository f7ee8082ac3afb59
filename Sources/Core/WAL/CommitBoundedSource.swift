/// Streams shadow WAL bytes that start at a commit boundary, and ends the stream at the first
/// commit boundary at or past `limit` bytes, so that a backlog goes up as several segments.
///
/// Why: a segment is one object, written whole or not at all. A backlog uploaded as one segment
/// starts over after every failed attempt, so on a store or disk that fails now and then it could
/// be attempted for ever without landing (default seed 877 of the simulator: one I/O error in
/// twenty reads of the shadow, and the replica stayed where it was for the whole run). Segments
/// that each end after a commit keep every position a valid restore point, and what one attempt
/// uploaded stays uploaded.
///
/// The bytes pass through unchanged. Only the frame headers' commit field (bytes 4..<8, non-zero
/// on a transaction's last frame) is looked at; the shadow holds only validated frames.
// @unchecked: read by one task at a time (ByteSource's contract), which owns its counters.
public final class CommitBoundedSource: ByteSource, @unchecked Sendable {
    private let upstream: any ByteSource
    private let frameSize: Int
    private let limit: Int64
    /// WAL header bytes still to pass before the first frame (a range from offset 0).
    private var headerRemaining: Int
    /// Bytes of the current frame already passed, and its commit field so far.
    private var inFrame = 0
    private var commitField: UInt32 = 0
    private var ended = false
    /// Frames the next read past the limit asks for (see `nextReadSize`).
    private var framesPerSearch = 1
    /// Bytes handed out so far: where the segment ends, once the stream has ended.
    public private(set) var emitted: Int64 = 0

    /// - Parameters:
    ///   - startsWithHeader: the range begins at offset 0 of the index, with the WAL header.
    ///   - limit: bytes after which the stream ends at the next commit boundary.
    public init(_ upstream: any ByteSource, pageSize: Int, startsWithHeader: Bool, limit: Int64) {
        self.upstream = upstream
        self.frameSize = WALFormat.frameSize(pageSize: pageSize)
        self.limit = limit
        self.headerRemaining = startsWithHeader ? WALFormat.headerSize : 0
    }

    public func read(upTo maxCount: Int) async throws -> [UInt8] {
        if ended { return [] }
        let chunk = try await upstream.read(upTo: max(1, min(maxCount, nextReadSize())))
        if chunk.isEmpty {
            ended = true
            return []
        }
        if let cut = boundary(in: chunk) {
            ended = true
            emitted += Int64(cut)
            return cut == chunk.count ? chunk : Array(chunk[..<cut])
        }
        emitted += Int64(chunk.count)
        return chunk
    }

    /// How much to ask upstream for: up to the limit, then, while looking for the commit frame
    /// that ends the segment, to the end of the current frame and a number of frames that doubles
    /// with every read. Whatever upstream hands over past the cut is read for nothing: reading a
    /// whole chunk each time read up to a chunk past every segment's end, and with a 64 KiB
    /// segment cap and 64 KiB chunks every byte uploaded was read twice (sluice sim, default
    /// seed 151).
    private func nextReadSize() -> Int {
        let toLimit = limit - emitted
        if toLimit > 0 { return Int(toLimit) }
        let toFrameEnd = headerRemaining + (inFrame == 0 ? 0 : frameSize - inFrame)
        defer { framesPerSearch = min(framesPerSearch * 2, 1 << 20) }
        return toFrameEnd + framesPerSearch * frameSize
    }

    /// Where in `chunk` the stream ends, if a commit frame at or past the limit ends inside it.
    /// Walks frame by frame, touching only the commit fields.
    private func boundary(in chunk: [UInt8]) -> Int? {
        var index = 0
        if headerRemaining > 0 {
            let step = min(headerRemaining, chunk.count)
            headerRemaining -= step
            index = step
        }
        while index < chunk.count {
            // The commit field: frame bytes 4..<8, big-endian, possibly split across chunks.
            while inFrame < 8, index < chunk.count {
                if inFrame >= 4 { commitField = commitField << 8 | UInt32(chunk[index]) }
                inFrame += 1
                index += 1
            }
            let step = min(frameSize - inFrame, chunk.count - index)
            index += step
            inFrame += step
            if inFrame == frameSize {
                let isCommit = commitField != 0
                inFrame = 0
                commitField = 0
                if isCommit, emitted + Int64(index) >= limit { return index }
            }
        }
        return nil
    }

    public func close() async { await upstream.close() }
}
