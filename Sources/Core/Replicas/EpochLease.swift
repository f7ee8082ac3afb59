/// One stored lease record: its bytes (`Lease.encoded`) and when it was written.
public struct LeaseRecord: Sendable, Equatable {
    public var bytes: [UInt8]
    public var modified: Timestamp

    public init(bytes: [UInt8], modified: Timestamp) {
        self.bytes = bytes
        self.modified = modified
    }
}

/// Numbered lease records in one folder of a replica (`<root>/lease/<epoch16>.lease`), the only
/// primitive being an exclusive create: a record is written once and never overwritten.
///
/// Files and SFTP have no compare-and-swap, but both have "create unless it exists" (`O_EXCL`;
/// an SFTP rename, which does not replace an existing target). `EpochLease` builds the lease on
/// that alone.
public protocol LeaseRecordStore: Sendable {
    /// The replica, for messages.
    var replica: String { get }
    /// The epochs of every record present, in any order.
    func epochs() async throws -> [UInt64]
    /// A record, or nil if it is gone.
    func record(_ epoch: UInt64) async throws -> LeaseRecord?
    /// Creates a complete record unless one with that epoch exists; false if it did.
    func create(_ epoch: UInt64, bytes: [UInt8]) async throws -> Bool
    /// Removes a record; a missing one is not an error.
    func remove(_ epoch: UInt64) async throws
}

extension LeaseRecordStore {
    public static func recordName(_ epoch: UInt64) -> String { Hex.format(epoch, width: 16) + ".lease" }

    /// The epoch of a record's file name; nil for temp files and anything else.
    public static func parseRecordName(_ name: String) -> UInt64? {
        guard name.hasSuffix(".lease") else { return nil }
        return Hex.parse(name.dropLast(".lease".count), widths: 16...16)
    }
}

/// The lease protocol over numbered, write-once records.
///
/// The record with the highest epoch is the lease. Every change — acquiring, taking over an
/// expired lease, renewing, releasing — creates epoch `top + 1` exclusively, so of two racers
/// that both saw `top` only one can succeed; the other finds the epoch taken and re-reads.
/// Records are never overwritten and the highest one is never deleted (only lower ones are
/// pruned), so epochs only grow. A racer acting on a stale listing may re-create a low epoch
/// that was already pruned; it then lists again and, seeing a higher epoch, withdraws. Renewal
/// and release are exclusive creates too, so a holder that stalled past its expiry cannot
/// overwrite the lease of whoever took over: its renewal fails and reports `.lost`.
///
/// `Lease.version` is the record's epoch in hex.
public struct EpochLease<Store: LeaseRecordStore>: Sendable {
    public let store: Store
    /// How often a racing change is re-read before giving up.
    public var attempts = 8

    public init(store: Store) {
        self.store = store
    }

    public func acquire(owner: String, token: String, duration: Duration, now: Timestamp, supersedes: String? = nil)
        async throws -> Lease
    {
        precondition(!token.isEmpty, "a lease token must not be empty")
        for _ in 0..<attempts {
            let epochs = try await store.epochs()
            var next: UInt64 = 1
            if let top = epochs.max() {
                // Pruned between the listing and the read: a change is under way, look again.
                guard let record = try await store.record(top) else { continue }
                let current = Self.lease(record, epoch: top, duration: duration)
                switch LeaseDecision.acquire(current: current, token: token, now: now, supersedes: supersedes) {
                case .alreadyHeld: return current
                case .held: throw LeaseError.held(replica: store.replica, holder: current)
                case .takeOver: next = top + 1
                }
            }
            let lease = Lease(owner: owner, token: token, expires: now + duration, version: Hex.format(next, width: 16))
            if try await install(lease, epoch: next) { return lease }
        }
        throw ReplicaClientError.unavailable(
            replica: store.replica,
            reason: "the lease kept changing while acquiring it; another replicator is racing for it")
    }

