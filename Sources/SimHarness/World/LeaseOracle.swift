import Core

/// Checks, in every seed, that a replicator writes to the replica location only under its lease:
/// when a process issues a write (a WAL segment, a snapshot, a delete), the lease object on the
/// store must name the token that process took and must not have expired. The store's lease
/// object is the ground truth, read without a request (`WatchedObjects`), so the check adds no
/// scheduling point.
///
/// Checked at issue, not at landing. A write issued under the lease may still land after the
/// lease expired (a stall, or a partition that delivers it late), possibly after another
/// replicator took the location over: a hazard no lease protocol closes without fencing on the
/// store. Such a write lands in its writer's own generation, older than any generation a later
/// holder makes, so restores to latest are not affected (`NetworkPartition` counts those it
/// delivers; docs/simulation.md). Touched only on the simulator thread.
// @unchecked: touched only on the simulator's one thread.
final class LeaseOracle: @unchecked Sendable {
    private let objects: WatchedObjects
    let leaseKey: String
    private let wallClock: SimWallClock
    /// The first write issued without the lease.
    private(set) var violation: InvariantViolation?

    init(store: SimObjectStore, leaseKey: String, wallClock: SimWallClock) {
        objects = store.watched
        self.leaseKey = leaseKey
        self.wallClock = wallClock
        objects.watch(leaseKey)
    }

    /// The lease object as the store holds it now.
    var currentLease: Lease? { objects.bytes(of: leaseKey).flatMap { Lease.decode($0) } }

    /// Checks a write `process` is about to issue under the lease with `token` (nil if it took
    /// none).
    func admit(_ operation: @autoclosure () -> String, process: String, token: String?) {
        let now = wallClock.now()
        guard let lease = currentLease else {
            record(
                "\(process) issued \(operation()) at \(now) while no lease object exists (its token: \(token ?? "none"))"
            )
            return
        }
        guard let token, lease.token == token else {
            record(
                "\(process) issued \(operation()) at \(now) under token \(token ?? "none"), but the lease names \(lease.owner) (token \(lease.token), expires \(lease.expires))"
            )
            return
        }
        guard lease.expires > now else {
            record("\(process) issued \(operation()) at \(now) under its lease, which expired at \(lease.expires)")
            return
        }
    }

    private func record(_ details: String) {
        guard violation == nil else { return }
        violation = .writeWithoutLease(details)
        SimTrace.record("oracle: write without the lease: \(details)")
    }
}
