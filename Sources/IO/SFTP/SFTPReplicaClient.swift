import CCurl
import Core
import Glibc

/// A replica in a folder on an SFTP server, over libcurl (libssh2).
///
/// Layout, listing and reading follow `FileReplicaClient`: writes use `writeLayout`, listings
/// and reads understand both layouts. Every blocking libcurl call runs on the injected
/// `BlockingRunner`, and bodies stream through an unlinked local spool file, so memory stays
/// bounded for objects of any size.
///
/// Writes upload to a unique `<key>.<suffix>.tmp` name, then rename it onto the key. SFTP's
/// rename (as libcurl sends it, SFTP v3 `SSH_FXP_RENAME`) never replaces an existing file, so
/// a new object appears atomically, but *re*-writing an existing key removes it first and
/// renames after: in between, the key is briefly missing (keys are derived from positions, so
/// a re-write only repeats identical bytes). Listings skip `.tmp` names. libcurl exposes no
/// fsync: an object is as durable as the server makes it.
///
/// Object times come from the server's modification time, to the second. Listing a folder
/// costs one request for the names plus one stat per object, on one reused connection.
///
/// Host keys: see `SFTPLocation`. With the default `~/.ssh/known_hosts`, a host missing from
/// the file is refused, never trusted on first use.
public struct SFTPReplicaClient: KeyedObjectReplica {
    public let sftpLocation: SFTPLocation
    public let writeLayout: ReplicaLayout
    /// The replica folder on the server, without a trailing slash.
    let root: String
    let pool: SFTPConnectionPool
    private let runner: any BlockingRunner
    private let spoolDirectory: String

    public var kind: String { "sftp" }
    /// `sftp://user@host:port/path`: never the password.
    public var location: String { sftpLocation.address }

    /// - Parameters:
    ///   - runner: Where libcurl's blocking calls run; a small private pool by default.
    ///   - spoolDirectory: A local folder for transfer spool files (unlinked as soon as they are
    ///     created); the system temp folder by default.
    public init(
        location: SFTPLocation, runner: any BlockingRunner = ThreadPoolRunner(threads: 2),
        writeLayout: ReplicaLayout = .grouped, spoolDirectory: String? = nil
    ) {
        sftpLocation = location
        self.writeLayout = writeLayout
        var root = location.path
        while root.count > 1 && root.hasSuffix("/") { root.removeLast() }
        self.root = root
        self.runner = runner
        // Foundation stays out of the binary (memory): the environment is read directly.
        self.spoolDirectory = spoolDirectory ?? Self.environment("TMPDIR") ?? "/tmp"
        pool = SFTPConnectionPool(location: location, runner: runner, home: Self.environment("HOME"))
    }

    // MARK: - Listing

    public func generations() async throws -> [Generation] {
        let directory = path(ReplicaLayout.generationsDirectory)
        let names = try await pool.withSession { try $0.listNames(directory) } ?? []
        return names.compactMap(Generation.init).sorted()
    }

    public func snapshots(in generation: Generation) async throws -> [SnapshotInfo] {
        let directory = path(ReplicaLayout.snapshotsDirectory(generation))
        let entries: [ReplicaObjectEntry] = try await pool.withSession { session in
            guard let names = try session.listNames(directory) else { return [] }
            var entries: [ReplicaObjectEntry] = []
            for name in names.sorted() where ReplicaLayout.parseSnapshotName(name) != nil {
                guard let stat = try session.stat(Path.join(directory, name)) else { continue }
                entries.append(ReplicaObjectEntry(key: name, size: stat.size, modified: stat.modified))
            }
            return entries
        }
        return ReplicaLayout.snapshots(of: generation, from: entries)
    }

