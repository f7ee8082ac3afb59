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

    var hasUnsyncedChanges: Bool {
        !dirtySectors.isEmpty || minimumSizeSinceSync != durable.count || live.count != durable.count
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) {
        guard bytes.count > 0 else { return }
        let end = offset + bytes.count
        if end > live.count { live.append(contentsOf: repeatElement(0, count: end - live.count)) }
        live.withUnsafeMutableBytes { target in
            (target.baseAddress! + offset).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        }
        for sector in (offset / diskSectorSize)...((end - 1) / diskSectorSize) { dirtySectors.insert(sector) }
    }

    func truncate(to size: Int) {
        if size < live.count {
            live.removeLast(live.count - size)
            minimumSizeSinceSync = min(minimumSizeSinceSync, size)
        } else if size > live.count {
            live.append(contentsOf: repeatElement(0, count: size - live.count))
        }
    }

    /// fsync: the platter now holds exactly `live`.
    func sync() {
        if durable.count > minimumSizeSinceSync { durable.removeLast(durable.count - minimumSizeSinceSync) }
        if durable.count < live.count { durable.append(contentsOf: repeatElement(0, count: live.count - durable.count)) }
        if durable.count > live.count { durable.removeLast(durable.count - live.count) }
        for sector in dirtySectors {
            let start = sector * diskSectorSize
            let end = min(start + diskSectorSize, live.count)
            if start < end { durable.replaceSubrange(start..<end, with: live[start..<end]) }
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
            if result.count > minimumSizeSinceSync { result.removeLast(result.count - minimumSizeSinceSync) }
            if result.count < live.count { result.append(contentsOf: repeatElement(0, count: live.count - result.count)) }
            if result.count > live.count { result.removeLast(result.count - live.count) }
        }
        for sector in dirtySectors.sorted() {
            let start = sector * diskSectorSize
            let end = min(start + diskSectorSize, live.count)
            guard start < end else { continue }
            if random.chance(model.sectorSurvivalRate) {
                if result.count < end { result.append(contentsOf: repeatElement(0, count: end - result.count)) }
                result.replaceSubrange(start..<end, with: live[start..<end])
            } else if random.chance(model.sectorGarbageRate) {
                if result.count < end { result.append(contentsOf: repeatElement(0, count: end - result.count)) }
                for index in start..<end { result[index] = UInt8(truncatingIfNeeded: random.next()) }
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
