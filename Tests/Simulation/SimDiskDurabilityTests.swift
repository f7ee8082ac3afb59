import Core
import Foundation
import Glibc
import SimHarness
import Testing

/// What a power loss keeps: synced bytes and dir-synced names, nothing else for sure.
@Suite("SimDisk durability", .serialized)
struct SimDiskDurabilityTests {
    /// A crash model where nothing un-synced survives, and one where everything does.
    let dropAll = DiskCrashModel(sectorSurvivalRate: 0, sizeChangeSurvivalRate: 0, directoryChangeSurvivalRate: 0)
    let keepAll = DiskCrashModel(sectorSurvivalRate: 1, sizeChangeSurvivalRate: 1, directoryChangeSurvivalRate: 1)

    func write(_ bytes: [UInt8], to path: String, on disk: SimDisk, sync: Bool) throws {
        let process = disk.processes.first ?? disk.startProcess(named: "writer")
        let fd = try disk.open(path, mode: .create, by: process)
        try disk.write(fd, bytes, at: 0)
        if sync { try disk.sync(fd) }
        try disk.close(fd)
    }

    @Test("SimDisk: un-synced writes are lost at a crash, synced ones kept")
    func unsyncedLost() throws {
        let disk = SimDisk()
        let process = disk.startProcess(named: "p")
        try write([UInt8](repeating: 1, count: 1000), to: "/synced", on: disk, sync: true)
        try write([UInt8](repeating: 2, count: 1000), to: "/unsynced", on: disk, sync: false)
        try disk.syncDirectory("/", by: process)
        let fd = try disk.open("/synced", mode: .readWrite, by: process)
        try disk.write(fd, [UInt8](repeating: 3, count: 600), at: 0) // after the sync: volatile

        disk.crash(random: SplitMix64(seed: 1), model: dropAll)
        #expect(!disk.isAlive(process))
        #expect(throws: DiskError.self) { try disk.size(fd) }
        let after = disk.startProcess(named: "after")
        #expect(
            try disk.read(try disk.open("/synced", mode: .readOnly, by: after), at: 0, count: 2000)
                == [UInt8](repeating: 1, count: 1000))
        #expect(try disk.stat("/unsynced", by: after)?.size == 0)
        #expect(disk.durableContent(of: "/unsynced") == [])
    }

    @Test("SimDisk: directory entries need a directory fsync; file fsync alone does not keep the name")
    func directoryEntries() throws {
        let disk = SimDisk()
        let process = disk.startProcess(named: "p")
        try disk.makeDirectory("/d", by: process)
        try disk.syncDirectory("/", by: process)
        try write([7], to: "/d/named", on: disk, sync: true)
        try write([8], to: "/d/later", on: disk, sync: true)
        try disk.syncDirectory("/d", by: process)
        try disk.unlink("/d/later", by: process)
        try write([9], to: "/d/unnamed", on: disk, sync: true)
        try disk.rename("/d/named", to: "/d/renamed", by: process)
        #expect(try disk.list("/d", by: process) == ["renamed", "unnamed"])

        disk.crash(random: SplitMix64(seed: 1), model: dropAll)
        let after = disk.startProcess(named: "after")
        #expect(try disk.list("/d", by: after) == ["later", "named"])
        #expect(disk.durableContent(of: "/d/named") == [7])

        // With every change kept, the live state at the crash survives, renames included.
        try disk.unlink("/d/later", by: after)
        try write([9], to: "/d/unnamed", on: disk, sync: true)
        try disk.rename("/d/named", to: "/d/renamed", by: after)
        disk.crash(random: SplitMix64(seed: 1), model: keepAll)
        #expect(try disk.list("/d", by: disk.startProcess(named: "again")) == ["renamed", "unnamed"])
    }

    @Test("SimDisk: a rename inside one directory survives whole or not at all, never both names or neither")
    func renameAtomic() throws {
        var outcomes: Set<[String]> = []
        for seed in 0..<40 {
            let disk = SimDisk()
            let process = disk.startProcess(named: "p")
            try write([1], to: "/a", on: disk, sync: true)
            try disk.syncDirectory("/", by: process)
            try disk.rename("/a", to: "/b", by: process)
            disk.crash(random: SplitMix64(seed: UInt64(seed)), model: DiskCrashModel())
            outcomes.insert(try disk.list("/", by: disk.startProcess(named: "after")))
        }
        #expect(outcomes == [["a"], ["b"]])
    }

    @Test("SimDisk: torn writes keep, drop or trash whole 512-byte sectors of the un-synced write")
    func tornSectors() throws {
        let old = [UInt8](repeating: 0xAA, count: 4096)
        let new = [UInt8](repeating: 0x55, count: 4096)
        var sawMixed = false
        var sawGarbage = false
        for seed in 0..<20 {
            let disk = SimDisk()
            let process = disk.startProcess(named: "p")
            try write(old, to: "/f", on: disk, sync: true)
            try disk.syncDirectory("/", by: process)
            let fd = try disk.open("/f", mode: .readWrite, by: process)
            try disk.write(fd, new, at: 0)
            disk.crash(
                random: SplitMix64(seed: UInt64(seed)),
                model: DiskCrashModel(sectorSurvivalRate: 0.5, sectorGarbageRate: 0.5))
            let after = try #require(disk.durableContent(of: "/f"))
            #expect(after.count == 4096)
            var kinds: Set<String> = []
            for sector in 0..<8 {
                let bytes = Array(after[(sector * 512)..<((sector + 1) * 512)])
                if bytes == Array(old[0..<512]) {
                    kinds.insert("old")
                } else if bytes == Array(new[0..<512]) {
                    kinds.insert("new")
                } else {
                    kinds.insert("garbage")
                }
            }
            if kinds.contains("old") && kinds.contains("new") { sawMixed = true }
            if kinds.contains("garbage") { sawGarbage = true }
        }
        #expect(sawMixed)
        #expect(sawGarbage)
    }

    @Test("SimDisk: crash after N mutations halts the disk at the N+1th until the crash reboots it")
    func crashAfterMutations() throws {
        let disk = SimDisk(faults: DiskFaults(crashAfterMutations: 2))
        let calls = PowerLossCounter()
        disk.onPowerLoss { calls.increment() }
        let process = disk.startProcess(named: "p")
        let fd = try disk.open("/f", mode: .create, by: process) // 1
        try disk.write(fd, [1, 2, 3], at: 0) // 2
        #expect(throws: DiskError(EIO, "power lost")) { try disk.sync(fd) }
        #expect(disk.isHalted)
        #expect(calls.value == 1)
        #expect(throws: DiskError.self) { try disk.stat("/f", by: process) }
        #expect(throws: DiskError.self) { try disk.write(fd, [4], at: 0) }
        #expect(calls.value == 1)
        #expect(disk.mutationCount == 2)
        disk.crash(random: SplitMix64(seed: 3))
        #expect(!disk.isHalted)
        _ = try disk.stat("/", by: disk.startProcess(named: "after"))
    }

    @Test("SimDisk: same history and seed give the same durable image; another seed may not")
    func deterministicCrash() throws {
        func run(_ seed: UInt64) throws -> UInt64 {
            let disk = SimDisk()
            let process = disk.startProcess(named: "p")
            for index in 0..<20 {
                try write(
                    [UInt8](repeating: UInt8(index), count: 700 * index), to: "/f\(index)", on: disk,
                    sync: index % 3 == 0)
            }
            disk.crash(random: SplitMix64(seed: seed), model: DiskCrashModel(sectorGarbageRate: 0.3))
            _ = process
            return disk.durableDigest()
        }
        #expect(try run(7) == run(7))
        #expect(try run(7) != run(8))
    }

    @Test("SimDisk: POSIX locks belong to the process, and closing any descriptor of the file drops them all")
    func lockOnClose() throws {
        let disk = SimDisk()
        let app = disk.startProcess(named: "app")
        let other = disk.startProcess(named: "other")
        try write([1], to: "/db", on: disk, sync: true)
        let lockFD = try disk.open("/db", mode: .readWrite, by: app)
        let otherFD = try disk.open("/db", mode: .readWrite, by: other)
        #expect(try disk.lock(lockFD, .read, 100..<200))
        #expect(try !disk.lock(otherFD, .write, 150..<160))
        #expect(try disk.lock(otherFD, .read, 150..<160))
        #expect(try disk.conflictingLockHolder(otherFD, .write, 0..<1000) == app)

        // The app opens the same file again, somewhere else in its code, and closes it.
        let shortLived = try disk.open("/db", mode: .readOnly, by: app)
        try disk.close(shortLived)
        #expect(disk.posixLocks(on: "/db").map(\.process) == [other.id])
        try disk.unlock(otherFD, 0..<Int64.max)
        #expect(try disk.lock(otherFD, .write, 100..<200))

        // Killing a process drops its locks too.
        disk.kill(other)
        #expect(disk.posixLocks(on: "/db").isEmpty)
        #expect(try disk.lock(lockFD, .write, 0..<10))
    }
}

// @unchecked: `count` is guarded by `lock`.
final class PowerLossCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.withLock { count } }
    func increment() { lock.withLock { count += 1 } }
}
