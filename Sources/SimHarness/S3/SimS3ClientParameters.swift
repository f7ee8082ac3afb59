import Core

/// A seed's choice to run the production `S3ReplicaClient` over `SimS3Endpoint` instead of
/// `SimReplicaClient`, with the client's knobs and the endpoint's wire faults.
public struct SimS3ClientParameters: Sendable, Equatable, CustomStringConvertible {
    public var endpointFaults: S3EndpointFaults
    /// Keys per ListObjectsV2 page: small pages make every listing span pages that change.
    public var listPageSize: Int
    /// Bytes per multipart part: small parts make snapshots multipart uploads.
    public var partSize: Int

    public init(endpointFaults: S3EndpointFaults = .none, listPageSize: Int = 1000, partSize: Int = 8 << 20) {
        self.endpointFaults = endpointFaults
        self.listPageSize = listPageSize
        self.partSize = partSize
    }

    /// The knobs and faults of an S3 seed under `profile`, from the caller's draw functions.
    static func draw(
        profile: SwarmProfile, chance: (Double) -> Bool, pick: ([Int]) -> Int,
        rate: (ClosedRange<Double>) -> Double
    ) -> SimS3ClientParameters {
        var parameters = SimS3ClientParameters(
            listPageSize: pick([2, 7, 50, 1000]), partSize: pick([16 << 10, 256 << 10, 8 << 20]))
        switch profile {
        case .noFaults:
            break
        case .default, .powerLoss:
            parameters.endpointFaults = S3EndpointFaults(
                resetRate: chance(0.4) ? rate(0.005...0.03) : 0,
                internalErrorRate: chance(0.4) ? rate(0.005...0.03) : 0,
                slowDownRate: chance(0.3) ? rate(0.005...0.03) : 0,
                ambiguousRate: chance(0.4) ? rate(0.005...0.03) : 0,
                stallRate: chance(0.3) ? rate(0.002...0.01) : 0,
                stallDuration: .seconds(1) ... .seconds(pick([10, 45, 150])),
                truncateRate: chance(0.3) ? rate(0.005...0.03) : 0,
                lateLandingRate: chance(0.3) ? rate(0.002...0.01) : 0,
                lateLandingDelay: .seconds(1) ... .seconds(pick([5, 60])))
        case .s3Hell:
            parameters.endpointFaults = S3EndpointFaults(
                resetRate: rate(0.02...0.08), internalErrorRate: rate(0.02...0.08), slowDownRate: rate(0.02...0.08),
                ambiguousRate: rate(0.02...0.08), stallRate: rate(0.005...0.03),
                stallDuration: .seconds(1) ... .seconds(150),
                truncateRate: rate(0.02...0.08), lateLandingRate: rate(0.005...0.03),
                lateLandingDelay: .seconds(1) ... .seconds(60))
        }
        return parameters
    }

    public var description: String {
        let f = endpointFaults
        return
            "page=\(listPageSize) part=\(partSize) reset=\(f.resetRate) error=\(f.internalErrorRate) slowDown=\(f.slowDownRate)"
            + " ambiguous=\(f.ambiguousRate) stall=\(f.stallRate)@\(f.stallDuration) truncate=\(f.truncateRate)"
            + " late=\(f.lateLandingRate)@\(f.lateLandingDelay)"
    }
}
