import Testing
@testable import Core

/// Which errors of a sync drop the replica's cached position (`ReplicaSyncer.putsPositionInDoubt`).
@Suite("ReplicaSyncer: which errors put the cached position in doubt")
struct ReplicaPositionDoubtTests {
    private let position = Position(generation: Generation("0000000000000001")!, index: 3, offset: 4152)

    @Test("a failed request or local I/O error keeps the position: everything before it went up in writes that succeeded")
    func transientErrorsKeepIt() {
        let errors: [any Error] = [
            ReplicaClientError.unavailable(replica: "s3://bucket/db", reason: "HTTP 503: SlowDown"),
            ReplicaClientError.notFound(replica: "s3://bucket/db", key: "lease"),
            FileSystemError.io(operation: "stat", path: "/.db-sluice/wal/3.wal", code: 5, message: "I/O error"),
            FileSystemError.noSpace(path: "/.db-sluice/wal"),
        ]
        for error in errors {
            #expect(!ReplicaSyncer.putsPositionInDoubt(error), "\(error)")
        }
    }

    @Test("a lost or lapsed lease, or local shadow state gone, drops it: the replica may have changed under us")
    func divergenceDropsIt() {
        let errors: [any Error] = [
            LeaseError.lost(replica: "s3://bucket/db", reason: "taken over"),
            ReplicaSyncError.leaseNotHeld(replica: "s3://bucket/db"),
            ReplicaSyncError.shadowMissing(position: position),
            ReplicaSyncError.replicaAhead(replica: "s3://bucket/db", position: position),
            ReplicationError.shadowCorrupt(path: "/.db-sluice/wal/3.wal", reason: "bad checksum"),
            CancellationError(),
        ]
        for error in errors {
            #expect(ReplicaSyncer.putsPositionInDoubt(error), "\(error)")
        }
    }
}