    public func walSegments(in generation: Generation) async throws -> [WALSegmentInfo] {
        let walDirectory = path(ReplicaLayout.walDirectory(generation))
        let entries: [ReplicaObjectEntry] = try await pool.withSession { session in
            guard let names = try session.listNames(walDirectory) else { return [] }
            var entries: [ReplicaObjectEntry] = []
            for name in names.sorted() {
                if ReplicaLayout.parseIndexDirectoryName(name) != nil {
                    let indexDirectory = Path.join(walDirectory, name)
                    // The folder may vanish between listings when retention prunes it.
                    guard let segmentNames = try session.listNames(indexDirectory) else { continue }
                    for segmentName in segmentNames.sorted()
                    where ReplicaLayout.parseGroupedSegmentName(segmentName) != nil {
                        guard let stat = try session.stat(Path.join(indexDirectory, segmentName)) else { continue }
                        entries.append(
                            ReplicaObjectEntry(key: name + "/" + segmentName, size: stat.size, modified: stat.modified))
                    }
                } else if ReplicaLayout.parseLegacySegmentName(name) != nil,
                    let stat = try session.stat(Path.join(walDirectory, name))
                {
                    entries.append(ReplicaObjectEntry(key: name, size: stat.size, modified: stat.modified))
                }
            }
            return entries
        }
        return ReplicaLayout.walSegments(of: generation, from: entries)
    }

    // MARK: - Deleting

    public func deleteSnapshot(generation: Generation, index: UInt64) async throws {
        let directory = path(ReplicaLayout.snapshotsDirectory(generation))
        let targets = ReplicaLayout.allCases.map { path($0.snapshotKey(generation, index: index)) }
        try await pool.withSession { session in
            try session.run(targets.map { "*rm \(session.quoted($0))" }, near: directory)
            try Self.verifyGone(targets, session: session, replica: location)
        }
    }

    public func deleteWALSegments(_ positions: [Position]) async throws {
        guard !positions.isEmpty else { return }
        let targets = positions.flatMap { position in ReplicaLayout.allCases.map { path($0.walSegmentKey(position)) } }
        var indexDirectories: [String] = []
        for position in positions {
            let directory = path(ReplicaLayout.walIndexDirectory(position.generation, index: position.index))
            if !indexDirectories.contains(directory) { indexDirectories.append(directory) }
        }
        let walDirectory = Path.directory(of: indexDirectories[0])
        let emptiedDirectories = indexDirectories.sorted()
        try await pool.withSession { session in
            // Missing objects are fine (`*`); the listing below proves the rest are gone.
            for batch in stride(from: 0, to: targets.count, by: 256).map({ targets[$0..<min($0 + 256, targets.count)] })
            {
                try session.run(batch.map { "*rm \(session.quoted($0))" }, near: walDirectory)
            }
            // rmdir never removes a non-empty folder, so a concurrent upload into it survives.
            try session.run(emptiedDirectories.map { "*rmdir \(session.quoted($0))" }, near: walDirectory)
            try Self.verifyGone(targets, session: session, replica: location)
        }
    }

    public func deleteGeneration(_ generation: Generation) async throws {
        let directory = path(ReplicaLayout.generationDirectory(generation))
        try await pool.withSession { session in
            try Self.removeTree(directory, session: session, depth: 0)
            if let left = try session.listNames(directory) {
                throw ReplicaClientError.unavailable(
                    replica: location,
                    reason:
                        "could not delete \(directory): it still holds \(left.sorted().prefix(3).joined(separator: ", "))"
                )
            }
        }
    }

    // MARK: - Helpers

    private func path(_ key: String) -> String { Path.join(root, key) }

    private static func environment(_ name: String) -> String? {
        guard let value = getenv(name), value.pointee != 0 else { return nil }
        return String(cString: value)
    }

    /// Removes a folder and what is below it (a generation is at most three levels deep).
    /// Names are tried as files first; those that stay are folders, removed recursively.
    private static func removeTree(_ directory: String, session: SFTPSession, depth: Int) throws {
        guard let names = try session.listNames(directory) else { return }
        let paths = names.sorted().map { Path.join(directory, $0) }
        for start in stride(from: 0, to: paths.count, by: 256) {
            let batch = paths[start..<min(start + 256, paths.count)]
            try session.run(batch.map { "*rm \(session.quoted($0))" }, near: directory)
        }
        if depth < 3, let left = try session.listNames(directory) {
            for name in left.sorted() {
                try removeTree(Path.join(directory, name), session: session, depth: depth + 1)
            }
        }
        try session.run(["*rmdir \(session.quoted(directory))"], near: directory)
    }

