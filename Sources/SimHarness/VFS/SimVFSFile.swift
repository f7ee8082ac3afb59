import CSQLite
import Core
import Glibc

/// What one process knows about one file's SQLite locks, shared by all its connections: the
/// unix VFS's `unixInodeInfo`.
///
/// POSIX locks belong to the process, so two connections of one process cannot tell each other's
/// locks apart at the POSIX level; this counts them instead. It also keeps the descriptors of
/// closed connections open while another connection of the process still holds a lock, because
/// closing them would drop that connection's POSIX locks (os_unix.c's `setPendingFd`).
final class InodeLockState {
    var level = SQLiteLockLevel.none
    /// Connections of this process holding at least SHARED.
    var sharedCount = 0
    /// Connections of this process holding any lock.
    var lockCount = 0
    /// Open `SimVFSFile`s on this file in this process.
    var openCount = 0
    /// Descriptors of closed connections, closed once `lockCount` drops to zero.
    var deferredCloses: [SimFileDescriptor] = []
}

/// One `sqlite3_file` opened by `SimVFS`: a descriptor on the disk and SQLite's view of its locks
/// and shared memory.
final class SimVFSFile {
    unowned let vfs: SimVFS
    let descriptor: SimFileDescriptor
    /// The disk's identity of the file (its inode), the key of `InodeLockState`.
    let fileID: Int
    let path: String
    let deletesOnClose: Bool
    // Guarded by the VFS's lock, like all the state below.
    var level = SQLiteLockLevel.none
    var sharedMemoryMapping: Int?
    var persistsWAL = false
    var powersafeOverwrite: Bool
    /// Set for a newly created journal or WAL: its first fsync also fsyncs the directory, as the
    /// unix VFS does (`UNIXFILE_DIRSYNC`), so the file's name is durable before it is relied on.
    var syncsDirectoryOnFirstSync: Bool

    init(
        vfs: SimVFS, descriptor: SimFileDescriptor, fileID: Int, path: String, deletesOnClose: Bool,
        syncsDirectoryOnFirstSync: Bool, powersafeOverwrite: Bool
    ) {
        self.vfs = vfs
        self.descriptor = descriptor
        self.fileID = fileID
        self.path = path
        self.deletesOnClose = deletesOnClose
        self.syncsDirectoryOnFirstSync = syncsDirectoryOnFirstSync
        self.powersafeOverwrite = powersafeOverwrite
    }

    var disk: SimDisk { vfs.disk }

