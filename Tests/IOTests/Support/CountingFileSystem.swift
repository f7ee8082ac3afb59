import Core
import Synchronization

/// A file system that counts every call made through it and its handles (each is one system
/// call or more in production), for the budgets of `PassBudgetTests`.
final class CountingFileSystem: Core.FileSystem {
    let base: any Core.FileSystem
    let calls = Atomic<Int>(0)

    init(base: any Core.FileSystem) { self.base = base }

    var count: Int { calls.load(ordering: .relaxed) }
    func reset() { calls.store(0, ordering: .relaxed) }
    fileprivate func tick() { calls.add(1, ordering: .relaxed) }

    func open(_ path: String, mode: FileOpenMode) async throws -> any Core.FileHandle {
        tick()
        return CountingHandle(base: try await base.open(path, mode: mode), counter: self)
    }
    func stat(_ path: String) async throws -> FileStat? {
        tick()
        return try await base.stat(path)
    }
    func remove(_ path: String) async throws {
        tick()
        try await base.remove(path)
    }
    func removeTree(_ path: String) async throws {
        tick()
        try await base.removeTree(path)
    }
    func rename(_ source: String, to target: String) async throws {
        tick()
        try await base.rename(source, to: target)
    }
    func createDirectory(_ path: String) async throws {
        tick()
        try await base.createDirectory(path)
    }
    func list(_ path: String) async throws -> [String] {
        tick()
        return try await base.list(path)
    }
    func syncDirectory(_ path: String) async throws {
        tick()
        try await base.syncDirectory(path)
    }
}

private final class CountingHandle: Core.FileHandle {
    let base: any Core.FileHandle
    let counter: CountingFileSystem

    init(base: any Core.FileHandle, counter: CountingFileSystem) {
        self.base = base
        self.counter = counter
    }

    var path: String { base.path }
    func read(at offset: Int64, count: Int) async throws -> [UInt8] {
        counter.tick()
        return try await base.read(at: offset, count: count)
    }
    func write(_ bytes: [UInt8], at offset: Int64) async throws {
        counter.tick()
        try await base.write(bytes, at: offset)
    }
    func size() async throws -> Int64 {
        counter.tick()
        return try await base.size()
    }
    func truncate(to size: Int64) async throws {
        counter.tick()
        try await base.truncate(to: size)
    }
    func sync() async throws {
        counter.tick()
        try await base.sync()
    }
    func close() async throws {
        counter.tick()
        try await base.close()
    }
}
