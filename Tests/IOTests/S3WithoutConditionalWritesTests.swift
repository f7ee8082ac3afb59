import Foundation
import TestSupport
import Testing

/// A store without conditional writes cannot keep one writer per replica; `replicate` must say so
/// at once, in one line, rather than retry a request the store will never accept.
@Suite("S3 without conditional writes: replicate stops at once naming the missing feature", .serialized)
struct S3WithoutConditionalWritesTests {
    @Test("a store answering If-None-Match with 501: one lease request, one error line, nothing written")
    func replicateRefusesAtOnce() async throws {
        try await blocking {
            try await withMotoReplica(bucket: "sluice-plain") { moto, _ in
                let box = try SluiceSandbox()
                defer { box.remove() }
                let proxy = try FaultProxy(upstream: moto.endpoint, box: box, arguments: ["--refuse-conditional"])
                defer { proxy.stop() }
                try box.writer("app.db", ["init"])

                let replica = ReplicaBackendsEndToEndTests.s3URL(bucket: "sluice-plain", endpoint: proxy.endpoint)
                let outcome = try box.sluice(["replicate", box.path("app.db"), replica], timeout: .seconds(60))
                #expect(outcome.status != 0)
                let errors = outcome.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
                #expect(errors.count == 1, "\(outcome.stderr)")
                let line = errors.first.map(String.init) ?? ""
                #expect(line.contains("conditional writes") && line.contains("HTTP 501"), "\(line)")
                #expect(!outcome.stderr.contains("sluice-test-secret"))

                let statistics = try proxy.statistics()
                let byType = statistics["by_type"] as? [String: Int] ?? [:]
                #expect(statistics["refused_conditional"] as? Int == 1, "\(statistics)")
                #expect(byType["LEASE_PUT"] == 1, "the refused lease write was retried: \(statistics)")
                let stored = try await moto.client(bucket: "sluice-plain", prefix: "app").generations()
                #expect(stored.isEmpty, "written without a lease: \(stored)")
            }
        }
    }
}