    public func renew(_ lease: Lease, duration: Duration, now: Timestamp) async throws -> Lease {
        guard let mine = Hex.parse(Substring(lease.version), widths: 16...16) else {
            throw LeaseError.lost(replica: store.replica, reason: "the lease was not acquired on this replica")
        }
        let epochs = try await store.epochs()
        // A highest record above ours that carries our token is an earlier renewal of ours that
        // landed though its call failed (the replica's machine lost power after the record was
        // written, before its folder was synced): renew from it rather than report the lease lost.
        guard let top = epochs.max(), top >= mine,
            let record = try await store.record(top),
            Lease.decode(record.bytes)?.token == lease.token
        else {
            throw LeaseError.lost(replica: store.replica, reason: try await whoHolds(epochs, duration: duration))
        }
        let renewed = Lease(
            owner: lease.owner, token: lease.token, expires: now + duration,
            version: Hex.format(top + 1, width: 16))
        guard try await install(renewed, epoch: top + 1) else {
            throw LeaseError.lost(
                replica: store.replica, reason: try await whoHolds(try await store.epochs(), duration: duration))
        }
        return renewed
    }

    public func release(_ lease: Lease) async throws {
        guard let mine = Hex.parse(Substring(lease.version), widths: 16...16) else { return }
        let epochs = try await store.epochs()
        // As in `renew`, a higher record with our token is ours.
        guard let top = epochs.max(), top >= mine,
            let record = try await store.record(top),
            Lease.decode(record.bytes)?.token == lease.token
        else { return }
        // A record that expired long ago, rather than no record: the highest epoch must stay, so
        // epochs never go back and a stale racer can never win with an old number.
        let released = Lease(
            owner: "nobody (released by \(lease.owner))", token: "",
            expires: Timestamp(millisecondsSince1970: 0), version: Hex.format(top + 1, width: 16))
        _ = try await install(released, epoch: top + 1)
    }

    /// Creates `epoch` and checks it is the highest; prunes lower records on success.
    private func install(_ lease: Lease, epoch: UInt64) async throws -> Bool {
        guard try await store.create(epoch, bytes: lease.encoded) else { return false }
        let epochs = try await store.epochs()
        if let highest = epochs.max(), highest > epoch {
            // We re-created an epoch that had been passed: the higher record is the lease.
            try? await store.remove(epoch)
            return false
        }
        for older in epochs.sorted() where older < epoch {
            try? await store.remove(older)
        }
        return true
    }

    /// Names the current holder for a `.lost` message.
    private func whoHolds(_ epochs: [UInt64], duration: Duration) async throws -> String {
        guard let top = epochs.max(), let record = try await store.record(top) else {
            return "its lease record was removed"
        }
        return "it was taken over by \(Self.lease(record, epoch: top, duration: duration))"
    }

    /// The record as a lease; one that does not parse (written by hand, or by something else)
    /// counts as held by an unknown owner until `duration` after it was written, so it never
    /// blocks the replica forever and is never ignored while it may be fresh.
    public static func lease(_ record: LeaseRecord, epoch: UInt64, duration: Duration) -> Lease {
        let version = Hex.format(epoch, width: 16)
        return Lease.decode(record.bytes, version: version)
            ?? Lease(
                owner: "an unreadable lease record \(Store.recordName(epoch))", token: "",
                expires: record.modified + duration, version: version)
    }
}

/// The pure decision of `acquire` over the current lease.
public enum LeaseDecision: Equatable {
    /// The current lease is ours (same token): keep it.
    case alreadyHeld
    /// Someone else's lease is still valid.
    case held
    /// The current lease has expired (or was released): create the next epoch.
    case takeOver

    public static func acquire(current: Lease, token: String, now: Timestamp, supersedes: String? = nil)
        -> LeaseDecision
    {
        if !current.token.isEmpty && current.token == token && current.expires > now { return .alreadyHeld }
        if current.isSuperseded(by: supersedes) { return .takeOver }
        return current.expires > now ? .held : .takeOver
    }
}

/// A replica client whose lease is `EpochLease` over a record store of its own: the three
/// `ReplicaLeasing` calls come from here, so each client only says where its records live.
public protocol EpochLeasedReplica: ReplicaLeasing {
    associatedtype Records: LeaseRecordStore
    var leaseRecords: Records { get }
}

extension EpochLeasedReplica {
    public func acquireLease(owner: String, token: String, duration: Duration, now: Timestamp, supersedes: String?)
        async throws -> Lease
    {
        try await EpochLease(store: leaseRecords).acquire(
            owner: owner, token: token, duration: duration, now: now, supersedes: supersedes)
    }

    public func renewLease(_ lease: Lease, duration: Duration, now: Timestamp) async throws -> Lease {
        try await EpochLease(store: leaseRecords).renew(lease, duration: duration, now: now)
    }

    public func releaseLease(_ lease: Lease) async throws {
        try await EpochLease(store: leaseRecords).release(lease)
    }
}
