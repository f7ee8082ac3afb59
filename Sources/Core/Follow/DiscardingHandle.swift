/// A file handle that keeps nothing: where a follower streams WAL it has already applied, only
/// to run it through the verifier and learn the running checksum that new frames continue.
// @unchecked: used by one task at a time.
final class DiscardingHandle: FileHandle, @unchecked Sendable {
    let path: String
    private var length: Int64 = 0

    init(path: String) { self.path = path }

    func read(at offset: Int64, count: Int) async throws -> [UInt8] { [] }
    func write(_ bytes: [UInt8], at offset: Int64) async throws { length = max(length, offset + Int64(bytes.count)) }
    func size() async throws -> Int64 { length }
    func truncate(to size: Int64) async throws { length = size }
    func sync() async throws {}
    func close() async throws {}
}
