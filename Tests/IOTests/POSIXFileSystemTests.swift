import Core
import Foundation
import IO
import Testing

@Suite("POSIXFileSystem")
struct POSIXFileSystemTests {
    let fs = POSIXFileSystem(runner: ThreadPoolRunner(threads: 2))

    @Test("write, read, size, truncate and sync round trip")
    func readWrite() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("a.bin")
        let handle = try await fs.open(path, mode: .createNew)
        let bytes = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try await handle.write(bytes, at: 0)
        try await handle.write([9, 9], at: 10_000 + 6) // leaves a hole of 6 zero bytes
        try await handle.sync()
        #expect(try await handle.size() == 10_008)
        #expect(try await handle.read(at: 0, count: 10_000) == bytes)
        #expect(try await handle.read(at: 9_998, count: 100) == Array(bytes[9_998...]) + [0, 0, 0, 0, 0, 0, 9, 9])
        #expect(try await handle.read(at: 20_000, count: 10) == [])
        try await handle.truncate(to: 5)
        #expect(try await handle.size() == 5)
        #expect(try await handle.read(at: 0, count: 100) == Array(bytes[0..<5]))
        try await handle.close()

        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(Array(data) == Array(bytes[0..<5]))
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode.map { $0 & 0o600 } == 0o600)
    }

    @Test("open modes: missing files, exclusive create, truncate")
    func openModes() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("f")
        for mode in [FileOpenMode.readOnly, .readWrite] {
            await #expect(throws: FileSystemError.notFound(path: path)) { _ = try await fs.open(path, mode: mode) }
        }
        let created = try await fs.open(path, mode: .create)
        try await created.write([1, 2, 3], at: 0)
        try await created.close()
        await #expect(throws: FileSystemError.alreadyExists(path: path)) {
            _ = try await fs.open(path, mode: .createNew)
        }
        let kept = try await fs.open(path, mode: .create)
        #expect(try await kept.size() == 3)
        try await kept.close()
        let truncated = try await fs.open(path, mode: .truncate)
        #expect(try await truncated.size() == 0)
        try await truncated.close()
        await #expect(throws: FileSystemError.notADirectory(path: path + "/child")) {
            _ = try await fs.open(path + "/child", mode: .create)
        }
    }

    @Test("a closed handle refuses further calls and a second close")
    func closeTwice() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let handle = try await fs.open(dir.file("f"), mode: .create)
        try await handle.close()
        // Opening another file may reuse the descriptor number; the old handle must not touch it.
        let other = try await fs.open(dir.file("g"), mode: .create)
        await #expect(throws: FileSystemError.self) { try await handle.close() }
        await #expect(throws: FileSystemError.self) { try await handle.write([1], at: 0) }
        try await other.write([7], at: 0)
        #expect(try await other.read(at: 0, count: 1) == [7])
        try await other.close()
    }

    @Test("stat reports size, kind and modification time; nil when missing")
    func stat() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try await fs.writeAtomically([1, 2, 3, 4], to: dir.file("f"))
        let info = try #require(try await fs.stat(dir.file("f")))
        #expect(info.size == 4)
        #expect(!info.isDirectory)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        #expect(abs(info.modified.millisecondsSince1970 - now) < 60_000)
        #expect(try await fs.stat(dir.path)?.isDirectory == true)
        #expect(try await fs.stat(dir.file("missing")) == nil)
        #expect(try await fs.stat(dir.file("f/below")) == nil)
    }

    @Test("list sorts bytewise and leaves out . and ..; a missing folder is notFound")
    func list() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let names = ["b", "a", "B", "a0", "é", "_", "Z9"]
        for name in names { try await fs.writeAtomically([], to: dir.file(name)) }
        try await fs.createDirectory(dir.file("sub"))
        let listed = try await fs.list(dir.path)
        let expected = (names + ["sub"]).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        #expect(listed == expected)
        #expect(listed.first == "B") // uppercase sorts before lowercase in bytes
        #expect(listed.last == "é")
        await #expect(throws: FileSystemError.notFound(path: dir.file("nope"))) {
            _ = try await fs.list(dir.file("nope"))
        }
    }

    @Test("rename replaces the target; remove and removeTree accept missing paths")
    func renameRemove() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try await fs.writeAtomically([1], to: dir.file("a"))
        try await fs.writeAtomically([2, 2], to: dir.file("b"))
        try await fs.rename(dir.file("a"), to: dir.file("b"))
        #expect(try await fs.readAll(dir.file("b")) == [1])
        #expect(try await fs.stat(dir.file("a")) == nil)
        await #expect(throws: FileSystemError.notFound(path: dir.file("a"))) {
            try await fs.rename(dir.file("a"), to: dir.file("c"))
        }

        try await fs.remove(dir.file("b"))
        try await fs.remove(dir.file("b"))
        #expect(try await fs.stat(dir.file("b")) == nil)

        try await fs.createDirectory(dir.file("x/y/z"))
        try await fs.createDirectory(dir.file("x/y/z"))
        try await fs.writeAtomically([3], to: dir.file("x/y/z/f"))
        try await fs.writeAtomically([4], to: dir.file("x/g"))
        // remove never deletes a non-empty folder, but does delete an empty one.
        await #expect(throws: FileSystemError.self) { try await fs.remove(dir.file("x/y/z")) }
        try await fs.createDirectory(dir.file("x/empty"))
        try await fs.remove(dir.file("x/empty"))
        #expect(try await fs.stat(dir.file("x/empty")) == nil)

        try await fs.removeTree(dir.file("x"))
        #expect(try await fs.stat(dir.file("x")) == nil)
        try await fs.removeTree(dir.file("x"))
        try await fs.syncDirectory(dir.path)
    }

    @Test("writeAtomically replaces a file and leaves no temp file behind")
    func writeAtomically() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try await fs.writeAtomically([1, 2, 3], to: dir.file("gen"))
        try await fs.writeAtomically([4, 5], to: dir.file("gen"))
        #expect(try await fs.readAll(dir.file("gen")) == [4, 5])
        #expect(try await fs.list(dir.path) == ["gen"])
        await #expect(throws: FileSystemError.notFound(path: dir.file("missing/gen.tmp"))) {
            try await fs.writeAtomically([1], to: dir.file("missing/gen"))
        }
    }

    @Test("createDirectory over a file is notADirectory; other errors carry errno text")
    func errors() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try await fs.writeAtomically([1], to: dir.file("file"))
        await #expect(throws: FileSystemError.notADirectory(path: dir.file("file"))) {
            try await fs.createDirectory(dir.file("file"))
        }
        do {
            _ = try await fs.open(dir.path, mode: .readOnly)
            Issue.record("opening a directory as a file should fail")
        } catch FileSystemError.io(let operation, let path, let code, let message) {
            #expect(operation == "open")
            #expect(path == dir.path)
            #expect(code == EISDIR)
            #expect(!message.isEmpty)
        }
    }
}
