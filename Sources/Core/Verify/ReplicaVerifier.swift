/// Checks every generation of one replica without writing a database: the edge of
/// `sluice verify` that lists and reads; what to check and what a finding means are decided by
/// `VerifyPlanner`, `WALIndexCheck`, `SnapshotCheck` and `VerifyReconciliation`.
///
/// Memory stays bounded whatever the replica size: objects stream through the LZ4 decoder in
/// fixed chunks, a WAL index is checked frame by frame without keeping its bytes or its frame
/// table, and `--sample` keeps a fixed-size reservoir of boundaries. A generation's listing is
/// held while it is checked, as a restore holds it.
///
/// A replica a replicator is writing changes while it is read, so a generation with problems is
/// checked a second time and only problems seen both times are reported
/// (`VerifyReconciliation`).
public struct ReplicaVerifier: Sendable {
    public let client: any ReplicaClient
    public let environment: Environment
    /// How many transaction boundaries to sample for restores (`--sample`).
    public var sampleSize: Int
    /// Tries per object on transient read errors.
    public var maxAttempts = 3
    /// The wait before the second attempt; doubled for each later one.
    public var retryDelay: Duration = .milliseconds(200)
    /// Counts objects read whole and their decompressed bytes (`ProgressMeter.verify()`).
    public var progress: ProgressMeter?

    public init(client: any ReplicaClient, environment: Environment, sampleSize: Int = 0) {
        self.client = client
        self.environment = environment
        self.sampleSize = sampleSize
    }

    /// Checks the whole replica.
    /// - Throws: when the replica cannot be listed, or an object cannot be read after retrying
    ///   for a reason other than its absence or its bytes (`VerifyError`): the check could not
    ///   be made, which is not the same as a problem found.
    public func verify() async throws -> VerifyReport {
        var report = VerifyReport(location: client.location)
        report.findings += try await strayFindings()
        let generations = try await client.generations().sorted()
        var sample = BoundarySample(capacity: sampleSize)
        var unusable: Set<Generation> = []
        for (position, generation) in generations.enumerated() {
            let isNewest = position == generations.count - 1
            var pass = try await check(generation, isNewest: isNewest, sample: &sample)
            if pass.findings.contains(where: { $0.severity == .problem }) {
                var unused = BoundarySample(capacity: 0)
                let again = try await check(generation, isNewest: isNewest, sample: &unused)
                let confirmed = VerifyReconciliation.confirmed(first: pass.findings, second: again.findings)
                environment.logger.debug(
                    "verify.recheck",
                    metadata: [
                        "verify.generation": "\(generation)",
                        "verify.first": "\(pass.findings.filter { $0.severity == .problem }.map(\.description))",
                        "verify.confirmed": "\(confirmed.filter { $0.severity == .problem }.count)",
                    ])
                pass.findings = confirmed
            }
            if pass.findings.contains(where: { $0.severity == .problem }) { unusable.insert(generation) }
            report.generations.append(pass.summary)
            report.findings += pass.findings
        }
        // Restores inside a damaged generation would only repeat what the check found.
        report.sampledBoundaries = sample.sorted.filter { !unusable.contains($0.generation) }
        return report
    }

    /// Names under `generations/` that are not generations.
    private func strayFindings() async throws -> [VerifyFinding] {
        guard let keyed = client as? any ReplicaKeyListing else { return [] }
        return try await keyed.strayGenerationNames().sorted().map { name in
            let object = "\(ReplicaLayout.generationsDirectory)/\(name)"
            if let reason = ReplicaKeyClass.hostileReason(name) {
                return VerifyFinding(
                    .problem, .hostileKey, generation: nil, object: object,
                    message: "\(reason); no reader uses it, remove it")
            }
            return VerifyFinding(
                .problem, .unexpectedObject, generation: nil, object: object,
                message: "not a generation name (16 hex digits); restore ignores it")
        }
    }

    /// One pass over one generation.
    struct Pass {
        var summary: VerifyReport.GenerationSummary
        var findings: [VerifyFinding]
    }

    /// Lists the generation: WAL before snapshots with the ordinary listings, since retention
    /// deletes snapshots before the WAL they needed (a WAL listing taken first is never missing
    /// what a later snapshot listing still needs).
    func list(_ generation: Generation) async throws -> VerifyListing {
        if let keyed = client as? any ReplicaKeyListing {
            return VerifyListing.make(generation, entries: try await keyed.objectEntries(in: generation))
        }
        let segments = try await client.walSegments(in: generation)
        let snapshots = try await client.snapshots(in: generation)
        return VerifyListing(
            listing: GenerationListing(
                generation: generation, snapshots: snapshots,
                segments: segments))
    }

