import Core

/// The sector size of the crash model: the unit a power loss tears writes at.
let diskSectorSize = 512

/// A regular file's bytes in two layers.
///
/// `live` is what reads see (the page cache). `durable` is what is on the platter; the two share
/// every page not written since the last fsync. Between two fsyncs the file remembers which
/// 512-byte sectors were written (a bit mask per page, plus the pages in the order they first got
/// dirty) and the smallest size it had (`minimumSizeSinceSync`); every byte at or past that size
/// that is not in a dirty sector is zero in `live`. That is enough both to make `durable` equal
/// `live` on fsync in time proportional to the changes, and to build the torn states a power
/// loss may leave.
final class FileNode {
    static let sectorsPerPage = PagedBytes.pageSize / diskSectorSize

    private(set) var live = PagedBytes()
    private(set) var durable = PagedBytes()
    /// Dirty sectors of page `i` as bits of `dirtyMasks[i]`; never shrunk before an fsync, so a
    /// sector written, cut away and grown back again is still dirty, as a set of sectors would say.
    private var dirtyMasks: [UInt8] = []
    /// Every page with a non-zero mask, each once.
    private var dirtyPages: [Int] = []
    private(set) var minimumSizeSinceSync = 0
    var modified: Timestamp

    init(modified: Timestamp) { self.modified = modified }

    var size: Int { live.count }

    func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        live.read(at: offset, into: buffer)
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) {
        guard bytes.count > 0 else { return }
        live.write(bytes, at: offset)
        markDirty(firstSector: offset / diskSectorSize, lastSector: (offset + bytes.count - 1) / diskSectorSize)
    }

    /// Marks sectors `firstSector...lastSector` dirty, a page's mask at a time (pages join
    /// `dirtyPages` in ascending order, as sector by sector would add them).
    private func markDirty(firstSector: Int, lastSector: Int) {
        let lastPage = lastSector / Self.sectorsPerPage
        if lastPage >= dirtyMasks.count {
            dirtyMasks.append(contentsOf: repeatElement(0, count: lastPage + 1 - dirtyMasks.count))
        }
        var sector = firstSector
        while sector <= lastSector {
            let page = sector / Self.sectorsPerPage
            let from = sector % Self.sectorsPerPage
            let to = min(lastSector - page * Self.sectorsPerPage, Self.sectorsPerPage - 1)
            // Bits from...to, set.
            let mask = UInt8(truncatingIfNeeded: (0xff << from) & (0xff >> (Self.sectorsPerPage - 1 - to)))
            if dirtyMasks[page] == 0 { dirtyPages.append(page) }
            dirtyMasks[page] |= mask
            sector = (page + 1) * Self.sectorsPerPage
        }
    }

    /// The dirty sectors in offset order.
    var dirtySectors: [Int] {
        var result: [Int] = []
        for page in dirtyPages.sorted() {
            let mask = dirtyMasks[page]
            for bit in 0..<Self.sectorsPerPage where mask & (UInt8(1) << UInt8(bit)) != 0 {
                result.append(page * Self.sectorsPerPage + bit)
            }
        }
        return result
    }

    func truncate(to size: Int) {
        if size < live.count { minimumSizeSinceSync = min(minimumSizeSinceSync, size) }
        live.resize(to: size)
    }

    /// fsync: the platter now holds exactly `live`. Given the invariant above, the durable bytes
    /// cut to the smallest size, grown to the live size, with every dirty page taken from `live`,
    /// are `live`; the pages are shared, not copied.
    func sync() {
        durable.resize(to: min(durable.count, minimumSizeSinceSync))
        durable.resize(to: live.count)
        let pageCount = live.pages.count
        for page in dirtyPages {
            if page < pageCount { durable.sharePage(page, from: live) }
            dirtyMasks[page] = 0
        }
        dirtyPages.removeAll(keepingCapacity: true)
        minimumSizeSinceSync = live.count
    }

    /// After a power loss: both layers hold `content`, nothing is dirty.
    func reboot(with content: PagedBytes) {
        live = content
        durable = content
        dirtyMasks = []
        dirtyPages = []
        minimumSizeSinceSync = content.count
    }

    /// What a power loss leaves of this file: the durable bytes, the un-synced size change or not,
    /// and each dirty sector kept, dropped or trashed. Sectors are visited in order so a seed
    /// always draws the same way.
    func crashedContent(random: any RandomSource, model: DiskCrashModel) -> PagedBytes {
        var result = durable
        let sizeChanged = minimumSizeSinceSync < durable.count || live.count != durable.count
        if sizeChanged && random.chance(model.sizeChangeSurvivalRate) {
            result.resize(to: min(result.count, minimumSizeSinceSync))
            result.resize(to: live.count)
        }
        for sector in dirtySectors {
            let start = sector * diskSectorSize
            let end = min(start + diskSectorSize, live.count)
            guard start < end else { continue }
            if random.chance(model.sectorSurvivalRate) {
                result.copy(from: live, range: start..<end)
            } else if random.chance(model.sectorGarbageRate) {
                if result.count < end { result.resize(to: end) }
                result.fill(start..<end) { UInt8(truncatingIfNeeded: random.next()) }
            }
        }
        return result
    }
}

/// One un-synced change to a directory: names bound to nodes (or unbound, for nil) atomically.
/// `sequence` orders changes across the whole disk for the journal-prefix crash mode.
struct EntryChange {
    var sequence: Int
    var assignments: [(name: String, node: Int?)]
}

/// A directory's entries in two layers: `live` (what lookups see) and `durable` (what survives a
/// power loss), with the changes between them in the order they were made. A directory fsync
/// makes `durable` equal `live`.
final class DirectoryNode {
    var live: [String: Int] = [:]
    var durable: [String: Int] = [:]
    var pending: [EntryChange] = []
    var modified: Timestamp

    init(modified: Timestamp) { self.modified = modified }

    func record(_ change: EntryChange) {
        for (name, node) in change.assignments { live[name] = node }
        pending.append(change)
    }

    func sync() {
        durable = live
        pending = []
    }

    /// The names sorted bytewise, as `list` promises.
    var sortedLiveNames: [String] {
        live.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }
}

/// A node of the simulated file system: a file or a directory. Node numbers are never reused.
enum DiskNode {
    case file(FileNode)
    case directory(DirectoryNode)
}
