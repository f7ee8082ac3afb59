import Core

/// Restore probes: what the replica restores to, checked against the source's commit log
/// (invariants 1 and 2, and that a restore to latest never goes back; the point-in-time and
/// retention kinds are in `PointInTimeOracle.swift`).
extension SimWorld {
    func probeLoop(until end: Duration, clock: SimClock) async throws {
        let mean = Double(parameters.probeInterval.milliseconds)
        while true {
            let pause = mean * AppWorkload.negativeLog1p(random.unitInterval() * 0.999)
            try await clock.sleep(for: .milliseconds(Int64(pause)))
            if clock.now.offset >= end { return }
            _ = try await probe("probe", final: false)
            try await probeLostFirstSegment(label: "probe")
        }
    }

    /// Restores the replica and checks the restores against the log: exactly at the last
    /// reported position, to latest, to a random time, and inside the retention window. An
    /// interim probe runs one of these, drawn per probe (each restore is the run's largest
    /// cost, and over a run's probes every kind comes up); a final probe runs `finalKinds`.
    /// Returns the commit a restore to latest holds, or -1 when the probe did not restore to
    /// latest (another kind was drawn, or faults were active).
    @discardableResult
    func probe(_ label: String, final: Bool, kinds finalKinds: [ProbeKind] = []) async throws -> Int {
        if let violation = leaseOracle.violation { throw violation }
        // A needless generation is found on the replicator's task; it fails the run here.
        if let violation = generations.violation { throw violation }
        probes += 1
        let number = probes
        let reported = log.replicated[client.location]
        let secondReported = takeover?.log.replicated[client.location]
        let committedBefore = log.lastCommit
        let kinds = final ? finalKinds : [drawProbeKind(reported: reported != nil || secondReported != nil)]
        SimTrace.record(
            "\(label) #\(number) \(kinds.count == 1 ? "\(kinds[0])" : "all") reported=\(reported.map { "\($0.position)" } ?? "none")",
            UInt64(committedBefore))

        // Invariant 1, part one: the reported position itself restores to a commit boundary.
        // A latest restore must hold at least the highest commit verified so far in this epoch.
        var requiredCommit = log.verified.last(where: { $0.report.epoch == log.epoch })?.commit ?? 0
        if let reported, kinds.contains(.exact),
            let commit = try await verifyExactly(
                reported, label: "\(label) #\(number)", output: restoreOutput("exact")),
            reported.epoch == log.epoch
        {
            requiredCommit = max(requiredCommit, commit)
        }
        if let secondReported, kinds.contains(.exact) {
            try await exactProbeOfSecond(secondReported, label: "\(label) #\(number)", number: number)
        }

        guard kinds.contains(.latest) else {
            try await pointInTimeProbes(label: "\(label) #\(number)", kinds: kinds)
            return -1
        }
        let restored: RestoredState
        do {
            restored = try await restoreAndReadReport(
                RestoreRequest(
                    outputPath: restoreOutput("latest"),
                    parallelism: 1 + Int(random.next() % 4)),
                label: "\(label) #\(number) latest")
        } catch let violation as InvariantViolation {
            throw violation
        } catch is RestoreFailedOnDamage {
            skippedProbes += 1
            return -1
        } catch {
            if reported == nil && !final {
                SimTrace.record("\(label) #\(number) nothing to restore yet: \(error)")
                return -1
            }
            if faultsActive {
                skippedProbes += 1
                SimTrace.record("\(label) #\(number) restore failed under faults: \(error)")
                return -1
            }
            throw InvariantViolation.restoreFailed(
                "\(label) #\(number) latest (reported \(reported.map { "\($0.position)" } ?? "none")): \(error)")
        }
        let latest = restored.state
        if let commit = try checkLatestAfterTakeover(
            latest, reported: secondReported, label: "\(label) #\(number)", final: final)
        {
            try await pointInTimeProbes(label: "\(label) #\(number)", kinds: kinds)
            SimTrace.record(
                "\(label) #\(number) restored commit \(commit) of the second database's",
                UInt64(takeover!.log.lastCommit))
            return commit
        }
        let latestEpochs = log.epochs(holding: latest.commit, digest: latest.digest)
        let latestIsCurrent = latestEpochs.last == log.epoch
        // A listing without a lost object shows the replica as it stood before that object: the
        // state is still checked (a commit boundary), but it may be older than what was replicated.
        if restored.mayMissLostObjects {
            try await pointInTimeProbes(label: "\(label) #\(number)", kinds: kinds)
            SimTrace.record(
                "\(label) #\(number) restored commit \(latest.commit) from a listing missing lost objects, of",
                UInt64(log.lastCommit))
            return -1
        }
        if final && !latestIsCurrent {
            throw InvariantViolation.noCatchUp(
                "\(label) #\(number): restore to latest holds commit \(latest.commit) of a history a power loss cut off (epoch \(latestEpochs.last ?? -1), the source is in epoch \(log.epoch))"
            )
        }
        if let reported, reported.epoch == log.epoch, !latestIsCurrent {
            throw InvariantViolation.replicatedCommitLost(
                "\(label) #\(number): restore to latest holds commit \(latest.commit) of an earlier history, but \(reported.position) of the current one was reported replicated"
            )
        }
        guard latest.commit >= requiredCommit || !latestIsCurrent else {
            throw InvariantViolation.replicatedCommitLost(
                "\(label) #\(number): restore to latest holds commit \(latest.commit), but a position reported replicated in this history restored commit \(requiredCommit)"
            )
        }
        if latestIsCurrent {
            if restoredHighWater.epoch != log.epoch { restoredHighWater = (log.epoch, 0) }
            guard latest.commit >= restoredHighWater.commit else {
                throw InvariantViolation.replicatedCommitLost(
                    "\(label) #\(number): restore to latest holds commit \(latest.commit), an earlier restore held commit \(restoredHighWater.commit)"
                )
            }
            restoredHighWater.commit = latest.commit
        }
        try await pointInTimeProbes(label: "\(label) #\(number)", kinds: kinds)
        SimTrace.record(
            "\(label) #\(number) restored commit \(latest.commit) (required \(requiredCommit)) of",
            UInt64(log.lastCommit))
        return latest.commit
    }

