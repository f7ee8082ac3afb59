import CSQLite
import Core
import Glibc

/// The C side of `SimVFS`: the `sqlite3_vfs` and `sqlite3_io_methods` tables, whose entries are
/// non-capturing closures that find their Swift object through `pAppData` (the VFS) or the
/// context pointer stored after the `sqlite3_file` header (a file).
///
/// Layout of the memory SQLite allocates per file (`szOsFile` bytes): a `sqlite3_file` (the
/// methods pointer), then one pointer to the retained `SimVFSFile`. `pMethods` stays NULL until
/// xOpen succeeds, so SQLite never calls xClose on a file that failed to open.
extension SimVFS {
    static let contextOffset = MemoryLayout<sqlite3_file>.stride

    static func fill(
        _ vfs: UnsafeMutablePointer<sqlite3_vfs>, name: UnsafeMutablePointer<CChar>, context: UnsafeMutableRawPointer
    ) {
        vfs.pointee.iVersion = 2 // 2 adds xCurrentTimeInt64
        vfs.pointee.szOsFile = Int32(contextOffset + MemoryLayout<UnsafeMutableRawPointer>.stride)
        vfs.pointee.mxPathname = 512
        vfs.pointee.zName = UnsafePointer(name)
        vfs.pointee.pAppData = context

        vfs.pointee.xOpen = { pVfs, zName, pFile, flags, pOutFlags in
            let raw = UnsafeMutableRawPointer(pFile!)
            pFile!.pointee.pMethods = nil
            let vfs = SimVFS.from(pVfs)
            switch vfs.open(zName.map { String(cString: $0) }, flags: flags) {
            case .failure(let failure):
                return failure.code
            case .success(let file):
                raw.storeBytes(
                    of: Unmanaged.passRetained(file).toOpaque(), toByteOffset: SimVFS.contextOffset,
                    as: UnsafeMutableRawPointer.self)
                pFile!.pointee.pMethods = UnsafePointer(simIOMethods)
                pOutFlags?.pointee = flags
                return SQLITE_OK
            }
        }
        vfs.pointee.xDelete = { pVfs, zName, syncDir in
            SimVFS.from(pVfs).delete(String(cString: zName!), syncDirectory: syncDir != 0)
        }
        vfs.pointee.xAccess = { pVfs, zName, flags, pResOut in
            guard let result = SimVFS.from(pVfs).access(String(cString: zName!), flags: flags) else {
                return SQLiteCode.ioErrorAccess
            }
            pResOut!.pointee = result
            return SQLITE_OK
        }
        vfs.pointee.xFullPathname = { _, zName, nOut, zOut in
            let name = String(cString: zName!)
            let full = name.hasPrefix("/") ? name : "/" + name
            let bytes = Array(full.utf8CString)
            guard bytes.count <= Int(nOut) else { return SQLITE_CANTOPEN }
            bytes.withUnsafeBufferPointer { zOut!.update(from: $0.baseAddress!, count: bytes.count) }
            return SQLITE_OK
        }
        vfs.pointee.xRandomness = { pVfs, nByte, zOut in
            SimVFS.from(pVfs).fillRandom(UnsafeMutableRawBufferPointer(start: zOut, count: Int(nByte)))
            return nByte
        }
        vfs.pointee.xSleep = { pVfs, microseconds in
            SimVFS.from(pVfs).sleep(.microseconds(Int64(microseconds)))
            return microseconds
        }
        vfs.pointee.xCurrentTime = { pVfs, pTime in
            pTime!.pointee = Double(SimVFS.from(pVfs).julianMilliseconds()) / 86_400_000
            return SQLITE_OK
        }
        vfs.pointee.xCurrentTimeInt64 = { pVfs, pNow in
            pNow!.pointee = SimVFS.from(pVfs).julianMilliseconds()
            return SQLITE_OK
        }
        vfs.pointee.xGetLastError = { _, _, _ in 0 }
    }

    static func file(_ pFile: UnsafeMutablePointer<sqlite3_file>?) -> SimVFSFile {
        let context = UnsafeMutableRawPointer(pFile!).load(
            fromByteOffset: contextOffset, as: UnsafeMutableRawPointer.self)
        return Unmanaged<SimVFSFile>.fromOpaque(context).takeUnretainedValue()
    }

    /// Runs `body` with the file's VFS lock held and its process-wide lock state.
    static func withInode<T>(_ file: SimVFSFile, _ body: (InodeLockState) -> T, missing: T) -> T {
        file.vfs.lock.withLock {
            guard let inode = file.vfs.inodes[file.fileID] else { return missing }
            return body(inode)
        }
    }
}

