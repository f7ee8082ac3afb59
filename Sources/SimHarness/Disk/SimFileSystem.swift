import Core
import Glibc

/// The operations of `SimFileSystem`, as its latency hook sees them.
public enum SimFileOperation: Sendable, Equatable {
    case open(path: String)
    case read(path: String, count: Int)
    case write(path: String, count: Int)
    case size(path: String)
    case truncate(path: String)
    case sync(path: String)
    case close(path: String)
    case stat(path: String)
    case remove(path: String)
    case rename(source: String, target: String)
    case createDirectory(path: String)
    case list(path: String)
    case syncDirectory(path: String)
}

/// Core's `FileSystem` port over a `SimDisk`, as one `SimProcess` sees it: the replicator's (or
/// restore's) files live on the simulated machine, with its durability and fault model.
///
/// Semantics and errors mirror `POSIXFileSystem` exactly: the same `FileSystemError` cases for the
/// same errno values, `remove` also removes an *empty* directory, `list` sorts bytewise, opening a
/// directory is EISDIR, a closed handle refuses every call with EBADF.
///
/// Every call is instantaneous on the disk. **Latency seam:** when `latency` is set, each call
/// first awaits it with the operation it is about to perform, then runs on the disk; the
/// simulator plugs in a sleep on its simulated clock (drawn per operation, e.g. a heavy-tailed
/// fsync) there. Leave it nil for zero latency. The disk state is read and changed only after the
/// wait, so what a call sees is what is on the disk when it completes.
public struct SimFileSystem: FileSystem {
    public let disk: SimDisk
    public let process: SimProcess
    public let latency: (@Sendable (SimFileOperation) async -> Void)?

    public init(disk: SimDisk, process: SimProcess, latency: (@Sendable (SimFileOperation) async -> Void)? = nil) {
        self.disk = disk
        self.process = process
        self.latency = latency
    }

    func delay(_ operation: SimFileOperation) async {
        if let latency { await latency(operation) }
    }

    public func open(_ path: String, mode: FileOpenMode) async throws -> any FileHandle {
        await delay(.open(path: path))
        do {
            let descriptor = try disk.open(path, mode: mode, by: process)
            return SimFileHandle(fileSystem: self, descriptor: descriptor, path: path)
        } catch {
            throw Self.error(error, operation: "open", path: path)
        }
    }

    public func stat(_ path: String) async throws -> FileStat? {
        await delay(.stat(path: path))
        do { return try disk.stat(path, by: process) } catch { throw Self.error(error, operation: "stat", path: path) }
    }

    public func remove(_ path: String) async throws {
        await delay(.remove(path: path))
        do {
            try disk.unlink(path, by: process)
        } catch  where error.code == ENOENT {
            return
        } catch  where error.code == EISDIR {
            do {
                try disk.removeDirectory(path, by: process)
            } catch  where error.code == ENOENT {
                return
            } catch {
                throw Self.error(error, operation: "rmdir", path: path)
            }
        } catch {
            throw Self.error(error, operation: "unlink", path: path)
        }
    }

    public func removeTree(_ path: String) async throws {
        await delay(.remove(path: path))
        guard let info = try await statWithoutDelay(path) else { return }
        if info.isDirectory {
            let names: [String]
            do { names = try disk.list(path, by: process) } catch {
                throw Self.error(error, operation: "opendir", path: path)
            }
            for name in names { try await removeTree(Path.join(path, name)) }
            do {
                try disk.removeDirectory(path, by: process)
            } catch  where error.code == ENOENT {
                return
            } catch {
                throw Self.error(error, operation: "rmdir", path: path)
            }
        } else {
            do {
                try disk.unlink(path, by: process)
            } catch  where error.code == ENOENT {
                return
            } catch {
                throw Self.error(error, operation: "unlink", path: path)
            }
        }
    }

    public func rename(_ source: String, to target: String) async throws {
        await delay(.rename(source: source, target: target))
        // Like the POSIX binding, errors name the source path.
        do { try disk.rename(source, to: target, by: process) } catch {
            throw Self.error(error, operation: "rename to \(target)", path: source)
        }
    }

    public func createDirectory(_ path: String) async throws {
        await delay(.createDirectory(path: path))
        try makeDirectories(path)
    }

    public func list(_ path: String) async throws -> [String] {
        await delay(.list(path: path))
        do { return try disk.list(path, by: process) } catch {
            throw Self.error(error, operation: "opendir", path: path)
        }
    }

