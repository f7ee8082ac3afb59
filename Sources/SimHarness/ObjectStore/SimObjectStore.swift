import Core

/// An in-memory object store with S3's shape (flat keys, whole-object writes, lexicographic
/// paginated listings with a delimiter, conditional writes) and seeded faults.
///
/// It is an actor, so under the simulator its operations interleave like requests to a real
/// store: a stalled request suspends on the SimClock while others proceed. Every decision is
/// a function of the seed: listings sort keys, faults come from the store's own random stream.
///
/// Replica data objects may be damaged at rest (`ObjectStoreFaults.truncateRate` and its
/// siblings): the store keeps the bytes written and serves the damaged ones, or nothing, until
/// `healDamage()`. Reads and listings made for a named reader record the damage they met
/// (`takeDamageSeen(by:)`), which is how the oracle knows which restores touched damage.
public actor SimObjectStore {
    /// A stored object's metadata.
    public struct ObjectInfo: Sendable, Equatable {
        public var key: String
        public var size: Int64
        /// Increases with every write to the store; conditional writes compare it (an ETag).
        public var version: UInt64
        public var modified: Timestamp
    }

    /// One page of a listing.
    public struct ListPage: Sendable, Equatable {
        /// Objects directly in the page, sorted.
        public var objects: [ObjectInfo]
        /// With a delimiter: the "folders" (key prefixes through the delimiter), sorted.
        public var commonPrefixes: [String]
        /// Pass as `startAfter` to get the next page; nil on the last page.
        public var nextStartAfter: String?
    }

    /// What the store did, for tests and fault-density reports.
    public struct Statistics: Sendable, Equatable {
        public var operations = 0
        public var errors = 0
        public var throttles = 0
        public var ambiguous = 0
        public var stalls = 0
        public var pages = 0
        /// Objects damaged at rest (lost ones included).
        public var damaged = 0
        /// When each write of a snapshot object (a key ending `.snapshot.lz4`, Sluice's name for
        /// one in either layout) landed, in order.
        public var snapshotWrites: [Timestamp] = []
    }

    private struct Stored {
        /// The bytes as written.
        var bytes: [UInt8]
        var version: UInt64
        var modified: Timestamp
        /// Damage at rest, served instead of `bytes` until healed or written again.
        var damage: ObjectDamage?

        var isLost: Bool { damage?.kind == .lost }
        /// What a read returns: nil for a lost object.
        var served: [UInt8]? { damage.map(\.served) ?? bytes }
    }

    private var objects: [String: Stored] = [:]
    /// The keys of `objects` in listing order, so a page is a binary search and a walk over the
    /// page's own keys instead of a sort of the whole store.
    private var sortedKeys: [String] = []
    private var nextVersion: UInt64 = 1
    private let clock: any Clock<Duration>
    private let wallClock: any WallClock
    private let random: any RandomSource
    /// Damage at rest draws here, so turning it on shifts none of the request faults' draws.
    private let damageRandom: any RandomSource
    /// Keys damaged since the last heal, in the order damaged (some since rewritten or deleted).
    private var damagedKeys: [String] = []
    /// How many stored objects are lost: listings look for them only while there are some.
    private var lostCount = 0
    /// The damage each named reader met since it was last asked.
    private var seen: [String: DamageSeen] = [:]
    public private(set) var faults: ObjectStoreFaults
    public private(set) var statistics = Statistics()
    /// Keys whose current bytes oracles read without a request (`WatchedObjects`).
    public nonisolated let watched = WatchedObjects()
    /// Every version of every snapshot and WAL segment, for the oracle (read without a hop).
    public nonisolated let history = ObjectHistory()

    /// - Parameters:
    ///   - clock: Where stalls and latency sleep: the run's SimClock.
    ///   - wallClock: Stamps objects' modification times.
    ///   - random: The store's own seeded stream (`scheduler.randomSource("object-store")`).
    ///   - damageRandom: Where damage at rest draws; `random` when nil.
    public init(
        clock: any Clock<Duration>, wallClock: any WallClock, random: any RandomSource,
        damageRandom: (any RandomSource)? = nil, faults: ObjectStoreFaults = .none
    ) {
        self.clock = clock
        self.wallClock = wallClock
        self.random = random
        self.damageRandom = damageRandom ?? random
        self.faults = faults
    }

    /// A store on the scheduler's clocks and streams of its seed named `stream` (request faults)
    /// and `stream` + "-damage" (damage at rest).
    public init(scheduler: SimScheduler, faults: ObjectStoreFaults = .none, stream: String = "object-store") {
        self.init(
            clock: scheduler.clock, wallClock: SimWallClock(scheduler: scheduler),
            random: scheduler.randomSource(stream), damageRandom: scheduler.randomSource(stream + "-damage"),
            faults: faults)
    }

    /// Changes the fault mix, e.g. to heal the store for a liveness phase.
    public func setFaults(_ faults: ObjectStoreFaults) { self.faults = faults }

    // MARK: - Operations (faulty)

    /// Stores `bytes` under `key`. The response describes the bytes written, even if a damage
    /// class then damages the stored copy.
    @discardableResult
    public func put(_ key: String, _ bytes: [UInt8]) async throws -> ObjectInfo {
        try await perform("PUT", key, mutates: true) { store in
            let written = store.store(key, bytes)
            store.damageAtRest(key)
            return written
        }
    }

    /// An object's bytes (damaged ones while damaged). A named `reader` has any damage it is
    /// served recorded for `takeDamageSeen(by:)`.
    public func get(_ key: String, reader: String? = nil) async throws -> [UInt8] {
        try await perform("GET", key, mutates: false) { store in try store.served(key, reader: reader) }
    }

    /// An object's bytes and the metadata of that same version (a GET with its ETag).
    public func getObject(_ key: String, reader: String? = nil) async throws -> (bytes: [UInt8], info: ObjectInfo) {
        try await perform("GET", key, mutates: false) { store in
            (try store.served(key, reader: reader), store.info(key)!)
        }
    }

    public func head(_ key: String) async throws -> ObjectInfo? {
        try await perform("HEAD", key, mutates: false) { store in store.info(key) }
    }

    /// Deletes a key; a missing key is not an error, as in S3.
    public func delete(_ key: String) async throws {
        try await perform("DELETE", key, mutates: true) { store in store.remove(key) }
    }

    /// Creates `key` only if it does not exist (`If-None-Match: *`).
    @discardableResult
    public func putIfAbsent(_ key: String, _ bytes: [UInt8]) async throws -> ObjectInfo {
        try await perform("PUT-IF-ABSENT", key, mutates: true) { store in
            guard store.objects[key] == nil else { throw SimObjectStoreError.preconditionFailed(key: key) }
            return store.store(key, bytes)
        }
    }

    /// Replaces `key` only if its current version is `version` (`If-Match`).
    @discardableResult
    public func putIfVersion(_ key: String, _ bytes: [UInt8], version: UInt64) async throws -> ObjectInfo {
        try await perform("PUT-IF-MATCH", key, mutates: true) { store in
            guard store.objects[key]?.version == version else { throw SimObjectStoreError.preconditionFailed(key: key) }
            return store.store(key, bytes)
        }
    }

    /// Deletes `key` only if its current version is `version`; a missing key is not an error.
    public func deleteIfVersion(_ key: String, version: UInt64) async throws {
        try await perform("DELETE-IF-MATCH", key, mutates: true) { store in
            guard let current = store.objects[key] else { return }
            guard current.version == version else { throw SimObjectStoreError.preconditionFailed(key: key) }
            store.remove(key)
        }
    }

    /// One page of the keys under `prefix`, sorted, starting after `startAfter`. With a
    /// delimiter, keys that continue past it under the prefix are rolled up into common prefixes.
    /// Lost objects are left out; a named `reader` has those it skipped recorded.
    public func listPage(
        prefix: String, delimiter: Character? = nil, startAfter: String? = nil,
        reader: String? = nil
    ) async throws -> ListPage {
        statistics.pages += 1
        if faults.listPageDelay > .zero { try await clock.sleep(for: faults.listPageDelay) }
        return try await perform("LIST", prefix, mutates: false) { store in
            store.page(
                prefix: prefix, delimiter: delimiter, startAfter: startAfter, limit: store.faults.listPageSize,
                reader: reader)
        }
    }

    // MARK: - Damage at rest

    /// Repairs every damaged object (a store restoring them from redundancy): reads and listings
    /// see the bytes written again, lost objects included. Returns how many were repaired.
    @discardableResult
    public func healDamage() -> Int {
        var repaired = 0
        for key in damagedKeys where objects[key]?.damage != nil {
            objects[key]!.damage = nil
            repaired += 1
        }
        damagedKeys = []
        lostCount = 0
        if repaired > 0 { SimTrace.record("store.heal-damage", UInt64(repaired)) }
        return repaired
    }

    /// The objects lost right now, each with the keys still served beside it in its folder (the
    /// rest of its WAL index, for a segment): the holes a listing shows a restore.
    public func lostKeysWithSiblings() -> [(lost: String, siblings: [String])] {
        guard lostCount > 0 else { return [] }
        var seenKeys = Set<String>()
        return damagedKeys.compactMap { key in
            guard objects[key]?.isLost == true, seenKeys.insert(key).inserted else { return nil }
            let folder = key[...(key.lastIndex(of: "/") ?? key.startIndex)]
            let siblings = sortedKeys.filter { $0 != key && $0.hasPrefix(folder) && objects[$0]?.isLost == false }
            return (key, siblings)
        }
    }

    /// Damages the object under `key` now, by `kind` drawn from the damage stream, or exactly as
    /// `damage` says: for scenarios that damage one object on purpose. Returns the damage, or nil
    /// when there is no such object.
    @discardableResult
    public func damage(_ key: String, kind: ObjectDamage.Kind) -> ObjectDamage? {
        guard let stored = objects[key] else { return nil }
        return damage(key, with: ObjectDamage.make(kind, of: stored.bytes, random: damageRandom))
    }

    @discardableResult
    public func damage(_ key: String, with damage: ObjectDamage) -> ObjectDamage? {
        guard let stored = objects[key] else { return nil }
        if stored.isLost { lostCount -= 1 }
        objects[key]!.damage = damage
        damagedKeys.append(key)
        if damage.kind == .lost { lostCount += 1 }
        statistics.damaged += 1
        SimTrace.record("store.damage \(damage) \(key)")
        return damage
    }

    /// The damage `reader` met since it was last asked, and forgets it.
    public func takeDamageSeen(by reader: String) -> DamageSeen {
        seen.removeValue(forKey: reader) ?? DamageSeen()
    }

    /// Whether `key` holds replica data (a snapshot or WAL segment under a `generations/`
    /// folder), the only objects damage at rest touches: the lease is left alone.
    static func holdsReplicaData(_ key: String) -> Bool {
        key.split(separator: "/").contains { $0 == ReplicaLayout.generationsDirectory }
    }

    // MARK: - Inspection (no faults, no time): for oracles and tests

    /// Every key, sorted.
    public func allKeys() -> [String] { sortedKeys }

    /// Every key under `prefix` with its version, in key order: equal results mean no object
    /// under it was written, replaced or deleted in between.
    public func versions(under prefix: String) -> [(key: String, version: UInt64)] {
        var result: [(key: String, version: UInt64)] = []
        var position = firstIndex { $0 >= prefix }
        while position < sortedKeys.count, sortedKeys[position].hasPrefix(prefix) {
            let key = sortedKeys[position]
            result.append((key, objects[key]!.version))
            position += 1
        }
        return result
    }

    /// An object's bytes as written, or nil; never faulty, never damaged.
    public func peek(_ key: String) -> [UInt8]? { objects[key]?.bytes }

    /// The damage an object holds at rest, or nil.
    public func damage(of key: String) -> ObjectDamage? { objects[key]?.damage }

    // MARK: - Internals

    /// Stores a fresh, undamaged copy: a write replaces damage along with the old bytes.
    private func store(_ key: String, _ bytes: [UInt8]) -> ObjectInfo {
        let now = wallClock.now()
        if key.hasSuffix(".snapshot.lz4") { statistics.snapshotWrites.append(now) }
        if ObjectHistory.records(key) { history.recordWrite(key, at: now) }
        let old = objects.updateValue(Stored(bytes: bytes, version: nextVersion, modified: now), forKey: key)
        if old == nil {
            sortedKeys.insert(key, at: firstIndex { $0 >= key })
        } else if old!.isLost {
            lostCount -= 1
        }
        watched.update(key, bytes)
        nextVersion += 1
        return info(key)!
    }

    private func remove(_ key: String) {
        guard let old = objects.removeValue(forKey: key) else { return }
        if old.isLost { lostCount -= 1 }
        watched.update(key, nil)
        if ObjectHistory.records(key) { history.recordRemoval(key) }
        sortedKeys.remove(at: firstIndex { $0 >= key })
    }

    /// Maybe damages the object just written to `key`, by the damage classes' rates.
    private func damageAtRest(_ key: String) {
        guard faults.damagesObjects, Self.holdsReplicaData(key),
            let kind = faults.damageKind(for: damageRandom.unitInterval())
        else { return }
        damage(key, kind: kind)
    }

    /// What a read of `key` returns, noting any damage for `reader`; a lost object is missing.
    private func served(_ key: String, reader: String?) throws -> [UInt8] {
        guard let object = objects[key] else { throw SimObjectStoreError.notFound(key: key) }
        if let damage = object.damage, let reader { seen[reader, default: DamageSeen()].noteRead(key, damage.kind) }
        guard let bytes = object.served else { throw SimObjectStoreError.notFound(key: key) }
        return bytes
    }

    /// The first position in `sortedKeys` whose key satisfies `isPast`, which must be false for
    /// a prefix of the keys and true for the rest.
    private func firstIndex(where isPast: (String) -> Bool) -> Int {
        var low = 0
        var high = sortedKeys.count
        while low < high {
            let middle = (low + high) / 2
            if isPast(sortedKeys[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }

    /// The metadata a request sees: the served size of a damaged object, nothing for a lost one.
    private func info(_ key: String) -> ObjectInfo? {
        guard let object = objects[key], let served = object.served else { return nil }
        return ObjectInfo(key: key, size: Int64(served.count), version: object.version, modified: object.modified)
    }

    private func page(prefix: String, delimiter: Character?, startAfter: String?, limit: Int, reader: String?)
        -> ListPage
    {
        var result = ListPage(objects: [], commonPrefixes: [], nextStartAfter: nil)
        var entries = 0
        var lastEntry: String?
        // Keys with the prefix are one run of `sortedKeys`; nothing at or before `startAfter` is listed.
        let floor = startAfter.map { max($0, prefix) } ?? prefix
        var position = firstIndex { $0 >= floor }
        // Byte offsets, not Characters: a listing walks every key of a generation's WAL.
        let prefixLength = prefix.utf8.count
        precondition(delimiter?.isASCII ?? true, "listing delimiters are ASCII")
        let delimiterByte = delimiter?.asciiValue
        while position < sortedKeys.count {
            let key = sortedKeys[position]
            guard key.hasPrefix(prefix) else { break }
            if lostCount > 0, objects[key]!.isLost {
                // Left out as if never written. Skipped before any folder roll-up, so a folder
                // whose keys are all lost vanishes too.
                if let reader { seen[reader, default: DamageSeen()].noteLost(key) }
                position += 1
                continue
            }
            var entry = key
            var isPrefix = false
            if let delimiterByte, let cut = key.utf8.dropFirst(prefixLength).firstIndex(of: delimiterByte) {
                entry = String(key[...cut])
                isPrefix = true
            }
            // A folder's keys are one run: whether it is listed or skipped, go past all of them.
            position = isPrefix ? firstIndex { $0 >= entry && !$0.hasPrefix(entry) } : position + 1
            if entry == lastEntry || startAfter.map({ entry <= $0 }) == true { continue }
            if entries == limit {
                result.nextStartAfter = lastEntry
                break
            }
            lastEntry = entry
            entries += 1
            if isPrefix { result.commonPrefixes.append(entry) } else { result.objects.append(info(key)!) }
        }
        return result
    }

    /// Runs one request: latency and maybe a stall, maybe a refusal, the effect, maybe a lost
    /// response, maybe another stall. The effect itself is atomic within the actor.
    private func perform<R: Sendable>(
        _ operation: String, _ key: String, mutates: Bool,
        _ effect: (isolated SimObjectStore) throws -> R
    ) async throws -> R {
        statistics.operations += 1
        try await delay(faults.latency)
        if chance(faults.stallBeforeRate) {
            statistics.stalls += 1
            SimTrace.record("store.stall-before \(operation) \(key)")
            try await delay(faults.stallDuration)
        }
        if chance(faults.throttleRate) {
            statistics.throttles += 1
            SimTrace.record("store.throttle \(operation) \(key)")
            throw SimObjectStoreError.unavailable(
                operation: operation, key: key, status: 503, reason: "SlowDown: reduce your request rate")
        }
        if chance(faults.errorRate) {
            statistics.errors += 1
            SimTrace.record("store.error \(operation) \(key)")
            throw SimObjectStoreError.unavailable(operation: operation, key: key, status: 500, reason: "InternalError")
        }
        let result = try effect(self)
        SimTrace.record("store.\(operation) \(key)")
        if mutates && chance(faults.ambiguousRate) {
            statistics.ambiguous += 1
            SimTrace.record("store.ambiguous \(operation) \(key)")
            throw SimObjectStoreError.unavailable(
                operation: operation, key: key, status: 0, reason: "connection reset after the request was sent")
        }
        if chance(faults.stallAfterRate) {
            statistics.stalls += 1
            SimTrace.record("store.stall-after \(operation) \(key)")
            try await delay(faults.stallDuration)
        }
        return result
    }

    /// Draws only when the rate is positive, so a fault class switched off consumes no draws
    /// and leaves the stream of the others unchanged.
    private func chance(_ rate: Double) -> Bool {
        guard rate > 0 else { return false }
        return random.unitInterval() < rate
    }

    private func delay(_ range: ClosedRange<Duration>) async throws {
        guard range.upperBound > .zero else { return }
        let low = range.lowerBound.nanoseconds
        let high = range.upperBound.nanoseconds
        let span = UInt64(high - low)
        let drawn = span == 0 ? low : low + Int64(random.next() % (span + 1))
        if drawn > 0 { try await clock.sleep(for: .nanoseconds(drawn)) }
    }
}

extension Duration {
    /// Whole nanoseconds, rounded toward zero.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
