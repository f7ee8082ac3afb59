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
            guard created.isPreconditionFailure else {
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
            guard takeover.isPreconditionFailure || takeover.response.status == 404 else {
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
        guard answer.isPreconditionFailure || answer.response.status == 404 else {
            try answer.requireSuccess(self, key: nil)
            return lease
        }
        guard let current = try await readLease(deadline: deadline) else {
            throw LeaseError.lost(replica: location, reason: "the lease object was removed")
        }
        // Our token is only ever written by us: this version is a renewal of ours that landed
        // unseen (this one's earlier attempt, or an earlier renewal whose retries ran out), so it
        // is still our lease, with the expiry it carries; the next renewal replaces it.
        if current.token == lease.token { return current }
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
        if answer.succeeded || answer.response.status == 404 || answer.isPreconditionFailure { return }
        try answer.requireSuccess(self, key: nil)
    }

    /// Each attempt of a lease request must end well inside the lease: a renewal held to the
    /// default two-minute deadline outlives a 30 s lease, and another replicator takes the
    /// location of one that is alive. At a sixth of the lease, a stuck attempt is retried while
    /// the lease still has time. A renewal whose every attempt fails can still take longer than
    /// the lease (the retry policy's eight attempts); that is safe, since the new expiry counts
    /// from when the renewal began and `ReplicaSyncer.mayWrite` is judged after it.
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
}
