import Core
import FoundationEssentials

/// `sluice restore --dry-run`: the plan, as text or as one JSON document, with nothing opened on
/// the replica but its listing.
enum RestoreDryRun {
    /// The plan in a few lines for a reader.
    static func text(plan: RestorePlan, outputPath: String, replica: String) -> String {
        let wal: String
        if let first = plan.indexes.first, let last = plan.indexes.last {
            let range =
                first.index == last.index
                ? Hex.format(first.index, width: 16)
                : "\(Hex.format(first.index, width: 16))-\(Hex.format(last.index, width: 16))"
            wal =
                "\(range) (\(plan.indexes.count) indexes, \(plan.segments.count) segments, "
                + "\(plan.walDownloadByteCount) bytes)"
        } else {
            wal = "none (the snapshot alone)"
        }
        return """
            dry run: would restore \(outputPath) from \(replica); nothing was downloaded
              generation:  \(plan.generation)
              snapshot:    index \(Hex.format(plan.snapshot.index, width: 16)) (\(plan.snapshot.size) bytes, \
            uploaded \(plan.snapshot.createdAt))
              WAL indexes: \(wal)
              download:    \(plan.downloadByteCount) bytes compressed
              reason:      \(plan.reason)
            """
    }

    /// The plan as one JSON document (schema in docs/restore.md), keys sorted so that the output
    /// is byte-for-byte stable.
    static func json(plan: RestorePlan, outputPath: String, replica: String) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let bytes = try encoder.encode(Document(plan: plan, outputPath: outputPath, replica: replica))
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The JSON document's shape. Field names are part of the documented schema: add, never rename.
    struct Document: Encodable {
        var dryRun = true
        var replica: String
        var output: String
        var generation: String
        var target: Target
        var snapshot: Snapshot
        var wal: [Index]
        var walSegments: Int
        var downloadBytes: Int64
        var reason: String

        init(plan: RestorePlan, outputPath: String, replica: String) {
            self.replica = replica
            output = outputPath
            generation = plan.generation.description
            target = Target(plan.target)
            snapshot = Snapshot(
                index: plan.snapshot.index, size: plan.snapshot.size,
                createdAt: RFC3339.format(plan.snapshot.createdAt))
            wal = plan.indexes.map {
                Index(
                    index: $0.index, segments: $0.segments.count, size: $0.downloadByteCount,
                    lastOffset: $0.segments.last?.offset ?? 0, byteLimit: $0.byteLimit)
            }
            walSegments = plan.segments.count
            downloadBytes = plan.downloadByteCount
            reason = plan.reason
        }

        enum CodingKeys: String, CodingKey {
            case dryRun = "dry_run", replica, output, generation, target, snapshot, wal
            case walSegments = "wal_segments", downloadBytes = "download_bytes", reason
        }
    }

    struct Target: Encodable {
        var kind: String
        var timestamp: String?
        var index: UInt64?
        var offset: UInt64?

        init(_ target: RestoreTarget) {
            switch target {
            case .latest: kind = "latest"
            case .timestamp(let time):
                kind = "timestamp"
                timestamp = RFC3339.format(time)
            case .index(let index):
                kind = "index"
                self.index = index
            case .position(let index, let offset):
                kind = "position"
                self.index = index
                self.offset = offset
            }
        }
    }

    struct Snapshot: Encodable {
        var index: UInt64
        var size: Int64
        var createdAt: String

        enum CodingKeys: String, CodingKey { case index, size, createdAt = "created_at" }
    }

    struct Index: Encodable {
        var index: UInt64
        var segments: Int
        var size: Int64
        var lastOffset: UInt64
        var byteLimit: UInt64?

        enum CodingKeys: String, CodingKey {
            case index, segments, size, lastOffset = "last_offset", byteLimit = "byte_limit"
        }
    }
}

extension RestoreCommand {
    /// Plans the restore from the listing alone and prints the plan; opens no object.
    func printPlan(_ request: RestoreRequest, client: any ReplicaClient, environment: Environment) async throws {
        let plan = try await Restorer(client: client, environment: environment).plan(request)
        if json {
            print(try RestoreDryRun.json(plan: plan, outputPath: request.outputPath, replica: client.location))
        } else {
            print(RestoreDryRun.text(plan: plan, outputPath: request.outputPath, replica: client.location))
        }
    }
}
