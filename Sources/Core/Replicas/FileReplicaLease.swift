/// Leases for folder replicas: write-once records in `<root>/lease/`, each created with
/// `O_EXCL` (see `EpochLease` for the protocol and why it needs nothing more).
extension FileReplicaClient: EpochLeasedReplica {
    public var leaseRecords: FileLeaseRecordStore {
        FileLeaseRecordStore(replica: location, directory: Path.join(root, "lease"), fileSystem: fileSystem)
    }
}

/// Lease records as files in one folder.
public struct FileLeaseRecordStore: LeaseRecordStore {
    public let replica: String
    public let directory: String
    let fileSystem: any FileSystem

    public init(replica: String, directory: String, fileSystem: any FileSystem) {
        self.replica = replica
        self.directory = directory
        self.fileSystem = fileSystem
    }

    public func epochs() async throws -> [UInt64] {
        try await FileSystemError.nilIfNotFound({ try await fileSystem.list(directory) })?.compactMap(
            Self.parseRecordName) ?? []
    }

    public func record(_ epoch: UInt64) async throws -> LeaseRecord? {
        let path = Path.join(directory, Self.recordName(epoch))
        do {
            // Stat first: a record is written once, so the time and bytes read belong together.
            guard let stat = try await fileSystem.stat(path) else { return nil }
            return LeaseRecord(bytes: try await fileSystem.readAll(path), modified: stat.modified)
        } catch FileSystemError.notFound {
            return nil
        }
    }

    public func create(_ epoch: UInt64, bytes: [UInt8]) async throws -> Bool {
        let newDirectories = try await makeDirectory()
        let path = Path.join(directory, Self.recordName(epoch))
        let handle: any FileHandle
        do {
            handle = try await fileSystem.open(path, mode: .createNew)
        } catch FileSystemError.alreadyExists {
            return false
        }
        // Readers may see the file before its bytes; they treat an unreadable record as held
        // until a lease duration after its creation, so the short window is harmless.
        do {
            try await handle.write(bytes, at: 0)
            try await handle.sync()
            try await handle.close()
        } catch {
            try? await handle.close()
            try? await fileSystem.remove(path)
            throw error
        }
        // The record is durable only once its folder is, and a new folder only once its parent
        // is: without that a power loss can take the whole lease folder, the holder's record
        // with it, and a second replicator could then acquire the location.
        try await fileSystem.syncDirectory(directory)
        for created in newDirectories {
            try await fileSystem.syncDirectory(Path.directory(of: created))
        }
        return true
    }

    /// Creates the record folder and missing parents; returns the folders it created, deepest first.
    private func makeDirectory() async throws -> [String] {
        var missing: [String] = []
        var current = directory
        while !current.isEmpty && current != "/" && current != ".", try await fileSystem.stat(current) == nil {
            missing.append(current)
            current = Path.directory(of: current)
        }
        try await fileSystem.createDirectory(directory)
        return missing
    }

    public func remove(_ epoch: UInt64) async throws {
        try await fileSystem.remove(Path.join(directory, Self.recordName(epoch)))
    }
}
