import Core

extension SimS3Endpoint {
    /// The keys simulated S3 endpoints accept unless told otherwise.
    public static let defaultCredentials = S3Credentials(
        accessKeyID: "SIMULATEDACCESSKEY", secretAccessKey: "simulated/secret+key")

    /// The endpoint URL clients are configured with (path style; the host is never resolved).
    public static let url = "http://s3.sim"

    /// A production `S3ReplicaClient` for this endpoint's bucket under `prefix`, on `transport`
    /// (this endpoint when nil), the scheduler's clocks and `random`.
    ///
    /// - Parameter location: What the client reports as its location; the world passes its
    ///   `SimReplicaClient`'s, so reports and oracles keyed by location see one replica.
    public nonisolated func client(
        prefix: String, scheduler: SimScheduler, random: any RandomSource,
        transport: (any HTTPTransport)? = nil, credentials: S3Credentials? = nil,
        location: String? = nil, writeLayout: ReplicaLayout = .grouped,
        partSize: Int = 8 << 20, listPageSize: Int = 1000,
        retryPolicy: S3RetryPolicy = S3RetryPolicy()
    ) -> S3ReplicaClient {
        let keys = credentials ?? self.credentials
        var configuration: S3Configuration
        do {
            configuration = try S3Configuration.resolve(
                S3Location(bucket: bucket, prefix: prefix, endpoint: Self.url, region: region),
                environment: ["AWS_ACCESS_KEY_ID": keys.accessKeyID, "AWS_SECRET_ACCESS_KEY": keys.secretAccessKey],
                readFile: { _ in nil })
        } catch {
            preconditionFailure("a simulated S3 location always resolves: \(error)")
        }
        if let location { configuration.location = location }
        return S3ReplicaClient(
            configuration: configuration, transport: transport ?? self, wallClock: SimWallClock(scheduler: scheduler),
            clock: scheduler.clock, random: random, writeLayout: writeLayout, partSize: partSize,
            listPageSize: listPageSize, retryPolicy: retryPolicy)
    }
}
