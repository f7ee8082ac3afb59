import Core
import SimHarness
import Testing

@Suite("Simulated object store", .serialized)
struct ObjectStoreTests {
    private let generation = Generation(value: 0x0000_0190_0000_abcd)
    private let older = Generation(value: 0x0000_0180_0000_0001)

    private func bytes(_ seed: UInt64, count: Int) -> [UInt8] {
        let random = SplitMix64(seed: seed)
        return (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
    }

    @Test("replica client contract: write, list (both layouts), read and delete snapshots and segments")
    func replicaClientContract() throws {
        let result = try SimScheduler.run(seed: 1) { sim in
            let store = SimObjectStore(scheduler: sim)
            let client = SimReplicaClient(store: store, root: "backups/db")
            let legacy = SimReplicaClient(store: store, root: "backups/db", writeLayout: .legacy)
            #expect(try await client.generations().isEmpty)
            #expect(try await client.snapshots(in: generation).isEmpty)

            let snapshot = bytes(1, count: 300)
            let info = try await client.writeSnapshot(generation: generation, index: 2, data: BytesSource(snapshot))
            #expect(info.size == 300 && info.index == 2)
            try await legacy.writeSnapshot(generation: generation, index: 0, data: BytesSource(bytes(2, count: 10)))
            // The same index in both layouts is one snapshot, and the grouped copy wins.
            try await legacy.writeSnapshot(generation: generation, index: 2, data: BytesSource(bytes(3, count: 7)))
            try await client.writeSnapshot(generation: older, index: 0, data: BytesSource([1]))

            let segments: [(UInt64, UInt64, Int)] = [(0, 0, 40), (0, 40, 20), (1, 0, 33), (2, 0, 5)]
            for (index, offset, size) in segments {
                let position = Position(generation: generation, index: index, offset: offset)
                let writer = index == 1 ? legacy : client
                try await writer.writeWALSegment(
                    at: position, data: BytesSource(bytes(index * 100 + offset, count: size)))
            }
            try await legacy.writeWALSegment(
                at: Position(generation: generation, index: 2, offset: 0), data: BytesSource([9, 9]))

            #expect(try await client.generations() == [older, generation])
            let snapshots = try await client.snapshots(in: generation)
            #expect(snapshots.map(\.index) == [0, 2])
            #expect(snapshots.map(\.size) == [10, 300])
            let listed = try await client.walSegments(in: generation)
            #expect(
                listed.map { [$0.index, $0.offset, UInt64($0.size)] } == [
                    [0, 0, 40], [0, 40, 20], [1, 0, 33], [2, 0, 5],
                ])

            #expect(try await client.openSnapshot(generation: generation, index: 2).readToEnd() == snapshot)
            let legacySegment = try await client.openWALSegment(
                at: Position(generation: generation, index: 1, offset: 0))
            #expect(try await legacySegment.readToEnd() == bytes(100, count: 33))
            do {
                _ = try await client.openSnapshot(generation: generation, index: 7)
                Issue.record("opening a missing snapshot should fail")
            } catch let error as ReplicaClientError {
                #expect(
                    error
                        == .notFound(
                            replica: "sim://backups/db",
                            key: "backups/db/generations/\(generation)/snapshots/0000000000000007.snapshot.lz4"))
            }

            try await client.deleteSnapshot(generation: generation, index: 2)
            #expect(try await client.snapshots(in: generation).map(\.index) == [0])
            try await client.deleteWALSegments([
                Position(generation: generation, index: 0, offset: 0),
                Position(generation: generation, index: 2, offset: 0),
            ])
            #expect(try await client.walSegments(in: generation).map(\.offset) == [40, 0])
            try await client.deleteSnapshot(generation: generation, index: 99) // missing: not an error
            try await client.deleteGeneration(generation)
            #expect(try await client.generations() == [older])
            #expect(try await client.walSegments(in: generation).isEmpty)
            return await store.allKeys()
        }
        #expect(result.value == ["backups/db/generations/\(older)/snapshots/0000000000000000.snapshot.lz4"])
    }

    @Test("listings come back whole across small, slow pages")
    func paginatedListing() throws {
        let faults = ObjectStoreFaults(listPageSize: 3, listPageDelay: .milliseconds(250))
        let result = try SimScheduler.run(seed: 2) { sim in
            let store = SimObjectStore(scheduler: sim, faults: faults)
            let client = SimReplicaClient(store: store, root: "r")
            for offset in 0..<10 {
                try await client.writeWALSegment(
                    at: Position(generation: generation, index: UInt64(offset % 3), offset: UInt64(offset) * 8),
                    data: BytesSource([UInt8(offset)]))
            }
            let before = sim.now
            let segments = try await client.walSegments(in: generation)
            let pages = await store.statistics.pages
            return (segments.count, pages, sim.now - before)
        }
        #expect(result.value.0 == 10)
        #expect(result.value.1 == 4) // 10 keys in pages of 3
        #expect(result.value.2 == .seconds(1))
    }

    /// Runs `operations` GETs of an existing key and returns which failed, as a bit string.
    private func faultPattern(seed: UInt64, faults: ObjectStoreFaults, operations: Int) throws -> (
        pattern: [Bool], stats: SimObjectStore.Statistics
    ) {
        try SimScheduler.run(seed: seed) { sim in
            let store = SimObjectStore(scheduler: sim)
            try await store.put("k", [1])
            await store.setFaults(faults)
            var pattern: [Bool] = []
            for _ in 0..<operations {
                do {
                    _ = try await store.get("k")
                    pattern.append(false)
                } catch let error as SimObjectStoreError {
                    guard case .unavailable = error else { throw error }
                    pattern.append(true)
                }
            }
            return (pattern, await store.statistics)
        }.value
    }

    @Test("errors and throttling fire at their rates, the same way for the same seed")
    func faultRates() throws {
        let faults = ObjectStoreFaults(errorRate: 0.2, throttleRate: 0.1)
        let first = try faultPattern(seed: 77, faults: faults, operations: 4000)
        let again = try faultPattern(seed: 77, faults: faults, operations: 4000)
        let other = try faultPattern(seed: 78, faults: faults, operations: 4000)
        #expect(first.pattern == again.pattern)
        #expect(first.pattern != other.pattern)
        // Throttles are drawn first; errors only for requests that were not throttled.
        let throttleRate = Double(first.stats.throttles) / 4000
        let errorRate = Double(first.stats.errors) / Double(4000 - first.stats.throttles)
        #expect(abs(throttleRate - 0.1) < 0.02, "throttle rate \(throttleRate)")
        #expect(abs(errorRate - 0.2) < 0.03, "error rate \(errorRate)")
        #expect(first.pattern.filter { $0 }.count == first.stats.throttles + first.stats.errors)
        let none = try faultPattern(seed: 77, faults: .none, operations: 500)
        #expect(!none.pattern.contains(true))
    }

    @Test("an ambiguous write lands even though the caller sees a failure")
    func ambiguousWritesLand() throws {
        let result = try SimScheduler.run(seed: 5) { sim in
            let store = SimObjectStore(scheduler: sim, faults: ObjectStoreFaults(ambiguousRate: 0.3))
            var failedButPresent = 0
            var failedAndMissing = 0
            for index in 0..<1000 {
                let key = "obj/\(index)"
                do {
                    try await store.put(key, [UInt8(index & 0xff)])
                } catch {
                    if await store.peek(key) == [UInt8(index & 0xff)] {
                        failedButPresent += 1
                    } else {
                        failedAndMissing += 1
                    }
                }
            }
            return (failedButPresent, failedAndMissing, await store.statistics.ambiguous)
        }
        #expect(result.value.1 == 0)
        #expect(result.value.0 == result.value.2)
        #expect(abs(Double(result.value.0) / 1000 - 0.3) < 0.05, "ambiguous rate \(result.value.0)/1000")
    }

    @Test("stalls and latency take simulated time, not real time")
    func stallsTakeSimulatedTime() throws {
        let faults = ObjectStoreFaults(
            stallBeforeRate: 1, stallAfterRate: 0.5, stallDuration: .seconds(10) ... .seconds(10),
            latency: .milliseconds(20) ... .milliseconds(20))
        let result = try SimScheduler.run(seed: 6) { sim in
            let store = SimObjectStore(scheduler: sim, faults: faults)
            for index in 0..<20 { try await store.put("k\(index)", []) }
            return await store.statistics
        }
        let afterStalls = result.value.stalls - 20
        #expect(afterStalls > 0 && afterStalls < 20)
        #expect(result.elapsed == .seconds(10) * (20 + afterStalls) + .milliseconds(20) * 20)
    }

    @Test("a stalled request interleaves with others and can be cancelled")
    func stalledRequestIsCancellable() throws {
        let result = try SimScheduler.run(seed: 8) { sim in
            let store = SimObjectStore(
                scheduler: sim,
                faults: ObjectStoreFaults(stallBeforeRate: 1, stallDuration: .seconds(3600) ... .seconds(3600)))
            let stuck = sim.spawner.spawn { try await store.put("stuck", [1]) }
            try await sim.clock.sleep(for: .seconds(5))
            stuck.cancel()
            let outcome: String
            do {
                _ = try await stuck.value
                outcome = "completed"
            } catch is CancellationError { outcome = "cancelled" }
            return (outcome, await store.peek("stuck"))
        }
        #expect(result.value.0 == "cancelled")
        #expect(result.value.1 == nil)
        #expect(result.elapsed == .seconds(5))
    }

    @Test("the lease's conditional create admits exactly one of several racing replicators")
    func leaseAdmitsOneHolder() throws {
        let faults = ObjectStoreFaults(latency: .milliseconds(1) ... .milliseconds(30))
        var winners: Set<String> = []
        for seed in UInt64(1)...30 {
            let result = try SimScheduler.run(seed: seed) { sim in
                let store = SimObjectStore(scheduler: sim, faults: faults)
                let client = SimReplicaClient(store: store, root: "r")
                let wall = SimWallClock(scheduler: sim)
                let attempts = (0..<4).map { replicator in
                    sim.spawner.spawn { () -> String? in
                        do {
                            let lease = try await client.acquireLease(
                                owner: "host:\(replicator)", token: "t\(replicator)",
                                duration: .seconds(30), now: wall.now())
                            return lease.owner
                        } catch LeaseError.held {
                            return nil
                        }
                    }
                }
                var holders: [String] = []
                for attempt in attempts { if let owner = try await attempt.value { holders.append(owner) } }
                return holders
            }
            #expect(result.value.count == 1, "seed \(seed): holders \(result.value)")
            winners.formUnion(result.value)
        }
        #expect(winners.count > 1, "different seeds should let different replicators win: \(winners)")
    }

    @Test("a lease is renewed by its holder, lost to a takeover after expiry, and released")
    func leaseLifecycle() throws {
        _ = try SimScheduler.run(seed: 3) { sim in
            let store = SimObjectStore(scheduler: sim)
            let client = SimReplicaClient(store: store, root: "r")
            let wall = SimWallClock(scheduler: sim)
            let first = try await client.acquireLease(owner: "a", token: "ta", duration: .seconds(30), now: wall.now())
            await #expect(throws: LeaseError.self) {
                try await client.acquireLease(owner: "b", token: "tb", duration: .seconds(30), now: wall.now())
            }
            try await sim.clock.sleep(for: .seconds(20))
            let renewed = try await client.renewLease(first, duration: .seconds(30), now: wall.now())
            #expect(renewed.expires == wall.now() + .seconds(30))
            try await sim.clock.sleep(for: .seconds(31))
            let second = try await client.acquireLease(owner: "b", token: "tb", duration: .seconds(30), now: wall.now())
            #expect(second.owner == "b")
            do {
                _ = try await client.renewLease(renewed, duration: .seconds(30), now: wall.now())
                Issue.record("renewing a lease taken over should fail")
            } catch let error as LeaseError {
                guard case .lost = error else {
                    Issue.record("expected lost, got \(error)")
                    return
                }
            }
            try await client.releaseLease(renewed) // not ours any more: leaves b's lease alone
            #expect(await store.peek(client.leaseKey) != nil)
            try await client.releaseLease(second)
            #expect(await store.peek(client.leaseKey) == nil)
            _ = try await client.acquireLease(owner: "c", token: "tc", duration: .seconds(30), now: wall.now())
        }
    }

    @Test("Core's LZ4 sources round-trip through the simulated replica under the scheduler")
    func lz4RoundTripUnderScheduler() throws {
        let payload = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 / 7) }
        let faults = ObjectStoreFaults(
            stallAfterRate: 0.5, stallDuration: .seconds(1) ... .seconds(5),
            latency: .milliseconds(5) ... .milliseconds(50))
        let run = { (seed: UInt64) in
            try SimScheduler.run(seed: seed) { sim in
                let store = SimObjectStore(scheduler: sim, faults: faults)
                let client = SimReplicaClient(store: store, root: "lz4")
                let position = Position(generation: generation, index: 0, offset: 0)
                let compressing = LZ4CompressingSource(BytesSource(payload), readSize: 16 << 10)
                let written = try await client.writeWALSegment(at: position, data: compressing)
                let restored = try await LZ4DecompressingSource(client.openWALSegment(at: position)).readToEnd()
                return (written.size, restored)
            }
        }
        let result = try run(21)
        #expect(result.value.1 == payload)
        #expect(result.value.0 < Int64(payload.count), "LZ4 should shrink a repetitive payload")
        #expect(result.elapsed > .zero)
        let replay = try run(21)
        #expect(replay.traceDigest == result.traceDigest)
        #expect(replay.elapsed == result.elapsed)
    }

    @Test(
        "paginated listings with and without a delimiter equal a sort of the whole store, after puts and deletes",
        arguments: [1, 2, 3, 1000])
    func listingMatchesModel(pageSize: Int) throws {
        _ = try SimScheduler.run(seed: 9) { sim in
            let store = SimObjectStore(scheduler: sim, faults: ObjectStoreFaults(listPageSize: pageSize))
            let random = SplitMix64(seed: UInt64(pageSize))
            var model: Set<String> = []
            // Keys shaped like a replica's, with folders of several sizes (and one empty name part).
            for _ in 0..<300 {
                let key =
                    "r/g\(random.next() % 3)/" + ["s/", "w/\(random.next() % 4)/", "", "w/"][Int(random.next() % 4)]
                    + "\(random.next() % 20)"
                if random.next() % 4 == 0, let victim = model.sorted().first(where: { $0 >= key }) {
                    try await store.delete(victim)
                    model.remove(victim)
                } else {
                    try await store.put(key, [1])
                    model.insert(key)
                }
            }
            #expect(await store.allKeys() == model.sorted())
            for prefix in ["", "r/", "r/g1/", "r/g1/w/", "r/g2/w/3/", "r/g", "x/"] {
                for delimiter in [nil, Character("/")] {
                    var listed: [String] = []
                    var startAfter: String?
                    repeat {
                        let page = try await store.listPage(
                            prefix: prefix, delimiter: delimiter, startAfter: startAfter)
                        #expect(page.objects.count + page.commonPrefixes.count <= pageSize)
                        listed += (page.objects.map(\.key) + page.commonPrefixes).sorted()
                        startAfter = page.nextStartAfter
                    } while startAfter != nil
                    var expected: [String] = []
                    for key in model.sorted() where key.hasPrefix(prefix) {
                        var entry = key
                        if let delimiter, let cut = key.dropFirst(prefix.count).firstIndex(of: delimiter) {
                            entry = String(key[...cut])
                        }
                        if expected.last != entry { expected.append(entry) }
                    }
                    #expect(listed == expected, "prefix \(prefix) delimiter \(delimiter.map(String.init) ?? "none")")
                }
            }
        }
    }

    @Test("damage at rest: only replica data is damaged, readers see it and record it, a rewrite or a heal repairs it")
    func damageAtRest() throws {
        for kind in ObjectDamage.Kind.allCases {
            var faults = ObjectStoreFaults()
            switch kind {
            case .truncated: faults.truncateRate = 1
            case .bytesDropped: faults.dropBytesRate = 1
            case .bytesChanged: faults.changeBytesRate = 1
            case .lost: faults.lossRate = 1
            }
            _ = try SimScheduler.run(seed: 3) { sim in
                let store = SimObjectStore(scheduler: sim, faults: faults)
                let client = SimReplicaClient(store: store, root: "r")
                let reader = client.reading(as: "restore-1")
                let written = bytes(7, count: 500)
                let position = Position(generation: generation, index: 1, offset: 0)
                try await client.writeWALSegment(at: position, data: BytesSource(written))
                try await store.put("r/lease", [1, 2, 3])
                let key = "r/generations/\(generation)/wal/0000000000000001/0000000000000000.wal.lz4"
                #expect(client.object(at: key) == .walSegment(position))

                // The lease is never damaged; the segment always is, at these rates.
                #expect(try await store.get("r/lease") == [1, 2, 3])
                #expect(await store.damage(of: "r/lease") == nil)
                let damage = try #require(await store.damage(of: key))
                #expect(damage.kind == kind)
                #expect(await store.peek(key) == written, "the store keeps the bytes written")
                if kind == .lost {
                    #expect(try await reader.walSegments(in: generation).isEmpty, "a lost object is not listed")
                    await #expect(throws: ReplicaClientError.self) { _ = try await reader.openWALSegment(at: position) }
                    #expect(await store.takeDamageSeen(by: "restore-1").lostKeys == [key])
                } else {
                    let served = try await reader.openWALSegment(at: position).readToEnd()
                    #expect(served != written)
                    #expect(try await reader.walSegments(in: generation).map(\.size) == [Int64(served.count)])
                    #expect(
                        await store.takeDamageSeen(by: "restore-1").damagedReads == [
                            DamageSeen.Read(key: key, kind: kind)
                        ])
                }
                // Asking forgets; an unnamed client records nothing.
                _ = try? await client.openWALSegment(at: position)
                #expect(await store.takeDamageSeen(by: "restore-1").isEmpty)

                // Healing serves the bytes written again, and lists a lost object again.
                #expect(await store.healDamage() == 1)
                #expect(try await reader.openWALSegment(at: position).readToEnd() == written)
                #expect(try await client.walSegments(in: generation).count == 1)
                #expect(await store.takeDamageSeen(by: "restore-1").isEmpty)

                // A write replaces damage along with the old bytes.
                await store.setFaults(.none)
                await store.damage(key, kind: kind)
                try await client.writeWALSegment(at: position, data: BytesSource(written))
                #expect(await store.damage(of: key) == nil)
                #expect(try await client.openWALSegment(at: position).readToEnd() == written)
            }
        }
    }
}
