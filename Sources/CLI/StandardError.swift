import IO

#if canImport(Glibc)
    import Glibc
#endif

/// Writes to standard error with `write(2)`, so the binary needs no Foundation `FileHandle`.
enum StandardError {
    static func write(_ text: String) {
        // Nothing to do about a failure to report a failure.
        _ = Array(text.utf8).withUnsafeBytes { POSIX.writeAll(2, $0) }
    }
}
