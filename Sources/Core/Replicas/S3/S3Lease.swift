/// The lease on an S3 replica: one object, `<prefix>/lease`, holding `Lease.encoded`.
///
/// Every change is one conditional write, never a read followed by a blind write: acquiring
/// creates it with `If-None-Match: *`; renewing and taking over an expired lease replace it with
/// `If-Match: <ETag>` of the version we read. A 412 after an attempt that may have applied
/// unseen (a timeout, a 5xx) is checked by reading the object: if it carries our token and
/// expiry, the write was ours.
extension S3ReplicaClient {
    var leaseKey: String { key("lease") }

    public func acquireLease(owner: String, token: String, duration: Duration, now: Timestamp, supersedes: String?)
        async throws -> Lease
    {
        let wanted = Lease(owner: owner, token: token, expires: now + duration)
        let deadline = Self.leaseRequestDeadline(duration)
        // The lease can vanish (released) between our failed create and our read: try again a few times.
        for _ in 0..<3 {
            let created = try await perform(
                putOperation(
                    leaseKey, bytes: wanted.encoded,
                    extraHeaders: [HTTPHeader("If-None-Match", "*")], deadline: deadline))
            if created.succeeded { return try stored(wanted, from: created) }
            guard isPreconditionFailure(created) else {
                try created.requireSuccess(self, key: nil)
                continue
            }

            guard let current = try await readLease(deadline: deadline) else { continue }
            if created.earlierAttemptMayHaveApplied, current.token == token { return current }
            guard current.expires <= now || current.isSuperseded(by: supersedes) else {
                throw LeaseError.held(replica: location, holder: current)
            }

            // The holder's lease expired (or was our dead predecessor's): replace exactly the version we read.
            let takeover = try await perform(
                putOperation(
                    leaseKey, bytes: wanted.encoded,
                    extraHeaders: [HTTPHeader("If-Match", current.version)], deadline: deadline))
            if takeover.succeeded { return try stored(wanted, from: takeover) }
            guard isPreconditionFailure(takeover) || takeover.response.status == 404 else {
                try takeover.requireSuccess(self, key: nil)
                continue
            }
            // Someone else changed it first (or our unseen attempt did).
            if let now = try await readLease(deadline: deadline) {
                if takeover.earlierAttemptMayHaveApplied, now.token == token { return now }
                throw LeaseError.held(replica: location, holder: now)
            }
        }
        throw S3Error.requestFailed(
            bucket: bucket, operation: "acquire lease", status: 409, code: "ConditionalRequestConflict",
            message: "the lease object kept changing")
    }

    public func renewLease(_ lease: Lease, duration: Duration, now: Timestamp) async throws -> Lease {
        let wanted = Lease(owner: lease.owner, token: lease.token, expires: now + duration)
        let deadline = Self.leaseRequestDeadline(duration)
        let answer = try await perform(
            putOperation(
                leaseKey, bytes: wanted.encoded,
                extraHeaders: [HTTPHeader("If-Match", lease.version)], deadline: deadline))
        if answer.succeeded { return try stored(wanted, from: answer) }
        guard isPreconditionFailure(answer) || answer.response.status == 404 else {
            try answer.requireSuccess(self, key: nil)
            return lease
        }
        let current = try await readLease(deadline: deadline)
        if let current, answer.earlierAttemptMayHaveApplied, current.token == lease.token,
            current.expires == wanted.expires
        {
            return current
        }
        guard let current else { throw LeaseError.lost(replica: location, reason: "the lease object was removed") }
        if current.token == lease.token {
            throw LeaseError.lost(replica: location, reason: "the lease object changed under us")
        }
        throw LeaseError.lost(replica: location, reason: "it was taken over by \(current)")
    }

    public func releaseLease(_ lease: Lease) async throws {
        let deadline = Self.leaseReleaseDeadline
        guard let current = try await readLease(deadline: deadline), current.token == lease.token else { return }
        // Conditional on the version we just read, so a successor's fresh lease is never removed.
        let answer = try await perform(
            S3Operation(
                name: "DeleteObject", method: "DELETE", key: leaseKey,
                headers: [HTTPHeader("If-Match", current.version)], deadline: deadline))
        if answer.succeeded || answer.response.status == 404 || isPreconditionFailure(answer) { return }
        try answer.requireSuccess(self, key: nil)
    }

    /// Each attempt of a lease request must end well inside the lease: a renewal held to the
    /// default two-minute deadline outlives a 30 s lease, and another replicator takes the
    /// location of one that is alive. A sixth of the lease leaves room for retries before the
    /// third of it that `ReplicaSyncer.mayWrite` keeps in reserve is reached.
    static func leaseRequestDeadline(_ duration: Duration) -> Duration {
        max(.seconds(2), duration / 6)
    }

    /// Releasing is not urgent (the lease expires by itself), but a shutdown should not wait long.
    static let leaseReleaseDeadline: Duration = .seconds(10)

    /// The stored lease with its ETag as version, or nil when there is none.
    func readLease(deadline: Duration? = nil) async throws -> Lease? {
        let answer = try await perform(
            S3Operation(name: "GetObject", method: "GET", key: leaseKey, deadline: deadline))
        if answer.response.status == 404 && answer.errorCode != "NoSuchBucket" { return nil }
        try answer.requireSuccess(self, key: leaseKey)
        let version = answer.response.header("ETag") ?? ""
        guard let lease = Lease.decode(answer.response.body, version: version) else {
            throw S3Error.malformedResponse(
                bucket: bucket, operation: "read lease",
                reason: "\(leaseKey) is not a lease object; remove it if no replicator runs")
        }
        return lease
    }

    private func stored(_ lease: Lease, from answer: S3Answer) throws -> Lease {
        guard let etag = answer.response.header("ETag"), !etag.isEmpty else {
            throw S3Error.malformedResponse(bucket: bucket, operation: "write lease", reason: "no ETag in the answer")
        }
        var stored = lease
        stored.version = etag
        return stored
    }

    private func isPreconditionFailure(_ answer: S3Answer) -> Bool {
        answer.response.status == 412 || answer.errorCode == "PreconditionFailed"
    }
}