    public func syncDirectory(_ path: String) async throws {
        await delay(.syncDirectory(path: path))
        do {
            try disk.syncDirectory(path, by: process)
        } catch  where error.code == ENOENT || error.code == ENOTDIR {
            throw Self.error(error, operation: "open", path: path)
        } catch {
            throw Self.error(error, operation: "fsync", path: path)
        }
    }

    // MARK: - Helpers

    private func statWithoutDelay(_ path: String) async throws -> FileStat? {
        do { return try disk.stat(path, by: process) } catch { throw Self.error(error, operation: "stat", path: path) }
    }

    /// `mkdir -p`, as the POSIX binding does it: an existing directory is fine, a file is not.
    private func makeDirectories(_ path: String) throws {
        let info: FileStat?
        do { info = try disk.stat(path, by: process) } catch { throw Self.error(error, operation: "stat", path: path) }
        if let info {
            if info.isDirectory { return }
            throw FileSystemError.notADirectory(path: path)
        }
        let parent = Path.directory(of: path)
        if parent != path && parent != "." && parent != "/" {
            try makeDirectories(parent)
        }
        do {
            try disk.makeDirectory(path, by: process)
        } catch {
            throw Self.error(error, operation: "mkdir", path: path)
        }
    }

    /// The port's error for a disk error, with the same distinctions `POSIXFileSystem` keeps.
    static func error(_ error: DiskError, operation: String, path: String) -> FileSystemError {
        switch error.code {
        case ENOENT: return .notFound(path: path)
        case EEXIST: return .alreadyExists(path: path)
        case ENOSPC: return .noSpace(path: path)
        case ENOTDIR: return .notADirectory(path: path)
        default: return .io(operation: operation, path: path, code: error.code, message: error.message)
        }
    }
}

/// An open file of `SimFileSystem`: one descriptor of its process on the disk.
///
/// Closing it is a real close: it drops every POSIX lock the process holds on the file, SQLite's
/// included, which is exactly the hazard the replicator must avoid on the database file.
// @unchecked: `isClosed` is guarded by `closed`; the rest is immutable.
public final class SimFileHandle: FileHandle, @unchecked Sendable {
    public let path: String
    public let descriptor: SimFileDescriptor
    private let fileSystem: SimFileSystem
    private let closed = SimLock()
    // Guarded by `closed`.
    private var isClosed = false

    init(fileSystem: SimFileSystem, descriptor: SimFileDescriptor, path: String) {
        self.fileSystem = fileSystem
        self.descriptor = descriptor
        self.path = path
    }

    public func read(at offset: Int64, count: Int) async throws -> [UInt8] {
        precondition(count >= 0 && offset >= 0, "read at \(offset) count \(count)")
        await fileSystem.delay(.read(path: path, count: count))
        return try perform("read") { disk, descriptor throws(DiskError) in
            try disk.read(descriptor, at: offset, count: count)
        }
    }

    public func write(_ bytes: [UInt8], at offset: Int64) async throws {
        precondition(offset >= 0, "write at \(offset)")
        await fileSystem.delay(.write(path: path, count: bytes.count))
        try perform("write") { disk, descriptor throws(DiskError) in try disk.write(descriptor, bytes, at: offset) }
    }

    public func size() async throws -> Int64 {
        await fileSystem.delay(.size(path: path))
        return try perform("fstat") { disk, descriptor throws(DiskError) in try disk.size(descriptor) }
    }

    public func truncate(to size: Int64) async throws {
        await fileSystem.delay(.truncate(path: path))
        try perform("truncate") { disk, descriptor throws(DiskError) in try disk.truncate(descriptor, to: size) }
    }

    public func sync() async throws {
        await fileSystem.delay(.sync(path: path))
        try perform("fsync") { disk, descriptor throws(DiskError) in try disk.sync(descriptor) }
    }

    public func close() async throws {
        await fileSystem.delay(.close(path: path))
        let wasClosed = closed.withLock { () -> Bool in
            defer { isClosed = true }
            return isClosed
        }
        guard !wasClosed else { throw closedError("close") }
        do { try fileSystem.disk.close(descriptor) } catch {
            throw SimFileSystem.error(error, operation: "close", path: path)
        }
    }

    private func perform<T>(_ operation: String, _ body: (SimDisk, SimFileDescriptor) throws(DiskError) -> T) throws
        -> T
    {
        guard !closed.withLock({ isClosed }) else { throw closedError(operation) }
        do { return try body(fileSystem.disk, descriptor) } catch {
            throw SimFileSystem.error(error, operation: operation, path: path)
        }
    }

    private func closedError(_ operation: String) -> FileSystemError {
        .io(operation: operation, path: path, code: EBADF, message: "file handle is already closed")
    }
}
