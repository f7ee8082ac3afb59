/// Counts the bytes passing through a source: the compressed bytes a restore or a verify has
/// read of one replica object.
// @unchecked: read by one task at a time (ByteSource's contract), which owns `count`.
final class CountingSource: ByteSource, @unchecked Sendable {
    private let upstream: any ByteSource
    private(set) var count: Int64 = 0

    init(_ upstream: any ByteSource) { self.upstream = upstream }

    func read(upTo maxCount: Int) async throws -> [UInt8] {
        let chunk = try await upstream.read(upTo: maxCount)
        count += Int64(chunk.count)
        return chunk
    }

    func close() async { await upstream.close() }
}
