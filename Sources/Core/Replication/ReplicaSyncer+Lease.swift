/// The replica's lease: taken before the first write, renewed while the syncer works, given back
/// at shutdown.
extension ReplicaSyncer {
    /// Takes the replica's lease before the first write; throws `LeaseError.held` naming the
    /// holder if another replicator has it.
    ///
    /// Other errors (a store that is briefly down, a timeout) are retried with backoff for about
    /// a minute before giving up (at once when the store cannot do the request at all), with the
    /// same token throughout: an attempt that landed although its caller saw a failure (an
    /// ambiguous success) left a lease with our token, and every client accepts its own token as
    /// held rather than refusing it. Found by the simulator
    /// (`sluice sim --profile s3-hell`): a replicator whose first lease write was ambiguous exited.
    public func acquireLease(superseding: String? = nil) async throws {
        guard let leasing = client as? any ReplicaLeasing else { return }
        let token = Hex.format(environment.random.next(), width: 16) + Hex.format(environment.random.next(), width: 16)
        var delay = Duration.seconds(1)
        var attempt = 1
        while true {
            do {
                lease = try await leasing.acquireLease(
                    owner: options.leaseOwner, token: token,
                    duration: options.leaseDuration, now: environment.wallClock.now(),
                    supersedes: superseding)
                logger.info("lease acquired", metadata: ["expires": "\(lease!.expires)"])
                return
            } catch let error as LeaseError {
                throw error
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                let final = (error as? any ReplicaRequestError)?.retryCannotHelp ?? false
                guard attempt < Self.leaseAttempts, !final else { throw error }
                logger.warning(
                    "could not take the lease; retrying", metadata: ["error": "\(error)", "attempt": "\(attempt)"])
                try await environment.clock.sleep(for: delay)
                delay = min(delay * 2, .seconds(16))
                attempt += 1
            }
        }
    }

    /// The lease this syncer holds, if any.
    public var heldLease: Lease? { lease }

    /// Attempts at taking the lease at start-up: 1+2+4+8+16+16 s of backoff, about a minute.
    static let leaseAttempts = 7

    /// How long until `renewLeaseIfDue` would renew (zero if it is due now); nil for a client
    /// that does not lease or before the lease is taken.
    public func timeUntilLeaseRenewal() -> Duration? {
        guard client is any ReplicaLeasing, let lease else { return nil }
        let due = lease.expires - options.leaseDuration * (2.0 / 3.0)
        let now = environment.wallClock.now()
        return due > now ? due - now : .zero
    }

    /// Renews the lease once a third of it has passed. `LeaseError.lost` is fatal to the caller.
    ///
    /// One renewal at a time: the lease keeper and an attempt's `ensureLease` can both find it
    /// due, and two conditional writes of one version race each other, the loser reading the
    /// winner's write as a lease taken from under it. A caller that finds a renewal in flight
    /// waits for it (a wait bounded by that renewal's request deadlines), then looks again.
    public func renewLeaseIfDue() async throws {
        while leaseRenewal.inFlight {
            await withCheckedContinuation { leaseRenewal.waiters.append($0) }
        }
        guard let leasing = client as? any ReplicaLeasing, let current = lease, timeUntilLeaseRenewal() == .zero else {
            return
        }
        leaseRenewal.inFlight = true
        defer {
            leaseRenewal.inFlight = false
            let waiters = leaseRenewal.waiters
            leaseRenewal.waiters = []
            for waiter in waiters { waiter.resume() }
        }
        lease = try await leasing.renewLease(current, duration: options.leaseDuration, now: environment.wallClock.now())
    }

    /// Whether this syncer may write: it holds a lease with at least a third of its time left
    /// (a margin for clock drift and slow requests), or the client does not lease.
    var mayWrite: Bool {
        guard client is any ReplicaLeasing else { return true }
        guard let lease else { return false }
        return lease.expires - environment.wallClock.now() > options.leaseDuration / 3
    }

    /// Renews the lease if due and throws unless this syncer may write: called before every write
    /// that follows a wait (a listing, an upload), since a lease checked only when a step began
    /// may have run out, and the location changed hands, by the time the step writes.
    func ensureLease() async throws {
        try await renewLeaseIfDue()
        guard mayWrite else { throw ReplicaSyncError.leaseNotHeld(replica: client.location) }
    }

    /// Gives the lease back (at shutdown, after the final sync).
    public func releaseLease() async {
        guard let leasing = client as? any ReplicaLeasing, let current = lease else { return }
        lease = nil
        // A few quick tries: a lease left behind locks the next replicator of this database out
        // for a whole lease period, which a restart after one store error must not cost (found
        // by sluice sim, default seed 20: one failed GET kept six restarts out for 30 s). Each
        // try is a conditional delete of our own lease, so repeating it is harmless.
        for attempt in 1...Self.leaseReleaseAttempts {
            do {
                try await leasing.releaseLease(current)
                return
            } catch {
                guard attempt < Self.leaseReleaseAttempts else {
                    logger.warning("could not release the lease; it expires by itself", metadata: ["error": "\(error)"])
                    return
                }
                logger.info(
                    "releasing the lease failed; trying again",
                    metadata: ["error": "\(error)", "attempt": "\(attempt)"])
                do { try await environment.clock.sleep(for: Self.leaseReleaseRetryDelay * attempt) } catch { return }
            }
        }
    }

    /// Tries at giving the lease up before leaving it to expire, and the pause after the first.
    static let leaseReleaseAttempts = 4
    static let leaseReleaseRetryDelay: Duration = .milliseconds(250)
}

/// A lease renewal in flight and the callers waiting for it to end.
struct LeaseRenewalState {
    var inFlight = false
    var waiters: [CheckedContinuation<Void, Never>] = []
}
