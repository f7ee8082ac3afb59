import Core

extension FileReplicaClient: ReplicaChangeListing {
    /// Lists the followed index's folder (only names past the applied offset are looked at), and
    /// the next index's folders while they exist (found with a stat); the generation names only when the followed
    /// generation has nothing new. A steady follow lists one folder per poll. When the index has
    /// no folder (a Litestream flat-layout replica, or no segment of the index yet) it falls back
    /// to `listedChanges`.
    public func changes(after position: Position) async throws -> ReplicaChanges {
        var entries: [ReplicaObjectEntry] = []
        var listings = 0
        var index = position.index
        while true {
            let folder = ReplicaLayout.walIndexDirectory(position.generation, index: index)
            // The next index's folder is looked for with a stat, not a listing.
            if index > position.index, try await !isFolder(folder) { break }
            guard let names = try await namesIfPresent(folder) else { break }
            listings += 1
            for name in names {
                guard let offset = ReplicaLayout.parseGroupedSegmentName(name),
                    index > position.index || offset >= position.offset
                else { continue }
                guard let stat = try await fileSystem.stat(Path.join(root, folder, name)), !stat.isDirectory else {
                    continue
                }
                entries.append(
                    ReplicaObjectEntry(
                        key: Hex.format(index, width: 16) + "/" + name, size: stat.size,
                        modified: stat.modified))
            }
            index += 1
        }
        if listings == 0 { return try await listedChanges(after: position) }
        let segments = ReplicaLayout.walSegments(of: position.generation, from: entries)
        guard segments.isEmpty else {
            return ReplicaChanges(segments: segments, newerGenerations: [], listRequests: listings)
        }
        let newer = try await generations().filter { $0 > position.generation }
        return ReplicaChanges(segments: [], newerGenerations: newer, listRequests: listings + 1)
    }

    private func isFolder(_ directory: String) async throws -> Bool {
        try await fileSystem.stat(Path.join(root, directory))?.isDirectory == true
    }

    /// The names in a folder under the root, or nil when it does not exist.
    private func namesIfPresent(_ directory: String) async throws -> [String]? {
        do {
            return try await fileSystem.list(Path.join(root, directory))
        } catch FileSystemError.notFound {
            return nil
        }
    }
}
