import Core
import Foundation
import Glibc
import TestSupport
import Testing

/// `generations`, `snapshots` and `wal` with `--json` (docs/json.md), run as the real binary
/// against a file replica that `sluice replicate` wrote, and checked field by field against the
/// files the replica holds (their sizes and modification times read here with lstat).
@Suite("sluice: --json of the listing commands", .serialized)
struct ListingJSONTests {
    /// A finished replica of a small workload: one generation, two WAL indexes (the large
    /// transaction passes the checkpoint threshold).
    func replicated(_ box: SluiceSandbox) throws {
        try box.writer("app.db", ["init"])
        let replicator = try box.startReplicate(
            "app.db", replicas: [box.url("replica")],
            extra: ["--min-checkpoint-page-count", "100"])
        try box.writer("app.db", ["small", "--count", "5", "--batch", "a"])
        try box.writer("app.db", ["big", "--mb", "1"])
        try box.writer("app.db", ["small", "--count", "5", "--batch", "b"])
        let folder = ReplicaFolder(root: box.path("replica"))
        let second = try box.writeUntil("app.db") {
            Set(folder.objects().filter { $0.kind == .segment }.map(\.index)).count >= 2
        }
        #expect(second, "no second WAL index; log:\n\(replicator.log)")
        #expect(try replicator.terminate() == 0, "replicate log:\n\(replicator.log)")
    }

    @Test("snapshots, wal and generations --json list exactly what the replica holds, with its sizes and times")
    func listingsMatchTheReplica() async throws {
        try await blocking {
            let box = try SluiceSandbox()
            defer { box.remove() }
            try replicated(box)
            let folder = ReplicaFolder(root: box.path("replica"))
            let objects = folder.objects()
            let generation = try #require(folder.generations().first)
            #expect(folder.generations().count == 1)

            let replica = box.url("replica")
            let snapshots = try ListingJSON.rows(box.sluice(["snapshots", "--json", replica]), key: "snapshots")
            let expectedSnapshots = objects.filter { $0.kind == .snapshot }
            #expect(Set(snapshots.map(ListingJSON.keys)) == [["created", "generation", "index", "replica", "size"]])
            #expect(snapshots.map { Fields($0) } == expectedSnapshots.map { Fields($0, root: folder.root) })

            let segments = try ListingJSON.rows(box.sluice(["wal", "--json", replica]), key: "wal_segments")
            let expectedSegments = objects.filter { $0.kind == .segment }
                .sorted { ($0.index, $0.offset) < ($1.index, $1.offset) }
            try #require(Set(expectedSegments.map(\.index)).count >= 2, "want two WAL indexes: \(expectedSegments)")
            #expect(
                Set(segments.map(ListingJSON.keys))
                    == [["created", "generation", "index", "offset", "replica", "size"]])
            #expect(segments.map { Fields($0) } == expectedSegments.map { Fields($0, root: folder.root) })

            let before = Int64(Date().timeIntervalSince1970 * 1000)
            let generations = try ListingJSON.rows(box.sluice(["generations", "--json", replica]), key: "generations")
            let after = Int64(Date().timeIntervalSince1970 * 1000)
            let row = try #require(generations.first)
            #expect(generations.count == 1)
            #expect(
                ListingJSON.keys(row) == [
                    "end", "generation", "lag_ms", "replica", "size", "snapshot_count",
                    "start", "wal_segment_count",
                ])
            let times = (expectedSnapshots + expectedSegments).map { Fields.milliseconds($0, root: folder.root) }
            #expect(row["generation"] as? String == generation)
            #expect(row["replica"] as? String == box.path("replica"))
            #expect(row["start"] as? String == RFC3339.format(Timestamp(millisecondsSince1970: times.min()!)))
            #expect(row["end"] as? String == RFC3339.format(Timestamp(millisecondsSince1970: times.max()!)))
            #expect(row["snapshot_count"] as? Int == expectedSnapshots.count)
            #expect(row["wal_segment_count"] as? Int == expectedSegments.count)
            #expect(row["size"] as? Int64 == objects.reduce(0) { $0 + $1.size })
            let lag = try #require(row["lag_ms"] as? Int64)
            #expect((before - times.max()! - 5)...(after - times.max()! + 5) ~= lag, "lag \(lag) ms")

