import Glibc

/// POSIX advisory locks and SQLite's shared memory: the machine's volatile coordination state.
extension SimDisk {
    /// F_SETLK: takes a read or write lock on `range` of the descriptor's file for its process;
    /// false (EAGAIN) when another process holds a conflicting lock. A process's new lock
    /// replaces its own on the same bytes.
    public func lock(_ descriptor: SimFileDescriptor, _ kind: POSIXLockKind, _ range: Range<Int64>) throws(DiskError)
        -> Bool
    {
        try mutex.withLock { () throws(DiskError) -> Bool in
            let (open, _) = try openFile(descriptor)
            try checkFault(.metadata, node: nil, process: open.process)
            return lockTables[open.node, default: POSIXLockTable()].lock(kind, range, process: open.process)
        }
    }

    /// F_SETLK with F_UNLCK on `range`.
    public func unlock(_ descriptor: SimFileDescriptor, _ range: Range<Int64>) throws(DiskError) {
        try mutex.withLock { () throws(DiskError) in
            let (open, _) = try openFile(descriptor)
            try checkFault(.metadata, node: nil, process: open.process)
            lockTables[open.node]?.unlock(range, process: open.process)
        }
    }

    /// F_GETLK: the process holding a lock that would conflict with `kind` on `range`, if any.
    public func conflictingLockHolder(_ descriptor: SimFileDescriptor, _ kind: POSIXLockKind, _ range: Range<Int64>)
        throws(DiskError) -> SimProcess?
    {
        try mutex.withLock { () throws(DiskError) -> SimProcess? in
            let (open, _) = try openFile(descriptor)
            try checkFault(.metadata, node: nil, process: open.process)
            guard let record = lockTables[open.node]?.conflict(kind, range, process: open.process) else { return nil }
            return liveProcesses[record.process] ?? SimProcess(id: record.process, name: "?")
        }
    }

    /// The POSIX locks held on the file at `path`, as (process, range, kind), for tests and traces.
    public func posixLocks(on path: String) -> [(process: Int, range: Range<Int64>, kind: POSIXLockKind)] {
        mutex.withLock {
            guard let id = try? resolve(path), let table = lockTables[id] else { return [] }
            return table.records.map { ($0.process, $0.range, $0.kind) }
                .sorted { ($0.process, $0.range.lowerBound) < ($1.process, $1.range.lowerBound) }
        }
    }

    /// A fault: `process` silently loses every POSIX lock it holds on the file at `path`, as if
    /// some code in it had closed a descriptor of that file.
    public func dropPOSIXLocks(of process: SimProcess, on path: String) {
        mutex.withLock {
            guard let id = try? resolve(path) else { return }
            lockTables[id]?.dropAll(process: process.id)
        }
    }

    // MARK: - Shared memory

    /// Attaches one SQLite file handle to the shared memory of the database at `databasePath`;
    /// returns the mapping's identity for the calls below.
    public func mapSharedMemory(for databasePath: String, by process: SimProcess) throws(DiskError) -> Int {
        try mutex.withLock { () throws(DiskError) -> Int in
            try checkFault(.open, node: nil, process: process.id)
            let node = sharedMemory[databasePath] ?? SharedMemoryNode()
            sharedMemory[databasePath] = node
            let mapping = nextMapping
            nextMapping += 1
            node.mappings[mapping] = SharedMemoryNode.Mapping(process: process.id)
            mappingOwners.insert(node, at: mapping)
            return mapping
        }
    }

    /// xShmMap: region `index` of `size` bytes (zero-filled, never moving), created when
    /// `extend`; nil when missing and not to be created.
    public func sharedMemoryRegion(_ mapping: Int, index: Int, size: Int, extend: Bool) throws(DiskError)
        -> UnsafeMutableRawPointer?
    {
        try mutex.withLock { () throws(DiskError) -> UnsafeMutableRawPointer? in
            if halted { throw DiskError(EIO, "power lost") }
            guard let node = mappingOwners[mapping], node.mappings[mapping] != nil else { throw .badDescriptor }
            return node.region(index, size: size, extend: extend)
        }
    }

    /// xShmLock: takes slots `offset..<offset+count` shared or exclusive; false means busy.
    public func lockSharedMemory(_ mapping: Int, offset: Int, count: Int, exclusive: Bool) throws(DiskError) -> Bool {
        try mutex.withLock { () throws(DiskError) -> Bool in
            if halted { throw DiskError(EIO, "power lost") }
            precondition(
                offset >= 0 && count >= 1 && offset + count <= SharedMemoryNode.slotCount, "shm lock \(offset)+\(count)"
            )
            guard let node = mappingOwners[mapping], node.mappings[mapping] != nil else { throw .badDescriptor }
            return node.lock(mapping: mapping, offset: offset, count: count, exclusive: exclusive)
        }
    }

    /// xShmLock with SQLITE_SHM_UNLOCK.
    public func unlockSharedMemory(_ mapping: Int, offset: Int, count: Int) throws(DiskError) {
        try mutex.withLock { () throws(DiskError) in
            if halted { throw DiskError(EIO, "power lost") }
            guard let node = mappingOwners[mapping], node.mappings[mapping] != nil else { throw .badDescriptor }
            node.unlock(mapping: mapping, offset: offset, count: count)
        }
    }

    /// xShmUnmap: detaches; the last detach frees the memory (SQLite rebuilds the wal-index from
    /// the WAL next time). A mapping already dropped by a kill or power loss is ignored.
    public func unmapSharedMemory(_ mapping: Int) {
        mutex.withLock {
            guard let node = mappingOwners.remove(mapping) else { return }
            node.mappings[mapping] = nil
            guard node.mappings.isEmpty else { return }
            if let path = sharedMemory.first(where: { $0.value === node })?.key { sharedMemory[path] = nil }
            node.free()
        }
    }

    /// A fault: every shared-memory lock of `process` vanishes (an admin deleting `-shm`, NFS).
    public func dropSharedMemoryLocks(of process: SimProcess) {
        mutex.withLock {
            for node in sharedMemory.values {
                for (mapping, state) in node.mappings where state.process == process.id {
                    node.mappings[mapping]?.sharedMask = 0
                    node.mappings[mapping]?.exclusiveMask = 0
                }
            }
        }
    }
}
