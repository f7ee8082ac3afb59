/// Where one WAL index is put together while it downloads: in memory while it is small, in its
/// temp file once it grows past `memoryLimit`. Most indexes of a busy database are a few
/// transactions long, and creating, reopening and removing a file for each cost more than
/// writing its pages (a file per index was a quarter of a restore's CPU, in the kernel creating
/// inodes, on a history of 1,359 small indexes).
///
/// Used by one download task at a time, then handed over whole (`bytes`, or the file at `path`).
// @unchecked: used by one download task at a time, then handed over whole.
final class IndexSpool: FileHandle, @unchecked Sendable {
    let path: String
    private let fileSystem: any FileSystem
    private let memoryLimit: Int
    private var memory: [UInt8] = []
    private var file: (any FileHandle)?

    init(path: String, fileSystem: any FileSystem, memoryLimit: Int) {
        self.path = path
        self.fileSystem = fileSystem
        self.memoryLimit = memoryLimit
    }

    /// The index's bytes if they never left memory; nil once they went to the file.
    var bytes: [UInt8]? { file == nil ? memory : nil }

    func read(at offset: Int64, count: Int) async throws -> [UInt8] {
        if let file { return try await file.read(at: offset, count: count) }
        let start = min(Int(offset), memory.count)
        return Array(memory[start..<min(memory.count, start + count)])
    }

    func write(_ bytes: [UInt8], at offset: Int64) async throws {
        let end = Int(offset) + bytes.count
        if file == nil && end > memoryLimit { try await spill() }
        if let file { return try await file.write(bytes, at: offset) }
        if memory.count < end { memory.append(contentsOf: repeatElement(0, count: end - memory.count)) }
        memory.replaceSubrange(Int(offset)..<end, with: bytes)
    }

    func size() async throws -> Int64 {
        if let file { return try await file.size() }
        return Int64(memory.count)
    }

    func truncate(to size: Int64) async throws {
        if let file { return try await file.truncate(to: size) }
        if memory.count > Int(size) {
            memory.removeLast(memory.count - Int(size))
        } else {
            memory.append(contentsOf: repeatElement(0, count: Int(size) - memory.count))
        }
    }

    /// Nothing to do: a spool is read back by this process and removed, never kept.
    func sync() async throws {}

    func close() async throws {
        try await file?.close()
    }

    /// Moves what is in memory to the file, which takes every later call.
    private func spill() async throws {
        let handle = try await fileSystem.open(path, mode: .truncate)
        do {
            if !memory.isEmpty { try await handle.write(memory, at: 0) }
        } catch {
            try? await handle.close()
            throw error
        }
        file = handle
        memory = []
    }
}
