import Logging

/// Replicates one database to one or more replicas until cancelled.
///
/// One loop watches the WAL (`WALChangeWatch`) and copies new frames to the shadow; one loop per
/// replica uploads, snapshots and enforces retention, woken by the monitor when a pass copied
/// something (`WakeSignal`) and at most once per `syncInterval`, so a stalled replica never
/// stops the shadow WAL from keeping up, nor the other replicas. All loops are child tasks and
/// so run wherever the caller runs (in the simulator, on its executor).
public final class Replicator: Sendable {
    public let databasePath: String
    private let replicas: [any ReplicaClient]
    private let options: ReplicationOptions
    private let replicaOptions: [ReplicationOptions]
    private let environment: Environment
    private let observer: ReplicationObserver?
    private let events: (any ReplicationEvents)?

    /// - Parameters:
    ///   - options: The database's options, and every replica's unless `replicaOptions` is given.
    ///   - replicaOptions: One per replica, in order, for what a replica's own loop decides (sync
    ///     interval, snapshots, retention, lease); a config file sets these per replica, as
    ///     Litestream's does. The database's pass (monitor, checkpoints) always uses `options`.
    ///   - observer: Told of every position a replica reached (for the simulator's oracle); nil
    ///     in production.
    ///   - events: Told of every pass, checkpoint and replica attempt, and of the first sync
    ///     (for metrics and `--exec`); nil when nobody watches.
    public init(
        databasePath: String, replicas: [any ReplicaClient], options: ReplicationOptions,
        replicaOptions: [ReplicationOptions]? = nil, environment: Environment,
        observer: ReplicationObserver? = nil, events: (any ReplicationEvents)? = nil
    ) {
        precondition(
            replicaOptions == nil || replicaOptions!.count == replicas.count,
            "replicaOptions needs one entry per replica")
        self.databasePath = databasePath
        self.replicas = replicas
        self.options = options
        self.replicaOptions = replicaOptions ?? replicas.map { _ in options }
        // Every line the engine logs for this database names it, so the logs of many databases
        // in one process (a config file) can be told apart; replica lines add the replica.
        var environment = environment
        environment.logger[metadataKey: "db"] = "\(databasePath)"
        self.environment = environment
        self.observer = observer
        self.events = events
    }

    /// Replicates until the calling task is cancelled; then syncs the database and every replica
    /// one last time and returns. Throws `ReplicationError` for problems no retry can fix.
    public func run() async throws {
        guard !replicas.isEmpty else { throw ReplicationError.noReplicas }
        // Every loop below is a child task, so this one preference places them all.
        try await environment.spawner.run { try await replicate() }
    }

    private func replicate() async throws {
        let logger = environment.logger
        let database = ReplicatedDatabase(
            path: databasePath, options: options, environment: environment, events: events)
        let syncers = zip(replicas, replicaOptions).map {
            ReplicaSyncer(client: $0, database: database, options: $1, environment: environment, observer: observer)
        }
        // Leases come before the database is opened: a replicator refused by a location's holder
        // must not touch the database or its local state (shadow WAL, generation file, read lock,
        // checkpoints), which the holder on the same machine is using. A bad database path is
        // found first, read-only, so it never leaves a lease behind either.
        var localLock: LocalReplicatorLock?
        do {
            try await Self.retryingStart(database, environment: environment) { try await database.validate() }
            localLock = try await takeLeases(syncers, state: database.state)
            try await Self.retryingStart(database, environment: environment) { try await database.open() }
            try await Self.retryingStart(database, environment: environment, reopening: false) {
                try await database.recordReplicas(replicas.map(\.location))
            }
        } catch {
            for syncer in syncers { await syncer.releaseLease() }
            await database.close()
            await localLock?.release()
            throw error
        }

        // A lost lease ends replication everywhere: another replicator owns a location now.
        let signals = syncers.map { _ in WakeSignal() }
        let firstSync = events.map { FirstSyncTracker(replicaCount: syncers.count, events: $0) }
        let fatal: (any Error)? = await withTaskGroup(of: (any Error)?.self) { group in
            group.addTask {
                await Self.monitor(
                    database, syncers: syncers, signals: signals, options: self.options, environment: self.environment,
                    events: self.events)
                return nil
            }
            for (number, (syncer, signal)) in zip(syncers, signals).enumerated() {
                let watch = self.events.flatMap { events in
                    firstSync.map { ReplicaWatch(number: number, events: events, firstSync: $0) }
                }
                group.addTask {
                    await Self.replicate(
                        syncer, signal: signal, options: syncer.options, environment: self.environment, watch: watch)
                }
            }
            for await result in group {
                if let error = result {
                    group.cancelAll()
                    return error
                }
            }
            return nil
        }

        // Cancelled: one last sync, in a task of its own so that cancellation does not cut it short.
        let finalSync = environment.spawner.spawn {
            do {
                try await database.sync()
            } catch {
                logger.error("final sync of the database failed", metadata: ["error": "\(error)"])
            }
            for syncer in syncers {
                do {
                    if fatal == nil { try await syncer.sync() }
                } catch {
                    logger.error(
                        "final sync of a replica failed",
                        metadata: ["replica": "\(syncer.client.location)", "error": "\(error)"])
                }
                await syncer.releaseLease()
            }
            await database.stop()
        }
        _ = try? await finalSync.value
        await localLock?.release()
        logger.info("replication stopped", metadata: ["db": "\(databasePath)"])
        if let fatal { throw fatal }
    }

