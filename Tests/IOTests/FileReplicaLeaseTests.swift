import Core
import Foundation
import Testing

@testable import IO

@Suite("FileReplicaClient lease")
struct FileReplicaLeaseTests {
    let fs = POSIXFileSystem(runner: ThreadPoolRunner(threads: 4))

    private func withClient(_ body: (FileReplicaClient, TemporaryDirectory) async throws -> Void) async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try await body(FileReplicaClient(root: dir.file("replica"), fileSystem: fs), dir)
    }

    @Test("a second acquire is refused, naming the holder")
    func secondAcquire() async throws {
        try await withClient { client, _ in try await LeaseContract.secondAcquireIsRefused(client) }
    }

    @Test("an expired lease is taken over and the old holder's renewal is lost")
    func takeover() async throws {
        try await withClient { client, _ in try await LeaseContract.expiredLeaseIsTakenOver(client) }
    }

    @Test("a live lease is taken over early only by a caller superseding its token")
    func supersede() async throws {
        try await withClient { client, _ in try await LeaseContract.supersededLeaseIsTakenOver(client) }
    }

    @Test("renew extends, release frees")
    func renewRelease() async throws {
        try await withClient { client, _ in try await LeaseContract.renewAndRelease(client) }
    }

    @Test("of many racers for an expired lease exactly one wins")
    func racers() async throws {
        try await withClient { client, dir in
            let fs = self.fs
            let root = client.root
            try await LeaseContract.racersTakeOverOnce({ FileReplicaClient(root: root, fileSystem: fs) }, racers: 8)
        }
    }

    @Test("records live in <root>/lease, and only the newest stays")
    func records() async throws {
        try await withClient { client, dir in
            let lease = try await client.acquireLease(
                owner: "a", token: "t", duration: .seconds(30), now: LeaseContract.start)
            let renewed = try await client.renewLease(
                lease, duration: .seconds(30), now: LeaseContract.start + .seconds(10))
            let names = try FileManager.default.contentsOfDirectory(atPath: dir.file("replica/lease"))
            #expect(names == ["\(renewed.version).lease"])
            let bytes = try await fs.readAll(dir.file("replica/lease/\(renewed.version).lease"))
            #expect(Lease.decode(bytes) == Lease(owner: "a", token: "t", expires: renewed.expires))
            // The replica's listings are not disturbed by the lease folder.
            #expect(try await client.generations() == [])
        }
    }

    @Test("an unreadable record counts as held until a lease duration after it was written")
    func unreadableRecord() async throws {
        try await withClient { client, dir in
            try FileManager.default.createDirectory(
                atPath: dir.file("replica/lease"), withIntermediateDirectories: true)
            _ = FileManager.default.createFile(
                atPath: dir.file("replica/lease/0000000000000001.lease"), contents: Data("garbage".utf8))
            let written = try #require(try await fs.stat(dir.file("replica/lease/0000000000000001.lease"))).modified
            do {
                _ = try await client.acquireLease(
                    owner: "a", token: "t", duration: .seconds(30), now: written + .seconds(29))
                Issue.record("acquired over a fresh unreadable record")
            } catch LeaseError.held(_, let holder) {
                #expect(holder.owner.contains("unreadable"))
            }
            let lease = try await client.acquireLease(
                owner: "a", token: "t", duration: .seconds(30), now: written + .seconds(31))
            #expect(lease.version == "0000000000000002")
        }
    }

    @Test("a stale racer re-creating a pruned epoch does not disturb the holder")
    func staleEpoch() async throws {
        try await withClient { client, dir in
            var lease = try await client.acquireLease(
                owner: "a", token: "t", duration: .seconds(30), now: LeaseContract.start)
            lease = try await client.renewLease(lease, duration: .seconds(30), now: LeaseContract.start + .seconds(10))
            lease = try await client.renewLease(lease, duration: .seconds(30), now: LeaseContract.start + .seconds(20))
            #expect(lease.version == "0000000000000003")
            // A racer that listed long ago re-creates epoch 2, pruned since: it must not win.
            let store = FileLeaseRecordStore(replica: "r", directory: dir.file("replica/lease"), fileSystem: fs)
            let stale = Lease(
                owner: "b", token: "u", expires: LeaseContract.start + .seconds(100), version: "0000000000000002")
            #expect(try await store.create(2, bytes: stale.encoded))
            let renewed = try await client.renewLease(
                lease, duration: .seconds(30), now: LeaseContract.start + .seconds(30))
            #expect(renewed.version == "0000000000000004")
        }
    }

    @Test("a renewal that landed though its call failed is the holder's own: the next renewal continues from it")
    func renewalThatLanded() async throws {
        try await withClient { client, dir in
            let lease = try await client.acquireLease(
                owner: "a", token: "t", duration: .seconds(30), now: LeaseContract.start)
            // The renewal's record is written, then the call fails (the replica's machine lost
            // power before the folder sync): the holder still has epoch 1 in hand.
            let store = FileLeaseRecordStore(replica: "r", directory: dir.file("replica/lease"), fileSystem: fs)
            let landed = Lease(
                owner: "a", token: "t", expires: LeaseContract.start + .seconds(40), version: "0000000000000002")
            #expect(try await store.create(2, bytes: landed.encoded))
            let renewed = try await client.renewLease(
                lease, duration: .seconds(30), now: LeaseContract.start + .seconds(20))
            #expect(renewed.version == "0000000000000003")
            #expect(renewed.token == "t")
            // Someone else's record above ours is still a takeover.
            let other = Lease(
                owner: "b", token: "u", expires: LeaseContract.start + .seconds(100), version: "0000000000000004")
            #expect(try await store.create(4, bytes: other.encoded))
            await #expect(throws: LeaseError.self) {
                _ = try await client.renewLease(
                    renewed, duration: .seconds(30), now: LeaseContract.start + .seconds(25))
            }
        }
    }
}

@Suite("Lease decision")
struct LeaseDecisionTests {
    let now = Timestamp(millisecondsSince1970: 1_000_000)

    @Test("a valid lease of someone else is held; an expired one is taken over; our own is kept")
    func decisions() {
        let other = Lease(owner: "b", token: "tb", expires: now + .seconds(1))
        #expect(LeaseDecision.acquire(current: other, token: "ta", now: now) == .held)
        #expect(LeaseDecision.acquire(current: other, token: "ta", now: now + .seconds(1)) == .takeOver)
        #expect(LeaseDecision.acquire(current: other, token: "tb", now: now) == .alreadyHeld)
        #expect(LeaseDecision.acquire(current: other, token: "tb", now: now + .seconds(2)) == .takeOver)
        let released = Lease(owner: "nobody", token: "", expires: Timestamp(millisecondsSince1970: 0))
        #expect(LeaseDecision.acquire(current: released, token: "ta", now: now) == .takeOver)
    }
}
