/// Who holds a replica location, and until when.
///
/// Two replicators writing one location interleave two histories and make both unrestorable
/// (Litestream #422, #454, #1301), so `replicate` takes a lease on every replica before its first
/// write and renews it while it runs. A lease that is not renewed expires, so a crashed
/// replicator never blocks its successor for longer than the lease duration.
public struct Lease: Sendable, Equatable, CustomStringConvertible {
    /// Names the holder for humans: `host:pid` of the replicator.
    public var owner: String
    /// Unique per acquisition; renewal and release must present it.
    public var token: String
    public var expires: Timestamp
    /// Backend-specific version (an S3 ETag, a file's contents) used for conditional renewal.
    public var version: String

    public init(owner: String, token: String, expires: Timestamp, version: String = "") {
        self.owner = owner
        self.token = token
        self.expires = expires
        self.version = version
    }

    /// The lease object's body: `owner=...\ntoken=...\nexpires=<ms since 1970>\n`.
    public var encoded: [UInt8] {
        Array("owner=\(owner)\ntoken=\(token)\nexpires=\(expires.millisecondsSince1970)\n".utf8)
    }

    /// Parses `encoded`; nil for anything else.
    public static func decode(_ bytes: [UInt8], version: String = "") -> Lease? {
        var fields: [String: String] = [:]
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { return nil }
            fields[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        guard let owner = fields["owner"], let token = fields["token"],
            let ms = fields["expires"].flatMap({ Int64($0) })
        else { return nil }
        return Lease(owner: owner, token: token, expires: Timestamp(millisecondsSince1970: ms), version: version)
    }

    public var description: String { "\(owner) (lease expires \(expires))" }
}

/// Errors of the lease protocol.
public enum LeaseError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Another replicator holds the location.
    case held(replica: String, holder: Lease)
    /// Our lease was taken over or removed; we must stop writing.
    case lost(replica: String, reason: String)

    public var description: String {
        switch self {
        case .held(let replica, let holder):
            return
                "replica \(replica) is in use by another replicator, \(holder); stop it, or wait for its lease to expire"
        case .lost(let replica, let reason):
            return
                "lost the lease on replica \(replica): \(reason); stopping so two replicators never write one location"
        }
    }
}

/// Replica clients that can lease their location to one writer.
public protocol ReplicaLeasing: Sendable {
    /// Takes the lease if nobody holds it, the holder's lease has expired at `now`, or the
    /// holder's token is `supersedes` (the lease of this replicator's own predecessor, known to
    /// be dead: see `Replicator`); throws `LeaseError.held` naming the holder otherwise. The check
    /// and the write are one atomic step (a conditional create or compare-and-swap), never a
    /// read followed by a write.
    func acquireLease(owner: String, token: String, duration: Duration, now: Timestamp, supersedes: String?)
        async throws -> Lease
    /// Extends our lease; throws `LeaseError.lost` if the stored lease is no longer ours.
    func renewLease(_ lease: Lease, duration: Duration, now: Timestamp) async throws -> Lease
    /// Gives the lease up if it is still ours; a lease already gone is not an error.
    func releaseLease(_ lease: Lease) async throws
}

extension ReplicaLeasing {
    /// Takes the lease if nobody holds it or the holder's lease has expired.
    public func acquireLease(owner: String, token: String, duration: Duration, now: Timestamp) async throws -> Lease {
        try await acquireLease(owner: owner, token: token, duration: duration, now: now, supersedes: nil)
    }
}

extension Lease {
    /// Whether this is the lease with token `superseded` (never the empty token of a released one).
    public func isSuperseded(by superseded: String?) -> Bool {
        guard let superseded, !superseded.isEmpty else { return false }
        return token == superseded
    }
}
