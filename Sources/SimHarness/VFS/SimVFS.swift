import CSQLite
import Core
import Glibc

/// Errors registering a `SimVFS`.
public enum SimVFSError: Error, Equatable, CustomStringConvertible {
    case registrationFailed(name: String, code: Int32)

    public var description: String {
        switch self {
        case .registrationFailed(let name, let code):
            return "could not register SQLite VFS \(name) (sqlite code \(code))"
        }
    }
}

/// A SQLite VFS written in Swift over a `SimDisk`, bound to one `SimProcess`: every file SQLite
/// opens through it is a descriptor of that process, its locks are that process's POSIX locks,
/// and its shared memory is that machine's.
///
/// **One VFS per process.** Each instance registers under its own name (`name`); a connection
/// opened with `SQLiteDatabaseOpener(vfsName: vfs.name, runner: InlineRunner())` acts as that
/// process. A "current process" switch would be wrong under interleaving, because SQLite opens
/// the WAL and maps shared memory lazily, long after the connection was opened. One instance per
/// run may also be the *default* VFS (`register(asDefault: true)`): connections opened with
/// `vfsName: nil` then use it, and, since SQLite seeds its PRNG from the default VFS only, its
/// `random` decides `randomblob()`, WAL salts and temporary names once
/// `resetSQLiteRandomness()` has been called (register does it).
///
/// Time and sleep are simulated: `xCurrentTime` reads `wallClock`, `xSleep` (the busy handler's
/// wait) calls `sleep` and returns at once; no real time passes. Files follow the unix VFS:
/// zero-filled short reads with SQLITE_IOERR_SHORT_READ, xAccess treating an empty file as
/// absent, a directory fsync on the first sync of a new journal or WAL, deferred closes while the
/// process holds locks, `SQLITE_FCNTL_PERSIST_WAL` and `SQLITE_FCNTL_POWERSAFE_OVERWRITE` honoured.
///
/// Call `unregister()` when the run ends; the instance stays alive while registered.
// @unchecked: SQLite calls in one at a time (through the disk's lock), on the simulator's one thread.
public final class SimVFS: @unchecked Sendable {
    public let name: String
    public let disk: SimDisk
    public let process: SimProcess
    let random: any RandomSource
    let wallClock: @Sendable () -> Timestamp
    let sleep: @Sendable (Duration) -> Void
    /// Reported to SQLite as `SQLITE_IOCAP_POWERSAFE_OVERWRITE`, as the unix VFS does on Linux.
    /// Must be false when the crash model writes sector garbage (`DiskCrashModel.sectorGarbageRate`).
    let powersafeOverwrite: Bool
    let sectorSize: Int32

    let lock = SimLock()
    // Guarded by `lock`.
    var inodes: [Int: InodeLockState] = [:]
    private var isRegistered = false
    private let vfs: UnsafeMutablePointer<sqlite3_vfs>
    private let cName: UnsafeMutablePointer<CChar>

    private static let instanceCounter = SimLock()
    // nonisolated(unsafe): guarded by `instanceCounter`.
    nonisolated(unsafe) private static var instances = 0

    /// - Parameters:
    ///   - disk: The machine's storage.
    ///   - process: The process every file opened through this VFS belongs to.
    ///   - name: The registration name; defaults to a unique `sim-<n>-<process>`.
    ///   - random: Bytes for `xRandomness`.
    ///   - wallClock: The simulated wall time for `xCurrentTime` (`datetime('now')`).
    ///   - sleep: Advances simulated time for `xSleep`; must not block on real time.
    ///   - powersafeOverwrite: See the property.
    ///   - sectorSize: `xSectorSize`; 4096 like the unix VFS.
    public init(
        disk: SimDisk, process: SimProcess, name: String? = nil, random: any RandomSource,
        wallClock: @escaping @Sendable () -> Timestamp, sleep: @escaping @Sendable (Duration) -> Void = { _ in },
        powersafeOverwrite: Bool = true, sectorSize: Int32 = 4096
    ) {
        let number = Self.instanceCounter.withLock { () -> Int in
            Self.instances += 1
            return Self.instances
        }
        self.name = name ?? "sim-\(number)-\(process.name)-\(process.id)"
        self.disk = disk
        self.process = process
        self.random = random
        self.wallClock = wallClock
        self.sleep = sleep
        self.powersafeOverwrite = powersafeOverwrite
        self.sectorSize = sectorSize
        cName = strdup(self.name)
        vfs = .allocate(capacity: 1)
        vfs.initialize(to: sqlite3_vfs())
    }

    deinit {
        vfs.deallocate()
        free(cName)
    }

    /// Registers the VFS; as SQLite's default when `asDefault`, which also resets SQLite's PRNG
    /// so its next draw reseeds from this VFS's `random`.
    public func register(asDefault: Bool) throws {
        let alreadyRegistered = lock.withLock { () -> Bool in
            defer { isRegistered = true }
            return isRegistered
        }
        if !alreadyRegistered {
            Self.fill(vfs, name: cName, context: Unmanaged.passRetained(self).toOpaque())
        }
        let rc = sqlite3_vfs_register(vfs, asDefault ? 1 : 0)
        guard rc == SQLITE_OK else {
            if !alreadyRegistered { unregister() }
            throw SimVFSError.registrationFailed(name: name, code: rc)
        }
        if asDefault { Self.resetSQLiteRandomness() }
    }