    // MARK: - I/O

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) -> Int32 {
        do {
            let count = try disk.read(descriptor, at: offset, into: buffer)
            guard count < buffer.count else { return SQLiteCode.ok }
            // SQLite relies on the unread tail being zeroed (a short read of a fresh page).
            (buffer.baseAddress! + count).initializeMemory(as: UInt8.self, repeating: 0, count: buffer.count - count)
            return SQLiteCode.ioErrorShortRead
        } catch {
            return SQLiteCode.ioErrorRead
        }
    }

    func write(_ buffer: UnsafeRawBufferPointer, at offset: Int64) -> Int32 {
        do {
            try disk.write(descriptor, buffer, at: offset)
            return SQLiteCode.ok
        } catch {
            return error.code == ENOSPC ? SQLiteCode.full : SQLiteCode.ioErrorWrite
        }
    }

    func truncate(to size: Int64) -> Int32 {
        do {
            try disk.truncate(descriptor, to: size)
            return SQLiteCode.ok
        } catch {
            return error.code == ENOSPC ? SQLiteCode.full : SQLiteCode.ioErrorTruncate
        }
    }

    func sync() -> Int32 {
        do {
            try disk.sync(descriptor)
        } catch {
            return SQLiteCode.ioErrorFsync
        }
        if syncsDirectoryOnFirstSync {
            syncsDirectoryOnFirstSync = false
            // The unix VFS ignores a failure here too; a lost power shows up on the next call.
            try? disk.syncDirectory(Path.directory(of: path), by: vfs.process)
        }
        return SQLiteCode.ok
    }

    func size(_ result: UnsafeMutablePointer<sqlite3_int64>) -> Int32 {
        do {
            result.pointee = try disk.size(descriptor)
            return SQLiteCode.ok
        } catch {
            return SQLiteCode.ioErrorFstat
        }
    }

    // MARK: - Database file locks (call with the VFS's lock held)

    /// xLock, following os_unix.c's `unixLock` over the disk's POSIX locks.
    func lock(_ requested: SQLiteLockLevel, inode: InodeLockState) -> Int32 {
        if level >= requested { return SQLiteCode.ok }
        // Another connection of this process holds a different lock that excludes this one.
        if level != inode.level && (inode.level >= .pending || requested > .shared) { return SQLiteCode.busy }
        // SHARED while the process already holds SHARED or RESERVED: just count it.
        if requested == .shared && (inode.level == .shared || inode.level == .reserved) {
            level = .shared
            inode.sharedCount += 1
            inode.lockCount += 1
            return SQLiteCode.ok
        }
        do {
            // PENDING first: a reader must get past it, a writer holds it to keep new readers out.
            if requested == .shared || (requested == .exclusive && level < .pending) {
                let kind: POSIXLockKind = requested == .shared ? .read : .write
                guard try disk.lock(descriptor, kind, SQLiteLockBytes.pendingRange) else { return SQLiteCode.busy }
            }
            var granted = true
            if requested == .shared {
                granted = try disk.lock(descriptor, .read, SQLiteLockBytes.sharedRange)
                try disk.unlock(descriptor, SQLiteLockBytes.pendingRange)
                guard granted else { return SQLiteCode.busy }
                inode.lockCount += 1
                inode.sharedCount = 1
            } else if requested == .exclusive && inode.sharedCount > 1 {
                // Other connections of this process still read.
                granted = false
            } else {
                let range = requested == .reserved ? SQLiteLockBytes.reservedRange : SQLiteLockBytes.sharedRange
                granted = try disk.lock(descriptor, .write, range)
            }
            if granted {
                level = requested
                inode.level = requested
                return SQLiteCode.ok
            }
            if requested == .exclusive {
                level = .pending
                inode.level = .pending
            }
            return SQLiteCode.busy
        } catch {
            return SQLiteCode.ioErrorLock
        }
    }

    /// xUnlock, following os_unix.c's `posixUnlock`.
    func unlock(to requested: SQLiteLockLevel, inode: InodeLockState) -> Int32 {
        if level <= requested { return SQLiteCode.ok }
        var result = SQLiteCode.ok
        do {
            if level > .shared {
                if requested == .shared {
                    if !(try disk.lock(descriptor, .read, SQLiteLockBytes.sharedRange)) {
                        result = SQLiteCode.ioErrorReadLock
                    }
                }
                try disk.unlock(descriptor, SQLiteLockBytes.pendingAndReserved)
                inode.level = .shared
            }
        } catch {
            result = SQLiteCode.ioErrorUnlock
        }
        if requested == .none {
            inode.sharedCount -= 1
            if inode.sharedCount == 0 {
                do { try disk.unlock(descriptor, SQLiteLockBytes.wholeFile) } catch {
                    result = SQLiteCode.ioErrorUnlock
                }
                inode.level = .none
            }
            inode.lockCount -= 1
            if inode.lockCount == 0 { closeDeferred(inode) }
        }
        level = requested
        return result
    }

    /// xCheckReservedLock: this process or another holds RESERVED or more.
    func hasReservedLock(inode: InodeLockState) -> Int32? {
        if inode.level > .shared { return 1 }
        do {
            return try disk.conflictingLockHolder(descriptor, .write, SQLiteLockBytes.reservedRange) == nil ? 0 : 1
        } catch {
            return nil
        }
    }

    func closeDeferred(_ inode: InodeLockState) {
        for descriptor in inode.deferredCloses { try? disk.close(descriptor) }
        inode.deferredCloses = []
    }
}