    func check(_ generation: Generation, isNewest: Bool, sample: inout BoundarySample) async throws -> Pass {
        let listing = try await list(generation)
        let plan = VerifyPlanner.plan(listing, isNewest: isNewest)
        var pass = Pass(summary: summary(of: listing.listing, plan: plan), findings: listing.findings + plan.findings)
        var pageSize: Int?
        for snapshot in plan.snapshots {
            let (finding, size) = try await checkSnapshot(snapshot, key: listing.key(ofSnapshot: snapshot.index))
            if let finding { pass.findings.append(finding) }
            pageSize = pageSize ?? size
        }
        var previous: (index: UInt64, length: UInt64, isWhole: Bool)?
        let newestKey = listing.listing.segments.last.map { listing.key(of: $0.position) }
        let firstSnapshot = plan.snapshots.first?.index ?? 0
        for indexPlan in plan.indexes {
            var check = WALIndexCheck(generation: generation, index: indexPlan.index, expectedPageSize: pageSize)
            var seal: WALIndexSeal?
            for segment in indexPlan.segments {
                let key = listing.key(of: segment.position)
                guard check.begin(segment, key: key) else { break }
                let read = try await checkSegment(
                    segment, key: key, isNewest: isNewest && key == newestKey,
                    offersBoundaries: indexPlan.index > firstSnapshot,
                    check: &check, sample: &sample)
                if segment.offset == 0 { seal = read }
                if check.isStopped { break }
            }
            check.finish()
            if let seal, let previous, previous.isWhole, previous.index == seal.previousIndex,
                previous.length != seal.previousEnd
            {
                pass.findings.append(
                    sealFinding(
                        generation: generation, previous: previous, seal: seal,
                        listing: listing))
            }
            previous = (indexPlan.index, check.length, !check.isStopped)
            pass.summary.checkedWALByteCount += check.length
            pass.summary.checkedFrameCount += check.frameCount
            pass.findings += check.findings
        }
        return pass
    }

    private func summary(of listing: GenerationListing, plan: VerifyPlanner.Plan) -> VerifyReport.GenerationSummary {
        var summary = VerifyReport.GenerationSummary(generation: listing.generation)
        summary.snapshotCount = listing.snapshots.count
        summary.segmentCount = listing.segments.count
        summary.firstIndex = plan.snapshots.first?.index
        summary.lastIndex = max(listing.segments.last?.index ?? 0, listing.snapshots.last?.index ?? 0)
        if listing.snapshots.isEmpty && listing.segments.isEmpty { summary.lastIndex = nil }
        summary.storedByteCount =
            listing.snapshots.reduce(0) { $0 + $1.size }
            + listing.segments.reduce(0) { $0 + $1.size }
        summary.start = listing.timeBounds?.start
        summary.end = listing.timeBounds?.end
        return summary
    }

    /// An index whose length differs from what the next index's seal records.
    private func sealFinding(
        generation: Generation, previous: (index: UInt64, length: UInt64, isWhole: Bool),
        seal: WALIndexSeal, listing: VerifyListing
    ) -> VerifyFinding {
        let position = Position(generation: generation, index: previous.index, offset: previous.length)
        if previous.length < seal.previousEnd {
            return VerifyFinding(
                .problem, .indexIncomplete, generation: generation, object: listing.key(of: position),
                message: "missing: WAL index \(hex16(previous.index)) ends at offset "
                    + "\(hex16(previous.length)) on the replica, but the next index records "
                    + "that it ended at \(hex16(seal.previousEnd)); its last segment is lost")
        }
        return VerifyFinding(
            .problem, .indexIncomplete, generation: generation,
            object: VerifyObjectKey.index(generation, index: previous.index),
            message: "WAL index \(hex16(previous.index)) is \(hex16(previous.length)) bytes long "
                + "on the replica, but the next index records that it ended at "
                + "\(hex16(seal.previousEnd))")
    }
}

/// A check that could not be made.
public enum VerifyError: Error, Equatable, CustomStringConvertible {
    /// An object could not be read, after retrying, for a reason other than its absence or bytes.
    case unreadable(object: String, attempts: Int, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let object, let attempts, let reason):
            return "could not read \(object) after \(attempts) attempts: \(reason); "
                + "check the replica is reachable and run verify again"
        }
    }
}