    /// Takes every replica's lease, and the local lock when it can be had.
    ///
    /// A replicator that died without releasing its leases (a kill, an out-of-memory kill, a
    /// power loss) left them on the replicas for a whole lease period, and its restart on the
    /// same machine was refused as "in use by another replicator" until they expired: 30 s of
    /// WAL growing unreplicated after every crash (the largest WAL peaks left in the
    /// simulator's seeds 1..1000). A lease whose token this database's local state recorded,
    /// taken on this machine, is now taken over at once, but only by a replicator that holds
    /// `LocalReplicatorLock`, which proves that replicator of the record is gone. A replicator of
    /// this database that still runs holds the lock, so a second one is refused as before.
    private func takeLeases(_ syncers: [ReplicaSyncer], state: LocalState) async throws -> LocalReplicatorLock? {
        let recorded = await LocalLeaseRecord.read(state: state, fileSystem: environment.fileSystem)
        var lock: LocalReplicatorLock?
        for syncer in syncers {
            do {
                try await syncer.acquireLease()
            } catch let refusal as LeaseError {
                guard case .held(let replica, let holder) = refusal, let mine = recorded[syncer.client.location],
                    mine.token == holder.token,
                    LocalLeaseRecord.host(of: mine.owner) == LocalLeaseRecord.host(of: options.leaseOwner)
                else { throw refusal }
                if lock == nil { lock = await LocalReplicatorLock.acquire(state: state, environment: environment) }
                guard lock != nil else { throw refusal }
                try await syncer.acquireLease(superseding: holder.token)
                environment.logger.notice(
                    "took over the lease this database's replicator left when it stopped without releasing it",
                    metadata: ["replica": "\(replica)", "previous": "\(holder.owner)"])
            }
        }
        if lock == nil { lock = await LocalReplicatorLock.acquire(state: state, environment: environment) }
        // Recorded only under the lock, so that a record always names the leases of a replicator
        // that held it; without the lock this run's leases simply expire as before if it dies.
        if lock != nil {
            var entries = recorded
            for syncer in syncers {
                if let lease = await syncer.heldLease {
                    entries[syncer.client.location] = LocalLeaseRecord.Entry(owner: lease.owner, token: lease.token)
                }
            }
            try? await LocalLeaseRecord.write(entries, state: state, fileSystem: environment.fileSystem)
        }
        return lock
    }

    /// Runs a step of the start (validating the path, opening the database), trying it again
    /// after errors that may pass (I/O errors of the disk, SQLite's among them) up to
    /// `startAttempts` times, a little longer apart each time, closing what the failed attempt
    /// opened (unless `reopening` is false: the step needs the database as it is); a path that is
    /// not a WAL-capable database fails at once.
    ///
    /// Starting touches a few dozen files, and one I/O error used to end the replicator. Under a
    /// flaky disk (one error in twenty calls) most starts failed, and without a supervisor that
    /// restarts it, replication would simply stop (found by sluice sim, default seed 256, whose
    /// supervised replicator failed thirty starts in a row while the WAL grew to 82 MB).
    static func retryingStart(
        _ database: ReplicatedDatabase, environment: Environment, reopening: Bool = true,
        _ step: () async throws -> Void
    ) async throws {
        var attempt = 1
        while true {
            do {
                try await step()
                return
            } catch let error as ReplicationError where !error.mayPass {
                throw error
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                guard attempt < startAttempts, !Task.isCancelled else { throw error }
                environment.logger.warning(
                    "starting replication failed; trying again",
                    metadata: ["db": "\(database.state.databasePath)", "attempt": "\(attempt)", "error": "\(error)"])
                if reopening { await database.close() }
                try await environment.clock.sleep(for: .milliseconds(250 * Int64(attempt)))
                attempt += 1
            }
        }
    }

