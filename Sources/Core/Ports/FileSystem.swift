/// What a file looks like from the outside.
public struct FileStat: Sendable, Equatable {
    public var size: Int64
    public var isDirectory: Bool
    /// Last modification time; a replica listing uses it as the object's creation time.
    public var modified: Timestamp

    public init(size: Int64, isDirectory: Bool, modified: Timestamp) {
        self.size = size
        self.isDirectory = isDirectory
        self.modified = modified
    }
}

/// How `FileSystem.open` treats a missing or existing file.
public enum FileOpenMode: Sendable, Equatable {
    /// Read only; the file must exist.
    case readOnly
    /// Read and write; the file must exist.
    case readWrite
    /// Read and write; the file is created empty if missing and kept as it is if present.
    case create
    /// Read and write; the file must not exist yet (`O_EXCL`).
    case createNew
    /// Read and write; the file is created, or truncated to zero bytes if it exists.
    case truncate
}

/// Errors every `FileSystem` reports in the same shape, so callers can tell "missing" from "broken".
public enum FileSystemError: Error, Equatable, Sendable, CustomStringConvertible {
    case notFound(path: String)
    case alreadyExists(path: String)
    case noSpace(path: String)
    case notADirectory(path: String)
    /// Any other failure: the operation, the path and the system's own words.
    case io(operation: String, path: String, code: Int32, message: String)

    public var description: String {
        switch self {
        case .notFound(let path): return "\(path): no such file or directory"
        case .alreadyExists(let path): return "\(path): already exists"
        case .noSpace(let path): return "\(path): no space left on device"
        case .notADirectory(let path): return "\(path): not a directory"
        case .io(let operation, let path, _, let message): return "\(operation) \(path): \(message)"
        }
    }
}

extension FileSystemError {
    /// What `body` reads, or nil if it does not exist (`.notFound`); any other error is thrown,
    /// so that "missing" is never read into a failed read.
    public static func nilIfNotFound<T>(_ body: () async throws -> T) async throws -> T? {
        do {
            return try await body()
        } catch FileSystemError.notFound {
            return nil
        }
    }
}

/// An open file. Reads and writes are positional, so one handle can be shared by sequential
/// callers without a cursor to race on.
///
/// - Important: The replicator keeps exactly one handle on the database file for its whole life
///   and never closes it before exit: on systems without OFD locks, closing *any* descriptor of a
///   file drops every POSIX lock the process holds on it, SQLite's read lock included.
public protocol FileHandle: AnyObject, Sendable {
    /// The path the handle was opened with.
    var path: String { get }
    /// Reads up to `count` bytes at `offset`; fewer only at end of file, none past it.
    func read(at offset: Int64, count: Int) async throws -> [UInt8]
    /// Writes all of `bytes` at `offset`, extending the file if needed.
    func write(_ bytes: [UInt8], at offset: Int64) async throws
    /// The current size in bytes.
    func size() async throws -> Int64
    /// Cuts or extends the file to `size` bytes.
    func truncate(to size: Int64) async throws
    /// Makes every write so far durable (fsync).
    func sync() async throws
    /// Releases the handle. Further calls fail.
    func close() async throws
}

/// The file system port. Paths are absolute, `/`-separated strings.
public protocol FileSystem: Sendable {
    func open(_ path: String, mode: FileOpenMode) async throws -> any FileHandle
    /// The file's metadata, or `nil` when nothing exists at `path`.
    func stat(_ path: String) async throws -> FileStat?
    /// Removes a file; a missing file is not an error.
    func remove(_ path: String) async throws
    /// Removes a directory and everything below it; a missing directory is not an error.
    func removeTree(_ path: String) async throws
    /// Atomically replaces `target` with `source`.
    func rename(_ source: String, to target: String) async throws
    /// Creates a directory and any missing parents; an existing directory is not an error.
    func createDirectory(_ path: String) async throws
    /// The names (not paths) in a directory, sorted bytewise. Throws `.notFound` if it is missing.
    func list(_ path: String) async throws -> [String]
    /// Makes the directory's entries (creates, renames, removes) durable.
    func syncDirectory(_ path: String) async throws
}

extension FileSystem {
    /// Reads a whole small file (metadata, generation names). Not for database-sized files.
    public func readAll(_ path: String) async throws -> [UInt8] {
        let handle = try await open(path, mode: .readOnly)
        do {
            let bytes = try await handle.read(at: 0, count: Int(try await handle.size()))
            try await handle.close()
            return bytes
        } catch {
            try? await handle.close()
            throw error
        }
    }

    /// Writes a whole small file durably: temp name, fsync, rename, directory fsync.
    public func writeAtomically(_ bytes: [UInt8], to path: String) async throws {
        let temp = path + ".tmp"
        let handle = try await open(temp, mode: .truncate)
        do {
            try await handle.write(bytes, at: 0)
            try await handle.sync()
            try await handle.close()
        } catch {
            try? await handle.close()
            try? await remove(temp)
            throw error
        }
        try await rename(temp, to: path)
        try await syncDirectory(Path.directory(of: path))
    }
}

/// A file system error met while uploading says the replica changed only when a file or
/// directory is missing or of the wrong kind (for a local-folder replica, the folder itself may
/// be gone); an I/O error or a full disk is one call failing.
extension FileSystemError: ReplicaRequestError {
    public var replicaMayHaveChanged: Bool {
        switch self {
        case .notFound, .alreadyExists, .notADirectory: return true
        case .noSpace, .io: return false
        }
    }
}
