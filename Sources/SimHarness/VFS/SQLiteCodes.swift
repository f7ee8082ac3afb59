import CSQLite

/// SQLite result codes Swift does not import (extended codes are macro expressions), plus the
/// unix VFS's lock byte layout, which our POSIX-lock model reproduces.
enum SQLiteCode {
    static let ok = SQLITE_OK
    static let busy = SQLITE_BUSY
    static let full = SQLITE_FULL
    static let cantOpen = SQLITE_CANTOPEN
    static let notFound = SQLITE_NOTFOUND
    static let ioError = SQLITE_IOERR
    static let ioErrorRead = SQLITE_IOERR | (1 << 8)
    static let ioErrorShortRead = SQLITE_IOERR | (2 << 8)
    static let ioErrorWrite = SQLITE_IOERR | (3 << 8)
    static let ioErrorFsync = SQLITE_IOERR | (4 << 8)
    static let ioErrorDirFsync = SQLITE_IOERR | (5 << 8)
    static let ioErrorTruncate = SQLITE_IOERR | (6 << 8)
    static let ioErrorFstat = SQLITE_IOERR | (7 << 8)
    static let ioErrorUnlock = SQLITE_IOERR | (8 << 8)
    static let ioErrorReadLock = SQLITE_IOERR | (9 << 8)
    static let ioErrorDelete = SQLITE_IOERR | (10 << 8)
    static let ioErrorAccess = SQLITE_IOERR | (13 << 8)
    static let ioErrorCheckReservedLock = SQLITE_IOERR | (14 << 8)
    static let ioErrorLock = SQLITE_IOERR | (15 << 8)
    static let ioErrorShmOpen = SQLITE_IOERR | (18 << 8)
    static let ioErrorShmLock = SQLITE_IOERR | (20 << 8)
    static let ioErrorShmMap = SQLITE_IOERR | (21 << 8)
    static let ioErrorDeleteNoEntry = SQLITE_IOERR | (23 << 8)
}

/// SQLite's database-file lock levels (`SQLITE_LOCK_*`).
enum SQLiteLockLevel: Int32, Comparable {
    case none = 0, shared, reserved, pending, exclusive

    static func < (lhs: SQLiteLockLevel, rhs: SQLiteLockLevel) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// The bytes the unix VFS locks to implement the levels (os_unix.c): one PENDING byte at 1 GiB,
/// one RESERVED byte after it, then a 510-byte SHARED range. A page never lives there because
/// SQLite skips the page holding these offsets.
enum SQLiteLockBytes {
    static let pending: Int64 = 0x4000_0000
    static let pendingRange = pending..<(pending + 1)
    static let reservedRange = (pending + 1)..<(pending + 2)
    static let pendingAndReserved = pending..<(pending + 2)
    static let sharedRange = (pending + 2)..<(pending + 2 + 510)
    static let wholeFile: Range<Int64> = 0..<Int64.max
}
