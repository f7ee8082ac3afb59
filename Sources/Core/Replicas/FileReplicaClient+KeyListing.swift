/// `sluice verify`'s raw listing of a folder replica: every file and folder of a generation as
/// named on disk, so that names no layout parses are reported rather than skipped.
extension FileReplicaClient: ReplicaKeyListing {
    public func objectEntries(in generation: Generation) async throws -> [ReplicaObjectEntry] {
        let base = Path.join(root, ReplicaLayout.generationDirectory(generation))
        var entries: [ReplicaObjectEntry] = []
        // WAL before snapshots: retention deletes snapshots before the WAL they needed.
        for name in ReplicaKeyClass.walFirst(try await names(base)) {
            switch name {
            case "snapshots", "wal":
                for child in try await names(Path.join(base, name)) {
                    let key = name + "/" + child
                    if name == "wal", ReplicaLayout.parseIndexDirectoryName(child) != nil,
                        try await fileSystem.stat(Path.join(base, key))?.isDirectory == true
                    {
                        for segment in try await names(Path.join(base, key)) {
                            try await add(key + "/" + segment, base: base, to: &entries)
                        }
                    } else {
                        try await add(key, base: base, to: &entries)
                    }
                }
            default:
                try await add(name, base: base, to: &entries)
            }
        }
        return entries
    }

    public func strayGenerationNames() async throws -> [String] {
        try await names(Path.join(root, ReplicaLayout.generationsDirectory)).filter { Generation($0) == nil }
    }

    /// One entry; a folder where an object should be is named with a trailing slash.
    private func add(_ key: String, base: String, to entries: inout [ReplicaObjectEntry]) async throws {
        // Gone between the listing and the stat: retention or an upload's rename.
        guard let stat = try await fileSystem.stat(Path.join(base, key)) else { return }
        entries.append(
            ReplicaObjectEntry(
                key: stat.isDirectory ? key + "/" : key,
                size: stat.isDirectory ? 0 : stat.size,
                modified: stat.modified))
    }

    /// The names in a folder; none when it does not exist (or is not a folder).
    private func names(_ directory: String) async throws -> [String] {
        do {
            return try await fileSystem.list(directory)
        } catch FileSystemError.notFound {
            return []
        } catch FileSystemError.notADirectory {
            return []
        }
    }
}