    /// Attempts at opening the database before the replicator gives up (about 7 s in all).
    static let startAttempts = 8

    private static func monitor(
        _ database: ReplicatedDatabase, syncers: [ReplicaSyncer], signals: [WakeSignal],
        options: ReplicationOptions, environment: Environment, events: (any ReplicationEvents)?
    ) async {
        var watch = WALChangeWatch(
            monitorInterval: options.monitorInterval, minimumGap: options.syncInterval,
            fastest: options.changePollInterval, slowest: options.idleChangePollInterval,
            notifiedPassInterval: options.notifiedPassInterval)
        var notices = environment.changeNotifier?.subscribe(to: database.state.walPath)
        defer { notices?.cancel() }
        var noticed = false
        while !Task.isCancelled {
            // Armed before the look, so a commit made while this pass reads the WAL is noticed.
            watch.isNotified = notices?.arm() ?? false
            let looked: FileStat??
            do { looked = .some(try await environment.fileSystem.stat(database.state.walPath)) } catch { looked = nil }
            if watch.shouldPass(looked: looked, noticed: noticed) {
                let advanced = await pass(
                    database, syncers: syncers, signals: signals, environment: environment, events: events)
                // Frames no notice announced, even by the end of the pass that copied them: this
                // file system does not report the WAL's writes (or not all of them). Poll it.
                if let subscription = notices, watch.isNotified, !noticed, advanced, !subscription.hasNotice {
                    environment.logger.warning(
                        "the WAL changed without a change notice; looking at it on a timer from now on",
                        metadata: ["db": "\(database.state.databasePath)"])
                    subscription.cancel()
                    notices = nil
                    watch.stopNotices()
                }
            }
            let pause = watch.nextLook
            var elapsed = pause
            do {
                if let notices, watch.waitsForNotice {
                    let waited = Stopwatch(environment.clock)
                    noticed = try await notices.wait(timeout: pause, clock: environment.clock)
                    if noticed { elapsed = waited.elapsed() }
                } else {
                    noticed = false
                    try await environment.clock.sleep(for: pause)
                }
            } catch {
                return
            }
            watch.elapsed(elapsed)
        }
    }

    /// One shadow pass; wakes the replicas if it copied frames, and says whether it did.
    private static func pass(
        _ database: ReplicatedDatabase, syncers: [ReplicaSyncer], signals: [WakeSignal],
        environment: Environment, events: (any ReplicationEvents)?
    ) async -> Bool {
        let stopwatch = events.map { _ in Stopwatch(environment.clock) }
        var advanced = false
        do {
            advanced = try await database.sync().advanced
            if advanced {
                for signal in signals { signal.signal() }
            }
            if let events, let stopwatch {
                events.databaseSynced(await database.syncReport(duration: stopwatch.elapsed(), failed: false))
            }
            var uploaded: [Position?] = []
            for syncer in syncers { uploaded.append(await syncer.position) }
            try await database.removeUploadedShadows(uploaded: uploaded)
        } catch is CancellationError {
            return advanced
        } catch {
            environment.logger.error(
                "sync failed", metadata: ["db": "\(database.state.databasePath)", "error": "\(error)"])
            if let events, let stopwatch {
                events.databaseSynced(await database.syncReport(duration: stopwatch.elapsed(), failed: true))
            }
        }
        return advanced
    }

