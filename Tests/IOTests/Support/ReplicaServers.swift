import Foundation

/// Runs `body` with a fresh moto server holding `bucket`, the credentials it accepts in this
/// process's environment (the binary inherits them), and the `s3://` replica URL for it.
func withMotoReplica<T>(bucket: String, _ body: (MotoServer, String) async throws -> T) async throws -> T {
    try await withMoto { moto in
        try await moto.createBucket(bucket)
        ReplicaBackendsEndToEndTests.setCredentials()
        return try await body(moto, ReplicaBackendsEndToEndTests.s3URL(bucket: bucket, endpoint: moto.endpoint))
    }
}

/// Runs `body` with a fresh sshd on loopback and the `sftp://` replica URL of a folder on it.
func withSFTPReplica<T>(_ body: (String) async throws -> T) async throws -> T {
    let server = try await SSHServer.start()
    defer { server.stop() }
    return try await body(server.replicaURL())
}