    /// The restores a probe can run.
    enum ProbeKind {
        /// Exactly at the last reported position (invariant 1).
        case exact
        /// To latest (invariants 1 and 2, and that the replica never goes back).
        case latest
        /// To a random time since the run began (invariant 3).
        case atTime
        /// To a time inside the retention window (invariant 5).
        case retentionAtTime
        /// Exactly at a verified position inside the retention window (invariant 5).
        case retentionExact
        /// To a time inside the retention window in the history of a generation a newer one
        /// replaced (invariant 5); never drawn, run by `ReplacedGenerationProbes`.
        case retentionOlderGeneration
    }

    /// One kind for an interim probe, among those that apply: the exact kind needs a reported
    /// position, the retention kinds need retention.
    private func drawProbeKind(reported: Bool) -> ProbeKind {
        var kinds: [ProbeKind] = [.latest, .atTime]
        if reported { kinds.append(.exact) }
        if parameters.replication.retention != nil { kinds += [.retentionAtTime, .retentionExact] }
        return kinds[Int(random.next() % UInt64(kinds.count))]
    }

    /// How a restore holds WAL indexes before writing their pages: a batch per index, a few
    /// indexes (up to 64 KiB, so a run of a few indexes shares a batch and batches follow one
    /// another), or the default (usually the whole history in one batch), a third each; and
    /// every index in its temp file, or the small ones in memory, half each.
    func drawApplyLimits() -> (batchBytes: Int64, indexMemoryLimit: Int) {
        let batchBytes: Int64
        switch applyBatchRandom.next() % 3 {
        case 0: batchBytes = 0
        case 1: batchBytes = Int64(1 + applyBatchRandom.next() % (64 << 10))
        default: batchBytes = RestoreRequest.defaultApplyBatchBytes
        }
        return (batchBytes, applyBatchRandom.next() % 2 == 0 ? 0 : WALDownloader.defaultMemoryLimit)
    }

    /// A fresh output path on the restore machine for a restore of `kind`.
    func restoreOutput(_ kind: String) -> String {
        restoreOutputs += 1
        return "/restore/\(kind)-\(restoreOutputs).db"
    }