    /// Returns the error that ended it, if replication of this replica must stop (lost lease).
    private static func replicate(
        _ syncer: ReplicaSyncer, signal: WakeSignal, options: ReplicationOptions,
        environment: Environment, watch: ReplicaWatch?
    ) async -> (any Error)? {
        var failures = 0
        while !Task.isCancelled {
            let progressBefore = await syncer.progress
            let uploadFailuresBefore = await syncer.walUploadFailures
            // This attempt uploads all the shadow holds; a pass copying more from here on signals again.
            signal.clear()
            let attempt = Stopwatch(environment.clock)
            do {
                try await LeaseKeeper.run(
                    {
                        try await syncer.renewLeaseIfDue()
                        try await syncer.sync()
                        await watch?.synced(syncer)
                        try await syncer.snapshotIfDue()
                        try await syncer.enforceRetentionIfDue()
                    }, syncer: syncer, environment: environment)
                failures = 0
                await watch?.attemptEnded(syncer, failed: false)
            } catch is CancellationError {
                return nil
            } catch let error as LeaseError {
                environment.logger.critical("\(error)")
                await watch?.attemptEnded(syncer, failed: true, leaseLost: true)
                return error
            } catch {
                await watch?.attemptEnded(syncer, failed: true)
                // Only a WAL upload cut short after some of it went through counts as progress:
                // deriving the position (which may take the generation's first snapshot), a
                // snapshot or retention that keeps failing while the app keeps committing (so
                // every attempt uploads a little WAL first) must still back off. An upload cut
                // short by the local disk (a failed `stat` of the shadow) counts like one cut
                // short by the store: counted as one more failure, it backed a replicator on a
                // flaky disk off to a minute between attempts, and it took no snapshot for 300 s
                // (sluice sim, default seed 525).
                let progressAfter = await syncer.progress
                let uploadFailuresAfter = await syncer.walUploadFailures
                let madeProgress = progressAfter != progressBefore && uploadFailuresAfter != uploadFailuresBefore
                failures = SyncBackoff.failures(afterFailedAttempt: failures, madeProgress: madeProgress)
                environment.logger.error(
                    "replica sync failed",
                    metadata: [
                        "replica": "\(syncer.client.location)", "error": "\(error)", "failures": "\(failures)",
                    ])
            }
            // The gap runs from the attempt's start, so uploads keep the cadence of the passes
            // that wake them (one per sync interval) instead of drifting by each upload's length.
            var delay = max(.zero, options.syncInterval - attempt.elapsed())
            if failures > 1 {
                let jitter = Double(environment.random.next() % 1000) / 1000.0
                delay = SyncBackoff.delay(failures: failures, syncInterval: options.syncInterval, jitter: jitter)
            }
            do {
                try await sleepRenewingLease(syncer, for: delay, environment: environment)
                // A failed attempt is tried again after the delay, new frames or not.
                if failures == 0 {
                    try await sleepRenewingLease(
                        syncer, for: await syncer.idleWait(), until: signal, environment: environment)
                }
            } catch let error as LeaseError {
                environment.logger.critical("\(error)")
                await watch?.attemptEnded(syncer, failed: true, leaseLost: true)
                return error
            } catch {
                return nil // cancelled while sleeping
            }
        }
        return nil
    }

    /// Sleeps `delay`, waking to renew the replica's lease when it falls due. Renewed only before
    /// each attempt, a lease ran out whenever the wait was longer than two thirds of it: a
    /// `--sync-interval` of 20 s or more with the default 30 s lease, or any backoff past 20 s
    /// after store errors. A healthy replicator was then presumed dead, and a second one could
    /// take the location over (found while writing `RegressionLeaseRenewedDuringLongSyncTests`).
    /// A renewal that fails for another reason than a lost lease is tried again a second later;
    /// `LeaseError` ends replication, as it does before an attempt.
    ///
    /// With `signal`, the sleep also ends when a pass copied new frames: how a replica with
    /// nothing to upload waits, until its next snapshot or retention check falls due
    /// (`ReplicaSyncer.idleWait`), for the attempt that follows to do it.
    private static func sleepRenewingLease(
        _ syncer: ReplicaSyncer, for delay: Duration, until signal: WakeSignal? = nil,
        environment: Environment
    ) async throws {
        var remaining = delay
        while remaining > .zero {
            let untilRenewal = await syncer.timeUntilLeaseRenewal() ?? remaining
            let step = min(remaining, max(untilRenewal, .seconds(1)))
            if let signal {
                if try await signal.wait(timeout: step, clock: environment.clock) { return }
            } else {
                try await environment.clock.sleep(for: step)
            }
            remaining -= step
            guard remaining > .zero else { return }
            try await LeaseKeeper.renew(syncer, environment: environment)
        }
    }

    /// The replica locations a previous `replicate` recorded beside the database.
    public static func recordedReplicas(databasePath: String, fileSystem: any FileSystem) async throws -> [String] {
        let state = LocalState(databasePath: databasePath)
        guard let bytes = try await FileSystemError.nilIfNotFound({ try await fileSystem.readAll(state.replicasFile) })
        else {
            return []
        }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init).filter { !$0.isEmpty }
    }
}