    /// Removes the VFS from SQLite's list and lets the instance go. Connections must be closed first.
    public func unregister() {
        let wasRegistered = lock.withLock { () -> Bool in
            defer { isRegistered = false }
            return isRegistered
        }
        guard wasRegistered else { return }
        sqlite3_vfs_unregister(vfs)
        Unmanaged<SimVFS>.fromOpaque(vfs.pointee.pAppData).release()
    }

    /// `sqlite3_randomness(0, nil)`: SQLite reseeds its PRNG from the default VFS's
    /// `xRandomness` on its next draw. Call at the start of each run, after the default VFS is set.
    public static func resetSQLiteRandomness() {
        sqlite3_randomness(0, nil)
    }

    // MARK: - VFS methods

    static func from(_ vfs: UnsafeMutablePointer<sqlite3_vfs>?) -> SimVFS {
        Unmanaged<SimVFS>.fromOpaque(vfs!.pointee.pAppData).takeUnretainedValue()
    }

    func open(_ name: String?, flags: Int32) -> Result<SimVFSFile, SimVFSOpenFailure> {
        do {
            let descriptor: SimFileDescriptor
            var path = name ?? ""
            if let name {
                let mode: FileOpenMode
                if flags & SQLITE_OPEN_CREATE != 0 {
                    mode = flags & SQLITE_OPEN_EXCLUSIVE != 0 ? .createNew : .create
                } else {
                    mode = flags & SQLITE_OPEN_READWRITE != 0 ? .readWrite : .readOnly
                }
                descriptor = try disk.open(name, mode: mode, by: process)
            } else {
                descriptor = try disk.openAnonymous(by: process)
                path = disk.path(of: descriptor) ?? "(anonymous)"
            }
            let fileID = try disk.fileID(of: descriptor)
            let journalKinds = SQLITE_OPEN_MAIN_JOURNAL | SQLITE_OPEN_SUPER_JOURNAL | SQLITE_OPEN_WAL
            let file = SimVFSFile(
                vfs: self, descriptor: descriptor, fileID: fileID, path: path,
                deletesOnClose: name != nil && flags & SQLITE_OPEN_DELETEONCLOSE != 0,
                syncsDirectoryOnFirstSync: name != nil && flags & SQLITE_OPEN_CREATE != 0 && flags & journalKinds != 0,
                powersafeOverwrite: powersafeOverwrite)
            lock.withLock {
                let inode = inodes[fileID] ?? InodeLockState()
                inode.openCount += 1
                inodes[fileID] = inode
            }
            return .success(file)
        } catch {
            return .failure(SimVFSOpenFailure(code: SQLiteCode.cantOpen))
        }
    }

    func close(_ file: SimVFSFile) {
        lock.withLock {
            guard let inode = inodes[file.fileID] else { return }
            _ = file.unlock(to: .none, inode: inode)
            if let mapping = file.sharedMemoryMapping {
                disk.unmapSharedMemory(mapping)
                file.sharedMemoryMapping = nil
            }
            // Closing now would drop the POSIX locks another connection of this process holds.
            if inode.lockCount > 0 {
                inode.deferredCloses.append(file.descriptor)
            } else {
                try? disk.close(file.descriptor)
            }
            inode.openCount -= 1
            if inode.openCount == 0 {
                file.closeDeferred(inode)
                inodes[file.fileID] = nil
            }
        }
        if file.deletesOnClose { try? disk.unlink(file.path, by: process) }
    }

    func delete(_ path: String, syncDirectory: Bool) -> Int32 {
        do {
            try disk.unlink(path, by: process)
        } catch {
            return error.code == ENOENT ? SQLiteCode.ioErrorDeleteNoEntry : SQLiteCode.ioErrorDelete
        }
        if syncDirectory {
            do { try disk.syncDirectory(Path.directory(of: path), by: process) } catch {
                return SQLiteCode.ioErrorDirFsync
            }
        }
        return SQLiteCode.ok
    }

    func access(_ path: String, flags: Int32) -> Int32? {
        do {
            guard let info = try disk.stat(path, by: process) else { return 0 }
            if flags == SQLITE_ACCESS_EXISTS { return info.isDirectory || info.size > 0 ? 1 : 0 }
            return 1
        } catch {
            return nil
        }
    }

    /// Milliseconds since the Julian epoch (noon, 24 November 4714 BC), SQLite's time unit.
    func julianMilliseconds() -> Int64 {
        210_866_760_000_000 + wallClock().millisecondsSince1970
    }

    func fillRandom(_ buffer: UnsafeMutableRawBufferPointer) {
        var index = 0
        while index < buffer.count {
            var word = random.next()
            for _ in 0..<8 where index < buffer.count {
                buffer[index] = UInt8(truncatingIfNeeded: word)
                word >>= 8
                index += 1
            }
        }
    }
}

/// A failed xOpen's SQLite code.
struct SimVFSOpenFailure: Error {
    var code: Int32
}
