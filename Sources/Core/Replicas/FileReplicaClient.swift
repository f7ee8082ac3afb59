import Synchronization

/// A replica in a local (or mounted) folder.
///
/// Writes use `writeLayout`; listings and reads understand both layouts, so Sluice restores
/// Litestream v0.3 replicas and can write them on request. Every write lands whole or not at
/// all: the bytes go to a uniquely named `*.tmp` file that is fsynced, renamed onto the key, and
/// made durable with a directory fsync. Readers and listings never see the temp files.
public struct FileReplicaClient: KeyedObjectReplica {
    public let root: String
    public let writeLayout: ReplicaLayout
    public let fileSystem: any FileSystem
    /// Names this client's temp files; unique per writer so two writers never share one.
    let tempNames: ReplicaTempNames

    public var kind: String { "file" }
    public var location: String { root }

    /// - Parameters:
    ///   - root: An absolute folder path; it is created on the first write.
    ///   - tempNames: The suffixes of temp files; IO's convenience initialiser passes the
    ///     process-wide source, the simulator a counter of its own so names are deterministic.
    public init(
        root: String, fileSystem: any FileSystem, writeLayout: ReplicaLayout = .grouped,
        tempNames: ReplicaTempNames
    ) {
        // A trailing slash would double up in keys and in messages.
        var root = root
        while root.count > 1 && root.hasSuffix("/") { root.removeLast() }
        self.root = root
        self.fileSystem = fileSystem
        self.writeLayout = writeLayout
        self.tempNames = tempNames
    }

    // MARK: - Listing

    public func generations() async throws -> [Generation] {
        guard let names = try await listIfPresent(ReplicaLayout.generationsDirectory) else { return [] }
        return names.compactMap(Generation.init).sorted()
    }

    public func snapshots(in generation: Generation) async throws -> [SnapshotInfo] {
        let directory = ReplicaLayout.snapshotsDirectory(generation)
        guard let names = try await listIfPresent(directory) else { return [] }
        var entries: [ReplicaObjectEntry] = []
        for name in names where ReplicaLayout.parseSnapshotName(name) != nil {
            guard let stat = try await fileSystem.stat(path(directory, name)), !stat.isDirectory else { continue }
            entries.append(ReplicaObjectEntry(key: name, size: stat.size, modified: stat.modified))
        }
        return ReplicaLayout.snapshots(of: generation, from: entries)
    }

    public func walSegments(in generation: Generation) async throws -> [WALSegmentInfo] {
        let walDirectory = ReplicaLayout.walDirectory(generation)
        guard let names = try await listIfPresent(walDirectory) else { return [] }
        var entries: [ReplicaObjectEntry] = []
        for name in names {
            if ReplicaLayout.parseIndexDirectoryName(name) != nil {
                let indexDirectory = Path.join(walDirectory, name)
                // The folder may vanish between listings when retention prunes it.
                guard let segmentNames = try await listIfPresent(indexDirectory) else { continue }
                for segmentName in segmentNames where ReplicaLayout.parseGroupedSegmentName(segmentName) != nil {
                    guard let stat = try await fileSystem.stat(path(indexDirectory, segmentName)), !stat.isDirectory
                    else { continue }
                    entries.append(
                        ReplicaObjectEntry(key: name + "/" + segmentName, size: stat.size, modified: stat.modified))
                }
            } else if ReplicaLayout.parseLegacySegmentName(name) != nil,
                let stat = try await fileSystem.stat(path(walDirectory, name)), !stat.isDirectory
            {
                entries.append(ReplicaObjectEntry(key: name, size: stat.size, modified: stat.modified))
            }
        }
        return ReplicaLayout.walSegments(of: generation, from: entries)
    }

    // MARK: - Deleting

    public func deleteSnapshot(generation: Generation, index: UInt64) async throws {
        for layout in ReplicaLayout.allCases {
            try await fileSystem.remove(path(layout.snapshotKey(generation, index: index)))
        }
    }

    public func deleteWALSegments(_ positions: [Position]) async throws {
        var touchedIndexes: Set<IndexKey> = []
        for position in positions {
            for layout in ReplicaLayout.allCases {
                try await fileSystem.remove(path(layout.walSegmentKey(position)))
            }
            touchedIndexes.insert(IndexKey(generation: position.generation, index: position.index))
        }
        // Sorted so the order of removals never depends on hashing.
        for key in touchedIndexes.sorted(by: { ($0.generation, $0.index) < ($1.generation, $1.index) }) {
            try await pruneIfEmpty(ReplicaLayout.walIndexDirectory(key.generation, index: key.index))
        }
    }