            // --generation keeps that generation only; another valid name lists nothing.
            let filtered = try ListingJSON.rows(
                box.sluice(["wal", "--json", "--generation", generation, replica]),
                key: "wal_segments")
            #expect(filtered.count == segments.count)
            let other = try ListingJSON.rows(
                box.sluice(["wal", "-json", "-generation", "0123456789abcdef", replica]),
                key: "wal_segments")
            #expect(other.isEmpty)
        }
    }

    @Test("an empty replica lists as empty arrays, exit 0, nothing on stderr")
    func emptyReplica() async throws {
        try await blocking {
            let box = try SluiceSandbox()
            defer { box.remove() }
            try FileManager.default.createDirectory(atPath: box.path("empty"), withIntermediateDirectories: true)
            let commands = [("generations", "generations"), ("snapshots", "snapshots"), ("wal", "wal_segments")]
            for (command, key) in commands {
                for replica in [box.url("empty"), box.url("missing")] {
                    let outcome = try box.sluice([command, "--json", replica])
                    #expect(try ListingJSON.rows(outcome, key: key).isEmpty, "\(command) \(replica): \(outcome.stdout)")
                    #expect(outcome.stderr.isEmpty, "\(command): \(outcome.stderr)")
                }
            }
        }
    }

    @Test("databases --json: every database and replica of the config file, credentials by source only")
    func databases() async throws {
        try await blocking {
            let box = try SluiceSandbox()
            defer { box.remove() }
            let config = try box.writeConfig(
                """
                dbs:
                  - path: \(box.path("app.db"))
                    replicas:
                      - name: backup
                        path: \(box.path("replica"))
                      - url: s3://bucket/app
                        access-key-id: AKIDSECRETID
                        secret-access-key: secret-value-123
                      - name: s3env
                        url: s3://bucket/other?endpoint=http://127.0.0.1:9&region=us-east-1
                      - type: sftp
                        host: example.com:22
                        user: backup
                        key-path: \(box.path("id_ed25519"))
                        path: /srv/a
                      - name: pw
                        url: sftp://backup:hunter2pw@example.com/srv/b
                  - path: \(box.path("other.db"))
                    replicas:
                      - path: \(box.path("other-replica"))
                """)
            let outcome = try box.sluice(["databases", "--json", "-config", config])
            let databases = try ListingJSON.rows(outcome, key: "databases")
            for secret in ["AKIDSECRETID", "secret-value-123", "hunter2pw"] {
                #expect(!outcome.stdout.contains(secret) && !outcome.stderr.contains(secret), "\(secret) was printed")
            }
            #expect(databases.map { $0["path"] as? String } == [box.path("app.db"), box.path("other.db")])
            #expect(databases.map { ListingJSON.keys($0) } == [["path", "replicas"], ["path", "replicas"]])
            let replicas = (databases.first?["replicas"] as? [[String: String]]) ?? []
            #expect(
                replicas.map { [$0["name"], $0["type"], $0["credentials"]] } == [
                    ["backup", "file", "none"], ["s3", "s3", "config"], ["s3env", "s3", "environment"],
                    ["sftp", "sftp", "key"], ["pw", "sftp", "password"],
                ])
            #expect(
                replicas.map { $0["url"] } == [
                    "file://" + box.path("replica"), "s3://bucket/app",
                    "s3://bucket/other?endpoint=http://127.0.0.1:9&region=us-east-1",
                    "sftp://backup@example.com:22/srv/a?key=" + box.path("id_ed25519"),
                    "sftp://backup:REDACTED@example.com:22/srv/b",
                ])
            #expect(Set(replicas.map { $0.keys.sorted() }) == [["credentials", "name", "type", "url"]])
        }
    }

    @Test("errors with --json: one line on stderr, non-zero exit, nothing on stdout")
    func errors() async throws {
        try await blocking {
            let box = try SluiceSandbox()
            defer { box.remove() }
            try "not a folder".write(toFile: box.path("plain"), atomically: false, encoding: .utf8)
            let cases: [[String]] = [
                ["generations", "--json", "--generation", "nothex", box.url("replica")],
                ["snapshots", "--json", "ftp://host/replica"],
                ["wal", "--json", box.url("plain")],
                ["databases", "--json", "-config", box.path("missing.yml")],
            ]
            for arguments in cases {
                let outcome = try box.sluice(arguments)
                #expect(outcome.status != 0, "\(arguments)")
                #expect(outcome.stdout.isEmpty, "\(arguments): stdout \(outcome.stdout)")
                let lines = outcome.stderr.split(separator: "\n")
                #expect(lines.count == 1 && lines[0].hasPrefix("error: "), "\(arguments): stderr \(outcome.stderr)")
            }
        }
    }
}

