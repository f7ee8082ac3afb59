import Core
import Glibc

/// Thin wrappers over the system calls `POSIXFileSystem` (and the transfers' spool files, the
/// CLI's standard error and its simulator workers) use, named for the rule each enforces.
public enum POSIX {
    /// Calls `body` until it does not fail with EINTR; returns its result (or -1 with errno set).
    public static func retryingInterrupts<T: FixedWidthInteger>(_ body: () -> T) -> T {
        while true {
            let result = body()
            if result == -1 && errno == EINTR { continue }
            return result
        }
    }

    /// Writes all of `bytes` to `fd`, at `offset` (pwrite) or at the descriptor's position
    /// (write), going on after interrupted and short writes. Returns 0, or the errno of the
    /// write that failed (a write of nothing counts as EIO: it would never finish).
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int64? = nil) -> Int32 {
        var done = 0
        while done < bytes.count {
            let start = bytes.baseAddress! + done
            let n = retryingInterrupts {
                if let offset { return pwrite(fd, start, bytes.count - done, off_t(offset) + off_t(done)) }
                return Glibc.write(fd, start, bytes.count - done)
            }
            if n < 0 { return errno }
            if n == 0 { return EIO }
            done += n
        }
        return 0
    }

    /// The port's error for `code`, keeping the distinctions callers act on.
    static func error(_ code: Int32, operation: String, path: String) -> FileSystemError {
        switch code {
        case ENOENT: return .notFound(path: path)
        case EEXIST: return .alreadyExists(path: path)
        case ENOSPC: return .noSpace(path: path)
        case ENOTDIR: return .notADirectory(path: path)
        default: return .io(operation: operation, path: path, code: code, message: String(cString: strerror(code)))
        }
    }

    /// Throws the port's error for the current errno.
    static func fail(_ operation: String, _ path: String) -> FileSystemError {
        error(errno, operation: operation, path: path)
    }

    /// A file no other process can reach, for spooling transfers: created exclusively by
    /// mkstemp as `<directory>/<prefix>XXXXXX`, then unlinked while open, so a crash leaves
    /// nothing behind. Returns -1 with errno set when it cannot be created.
    static func openUnlinkedTempFile(in directory: String, prefix: String) -> Int32 {
        var template = Array(Path.join(directory, prefix + "XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        if fd >= 0 { template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) } }
        return fd
    }

    static func openFile(_ path: String, flags: Int32, mode: mode_t = 0o644) throws(FileSystemError) -> Int32 {
        let fd = retryingInterrupts { Glibc.open(path, flags | O_CLOEXEC, mode) }
        guard fd >= 0 else { throw fail("open", path) }
        return fd
    }

    /// Closes without retrying: after EINTR the descriptor is already gone on Linux, and a retry
    /// could close a number another thread has just been given.
    static func closeFile(_ fd: Int32, path: String) throws(FileSystemError) {
        if Glibc.close(fd) != 0 && errno != EINTR { throw fail("close", path) }
    }

    /// `lstat` (or `stat` when following links), or nil when nothing exists at the path.
    static func status(_ path: String, followingLinks: Bool = false) throws(FileSystemError) -> stat? {
        var info = stat()
        let rc = retryingInterrupts { followingLinks ? stat(path, &info) : lstat(path, &info) }
        if rc == 0 { return info }
        if errno == ENOENT || errno == ENOTDIR { return nil }
        throw fail("stat", path)
    }

    static func isDirectory(_ info: stat) -> Bool { info.st_mode & S_IFMT == S_IFDIR }

    static func fileStat(_ info: stat) -> FileStat {
        let ms = Int64(info.st_mtim.tv_sec) * 1000 + Int64(info.st_mtim.tv_nsec) / 1_000_000
        return FileStat(
            size: Int64(info.st_size), isDirectory: isDirectory(info),
            modified: Timestamp(millisecondsSince1970: ms))
    }

    /// The names in a directory except `.` and `..`, sorted bytewise.
    static func listDirectory(_ path: String) throws(FileSystemError) -> [String] {
        guard let dir = opendir(path) else { throw fail("opendir", path) }
        defer { closedir(dir) }
        var names: [String] = []
        while true {
            errno = 0
            guard let entry = readdir(dir) else {
                if errno != 0 { throw fail("readdir", path) }
                break
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// Removes a file or an empty directory; a missing path is fine.
    static func removeEntry(_ path: String) throws(FileSystemError) {
        if unlink(path) == 0 || errno == ENOENT { return }
        // Linux reports EISDIR for a directory (POSIX allows EPERM).
        if errno == EISDIR || errno == EPERM, let info = try status(path), isDirectory(info) {
            if rmdir(path) == 0 || errno == ENOENT { return }
            throw fail("rmdir", path)
        }
        throw fail("unlink", path)
    }

    static func removeTree(_ path: String) throws(FileSystemError) {
        guard let info = try status(path) else { return }
        // lstat: a symlink to a directory is removed as a link, never followed.
        if isDirectory(info) {
            for name in try listDirectory(path) {
                try removeTree(Path.join(path, name))
            }
            if rmdir(path) != 0 && errno != ENOENT { throw fail("rmdir", path) }
        } else if unlink(path) != 0 && errno != ENOENT {
            throw fail("unlink", path)
        }
    }

    /// `mkdir -p`: creates missing parents; an existing directory is fine.
    static func makeDirectories(_ path: String) throws(FileSystemError) {
        if let info = try status(path) {
            if isDirectory(info) { return }
            throw .notADirectory(path: path)
        }
        let parent = Path.directory(of: path)
        if parent != path && parent != "." && parent != "/" {
            try makeDirectories(parent)
        }
        if mkdir(path, 0o755) != 0 {
            // Lost a race with another creator: fine if what is there now is a directory.
            if errno == EEXIST, let info = try status(path), isDirectory(info) { return }
            throw fail("mkdir", path)
        }
    }

    static func syncDirectory(_ path: String) throws(FileSystemError) {
        let fd = try openFile(path, flags: O_RDONLY | O_DIRECTORY)
        defer { Glibc.close(fd) }
        if retryingInterrupts({ fsync(fd) }) != 0 { throw fail("fsync", path) }
    }
}
