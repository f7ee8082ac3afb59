import Core
import FoundationEssentials

/// `verify`'s text output: per replica a header, one line per generation, one line per finding
/// and restore, then the verdict.
enum VerifyText {
    static func render(_ outcome: VerifyOutcome) -> String {
        var lines: [String] = []
        for replica in outcome.replicas {
            lines.append("verify \(replica.location)")
            if let report = replica.report {
                for generation in report.generations { lines.append("  " + summary(generation)) }
                for finding in report.findings {
                    lines.append(
                        "\(finding.severity.rawValue): \(replica.location): "
                            + "\(finding.object): \(finding.message)")
                }
                for restore in replica.restores where restore.failure == nil {
                    lines.append(
                        "restore: \(restore.target.map(\.description) ?? "latest"): ok, integrity_check passed"
                            + (restore.reached.map { " (reached \($0))" } ?? ""))
                }
                let problems = report.problems.count
                lines.append(
                    problems == 0
                        ? "result: whole"
                        : "result: \(problems) problem\(problems == 1 ? "" : "s") found")
            } else if let error = replica.error {
                lines.append("result: could not check: \(error.oneLine)")
            }
        }
        return lines.map { $0 + "\n" }.joined()
    }

    private static func summary(_ generation: VerifyReport.GenerationSummary) -> String {
        var text =
            "generation \(generation.generation): "
            + "\(generation.snapshotCount) snapshot\(generation.snapshotCount == 1 ? "" : "s"), "
            + "\(generation.segmentCount) segment\(generation.segmentCount == 1 ? "" : "s")"
        if let first = generation.firstIndex, let last = generation.lastIndex {
            text += ", WAL indexes \(Hex.format(first, width: 16))-\(Hex.format(last, width: 16))"
        }
        return text + ", \(generation.storedByteCount) bytes stored, \(generation.checkedFrameCount) frames checked"
    }
}

/// `verify --json`: one document, schema `sluice.verify/1` (docs/verify.md). Keys are sorted
/// and never removed within a schema version; times are RFC 3339, sizes bytes, indexes and
/// offsets 16-digit hex strings as in object names.
enum VerifyJSON {
    struct Document: Encodable {
        var schema = "sluice.verify/1"
        var checkedAt: String
        var status: String
        var exitStatus: Int32
        var error: String?
        var replicas: [Replica]
    }

    struct Replica: Encodable {
        var location: String
        var status: String
        var error: String?
        var generations: [Generation]
        var findings: [Finding]
        var restores: [Restore]
    }

    struct Generation: Encodable {
        var generation: String
        var snapshots: Int
        var segments: Int
        var firstIndex: String?
        var lastIndex: String?
        var storedBytes: Int64
        var checkedWALBytes: UInt64
        var checkedFrames: Int
        var start: String?
        var end: String?
    }

    struct Finding: Encodable {
        var severity: String
        var kind: String
        var generation: String?
        var object: String
        var message: String
    }

    struct Restore: Encodable {
        var target: String
        var generation: String?
        var index: String?
        var offset: String?
        var status: String
        var reached: String?
        var message: String?
    }

    static func document(_ outcome: VerifyOutcome) throws -> String {
        let document = Document(
            checkedAt: RFC3339.format(outcome.checkedAt), status: outcome.status, exitStatus: outcome.exitStatus,
            error: outcome.error, replicas: outcome.replicas.map(replica))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(document), as: UTF8.self)
    }

    private static func replica(_ replica: VerifyOutcome.Replica) -> Replica {
        let report = replica.report
        let status = replica.error != nil ? "unchecked" : (report?.problems.isEmpty ?? true) ? "whole" : "problems"
        return Replica(
            location: replica.location, status: status, error: replica.error,
            generations: (report?.generations ?? []).map(generation),
            findings: (report?.findings ?? []).map {
                Finding(
                    severity: $0.severity.rawValue, kind: $0.kind.rawValue, generation: $0.generation?.description,
                    object: $0.object, message: $0.message)
            },
            restores: replica.restores.map(restore))
    }

    private static func generation(_ summary: VerifyReport.GenerationSummary) -> Generation {
        Generation(
            generation: summary.generation.description, snapshots: summary.snapshotCount,
            segments: summary.segmentCount, firstIndex: summary.firstIndex.map(hex),
            lastIndex: summary.lastIndex.map(hex),
            storedBytes: summary.storedByteCount, checkedWALBytes: summary.checkedWALByteCount,
            checkedFrames: summary.checkedFrameCount, start: summary.start.map(RFC3339.format),
            end: summary.end.map(RFC3339.format))
    }

    private static func restore(_ result: VerifyRestores.Result) -> Restore {
        Restore(
            target: result.target == nil ? "latest" : "position", generation: result.target?.generation.description,
            index: result.target.map { hex($0.index) }, offset: result.target.map { hex($0.offset) },
            status: result.failure == nil ? "ok" : "failed", reached: result.reached?.description,
            message: result.failure)
    }

    private static func hex(_ value: UInt64) -> String { Hex.format(value, width: 16) }
}
