/// SQLite's wal-index shared memory for one database on one machine: zero-filled regions that
/// never move while mapped, and the 8 `xShmLock` slots.
///
/// Each slot is held shared by any number of connections or exclusively by one. Locks belong to
/// a *connection's mapping* (one per SQLite file handle), as SQLite's unix VFS tracks them per
/// `unixShm` inside a process; the mapping also records its process so a kill drops them. Shared
/// memory is not storage: a power loss drops it, and SQLite rebuilds it from the WAL.
final class SharedMemoryNode {
    static let slotCount = 8

    struct Mapping {
        var process: Int
        var sharedMask: UInt8 = 0
        var exclusiveMask: UInt8 = 0
    }

    var regions: [UnsafeMutableRawPointer] = []
    var regionSize = 0
    var mappings = MappingList()

    /// The region `index`, extended (zero-filled) when `extend` is set; nil when it does not exist
    /// and may not be created.
    func region(_ index: Int, size: Int, extend: Bool) -> UnsafeMutableRawPointer? {
        if regionSize == 0 { regionSize = size }
        precondition(size == regionSize, "shm region size changed from \(regionSize) to \(size)")
        if index < regions.count { return regions[index] }
        guard extend else { return nil }
        while regions.count <= index {
            let region = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
            region.initializeMemory(as: UInt8.self, repeating: 0, count: size)
            regions.append(region)
        }
        return regions[index]
    }

    /// xShmLock for `mapping` on slots `offset..<offset+count`; false means SQLITE_BUSY.
    func lock(mapping id: Int, offset: Int, count: Int, exclusive: Bool) -> Bool {
        let mask = UInt8(truncatingIfNeeded: ((1 << count) - 1) << offset)
        guard var mine = mappings[id] else { return false }
        for (other, mapping) in mappings where other != id {
            if mapping.exclusiveMask & mask != 0 { return false }
            if exclusive && mapping.sharedMask & mask != 0 { return false }
        }
        if exclusive {
            mine.exclusiveMask |= mask
            mine.sharedMask &= ~mask
        } else {
            mine.sharedMask |= mask
        }
        mappings[id] = mine
        return true
    }

    func unlock(mapping id: Int, offset: Int, count: Int) {
        let mask = UInt8(truncatingIfNeeded: ((1 << count) - 1) << offset)
        mappings[id]?.sharedMask &= ~mask
        mappings[id]?.exclusiveMask &= ~mask
    }

    /// Frees the regions. Only when no SQLite connection can still hold a pointer into them.
    func free() {
        for region in regions { region.deallocate() }
        regions = []
    }
}

/// A shared-memory node's mappings by number: a handful at most (one per SQLite connection to
/// the database), so a linear scan beats hashing on every `xShmLock`.
struct MappingList: Sequence {
    private var entries: [(key: Int, value: SharedMemoryNode.Mapping)] = []

    var isEmpty: Bool { entries.isEmpty }

    subscript(id: Int) -> SharedMemoryNode.Mapping? {
        get {
            for entry in entries where entry.key == id { return entry.value }
            return nil
        }
        set {
            let index = entries.firstIndex { $0.key == id }
            switch (index, newValue) {
            case (let index?, let value?): entries[index].value = value
            case (let index?, nil): entries.remove(at: index)
            case (nil, let value?): entries.append((id, value))
            case (nil, nil): break
            }
        }
    }

    func makeIterator() -> IndexingIterator<[(key: Int, value: SharedMemoryNode.Mapping)]> {
        entries.makeIterator()
    }
}
