import Core

/// One path of a disk image: a directory or a file with its bytes.
public struct DiskImageEntry: Sendable, Equatable {
    public var path: String
    public var isDirectory: Bool
    public var bytes: [UInt8]
}

/// Power loss and images of what is on the platter.
extension SimDisk {
    /// Power loss, then reboot. What survives:
    /// - Every process dies: descriptors, POSIX locks and shared memory are gone (SQLite
    ///   connections of the old processes get I/O errors from then on). The halt and persistent
    ///   faults are cleared.
    /// - Directories: each keeps its durable entries plus a seeded subset of its un-synced changes
    ///   (`model.directoryMode`: each change on its own, or one cut over all of them in order).
    ///   Nodes no surviving entry reaches are gone.
    /// - Files: each keeps its durable bytes; an un-synced size change survives with
    ///   `sizeChangeSurvivalRate` (cut to the smallest size since the last fsync, then extended
    ///   with zeros to the current size); then every sector written since the last fsync is,
    ///   independently and in offset order, written with its latest content
    ///   (`sectorSurvivalRate`), else trashed with random bytes (`sectorGarbageRate`), else left
    ///   as it was. A kept sector past the end extends the file.
    /// Draws are made directories first, then files, each in node order, so one seed and one
    /// history give one result. Afterwards live = durable everywhere.
    public func crash(random: any RandomSource, model: DiskCrashModel = DiskCrashModel()) {
        mutex.withLock {
            // Collection is lazy; the draws below must see exactly the nodes still reachable.
            collectGarbage()
            descriptors.removeAll()
            liveProcesses = [:]
            lockTables = [:]
            graveyard.append(contentsOf: sharedMemory.values)
            sharedMemory = [:]
            mappingOwners.removeAll()
            brokenOperations = []
            halted = false
            boots += 1

            let directories = nodes.compactMap { id, node -> (Int, DirectoryNode)? in
                if case .directory(let directory) = node { return (id, directory) }
                return nil
            }.sorted { $0.0 < $1.0 }
            let survivingSequences = survivingChanges(directories.map(\.1), random: random, model: model)
            for (_, directory) in directories {
                var entries = directory.durable
                for change in directory.pending where survivingSequences.contains(change.sequence) {
                    for (name, node) in change.assignments { entries[name] = node }
                }
                directory.live = entries
                directory.durable = entries
                directory.pending = []
            }
            collectGarbage()

            for id in nodes.keys.sorted() {
                guard case .file(let file) = nodes[id]! else { continue }
                file.reboot(with: file.crashedContent(random: random, model: model))
            }
            // The kernel that held the watches is gone; every process starts over.
            changeWatches = [:]
            observer?.diskDidCrash()
        }
    }

    private func survivingChanges(_ directories: [DirectoryNode], random: any RandomSource, model: DiskCrashModel)
        -> Set<Int>
    {
        let changes = directories.flatMap(\.pending).map(\.sequence).sorted()
        switch model.directoryMode {
        case .independent:
            return Set(changes.filter { _ in random.chance(model.directoryChangeSurvivalRate) })
        case .journalPrefix:
            guard !changes.isEmpty else { return [] }
            let cut = Int(random.next() % UInt64(changes.count + 1))
            return Set(changes.prefix(cut))
        }
    }

    /// Everything a power loss right now would certainly keep: durable entries from the root and
    /// durable bytes, sorted by path.
    public func durableImage() -> [DiskImageEntry] {
        mutex.withLock { image(durable: true) }
    }

    /// What processes see now: live entries and live bytes, sorted by path.
    public func liveImage() -> [DiskImageEntry] {
        mutex.withLock { image(durable: false) }
    }

    /// A 64-bit FNV-1a digest of `durableImage()`: paths, kinds, sizes and bytes.
    public func durableDigest() -> UInt64 {
        Self.digest(durableImage())
    }

    /// The durable bytes of the file at `path` as reached through durable entries, or nil.
    public func durableContent(of path: String) -> [UInt8]? {
        durableImage().first { $0.path == path && !$0.isDirectory }?.bytes
    }

    /// FNV-1a over an image, for determinism checks.
    public static func digest(_ image: [DiskImageEntry]) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ byte: UInt8) {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01b3
        }
        for entry in image {
            for byte in entry.path.utf8 { mix(byte) }
            mix(0)
            mix(entry.isDirectory ? 1 : 2)
            var count = UInt64(entry.bytes.count)
            for _ in 0..<8 {
                mix(UInt8(truncatingIfNeeded: count))
                count >>= 8
            }
            for byte in entry.bytes { mix(byte) }
        }
        return hash
    }

    private func image(durable: Bool) -> [DiskImageEntry] {
        var result: [DiskImageEntry] = []
        func visit(_ id: Int, _ path: String) {
            switch nodes[id] {
            case .file(let file)?:
                result.append(
                    DiskImageEntry(
                        path: path, isDirectory: false, bytes: durable ? file.durable.array : file.live.array))
            case .directory(let directory)?:
                if id != Self.rootNode { result.append(DiskImageEntry(path: path, isDirectory: true, bytes: [])) }
                let entries = durable ? directory.durable : directory.live
                for name in entries.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
                    visit(entries[name]!, path == "/" ? "/" + name : path + "/" + name)
                }
            case nil:
                break
            }
        }
        visit(Self.rootNode, "/")
        return result
    }
}
