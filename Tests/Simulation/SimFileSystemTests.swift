import Core
import Glibc
import SimHarness
import Testing

/// The port's semantics on the simulated disk, mirroring `POSIXFileSystemTests`.
@Suite("SimFileSystem", .serialized)
struct SimFileSystemTests {
    let disk = SimDisk(wallClock: { Timestamp(millisecondsSince1970: 1_234_000) })
    var fs: SimFileSystem {
        SimFileSystem(disk: disk, process: disk.processes.first ?? disk.startProcess(named: "test"))
    }

    @Test("SimFileSystem: write, read, size, truncate and sync round trip")
    func readWrite() async throws {
        let fs = self.fs
        let handle = try await fs.open("/a.bin", mode: .createNew)
        let bytes = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try await handle.write(bytes, at: 0)
        try await handle.write([9, 9], at: 10_000 + 6)
        try await handle.sync()
        #expect(try await handle.size() == 10_008)
        #expect(try await handle.read(at: 0, count: 10_000) == bytes)
        #expect(try await handle.read(at: 9_998, count: 100) == Array(bytes[9_998...]) + [0, 0, 0, 0, 0, 0, 9, 9])
        #expect(try await handle.read(at: 20_000, count: 10) == [])
        try await handle.truncate(to: 5)
        #expect(try await handle.size() == 5)
        #expect(try await handle.read(at: 0, count: 100) == Array(bytes[0..<5]))
        try await handle.close()
        #expect(try await fs.readAll("/a.bin") == Array(bytes[0..<5]))
    }