/// The fields a listing row and a replica file have in common, for comparing one with the other.
struct Fields: Equatable, CustomStringConvertible {
    var generation: String
    var index: UInt64
    var offset: UInt64?
    var size: Int64
    var created: String

    /// From a row of `snapshots --json` or `wal --json`.
    init(_ row: [String: Any]) {
        generation = row["generation"] as? String ?? "?"
        index = (row["index"] as? NSNumber)?.uint64Value ?? .max
        offset = (row["offset"] as? NSNumber)?.uint64Value
        size = (row["size"] as? NSNumber)?.int64Value ?? -1
        created = row["created"] as? String ?? "?"
    }

    /// From the file itself.
    init(_ object: ReplicaFolder.Object, root: String) {
        generation = object.generation
        index = object.index
        offset = object.kind == .segment ? object.offset : nil
        size = object.size
        created = RFC3339.format(Timestamp(millisecondsSince1970: Self.milliseconds(object, root: root)))
    }

    /// The file's modification time in whole milliseconds, as lstat gives it.
    static func milliseconds(_ object: ReplicaFolder.Object, root: String) -> Int64 {
        let hex = { (value: UInt64) in String(format: "%016llx", value) }
        let base = root + "/generations/" + object.generation
        let path =
            object.kind == .snapshot
            ? "\(base)/snapshots/\(hex(object.index)).snapshot.lz4"
            : "\(base)/wal/\(hex(object.index))/\(hex(object.offset)).wal.lz4"
        var info = stat()
        guard lstat(path, &info) == 0 else { return -1 }
        return Int64(info.st_mtim.tv_sec) * 1000 + Int64(info.st_mtim.tv_nsec) / 1_000_000
    }

    var description: String { "\(generation)/\(index)/\(offset.map(String.init) ?? "-") \(size)B \(created)" }
}

/// Reads the JSON the listing commands print.
enum ListingJSON {
    /// The rows under `key` of a successful run's single JSON object; requires exit 0.
    static func rows(
        _ outcome: SluiceSandbox.Outcome, key: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> [[String: Any]] {
        try #require(outcome.status == 0, "exit \(outcome.status): \(outcome.stderr)", sourceLocation: sourceLocation)
        let object = try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any]
        let document = try #require(object, "not a JSON object: \(outcome.stdout)", sourceLocation: sourceLocation)
        try #require(Array(document.keys) == [key], "top-level keys \(document.keys)", sourceLocation: sourceLocation)
        return try #require(
            document[key] as? [[String: Any]], "\(key) is not an array of objects",
            sourceLocation: sourceLocation)
    }

    static func keys(_ row: [String: Any]) -> [String] { row.keys.sorted() }
}
