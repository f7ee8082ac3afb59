import Core

/// Invariant 7 (DESIGN.md §7): every new generation has a cause the simulator can name. A new
/// generation means a full snapshot upload, so one started for nothing costs a user the size of
/// the database on every restart (the bug kill-and-restart testing found: an idle database got a
/// new generation at every start of `sluice replicate`).
///
/// The replicator reports each generation decision (`Environment.generationObserver`). The
/// ledger keeps, since the last decision, the causes the world produced: power losses, disk
/// faults injected into the replicator's file system, and what the source looks like now against
/// how the last replicator that decided left it (`SourceImage.change`). A new generation with no
/// cause fails the seed; a continued one needs none (the other invariants judge whether
/// continuing was right). Counts of generations and snapshots go into the seed's summary.
// @unchecked: touched only on the simulator's one thread.
final class GenerationLedger: @unchecked Sendable {
    private let disk: SimDisk
    private let databasePath: String
    private let state: LocalState
    private let injectedFaults: () -> Int
    /// The generations that have a snapshot on the replica, whoever wrote them.
    private let replicaGenerations: () -> [Generation]
    /// The generations this replicator started or continued, and the last of them.
    private var own: Set<Generation> = []
    private var lastGeneration: Generation?

    private(set) var started = 0
    private(set) var continued = 0
    /// The first needless generation, for the world to throw.
    private(set) var violation: InvariantViolation?
    /// Whether any replicator has decided in this run: the first generation needs no cause.
    private var anyDecision = false
    /// Whether the running replicator has decided (one killed before that left nothing to compare).
    private var runningDecided = false
    private var causes: [String] = []
    private var faultsAtDecision = 0
    /// How the last replicator that decided left the source, once it ended.
    private var ending: (image: SourceImage, shadowHeader: [UInt8]?, clean: Bool)?

    init(
        disk: SimDisk, databasePath: String, injectedFaults: @escaping () -> Int,
        replicaGenerations: @escaping () -> [Generation] = { [] }
    ) {
        self.disk = disk
        self.databasePath = databasePath
        self.state = LocalState(databasePath: databasePath)
        self.injectedFaults = injectedFaults
        self.replicaGenerations = replicaGenerations
    }

    /// A cause the world produced (a power loss, ...), good for the next decision.
    func note(_ cause: String) { causes.append(cause) }

    func replicatorStarted() { runningDecided = false }

    /// The running replicator ended: killed (`clean` false) or returned.
    func replicatorEnded(clean: Bool) {
        guard runningDecided else { return }
        runningDecided = false
        ending = (SourceImage(disk: disk, databasePath: databasePath), latestShadowHeader(), clean)
    }

    /// Called by the replicator, on its task, for each decision.
    func observe(_ event: GenerationEvent) {
        switch event {
        case .continued(let generation):
            continued += 1
            own.insert(generation)
            lastGeneration = generation
        case .started(let generation, let reason):
            defer {
                own.insert(generation)
                lastGeneration = generation
            }
            started += 1
            if anyDecision, violation == nil, namedCauses().isEmpty {
                violation = .needlessGeneration(
                    "generation \(generation) started (the replicator says: \(reason)), but nothing happened to the source, the replicator's disk or the machine since the last generation decision"
                )
            }
            SimTrace.record(
                "generation \(generation) started: \(reason); causes: \(namedCauses().joined(separator: ", "))")
        }
        anyDecision = true
        runningDecided = true
        causes.removeAll()
        ending = nil
        faultsAtDecision = injectedFaults()
    }

    private func namedCauses() -> [String] {
        var named = causes
        let faults = injectedFaults() - faultsAtDecision
        if faults > 0 { named.append("\(faults) disk faults injected into the replicator's file system") }
        // Another replicator (a lease takeover) wrote a newer generation to the replica: "latest"
        // would name it while this one went on in an older one.
        if let last = lastGeneration,
            let foreign = replicaGenerations().filter({ $0 > last && !own.contains($0) }).max()
        {
            named.append("another replicator wrote generation \(foreign) to the replica")
        }
        if let ending {
            let now = SourceImage(disk: disk, databasePath: databasePath)
            if let change = now.change(since: ending.image, shadowHeader: ending.shadowHeader, cleanStop: ending.clean)
            {
                named.append("while no replicator ran after a \(ending.clean ? "clean stop" : "kill"): \(change)")
            }
        }
        return named
    }

    /// The header of the newest shadow index of the generation the local state names.
    private func latestShadowHeader() -> [UInt8]? {
        guard let text = disk.peekContents(of: state.generationFile),
            let generation = Generation(String(decoding: text, as: UTF8.self).trimmingWhitespace()),
            let latest = disk.peekNames(in: state.shadowDirectory(generation)).compactMap(LocalState.parseShadowName)
                .max(),
            let shadow = disk.peekContents(of: state.shadowPath(generation, index: latest)),
            shadow.count >= WALFormat.headerSize
        else { return nil }
        return Array(shadow[0..<WALFormat.headerSize])
    }
}