    @Test("SimFileSystem: open modes: missing files, exclusive create, truncate, file as folder")
    func openModes() async throws {
        let fs = self.fs
        for mode in [FileOpenMode.readOnly, .readWrite] {
            await #expect(throws: FileSystemError.notFound(path: "/f")) { _ = try await fs.open("/f", mode: mode) }
        }
        let created = try await fs.open("/f", mode: .create)
        try await created.write([1, 2, 3], at: 0)
        try await created.close()
        await #expect(throws: FileSystemError.alreadyExists(path: "/f")) {
            _ = try await fs.open("/f", mode: .createNew)
        }
        let kept = try await fs.open("/f", mode: .create)
        #expect(try await kept.size() == 3)
        try await kept.close()
        let truncated = try await fs.open("/f", mode: .truncate)
        #expect(try await truncated.size() == 0)
        try await truncated.close()
        await #expect(throws: FileSystemError.notADirectory(path: "/f/child")) {
            _ = try await fs.open("/f/child", mode: .create)
        }
        await #expect(throws: FileSystemError.notFound(path: "/no/child")) {
            _ = try await fs.open("/no/child", mode: .create)
        }
    }

    @Test("SimFileSystem: a closed handle refuses further calls and a second close")
    func closeTwice() async throws {
        let fs = self.fs
        let handle = try await fs.open("/f", mode: .create)
        try await handle.close()
        await #expect(
            throws: FileSystemError.io(
                operation: "close", path: "/f", code: EBADF, message: "file handle is already closed")
        ) {
            try await handle.close()
        }
        await #expect(throws: FileSystemError.self) { try await handle.write([1], at: 0) }
    }

    @Test("SimFileSystem: stat reports size, kind and simulated modification time; nil when missing")
    func stat() async throws {
        let fs = self.fs
        try await fs.writeAtomically([1, 2, 3, 4], to: "/f")
        let info = try #require(try await fs.stat("/f"))
        #expect(info == FileStat(size: 4, isDirectory: false, modified: Timestamp(millisecondsSince1970: 1_234_000)))
        #expect(try await fs.stat("/")?.isDirectory == true)
        #expect(try await fs.stat("/missing") == nil)
        #expect(try await fs.stat("/f/below") == nil)
    }

    @Test("SimFileSystem: list sorts bytewise; a missing folder is notFound, a file notADirectory")
    func list() async throws {
        let fs = self.fs
        try await fs.createDirectory("/d")
        let names = ["b", "a", "B", "a0", "é", "_", "Z9"]
        for name in names { try await fs.writeAtomically([], to: "/d/" + name) }
        try await fs.createDirectory("/d/sub")
        let listed = try await fs.list("/d")
        #expect(listed == (names + ["sub"]).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        #expect(listed.first == "B")
        #expect(listed.last == "é")
        await #expect(throws: FileSystemError.notFound(path: "/nope")) { _ = try await fs.list("/nope") }
        await #expect(throws: FileSystemError.notADirectory(path: "/d/b")) { _ = try await fs.list("/d/b") }
    }

    @Test("SimFileSystem: rename replaces the target; remove takes files and empty folders; removeTree")
    func renameRemove() async throws {
        let fs = self.fs
        try await fs.writeAtomically([1], to: "/a")
        try await fs.writeAtomically([2, 2], to: "/b")
        try await fs.rename("/a", to: "/b")
        #expect(try await fs.readAll("/b") == [1])
        #expect(try await fs.stat("/a") == nil)
        await #expect(throws: FileSystemError.notFound(path: "/a")) { try await fs.rename("/a", to: "/c") }

        try await fs.remove("/b")
        try await fs.remove("/b")
        #expect(try await fs.stat("/b") == nil)

        try await fs.createDirectory("/x/y/z")
        try await fs.createDirectory("/x/y/z")
        try await fs.writeAtomically([3], to: "/x/y/z/f")
        try await fs.writeAtomically([4], to: "/x/g")
        await #expect(
            throws: FileSystemError.io(
                operation: "rmdir", path: "/x/y/z", code: ENOTEMPTY,
                message: String(cString: strerror(ENOTEMPTY)))
        ) {
            try await fs.remove("/x/y/z")
        }
        try await fs.createDirectory("/x/empty")
        try await fs.remove("/x/empty")
        #expect(try await fs.stat("/x/empty") == nil)
        try await fs.removeTree("/x")
        #expect(try await fs.stat("/x") == nil)
        try await fs.removeTree("/x")
        try await fs.syncDirectory("/")
        #expect(try await fs.list("/") == [])
    }

    @Test("SimFileSystem: createDirectory over a file is notADirectory; opening a folder is EISDIR")
    func errors() async throws {
        let fs = self.fs
        try await fs.writeAtomically([1], to: "/file")
        await #expect(throws: FileSystemError.notADirectory(path: "/file")) { try await fs.createDirectory("/file") }
        do {
            _ = try await fs.open("/", mode: .readOnly)
            Issue.record("opening a directory as a file should fail")
        } catch FileSystemError.io(let operation, let path, let code, _) {
            #expect(operation == "open")
            #expect(path == "/")
            #expect(code == EISDIR)
        }
        await #expect(throws: FileSystemError.notFound(path: "/missing/gen.tmp")) {
            try await fs.writeAtomically([1], to: "/missing/gen")
        }
    }

    @Test("SimFileSystem: a full disk is noSpace; injected faults surface as io errors")
    func faults() async throws {
        let fs = self.fs
        disk.faults = DiskFaults(capacityBytes: 10)
        let handle = try await fs.open("/f", mode: .create)
        try await handle.write([UInt8](repeating: 1, count: 10), at: 0)
        await #expect(throws: FileSystemError.noSpace(path: "/f")) { try await handle.write([1], at: 10) }
        try await handle.write([2], at: 0) // overwriting needs no space
        disk.faults = DiskFaults(persistentErrorRate: [.sync: 1])
        await #expect(throws: FileSystemError.self) { try await handle.sync() }
        disk.faults = .none
        // A persistent fault stays: the file's fsync is broken for good.
        await #expect(throws: FileSystemError.self) { try await handle.sync() }
        let other = try await fs.open("/g", mode: .create)
        try await other.sync()
        try await other.close()
        try await handle.close()
    }

    @Test("SimFileSystem: the latency seam runs before every operation")
    func latencySeam() async throws {
        let seen = OperationLog()
        let fs = SimFileSystem(disk: disk, process: disk.startProcess(named: "slow")) { await seen.append($0) }
        try await fs.writeAtomically([1], to: "/f")
        #expect(
            await seen.operations == [
                .open(path: "/f.tmp"), .write(path: "/f.tmp", count: 1), .sync(path: "/f.tmp"),
                .close(path: "/f.tmp"), .rename(source: "/f.tmp", target: "/f"), .syncDirectory(path: "/"),
            ])
    }
}

actor OperationLog {
    var operations: [SimFileOperation] = []
    func append(_ operation: SimFileOperation) { operations.append(operation) }
}
