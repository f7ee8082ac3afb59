import Core

/// `sluice verify`'s raw listing of an SFTP replica: every name in a generation's folders, in
/// one session. SFTP names carry no file type, so a folder is recognised by where it is: the
/// generation's `snapshots` and `wal`, and the WAL index folders.
extension SFTPReplicaClient: ReplicaKeyListing {
    public func objectEntries(in generation: Generation) async throws -> [ReplicaObjectEntry] {
        let base = Path.join(root, ReplicaLayout.generationDirectory(generation))
        return try await pool.withSession { session in
            var entries: [ReplicaObjectEntry] = []
            func add(_ key: String) throws {
                // Gone between the listing and the stat: retention or an upload's rename.
                guard let stat = try session.stat(Path.join(base, key)) else { return }
                entries.append(ReplicaObjectEntry(key: key, size: stat.size, modified: stat.modified))
            }
            // WAL before snapshots: retention deletes snapshots before the WAL they needed.
            let top = ReplicaKeyClass.walFirst(try session.listNames(base) ?? [])
            for name in top {
                guard name == "snapshots" || name == "wal" else {
                    try add(name)
                    continue
                }
                for child in (try session.listNames(Path.join(base, name)) ?? []).sorted() {
                    let key = name + "/" + child
                    if name == "wal", ReplicaLayout.parseIndexDirectoryName(child) != nil,
                        let segments = try session.listNames(Path.join(base, key))
                    {
                        for segment in segments.sorted() { try add(key + "/" + segment) }
                    } else {
                        try add(key)
                    }
                }
            }
            return entries
        }
    }

    public func strayGenerationNames() async throws -> [String] {
        let directory = Path.join(root, ReplicaLayout.generationsDirectory)
        let names = try await pool.withSession { try $0.listNames(directory) } ?? []
        return names.filter { Generation($0) == nil }
    }
}