    /// Throws unless none of `paths` is listed in its folder any more.
    private static func verifyGone(_ paths: [String], session: SFTPSession, replica: String) throws {
        var byDirectory: [String: [String]] = [:]
        for path in paths { byDirectory[Path.directory(of: path), default: []].append(Path.base(of: path)) }
        for directory in byDirectory.keys.sorted() {
            guard let names = try session.listNames(directory) else { continue }
            let present = Set(names)
            if let stuck = byDirectory[directory]!.first(where: present.contains) {
                throw ReplicaClientError.unavailable(
                    replica: replica, reason: "could not delete \(Path.join(directory, stuck))")
            }
        }
    }

    /// A new local spool file, already unlinked so nothing is left behind by a crash.
    private func makeSpoolFile() async throws -> Int32 {
        let directory = spoolDirectory
        let replica = location
        return try await runner.run { () throws -> Int32 in
            let fd = POSIX.openUnlinkedTempFile(in: directory, prefix: "sluice-sftp-")
            guard fd >= 0 else {
                throw ReplicaClientError.unavailable(
                    replica: replica,
                    reason:
                        "cannot create a spool file in \(Path.join(directory, "sluice-sftp-XXXXXX")): \(String(cString: strerror(errno)))"
                )
            }
            return fd
        }
    }

    /// `KeyedObjectReplica`: stores an object, reporting its size and time.
    public func writeObject(_ key: String, data: any ByteSource) async throws -> (size: Int64, modified: Timestamp) {
        let stat = try await storeObject(key, data: data)
        return (stat.size, stat.modified)
    }

    /// Spools `data`, uploads it under a temp name and renames it onto `key`.
    private func storeObject(_ key: String, data: any ByteSource) async throws -> SFTPFileStat {
        let target = path(key)
        let temp = "\(target).\(SFTPTempNames.next()).tmp"
        let fd = try await makeSpoolFile()
        // The handle owns the descriptor and closes it; curl reads it by number meanwhile.
        let spool = POSIXFileHandle(fd: fd, path: "spool file for \(key)", runner: runner)
        let replica = location
        do {
            var size: Int64 = 0
            while true {
                let chunk = try await data.read(upTo: 1 << 20)
                if chunk.isEmpty { break }
                try await spool.write(chunk, at: size)
                size += Int64(chunk.count)
            }
            let totalSize = size
            let stat = try await pool.withSession { session -> SFTPFileStat in
                _ = try session.upload(
                    from: UploadSource(descriptor: fd), size: totalSize, temp: temp, to: target, replacing: true)
                guard let stat = try session.stat(target) else {
                    throw ReplicaClientError.notFound(replica: replica, key: key)
                }
                return stat
            }
            try await spool.close()
            return stat
        } catch {
            try? await spool.close()
            throw error
        }
    }

    /// Downloads the first key that exists into a spool file and streams it from there.
    public func openObject(_ keys: [String]) async throws -> any ByteSource {
        let fd = try await makeSpoolFile()
        let spool = POSIXFileHandle(fd: fd, path: "spool file for \(keys[0])", runner: runner)
        let paths = keys.map(path)
        let replica = location
        // Read here: a task-local does not cross into the pool's thread.
        let progress = ObjectProgress.current
        let size: Int64?
        do {
            size = try await pool.withSession { session -> Int64? in
                for remote in paths {
                    guard ftruncate(fd, 0) == 0 else {
                        throw ReplicaClientError.unavailable(
                            replica: replica, reason: "cannot reset the local spool file")
                    }
                    let sink = TransferSink(descriptor: fd, progress: progress)
                    if try session.download(remote, into: sink) { return sink.written }
                    progress?.transferFailed()
                }
                return nil
            }
        } catch {
            progress?.transferFailed()
            try? await spool.close()
            throw error
        }
        guard let size else {
            try? await spool.close()
            throw ReplicaClientError.notFound(replica: location, key: keys[0])
        }
        return FileRangeSource(handle: spool, from: 0, to: size, closesHandle: true)
    }
}