    public func deleteGeneration(_ generation: Generation) async throws {
        try await fileSystem.removeTree(path(ReplicaLayout.generationDirectory(generation)))
    }

    // MARK: - Helpers

    private struct IndexKey: Hashable {
        var generation: Generation
        var index: UInt64
    }

    private func path(_ key: String) -> String { Path.join(root, key) }

    private func path(_ directory: String, _ name: String) -> String { Path.join(root, directory, name) }

    /// Lists a folder under the root, or nil when it does not exist.
    private func listIfPresent(_ directory: String) async throws -> [String]? {
        do {
            return try await fileSystem.list(path(directory))
        } catch FileSystemError.notFound {
            return nil
        } catch FileSystemError.notADirectory(let at) {
            throw ReplicaClientError.unavailable(replica: location, reason: "\(at) is not a directory")
        }
    }

    /// Opens the first key that exists, for reading to its end.
    public func openObject(_ keys: [String]) async throws -> any ByteSource {
        for key in keys {
            let handle: any FileHandle
            do {
                handle = try await fileSystem.open(path(key), mode: .readOnly)
            } catch FileSystemError.notFound {
                continue
            }
            do {
                let size = try await handle.size()
                return FileRangeSource(handle: handle, from: 0, to: size, closesHandle: true)
            } catch {
                try? await handle.close()
                throw error
            }
        }
        throw ReplicaClientError.notFound(replica: location, key: keys[0])
    }

    /// `KeyedObjectReplica`: stores an object, reporting its size and time.
    public func writeObject(_ key: String, data: any ByteSource) async throws -> (size: Int64, modified: Timestamp) {
        let stat = try await storeObject(key, data: data)
        return (stat.size, stat.modified)
    }

    /// Streams `data` into `key` atomically and durably, returning the stored object's stat.
    private func storeObject(_ key: String, data: any ByteSource) async throws -> FileStat {
        let target = path(key)
        let directory = Path.directory(of: target)
        let newDirectories = try await ensureDirectory(directory)
        let temp = "\(target).\(tempNames.next()).tmp"

        let handle: any FileHandle
        do {
            handle = try await fileSystem.open(temp, mode: .createNew)
        } catch FileSystemError.notFound {
            // Retention pruned the (empty) index folder between our mkdir and open: make it again.
            _ = try await ensureDirectory(directory)
            handle = try await fileSystem.open(temp, mode: .createNew)
        }
        do {
            var offset: Int64 = 0
            while true {
                let chunk = try await data.read(upTo: 1 << 20)
                if chunk.isEmpty { break }
                try await handle.write(chunk, at: offset)
                offset += Int64(chunk.count)
            }
            try await handle.sync()
            try await handle.close()
        } catch {
            try? await handle.close()
            try? await fileSystem.remove(temp)
            throw error
        }
        do {
            try await fileSystem.rename(temp, to: target)
        } catch {
            try? await fileSystem.remove(temp)
            throw error
        }
        // The rename is durable only once its folder is synced, and a new folder only once its
        // parent is: sync from the object's folder up through every folder this write created.
        try await fileSystem.syncDirectory(directory)
        for created in newDirectories {
            try await fileSystem.syncDirectory(Path.directory(of: created))
        }
        guard let stat = try await fileSystem.stat(target) else {
            throw ReplicaClientError.notFound(replica: location, key: key)
        }
        return stat
    }

    /// Creates `directory` and missing parents; returns the folders it created, deepest first.
    private func ensureDirectory(_ directory: String) async throws -> [String] {
        var missing: [String] = []
        var current = directory
        while current != root && current.count > root.count, try await fileSystem.stat(current) == nil {
            missing.append(current)
            current = Path.directory(of: current)
        }
        if current == root, try await fileSystem.stat(root) == nil { missing.append(root) }
        if !missing.isEmpty { try await fileSystem.createDirectory(directory) }
        return missing
    }

    /// Removes an index folder left empty. A folder that gained a file meanwhile stays: `remove`
    /// never deletes a non-empty folder, so a concurrent upload is never lost.
    private func pruneIfEmpty(_ directory: String) async throws {
        guard let names = try await listIfPresent(directory), names.isEmpty else { return }
        try? await fileSystem.remove(path(directory))
    }
}

/// Unique suffixes for temp files: the prefix keeps two processes writing one replica apart
/// (IO uses the process id), and a counter keeps one process's concurrent writes apart.
public final class ReplicaTempNames: Sendable {
    private let prefix: String
    private let counter = Atomic<UInt64>(0)

    public init(prefix: String) {
        self.prefix = prefix
    }

    public func next() -> String {
        let n = counter.add(1, ordering: .relaxed).newValue
        return "\(prefix)-\(String(n, radix: 16))"
    }
}
