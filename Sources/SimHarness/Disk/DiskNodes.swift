import Core

/// The sector size of the crash model: the unit a power loss tears writes at.
let diskSectorSize = 512

/// A regular file's bytes in two layers.
///
/// `live` is what reads see (the page cache). `durable` is what is on the platter. Between two
/// fsyncs the file remembers which 512-byte sectors were written (`dirtySectors`) and the smallest
/// size it had (`minimumSizeSinceSync`); every byte at or past that size that is not in a dirty
/// sector is zero in `live`. That is enough both to make `durable` equal `live` on fsync in time
/// proportional to the changes, and to build the torn states a power loss may leave.
final class FileNode {
    var live: [UInt8] = []
    var durable: [UInt8] = []
    var dirtySectors: Set<Int> = []
    var minimumSizeSinceSync = 0
    var modified: Timestamp

    init(modified: Timestamp) { self.modified = modified }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) {
        guard bytes.count > 0 else { return }
        let end = offset + bytes.count
        if end > live.count { live.resize(to: end) }
        live.withUnsafeMutableBytes { target in
            (target.baseAddress! + offset).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        }
        var sector = offset / diskSectorSize
        while sector * diskSectorSize < end {
            dirtySectors.insert(sector)
            sector += 1
        }
    }

    func truncate(to size: Int) {
        if size < live.count { minimumSizeSinceSync = min(minimumSizeSinceSync, size) }
        live.resize(to: size)
    }

    /// fsync: the platter now holds exactly `live`.
    func sync() {
        durable.resize(to: min(durable.count, minimumSizeSinceSync))
        durable.resize(to: live.count)
        for sector in dirtySectors {
            let start = sector * diskSectorSize
            let end = min(start + diskSectorSize, live.count)
            if start < end { durable.copy(from: live, range: start..<end) }
        }
        dirtySectors = []
        minimumSizeSinceSync = live.count
    }

    /// What a power loss leaves of this file: the durable bytes, the un-synced size change or not,
    /// and each dirty sector kept, dropped or trashed. Sectors are visited in order so a seed
    /// always draws the same way.
    func crashedContent(random: any RandomSource, model: DiskCrashModel) -> [UInt8] {
        var result = durable
        let sizeChanged = minimumSizeSinceSync < durable.count || live.count != durable.count
        if sizeChanged && random.chance(model.sizeChangeSurvivalRate) {
            result.resize(to: min(result.count, minimumSizeSinceSync))
            result.resize(to: live.count)
        }
        for sector in dirtySectors.sorted() {
            let start = sector * diskSectorSize
            let end = min(start + diskSectorSize, live.count)
            guard start < end else { continue }
            if random.chance(model.sectorSurvivalRate) {
                if result.count < end { result.resize(to: end) }
                result.copy(from: live, range: start..<end)
            } else if random.chance(model.sectorGarbageRate) {
                if result.count < end { result.resize(to: end) }
                result.withUnsafeMutableBytes { bytes in
                    var index = start
                    while index < end {
                        bytes[index] = UInt8(truncatingIfNeeded: random.next())
                        index += 1
                    }
                }
            }
        }
        return result
    }
}

/// Whole-buffer operations written with raw memory: the generic collection paths run byte by
/// byte in debug builds, where the simulator's tests spend most of their time.
extension Array where Element == UInt8 {
    private static let zeros = [UInt8](repeating: 0, count: 64 * 1024)

    /// Cuts, or extends with zeros, to `count` bytes.
    mutating func resize(to count: Int) {
        if count < self.count {
            removeSubrange(count..<self.count)
            return
        }
        var missing = count - self.count
        while missing > 0 {
            let chunk = Swift.min(missing, Self.zeros.count)
            Self.zeros.withUnsafeBufferPointer { append(contentsOf: UnsafeBufferPointer(rebasing: $0[0..<chunk])) }
            missing -= chunk
        }
    }

    /// Copies `source[range]` over the same range of this array (which must cover it).
    mutating func copy(from source: [UInt8], range: Range<Int>) {
        source.withUnsafeBytes { from in
            withUnsafeMutableBytes { to in
                (to.baseAddress! + range.lowerBound).copyMemory(from: from.baseAddress! + range.lowerBound, byteCount: range.count)
            }
        }
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