/// The io methods shared by every `SimVFS` file (version 2: with shared memory, without mmap).
// nonisolated(unsafe): written once by its initializer, then only read (by SQLite).
nonisolated(unsafe) let simIOMethods: UnsafeMutablePointer<sqlite3_io_methods> = {
    let methods = UnsafeMutablePointer<sqlite3_io_methods>.allocate(capacity: 1)
    methods.initialize(to: sqlite3_io_methods())
    methods.pointee.iVersion = 2
    methods.pointee.xClose = { pFile in
        let context = UnsafeMutableRawPointer(pFile!).load(
            fromByteOffset: SimVFS.contextOffset, as: UnsafeMutableRawPointer.self)
        let file = Unmanaged<SimVFSFile>.fromOpaque(context).takeRetainedValue()
        file.vfs.close(file)
        return SQLITE_OK
    }
    methods.pointee.xRead = { pFile, buffer, amount, offset in
        SimVFS.file(pFile).read(into: UnsafeMutableRawBufferPointer(start: buffer, count: Int(amount)), at: offset)
    }
    methods.pointee.xWrite = { pFile, buffer, amount, offset in
        SimVFS.file(pFile).write(UnsafeRawBufferPointer(start: buffer, count: Int(amount)), at: offset)
    }
    methods.pointee.xTruncate = { pFile, size in SimVFS.file(pFile).truncate(to: size) }
    methods.pointee.xSync = { pFile, _ in SimVFS.file(pFile).sync() }
    methods.pointee.xFileSize = { pFile, pSize in SimVFS.file(pFile).size(pSize!) }
    methods.pointee.xLock = { pFile, level in
        let file = SimVFS.file(pFile)
        return SimVFS.withInode(
            file, { file.lock(SQLiteLockLevel(rawValue: level)!, inode: $0) }, missing: SQLiteCode.ioErrorLock)
    }
    methods.pointee.xUnlock = { pFile, level in
        let file = SimVFS.file(pFile)
        return SimVFS.withInode(
            file, { file.unlock(to: SQLiteLockLevel(rawValue: level)!, inode: $0) }, missing: SQLiteCode.ioErrorUnlock)
    }
    methods.pointee.xCheckReservedLock = { pFile, pResOut in
        let file = SimVFS.file(pFile)
        guard let reserved = SimVFS.withInode(file, { file.hasReservedLock(inode: $0) }, missing: nil) else {
            return SQLiteCode.ioErrorCheckReservedLock
        }
        pResOut!.pointee = reserved
        return SQLITE_OK
    }
    methods.pointee.xFileControl = { pFile, op, pArg in
        let file = SimVFS.file(pFile)
        switch op {
        case SQLITE_FCNTL_PERSIST_WAL:
            let value = pArg!.assumingMemoryBound(to: Int32.self)
            file.vfs.lock.withLock {
                if value.pointee < 0 {
                    value.pointee = file.persistsWAL ? 1 : 0
                } else {
                    file.persistsWAL = value.pointee != 0
                }
            }
            return SQLITE_OK
        case SQLITE_FCNTL_POWERSAFE_OVERWRITE:
            let value = pArg!.assumingMemoryBound(to: Int32.self)
            file.vfs.lock.withLock {
                if value.pointee < 0 {
                    value.pointee = file.powersafeOverwrite ? 1 : 0
                } else {
                    file.powersafeOverwrite = value.pointee != 0
                }
            }
            return SQLITE_OK
        default:
            return SQLITE_NOTFOUND
        }
    }
    methods.pointee.xSectorSize = { pFile in SimVFS.file(pFile).vfs.sectorSize }
    methods.pointee.xDeviceCharacteristics = { pFile in
        let file = SimVFS.file(pFile)
        return file.vfs.lock.withLock { file.powersafeOverwrite ? SQLITE_IOCAP_POWERSAFE_OVERWRITE : 0 }
    }
    methods.pointee.xShmMap = { pFile, region, size, extend, pp in
        let file = SimVFS.file(pFile)
        return file.vfs.lock.withLock { () -> Int32 in
            do {
                let mapping: Int
                if let existing = file.sharedMemoryMapping {
                    mapping = existing
                } else {
                    mapping = try file.disk.mapSharedMemory(for: file.path, by: file.vfs.process)
                    file.sharedMemoryMapping = mapping
                }
                let pointer = try file.disk.sharedMemoryRegion(
                    mapping, index: Int(region), size: Int(size), extend: extend != 0)
                pp!.pointee = pointer.map { UnsafeMutableRawPointer($0) }
                return SQLITE_OK
            } catch {
                return SQLiteCode.ioErrorShmMap
            }
        }
    }
    methods.pointee.xShmLock = { pFile, offset, count, flags in
        let file = SimVFS.file(pFile)
        return file.vfs.lock.withLock { () -> Int32 in
            guard let mapping = file.sharedMemoryMapping else { return SQLiteCode.ioErrorShmLock }
            do {
                if flags & SQLITE_SHM_UNLOCK != 0 {
                    try file.disk.unlockSharedMemory(mapping, offset: Int(offset), count: Int(count))
                    return SQLITE_OK
                }
                let exclusive = flags & SQLITE_SHM_EXCLUSIVE != 0
                return try file.disk.lockSharedMemory(
                    mapping, offset: Int(offset), count: Int(count), exclusive: exclusive)
                    ? SQLITE_OK : SQLITE_BUSY
            } catch {
                return SQLiteCode.ioErrorShmLock
            }
        }
    }
    methods.pointee.xShmBarrier = { pFile in
        // Taking and releasing a mutex is a full memory barrier; all shm access is serialised anyway.
        SimVFS.file(pFile).vfs.lock.withLock {}
    }
    methods.pointee.xShmUnmap = { pFile, _ in
        let file = SimVFS.file(pFile)
        file.vfs.lock.withLock {
            if let mapping = file.sharedMemoryMapping {
                file.disk.unmapSharedMemory(mapping)
                file.sharedMemoryMapping = nil
            }
        }
        return SQLITE_OK
    }
    return methods
}()
