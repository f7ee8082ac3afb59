import Core
import Glibc

/// The production `FileSystem`: POSIX system calls, each run through the injected
/// `BlockingRunner` so fsync and large reads never hold a cooperative thread.
///
/// New files get mode 0644 and new directories 0755 (less the umask). `remove` also removes an
/// *empty* directory, which lets replica clients prune folders without racing a writer that is
/// about to put a file in them (a non-empty directory is never removed by it).
public struct POSIXFileSystem: FileSystem {
    private let runner: any BlockingRunner

    public init(runner: any BlockingRunner) {
        self.runner = runner
    }

    public func open(_ path: String, mode: FileOpenMode) async throws -> any FileHandle {
        let flags: Int32
        switch mode {
        case .readOnly: flags = O_RDONLY
        case .readWrite: flags = O_RDWR
        case .create: flags = O_RDWR | O_CREAT
        case .createNew: flags = O_RDWR | O_CREAT | O_EXCL
        case .truncate: flags = O_RDWR | O_CREAT | O_TRUNC
        }
        let fd = try await runner.run { () throws -> Int32 in
            let fd = try POSIX.openFile(path, flags: flags)
            // open(2) happily opens a directory read-only; reads would then fail with EISDIR later.
            var info = Glibc.stat()
            if fstat(fd, &info) == 0 && POSIX.isDirectory(info) {
                Glibc.close(fd)
                throw FileSystemError.io(
                    operation: "open", path: path, code: EISDIR,
                    message: String(cString: strerror(EISDIR)))
            }
            return fd
        }
        return POSIXFileHandle(fd: fd, path: path, runner: runner)
    }

    public func stat(_ path: String) async throws -> FileStat? {
        try await runner.run { () throws -> FileStat? in
            // stat, not lstat: callers ask about what a path names, links followed.
            try POSIX.status(path, followingLinks: true).map(POSIX.fileStat)
        }
    }

    public func remove(_ path: String) async throws {
        try await runner.run { () throws in try POSIX.removeEntry(path) }
    }

    public func removeTree(_ path: String) async throws {
        try await runner.run { () throws in try POSIX.removeTree(path) }
    }

    public func rename(_ source: String, to target: String) async throws {
        try await runner.run { () throws in
            if Glibc.rename(source, target) != 0 {
                // Name the path that was missing: the source, unless the target's folder is.
                throw POSIX.fail("rename to \(target)", source)
            }
        }
    }

    public func createDirectory(_ path: String) async throws {
        try await runner.run { () throws in try POSIX.makeDirectories(path) }
    }

    public func list(_ path: String) async throws -> [String] {
        try await runner.run { () throws -> [String] in try POSIX.listDirectory(path) }
    }

    public func syncDirectory(_ path: String) async throws {
        try await runner.run { () throws in try POSIX.syncDirectory(path) }
    }
}

/// An open POSIX file descriptor.
///
/// Closing is safe to repeat: the first close gives the descriptor back, and every later call
/// (another close, a read) fails without touching the number, which the kernel may already have
/// handed to someone else. Calls in flight hold a shared lock that close takes exclusively, so a
/// close never races a pread on the same number.
// @unchecked: `fd` is guarded by `lock` (shared for calls, exclusive for close).
public final class POSIXFileHandle: FileHandle, @unchecked Sendable {
    public let path: String
    private let runner: any BlockingRunner
    // Guarded by `lock`; -1 once closed.
    private var fd: Int32
    // Heap-allocated: a pthread lock must not move, and `&storedProperty` promises no fixed address.
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>

    init(fd: Int32, path: String, runner: any BlockingRunner) {
        self.fd = fd
        self.path = path
        self.runner = runner
        lock = .allocate(capacity: 1)
        lock.initialize(to: pthread_rwlock_t())
        pthread_rwlock_init(lock, nil)
    }

    deinit {
        // A handle dropped without close must not leak its descriptor.
        if fd >= 0 { Glibc.close(fd) }
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    public func read(at offset: Int64, count: Int) async throws -> [UInt8] {
        precondition(count >= 0 && offset >= 0, "read at \(offset) count \(count)")
        return try await withDescriptor("read") { fd, path in
            // Uninitialized: zero-filling what pread overwrites cost a memset of every byte read.
            try [UInt8](unsafeUninitializedCapacity: count) { raw, initialized in
                var filled = 0
                // pread may return short counts (signals, pipes); only 0 means end of file.
                while filled < count {
                    let n = POSIX.retryingInterrupts {
                        pread(fd, raw.baseAddress! + filled, count - filled, off_t(offset) + off_t(filled))
                    }
                    if n < 0 { throw POSIX.fail("read", path) }
                    if n == 0 { break }
                    filled += n
                }
                initialized = filled
            }
        }
    }

    public func write(_ bytes: [UInt8], at offset: Int64) async throws {
        precondition(offset >= 0, "write at \(offset)")
        try await withDescriptor("write") { fd, path in
            let code = bytes.withUnsafeBytes { POSIX.writeAll(fd, $0, at: offset) }
            if code != 0 { throw POSIX.error(code, operation: "write", path: path) }
        }
    }

    public func size() async throws -> Int64 {
        try await withDescriptor("fstat") { fd, path in
            var info = Glibc.stat()
            if fstat(fd, &info) != 0 { throw POSIX.fail("fstat", path) }
            return Int64(info.st_size)
        }
    }

    public func truncate(to size: Int64) async throws {
        try await withDescriptor("truncate") { fd, path in
            if POSIX.retryingInterrupts({ ftruncate(fd, off_t(size)) }) != 0 { throw POSIX.fail("truncate", path) }
        }
    }

    public func sync() async throws {
        try await withDescriptor("fsync") { fd, path in
            if POSIX.retryingInterrupts({ fsync(fd) }) != 0 { throw POSIX.fail("fsync", path) }
        }
    }

    public func close() async throws {
        let path = self.path
        try await runner.run { () throws in
            pthread_rwlock_wrlock(self.lock)
            let fd = self.fd
            self.fd = -1
            pthread_rwlock_unlock(self.lock)
            guard fd >= 0 else { throw Self.closedError(path, "close") }
            try POSIX.closeFile(fd, path: path)
        }
    }

    /// Runs `body` on the runner with the descriptor held open against a concurrent close.
    private func withDescriptor<T: Sendable>(
        _ operation: String, _ body: @escaping @Sendable (Int32, String) throws -> T
    ) async throws -> T {
        let path = self.path
        return try await runner.run { () throws -> T in
            pthread_rwlock_rdlock(self.lock)
            defer { pthread_rwlock_unlock(self.lock) }
            guard self.fd >= 0 else { throw Self.closedError(path, operation) }
            return try body(self.fd, path)
        }
    }

    private static func closedError(_ path: String, _ operation: String) -> FileSystemError {
        .io(operation: operation, path: path, code: EBADF, message: "file handle is already closed")
    }
}
