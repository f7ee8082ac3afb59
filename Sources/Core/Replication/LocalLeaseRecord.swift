/// The lease tokens this database's replicator took, per replica location, in the local state
/// (`<local state>/leases`, one `location<TAB>owner<TAB>token` line each). Written only by a
/// replicator that holds `LocalReplicatorLock`, so a token found here and still on a replica
/// belongs to a replicator of this database that has since died, if the caller holds the lock.
public enum LocalLeaseRecord {
    public struct Entry: Sendable, Equatable {
        public var owner: String
        public var token: String
    }

    /// The recorded tokens; empty when there is no record or it cannot be read.
    public static func read(state: LocalState, fileSystem: any FileSystem) async -> [String: Entry] {
        guard let bytes = try? await fileSystem.readAll(state.leasesPath) else { return [:] }
        var entries: [String: Entry] = [:]
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count == 3, !fields[2].isEmpty else { continue }
            entries[String(fields[0])] = Entry(owner: String(fields[1]), token: String(fields[2]))
        }
        return entries
    }

    public static func write(_ entries: [String: Entry], state: LocalState, fileSystem: any FileSystem) async throws {
        let text = entries.keys.sorted().map { "\($0)\t\(entries[$0]!.owner)\t\(entries[$0]!.token)\n" }.joined()
        try await fileSystem.writeAtomically(Array(text.utf8), to: state.leasesPath)
    }

    /// The machine part of a lease owner (`host:pid`): a record copied to another machine with
    /// the database must not let that machine take over this one's live lease.
    public static func host(of owner: String) -> Substring {
        guard let colon = owner.lastIndex(of: ":") else { return owner[...] }
        return owner[..<colon]
    }
}
