import Core
import SimHarness

/// Set-up shared by the tests of the simulated S3 endpoint.
enum S3TestFixtures {
    /// An endpoint over `store` answering the default credentials, with `faults` on the wire.
    static func endpoint(
        _ sim: SimScheduler, store: SimObjectStore, faults: S3EndpointFaults = .none
    ) -> SimS3Endpoint {
        SimS3Endpoint(
            scheduler: sim, store: store, bucket: "sim-bucket", credentials: SimS3Endpoint.defaultCredentials,
            faults: faults)
    }

    /// `count` bytes of a seeded stream.
    static func bytes(_ seed: UInt64, count: Int) -> [UInt8] {
        let random = SplitMix64(seed: seed)
        return (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
    }
}
