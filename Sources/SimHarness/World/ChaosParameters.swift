import Core

/// The process, machine, app and disk fault classes of one seed (the object store's are in
/// `ObjectStoreFaults`). Each class is on or off per seed; a count of zero or a nil is off.
/// Drawn from a stream of its own, so turning a class on never shifts the other draws of a seed.
public struct ChaosParameters: Sendable, Equatable, CustomStringConvertible {
    /// Times the replicator process is killed (kill -9: locks and descriptors dropped, task
    /// cancelled, uploads cut off) and restarted by the supervisor.
    public var replicatorKills = 0
    /// Whole-machine power losses: app and replicator die, the app's disk crashes with
    /// `crashModel`, the app reopens (SQLite recovers the WAL) and the replicator restarts.
    public var powerLosses = 0
    /// Chance that a power loss strikes inside an app checkpoint, a few disk mutations in.
    public var powerLossInCheckpointRate = 0.0
    public var crashModel = DiskCrashModel()
    /// Times the app process alone is killed (possibly mid-transaction) and restarted.
    public var appKills = 0
    /// Mean time between extra app operations (long readers, VACUUM, checkpoints of every mode,
    /// `wal_autocheckpoint` changes); nil for none.
    public var appChaosInterval: Duration?
    /// How long a long reader holds its read transaction, at most.
    public var longReaderHold: Duration = .seconds(3)
    /// `wal_autocheckpoint` values the app switches between (0 is off); empty leaves SQLite's default.
    public var autocheckpointValues: [Int] = []
    /// Transient EIO rate per call of the replicator's file system; 0 for none.
    public var replicatorIOErrorRate = 0.0
    /// Windows during which the replicator's writes fail with ENOSPC.
    public var noSpaceWindows = 0
    /// The longest such window.
    public var noSpaceDuration: Duration = .seconds(5)
    /// A network partition of the replicator's machine that outlasts its lease, and a replicator
    /// on another machine that takes the replica location over (`LeaseTakeover`); nil for none.
    public var takeover: LeaseTakeoverPlan?

    public init() {}

    /// No fault class on.
    public static let none = ChaosParameters()

    /// Whether any class can end a replicator process by itself (so an exit is expected).
    public var disruptsReplicator: Bool {
        replicatorKills > 0 || powerLosses > 0 || replicatorIOErrorRate > 0 || noSpaceWindows > 0
    }

    /// Draws the classes of `seed` under `profile`.
    static func draw(seed: UInt64, profile: SwarmProfile) -> ChaosParameters {
        let random = SplitMix64(seed: seed ^ 0x4348_414f_5321_0002)
        func chance(_ p: Double) -> Bool { random.unitInterval() < p }
        func pick<T>(_ values: [T]) -> T { values[Int(random.next() % UInt64(values.count))] }

        var chaos = ChaosParameters()
        let on: (kill: Double, power: Double, app: Double, appOps: Double, disk: Double, takeover: Double)
        switch profile {
        case .noFaults, .s3Hell: return chaos
        case .default: on = (0.3, 0.15, 0.2, 0.4, 0.25, 0.12)
        case .powerLoss: on = (0.3, 0.95, 0.3, 0.5, 0.15, 0.12)
        }
        if chance(on.kill) { chaos.replicatorKills = 1 + Int(random.next() % 3) }
        if chance(on.power) { chaos.powerLosses = 1 + Int(random.next() % 2) }
        chaos.powerLossInCheckpointRate = pick([0, 0.3, 0.7])
        chaos.crashModel = DiskCrashModel(
            sectorSurvivalRate: pick([0.1, 0.5, 0.9]), sectorGarbageRate: 0,
            sizeChangeSurvivalRate: pick([0.2, 0.8]),
            directoryChangeSurvivalRate: pick([0.3, 0.7]),
            directoryMode: chance(0.5) ? .journalPrefix : .independent)
        if chance(on.app) { chaos.appKills = 1 + Int(random.next() % 2) }
        if chance(on.appOps) {
            chaos.appChaosInterval = .milliseconds(pick([300, 1000, 3000]))
            chaos.longReaderHold = .milliseconds(pick([500, 2000, 6000]))
            chaos.autocheckpointValues = chance(0.6) ? [0, 1, 4, 16, 100, 1000] : []
        }
        if chance(on.disk) {
            chaos.replicatorIOErrorRate = pick([0.001, 0.01, 0.05])
            chaos.noSpaceWindows = Int(random.next() % 3)
            chaos.noSpaceDuration = .seconds(pick([1, 5, 20]))
        }
        // Drawn last, so adding it left every earlier draw of a seed as it was.
        if chance(on.takeover) {
            chaos.takeover = LeaseTakeoverPlan(
                partitionStartFraction: 0.1 + 0.35 * random.unitInterval(),
                partitionLength: .seconds(pick([45, 60, 90])),
                deliveryRate: pick([0, 0.3, 0.8]),
                secondStartDelay: .milliseconds(1000 + Int64(random.next() % 4000)),
                secondCommitInterval: .milliseconds(pick([100, 250, 500])))
        }
        return chaos
    }

    public var description: String {
        "kills=\(replicatorKills) powerLosses=\(powerLosses) inCheckpoint=\(powerLossInCheckpointRate)"
            + " crash[sector=\(crashModel.sectorSurvivalRate) size=\(crashModel.sizeChangeSurvivalRate)"
            + " dir=\(crashModel.directoryChangeSurvivalRate) \(crashModel.directoryMode)]"
            + " appKills=\(appKills) appOps=\(appChaosInterval.map { "\($0.milliseconds)ms" } ?? "off")"
            + " reader=\(longReaderHold.milliseconds)ms autocheckpoint=\(autocheckpointValues)"
            + " eio=\(replicatorIOErrorRate) enospc=\(noSpaceWindows)x\(noSpaceDuration)"
            + " takeover=\(takeover.map { "\($0)" } ?? "off")"
    }
}
