import Testing

@testable import Core

/// Which errors of a sync drop the replica's cached position (`ReplicaSyncer.putsPositionInDoubt`).
@Suite("ReplicaSyncer: which errors put the cached position in doubt")
struct ReplicaPositionDoubtTests {
    private let position = Position(generation: Generation("0000000000000001")!, index: 3, offset: 4152)

    /// A store's error that classifies itself, as S3's and the simulator's do.
    private struct StoreError: ReplicaRequestError {
        var replicaMayHaveChanged: Bool
    }

    private struct UnclassifiedError: Error {}

    @Test(
        "a failed request, a local I/O error or a stop keeps the position: everything before it went up in writes that succeeded"
    )
    func transientErrorsKeepIt() {
        let errors: [any Error] = [
            StoreError(replicaMayHaveChanged: false),
            FileSystemError.io(operation: "stat", path: "/.db-sluice/wal/3.wal", code: 5, message: "I/O error"),
            FileSystemError.noSpace(path: "/.db-sluice/wal"),
            CancellationError(),
        ]
        for error in errors {
            #expect(!ReplicaSyncer.putsPositionInDoubt(error), "\(error)")
        }
    }

    @Test(
        "a lost or lapsed lease, objects or a location gone, local shadow state gone, or an error no one classified drops it"
    )
    func divergenceDropsIt() {
        let errors: [any Error] = [
            StoreError(replicaMayHaveChanged: true),
            ReplicaClientError.notFound(replica: "sftp://host/db", key: "wal/3/0.wal.lz4"),
            ReplicaClientError.unavailable(replica: "/backups/db", reason: "/backups/db is not a directory"),
            FileSystemError.notFound(path: "/backups/db/generations"),
            LeaseError.lost(replica: "s3://bucket/db", reason: "taken over"),
            ReplicaSyncError.leaseNotHeld(replica: "s3://bucket/db"),
            ReplicaSyncError.shadowMissing(position: position),
            ReplicaSyncError.replicaAhead(replica: "s3://bucket/db", position: position),
            ReplicaSyncError.segmentNotOurs(replica: "s3://bucket/db", position: position),
            ReplicationError.shadowCorrupt(path: "/.db-sluice/wal/3.wal", reason: "bad checksum"),
            UnclassifiedError(),
        ]
        for error in errors {
            #expect(ReplicaSyncer.putsPositionInDoubt(error), "\(error)")
        }
    }
}
