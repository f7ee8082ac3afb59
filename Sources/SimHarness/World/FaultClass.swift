/// A class of faults a seed can draw, that `sluice sim --without` switches off and
/// `--minimize` tries without (the seed's other draws stay as they were).
public enum FaultClass: String, Sendable, CaseIterable {
    case storeErrors = "store-errors"
    case ambiguousWrites = "ambiguous-writes"
    case storeStalls = "store-stalls"
    case storeLatency = "store-latency"
    case damageAtRest = "damage"
    case replicatorKills = "kills"
    case powerLosses = "power-losses"
    case appKills = "app-kills"
    case appOperations = "app-ops"
    case diskFaults = "disk-faults"
    case takeover
    case preemption
    case idleGaps = "idle-gaps"
    /// The simulated S3 endpoint's wire faults (the S3 client stays).
    case s3Faults = "s3-faults"
    /// The production S3 client itself: the seed's replicators use `SimReplicaClient`.
    case s3Client = "s3-client"

    /// Whether `parameters` draw any of this class.
    public func isActive(in parameters: SwarmParameters) -> Bool {
        var without = parameters
        switchOff(in: &without)
        return without != parameters
    }

    /// Turns this class off in `parameters`.
    public func switchOff(in parameters: inout SwarmParameters) {
        switch self {
        case .storeErrors:
            parameters.storeFaults.errorRate = 0
            parameters.storeFaults.throttleRate = 0
        case .ambiguousWrites: parameters.storeFaults.ambiguousRate = 0
        case .storeStalls:
            parameters.storeFaults.stallBeforeRate = 0
            parameters.storeFaults.stallAfterRate = 0
        case .storeLatency: parameters.storeFaults.latency = .zero ... .zero
        case .damageAtRest:
            parameters.storeFaults.truncateRate = 0
            parameters.storeFaults.dropBytesRate = 0
            parameters.storeFaults.changeBytesRate = 0
            parameters.storeFaults.lossRate = 0
        case .replicatorKills: parameters.chaos.replicatorKills = 0
        case .powerLosses: parameters.chaos.powerLosses = 0
        case .appKills: parameters.chaos.appKills = 0
        case .appOperations: parameters.chaos.appChaosInterval = nil
        case .diskFaults:
            parameters.chaos.replicatorIOErrorRate = 0
            parameters.chaos.noSpaceWindows = 0
        case .takeover: parameters.chaos.takeover = nil
        case .preemption: parameters.preemption = .none
        case .idleGaps: parameters.workload.idleGapRate = 0
        case .s3Faults: parameters.s3Client?.endpointFaults = .none
        case .s3Client: parameters.s3Client = nil
        }
    }

    /// Parses a comma-separated list of class names; nil names the first one that is none.
    public static func parseList(_ text: String) -> Result<[FaultClass], UnknownFaultClass> {
        var classes: [FaultClass] = []
        for name in text.split(separator: ",") {
            guard let found = FaultClass(rawValue: String(name)) else {
                return .failure(UnknownFaultClass(name: String(name)))
            }
            classes.append(found)
        }
        return .success(classes)
    }

    public struct UnknownFaultClass: Error, CustomStringConvertible {
        public var name: String
        public var description: String {
            "'\(name)' is not a fault class; use \(FaultClass.allCases.map(\.rawValue).joined(separator: ", "))"
        }
    }
}
