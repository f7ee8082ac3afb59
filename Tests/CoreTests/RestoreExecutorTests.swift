import Testing

@testable import Core

/// The executor's WAL path without SQLite: a snapshot and WAL indexes made by hand in memory.
@Suite("RestoreExecutor pages")
struct RestoreExecutorTests {
    let generation = Generation(value: 0x0190_0000_0000_0002)

    /// A WAL-mode database image of `pages` pages of `pageSize`, page p filled with `p`.
    func snapshot(pageSize: Int, pages: Int) -> [UInt8] {
        var bytes = [UInt8]()
        for page in 1...pages { bytes += [UInt8](repeating: UInt8(page), count: pageSize) }
        bytes.replaceSubrange(0..<16, with: Array("SQLite format 3\0".utf8))
        bytes[16] = UInt8(pageSize >> 8)
        bytes[17] = UInt8(pageSize & 0xFF)
        bytes[18] = 2
        bytes[19] = 2
        return bytes
    }

    func restore(_ client: MemoryReplicaClient, batchBytes: Int64) async throws -> (MemoryFileSystem, RestoreReport) {
        let fileSystem = MemoryFileSystem()
        let report = try await Restorer(client: client, environment: testEnvironment(fileSystem: fileSystem))
            .restore(RestoreRequest(outputPath: "/out/db", parallelism: 2, applyBatchBytes: batchBytes))
        return (fileSystem, report)
    }

    @Test(
        "pages land at their positions, latest version first, the file cut to the last commit's size",
        arguments: [Int64(0), 1000, RestoreRequest.defaultApplyBatchBytes])
    func pages(batchBytes: Int64) async throws {
        let client = MemoryReplicaClient()
        let image = snapshot(pageSize: 512, pages: 4)
        client.addSnapshot(generation, index: 0, raw: image)
        var first = WALBuilder(pageSize: 512)
        first.frame(page: 3, fill: 0xA3, commitSize: 0)
        first.frame(page: 6, fill: 0xA6, commitSize: 6)
        first.frame(page: 3, fill: 0xB3, commitSize: 6)
        client.addSegment(Position(generation: generation, index: 0, offset: 0), raw: first.bytes)
        var second = WALBuilder(pageSize: 512, salt1: 5, salt2: 6)
        second.frame(page: 2, fill: 0xC2, commitSize: 5)
        client.addSegment(Position(generation: generation, index: 1, offset: 0), raw: second.bytes)

        let (fileSystem, report) = try await restore(client, batchBytes: batchBytes)
        var expected =
            Array(image[0..<512]) + [UInt8](repeating: 0xC2, count: 512) + [UInt8](repeating: 0xB3, count: 512)
        expected += [UInt8](repeating: 4, count: 512) + [UInt8](repeating: 0, count: 512)
        #expect(fileSystem.contents("/out/db") == expected)
        #expect(fileSystem.paths == ["/out/db"])
        #expect(report.appliedIndexes == [0, 1])
        // One batch writes pages 3 and 2 (page 6 is cut by the second index); a batch per
        // index writes 3 and 6, then 2.
        #expect(report.writtenPageCount == (batchBytes == RestoreRequest.defaultApplyBatchBytes ? 2 : 3))
    }

    @Test("a WAL of another page size than the snapshot's is refused, and nothing is left behind")
    func pageSizeMismatch() async throws {
        let client = MemoryReplicaClient()
        client.addSnapshot(generation, index: 0, raw: snapshot(pageSize: 1024, pages: 2))
        var wal = WALBuilder(pageSize: 512)
        wal.frame(page: 1, fill: 1, commitSize: 2)
        client.addSegment(Position(generation: generation, index: 0, offset: 0), raw: wal.bytes)
        let fileSystem = MemoryFileSystem()
        await #expect(
            throws: RestoreError.pageSizeMismatch(
                generation: generation, index: 0, walPageSize: 512, databasePageSize: 1024)
        ) {
            _ = try await Restorer(client: client, environment: testEnvironment(fileSystem: fileSystem))
                .restore(RestoreRequest(outputPath: "/out/db"))
        }
        #expect(fileSystem.paths == [])
    }
}
