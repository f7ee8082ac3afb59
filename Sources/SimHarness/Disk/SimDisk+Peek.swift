/// Reads for the oracle: the live content of a file as every process now sees it, without
/// faults, descriptors or mutation counts, so looking adds nothing a seed's run could notice.
extension SimDisk {
    /// The live bytes of the file at `path`, or nil when there is none (or it is a directory).
    public func peekContents(of path: String) -> [UInt8]? {
        mutex.withLock {
            guard let id = try? resolve(path), case .file(let file) = nodes[id]! else { return nil }
            return [UInt8](unsafeUninitializedCapacity: file.size) { buffer, filled in
                filled = file.read(at: 0, into: UnsafeMutableRawBufferPointer(buffer))
            }
        }
    }

    /// The live names in the directory at `path`, sorted bytewise; empty when there is none.
    public func peekNames(in path: String) -> [String] {
        mutex.withLock {
            guard let id = try? resolve(path), case .directory(let directory) = nodes[id]! else { return [] }
            return directory.sortedLiveNames
        }
    }
}

extension SimDisk {
    /// The frames of the current WAL lifetime of the database at `databasePath`, as SQLite's
    /// wal-index header in shared memory holds them (`mxFrame`, the first header copy); nil when
    /// no process maps that database's shared memory. Reads no file: no fault, no scheduling point.
    public func peekWALIndexFrames(databasePath: String) -> Int? {
        mutex.withLock {
            guard let node = sharedMemory[databasePath], let header = node.regions.first, node.regionSize >= 48 else {
                return nil
            }
            // WalIndexHdr: iVersion, unused, iChange (u32 each), isInit, bigEndCksum (u8), szPage (u16), mxFrame (u32).
            return Int(header.load(fromByteOffset: 16, as: UInt32.self))
        }
    }
}
