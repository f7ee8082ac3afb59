import Core
import Testing

/// The lease behaviour every `ReplicaLeasing` client must show, run against each backend.
enum LeaseContract {
    static let start = Timestamp(millisecondsSince1970: 1_700_000_000_000)
    static let duration = Duration.seconds(30)

    /// One holder at a time; a second acquire is refused naming the holder.
    static func secondAcquireIsRefused(_ client: some ReplicaLeasing) async throws {
        let first = try await client.acquireLease(owner: "host-a:101", token: "token-a", duration: duration, now: start)
        #expect(first.owner == "host-a:101" && first.token == "token-a")
        #expect(first.expires == start + duration)
        do {
            _ = try await client.acquireLease(
                owner: "host-b:202", token: "token-b", duration: duration, now: start + .seconds(29))
            Issue.record("a second replicator acquired a held lease")
        } catch let error as LeaseError {
            guard case .held(_, let holder) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(holder.owner == "host-a:101")
            #expect(holder.expires == first.expires)
            #expect(error.description.contains("host-a:101"))
            #expect(!error.description.contains("\n"))
        }
        // The holder acquiring again with its own token keeps its lease.
        let again = try await client.acquireLease(
            owner: "host-a:101", token: "token-a", duration: duration, now: start + .seconds(1))
        #expect(again.token == "token-a")
    }

    /// An expired lease is taken over; the old holder's renewal then reports `.lost`, and its
    /// release leaves the new holder's lease alone.
    static func expiredLeaseIsTakenOver(_ client: some ReplicaLeasing) async throws {
        let old = try await client.acquireLease(owner: "host-a:101", token: "token-a", duration: duration, now: start)
        let takeover = start + duration + .seconds(1)
        let new = try await client.acquireLease(
            owner: "host-b:202", token: "token-b", duration: duration, now: takeover)
        #expect(new.owner == "host-b:202")
        #expect(new.version != old.version)
        do {
            _ = try await client.renewLease(old, duration: duration, now: takeover + .seconds(1))
            Issue.record("the old holder renewed a lease that was taken over")
        } catch let error as LeaseError {
            guard case .lost(_, let reason) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(reason.contains("host-b:202"))
        }
        try await client.releaseLease(old)
        // Still held by the new owner.
        await #expect(throws: LeaseError.self) {
            _ = try await client.acquireLease(
                owner: "host-c:303", token: "token-c", duration: duration, now: takeover + .seconds(2))
        }
        let renewed = try await client.renewLease(new, duration: duration, now: takeover + .seconds(10))
        #expect(renewed.expires == takeover + .seconds(10) + duration)
        #expect(renewed.token == "token-b")
    }

    /// A live lease is taken over before it expires only by a caller that names its token as
    /// superseded (a dead predecessor's); naming another token changes nothing. The superseded
    /// holder's renewal then reports `.lost`.
    static func supersededLeaseIsTakenOver(_ client: some ReplicaLeasing) async throws {
        let old = try await client.acquireLease(owner: "host-a:101", token: "token-a", duration: duration, now: start)
        await #expect(throws: LeaseError.self, "a lease superseding another token must stay refused") {
            _ = try await client.acquireLease(
                owner: "host-a:102", token: "token-b", duration: duration,
                now: start + .seconds(1), supersedes: "token-x")
        }
        let new = try await client.acquireLease(
            owner: "host-a:102", token: "token-b", duration: duration,
            now: start + .seconds(2), supersedes: "token-a")
        #expect(new.token == "token-b" && new.owner == "host-a:102")
        await #expect(throws: LeaseError.self, "the superseded holder renewed") {
            _ = try await client.renewLease(old, duration: duration, now: start + .seconds(3))
        }
        await #expect(throws: LeaseError.self, "a third replicator took the new holder's lease") {
            _ = try await client.acquireLease(
                owner: "host-c:303", token: "token-c", duration: duration, now: start + .seconds(4))
        }
    }

    /// Renewal extends the lease; release frees it at once; releasing twice is harmless.
    static func renewAndRelease(_ client: some ReplicaLeasing) async throws {
        var lease = try await client.acquireLease(owner: "host-a:101", token: "token-a", duration: duration, now: start)
        for step in 1...3 {
            lease = try await client.renewLease(lease, duration: duration, now: start + .seconds(20 * step))
        }
        #expect(lease.expires == start + .seconds(60) + duration)
        // Past the first lease's expiry, the renewed lease still holds.
        await #expect(throws: LeaseError.self) {
            _ = try await client.acquireLease(
                owner: "host-b:202", token: "token-b", duration: duration, now: start + .seconds(70))
        }
        try await client.releaseLease(lease)
        try await client.releaseLease(lease)
        let next = try await client.acquireLease(
            owner: "host-b:202", token: "token-b", duration: duration, now: start + .seconds(71))
        #expect(next.owner == "host-b:202")
        // A released lease cannot be renewed.
        await #expect(throws: LeaseError.self) {
            _ = try await client.renewLease(lease, duration: duration, now: start + .seconds(72))
        }
    }

    /// Racers taking over one expired lease at once: exactly one wins, the rest are refused.
    static func racersTakeOverOnce(_ makeClient: @Sendable () -> any ReplicaLeasing, racers: Int) async throws {
        _ = try await makeClient().acquireLease(owner: "old:1", token: "token-old", duration: duration, now: start)
        let now = start + duration + .seconds(5)
        let outcomes = await withTaskGroup(of: String.self) { group in
            for racer in 0..<racers {
                let client = makeClient()
                group.addTask {
                    do {
                        _ = try await client.acquireLease(
                            owner: "racer:\(racer)", token: "token-\(racer)", duration: duration, now: now)
                        return "won"
                    } catch let error as LeaseError {
                        if case .held = error { return "held" }
                        return "other: \(error)"
                    } catch {
                        return "other: \(error)"
                    }
                }
            }
            var outcomes: [String] = []
            for await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
        #expect(outcomes.filter { $0 == "won" }.count == 1, "\(outcomes)")
        #expect(outcomes.filter { $0 == "held" }.count == racers - 1, "\(outcomes)")
    }
}
