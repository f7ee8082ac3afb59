import Glibc

/// A failed `SimDisk` call, in the shape of a system call failure: an errno value and a short
/// explanation. `SimFileSystem` maps it to Core's `FileSystemError` exactly as the POSIX binding
/// maps errno; `SimVFS` maps it to SQLite result codes.
public struct DiskError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The errno the real system call would have set (ENOENT, EIO, ENOSPC, ...).
    public var code: Int32
    /// Why, when it is not the plain errno text: "power lost", "injected fault", ...
    public var detail: String

    public init(_ code: Int32, _ detail: String = "") {
        self.code = code
        self.detail = detail
    }

    /// The system's words for `code`, plus the detail when there is one.
    public var message: String {
        let text = String(cString: strerror(code))
        return detail.isEmpty ? text : "\(text) (\(detail))"
    }

    public var description: String { message }

    static let notFound = DiskError(ENOENT)
    static let exists = DiskError(EEXIST)
    static let notADirectory = DiskError(ENOTDIR)
    static let isADirectory = DiskError(EISDIR)
    static let notEmpty = DiskError(ENOTEMPTY)
    static let badDescriptor = DiskError(EBADF)
    static let noSpace = DiskError(ENOSPC)
    static let invalid = DiskError(EINVAL)
}
