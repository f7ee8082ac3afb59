import Core

/// Leases for SFTP replicas: write-once records in `<root>/lease/`. A record is uploaded under
/// a temp name and renamed onto its epoch's name; SFTP's rename fails when the target exists
/// (OpenSSH's server links, then unlinks), which makes it the exclusive create `EpochLease`
/// needs. OpenSSH's server makes it atomic with link(2); on a file system without hard links it
/// falls back to a stat then a rename, which two racers can both pass. A server whose rename
/// replaces existing files (not OpenSSH) cannot hold a lease safely.
extension SFTPReplicaClient: EpochLeasedReplica {
    public var leaseRecords: SFTPLeaseRecordStore {
        SFTPLeaseRecordStore(replica: location, directory: Path.join(root, "lease"), pool: pool)
    }
}

/// Lease records as files in one folder on the server.
public struct SFTPLeaseRecordStore: LeaseRecordStore {
    public let replica: String
    let directory: String
    let pool: SFTPConnectionPool

    public func epochs() async throws -> [UInt64] {
        let directory = self.directory
        return try await pool.withSession { try $0.listNames(directory) ?? [] }.compactMap(Self.parseRecordName)
    }

    public func record(_ epoch: UInt64) async throws -> LeaseRecord? {
        let path = Path.join(directory, Self.recordName(epoch))
        return try await pool.withSession { session -> LeaseRecord? in
            // Records are small and written once: a stat and a read describe the same bytes.
            guard let stat = try session.stat(path) else { return nil }
            let sink = TransferSink(memoryLimit: 64 << 10)
            guard try session.download(path, into: sink) else { return nil }
            return LeaseRecord(bytes: sink.bytes, modified: stat.modified)
        }
    }

    public func create(_ epoch: UInt64, bytes: [UInt8]) async throws -> Bool {
        let target = Path.join(directory, Self.recordName(epoch))
        let temp = "\(target).\(SFTPTempNames.next()).tmp"
        return try await pool.withSession { session in
            try session.upload(bytes: bytes, temp: temp, to: target)
        }
    }

    public func remove(_ epoch: UInt64) async throws {
        let path = Path.join(directory, Self.recordName(epoch))
        let directory = self.directory
        try await pool.withSession { session in
            try session.run(["*rm \(session.quoted(path))"], near: directory)
        }
    }
}