    /// Restores into the restore machine, checks integrity and that the content is exactly the
    /// recorded state of the commit it claims to be (invariant 2), and removes the files.
    func restoreAndRead(_ request: RestoreRequest, label: String) async throws -> DatabaseState {
        try await restoreAndReadReport(request, label: label).state
    }

    /// `restoreAndRead`, also returning the restore's report, the store moments (see
    /// `ObjectHistory`) just before it began and just after it returned, and whether lost objects
    /// may have made it older. Damage it met is judged first (`restoreJudgingDamage`).
    func restoreAndReadReport(_ request: RestoreRequest, label: String) async throws -> RestoredState {
        let start = store.history.moment
        let (report, seen) = try await restoreJudgingDamage(request, label: label)
        let end = store.history.moment
        if !report.appliedIndexes.isEmpty { try await checkFileSize(request.outputPath, label: label) }
        do {
            return RestoredState(
                state: try await check(request, label: label), report: report, storeMoments: (start, end),
                mayMissLostObjects: lostObjectsMayShorten(seen, report),
                mayMissPlannedObjects: lostObjectsMayChangePlan(seen, report))
        } catch let violation as InvariantViolation {
            throw violation
        } catch {
            // The restore reported success; a file SQLite cannot read is a broken restore.
            throw InvariantViolation.tornRestore("\(label): the restored database cannot be read: \(error)")
        }
    }

    /// A restore that applied WAL leaves a file of exactly the pages the database has, as
    /// SQLite's own checkpoint of that WAL would: the header's page count (valid once its
    /// version-valid-for number equals the change counter) times the page size. Pages left past
    /// it are invisible to SQLite, so the content checks below would not see them.
    private func checkFileSize(_ path: String, label: String) async throws {
        let handle = try await restoreNode.fileSystem.open(path, mode: .readOnly)
        let size = try await handle.size()
        let header = try await handle.read(at: 0, count: 100)
        try? await handle.close()
        guard header.count == 100 else {
            throw InvariantViolation.tornRestore(
                "\(label): the restored file holds \(size) bytes, less than a database header")
        }
        func word(_ at: Int) -> UInt32 { header[at..<(at + 4)].reduce(0) { $0 << 8 | UInt32($1) } }
        let rawPageSize = Int(header[16]) << 8 | Int(header[17])
        let pageSize = rawPageSize == 1 ? 65536 : rawPageSize
        guard word(92) == word(24) else { return }
        let expected = Int64(word(28)) * Int64(pageSize)
        guard size == expected else {
            throw InvariantViolation.tornRestore(
                "\(label): the restored file holds \(size) bytes; its header says \(word(28)) pages of \(pageSize) bytes (\(expected))"
            )
        }
    }

    private func check(_ request: RestoreRequest, label: String) async throws -> DatabaseState {
        let connection = try await restoreNode.open(request.outputPath)
        let state: DatabaseState
        do {
            let integrity = try await connection.query("PRAGMA integrity_check").first?.first?.textValue
            guard integrity == "ok" else {
                throw InvariantViolation.tornRestore("\(label): integrity_check says \(integrity ?? "nothing")")
            }
            state = try await DatabaseState.read(connection)
            try await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }
        let everCommitted =
            state.commit <= log.lastCommit || log.retired.contains(where: { state.commit < $0.digests.count })
            || state.commit <= takeover?.log.lastCommit ?? -1
        guard state.commit >= 0, everCommitted else {
            throw InvariantViolation.tornRestore(
                "\(label): restored commit counter \(state.commit) was never committed (last is \(log.lastCommit))")
        }
        guard !restoredHistory(of: state).isNone else {
            throw InvariantViolation.tornRestore(
                "\(label): restored commit \(state.commit) holds \(state.digest), the source held \(state.commit < log.digests.count ? "\(log.digests[state.commit])" : "no such commit")"
            )
        }
        let fileSystem = restoreNode.fileSystem
        // `remove` accepts a missing file, so no stat first.
        for suffix in ["", "-wal", "-shm"] {
            try await fileSystem.remove(request.outputPath + suffix)
        }
        return state
    }
}
