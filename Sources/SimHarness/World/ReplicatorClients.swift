import Core

/// Builds the replica client of each replicator process of a seed: the `SimReplicaClient`, or
/// (an S3 seed) the production `S3ReplicaClient` over the seed's `SimS3Endpoint`, reporting the
/// simulated client's location and writing its keys, so every oracle reads one replica.
struct ReplicatorClients: Sendable {
    let simulated: SimReplicaClient
    let s3: S3Route?

    /// Where an S3 seed's replicators send their requests.
    struct S3Route: Sendable {
        let endpoint: SimS3Endpoint
        let parameters: SimS3ClientParameters
        let scheduler: SimScheduler
        /// The clients' retry jitter: one stream for every process of the seed.
        let random: SplitMix64
    }

    init(simulated: SimReplicaClient, s3: S3Route? = nil) {
        self.simulated = simulated
        self.s3 = s3
    }

    /// The client of a process whose life is `liveness`: an S3 client sends nothing once its
    /// process is killed, as the process's sockets die with it.
    func client(for liveness: ProcessLiveness) -> any ReplicaClient & ReplicaLeasing {
        guard let s3 else { return simulated }
        return s3Client(s3, over: ProcessConnection(endpoint: s3.endpoint, liveness: liveness))
    }

    /// The production S3 client over `transport`, keyed and located as the simulated client.
    private func s3Client(_ s3: S3Route, over transport: any HTTPTransport) -> S3ReplicaClient {
        s3.endpoint.client(
            prefix: simulated.root, scheduler: s3.scheduler, random: s3.random, transport: transport,
            location: simulated.location, writeLayout: simulated.writeLayout,
            partSize: s3.parameters.partSize, listPageSize: s3.parameters.listPageSize)
    }
}

extension ReplicatorClients {
    /// The client a restore probe named `reader` reads through: in an S3 seed the production S3
    /// client over the endpoint (wire faults included, its retries answering them), so a bug in
    /// its listings or reads fails restores as it would a user's; else the simulated client.
    /// Either way the store records the damage that reader met.
    func restoreClient(reader: String) -> any ReplicaClient {
        guard let s3 else { return simulated.reading(as: reader) }
        return s3Client(s3, over: ReadingConnection(endpoint: s3.endpoint, reader: reader))
    }
}

/// A restore probe's connection to the simulated S3 endpoint, naming the probe to the store.
struct ReadingConnection: HTTPTransport {
    let endpoint: SimS3Endpoint
    let reader: String

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        try await endpoint.send(request, reader: reader)
    }

    func stream(_ request: HTTPRequest) async throws -> (response: HTTPResponse, body: (any ByteSource)?) {
        try await endpoint.stream(request, reader: reader)
    }
}

/// Whether a simulated process still lives.
// @unchecked: read and written only on the simulator's one thread.
final class ProcessLiveness: @unchecked Sendable {
    var isKilled = false
}

/// One process's connection to the simulated S3 endpoint: it refuses to send once the process is
/// killed, and an answer arriving after that reaches nobody. A request already sent still lands.
final class ProcessConnection: HTTPTransport, Sendable {
    let endpoint: SimS3Endpoint
    let liveness: ProcessLiveness

    init(endpoint: SimS3Endpoint, liveness: ProcessLiveness) {
        self.endpoint = endpoint
        self.liveness = liveness
    }

    func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        try requireAlive()
        let response = try await endpoint.send(request)
        try requireAlive()
        return response
    }

    func stream(_ request: HTTPRequest) async throws -> (response: HTTPResponse, body: (any ByteSource)?) {
        try requireAlive()
        let answer = try await endpoint.stream(request)
        try requireAlive()
        return answer
    }

    private func requireAlive() throws {
        guard !liveness.isKilled else {
            throw HTTPTransportError(kind: .couldNotConnect, code: 7, message: "process killed")
        }
    }
}
