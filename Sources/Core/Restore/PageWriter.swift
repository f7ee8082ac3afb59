/// Carries out a `PageWritePlan` on the database under construction: reads the chosen pages
/// from the downloaded WAL files, front to back in reads of up to `bufferSize` bytes, and
/// writes them at their positions, runs of consecutive pages in one write; then cuts and
/// extends the file as the checkpoints would have.
///
/// Every chosen frame's header is read with its page, and its page number must be the one the
/// plan was made from: a downloaded file that changed on disk since it was verified fails the
/// restore instead of being written.
struct PageWriter: Sendable {
    let fileSystem: any FileSystem
    let generation: Generation
    var bufferSize = 1 << 20

    /// Applies `plan` to `database`; `sources` are the plan's sources in order. Returns the
    /// number of pages written.
    func apply(_ plan: PageWritePlan, sources: [DownloadedIndex], to database: any FileHandle) async throws -> Int {
        let pageSize = Int64(plan.pageSize)
        if let smallest = plan.smallestPageCount, try await database.size() > Int64(smallest) * pageSize {
            try await database.truncate(to: Int64(smallest) * pageSize)
        }
        var start = plan.writes.startIndex
        while start < plan.writes.endIndex {
            let source = plan.writes[start].source
            var end = start + 1
            while end < plan.writes.endIndex && plan.writes[end].source == source { end += 1 }
            try await copy(plan.writes[start..<end], from: sources[source], pageSize: plan.pageSize, to: database)
            start = end
        }
        if let final = plan.finalPageCount { try await database.truncate(to: Int64(final) * pageSize) }
        return plan.writes.count
    }

    /// Copies one source's chosen pages, given in frame order.
    private func copy(
        _ writes: ArraySlice<PageWrite>, from source: DownloadedIndex, pageSize: Int,
        to database: any FileHandle
    ) async throws {
        let handle = source.bytes == nil ? try await fileSystem.open(source.path, mode: .readOnly) : nil
        do {
            var run = PageRun(database: database, pageSize: pageSize, capacity: bufferSize)
            var next = writes.startIndex
            while next < writes.endIndex {
                // One read covers the next chosen frames that fit in the buffer (at least one).
                let start = source.frames.pageOffset(writes[next].frame) - Int64(WALFormat.frameHeaderSize)
                var last = next
                while last + 1 < writes.endIndex,
                    source.frames.pageOffset(writes[last + 1].frame) + Int64(pageSize) - start <= Int64(bufferSize)
                {
                    last += 1
                }
                let length = Int(source.frames.pageOffset(writes[last].frame) + Int64(pageSize) - start)
                let window = try await read(source, handle, at: start, count: length)
                guard window.count == length else {
                    throw RestoreError.invalidWAL(
                        generation: generation, index: source.index, offset: UInt64(start) + UInt64(window.count),
                        reason: "the downloaded file ends before frame \(writes[last].frame + 1)")
                }
                for write in writes[next...last] {
                    let header = Int(source.frames.pageOffset(write.frame) - start) - WALFormat.frameHeaderSize
                    try checkPageNumber(window, at: header, is: write, source: source, windowStart: start)
                    try await run.add(
                        window[(header + WALFormat.frameHeaderSize)...].prefix(pageSize), page: write.page)
                }
                next = last + 1
            }
            try await run.flush()
            try await handle?.close()
        } catch {
            try? await handle?.close()
            throw error
        }
    }

    /// Reads from the index's bytes in memory, or else from its file.
    private func read(_ source: DownloadedIndex, _ handle: (any FileHandle)?, at offset: Int64, count: Int) async throws
        -> [UInt8]
    {
        guard let bytes = source.bytes else {
            guard let handle else { preconditionFailure("an index on disk is read through its file") }
            return try await handle.read(at: offset, count: count)
        }
        let start = min(Int(offset), bytes.count)
        return Array(bytes[start..<min(bytes.count, start + count)])
    }

    private func checkPageNumber(
        _ window: [UInt8], at header: Int, is write: PageWrite, source: DownloadedIndex,
        windowStart: Int64
    ) throws {
        let page = window[header..<header + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        guard page == write.page else {
            throw RestoreError.invalidWAL(
                generation: generation, index: source.index, offset: UInt64(windowStart) + UInt64(header),
                reason: "frame \(write.frame + 1) holds page \(page) on disk, but page \(write.page) was downloaded")
        }
    }
}

/// Consecutive pages gathered into one buffer, written with one call when the run breaks or
/// the buffer is full. The buffer is kept and reused between writes.
private struct PageRun {
    let database: any FileHandle
    let pageSize: Int
    let capacity: Int
    private var bytes: [UInt8] = []
    private var firstPage: UInt32 = 0

    init(database: any FileHandle, pageSize: Int, capacity: Int) {
        self.database = database
        self.pageSize = pageSize
        self.capacity = max(capacity, pageSize)
        bytes.reserveCapacity(self.capacity)
    }

    mutating func add(_ page: ArraySlice<UInt8>, page number: UInt32) async throws {
        let pages = bytes.count / pageSize
        if !bytes.isEmpty && (UInt64(number) != UInt64(firstPage) + UInt64(pages) || bytes.count + pageSize > capacity)
        {
            try await flush()
        }
        if bytes.isEmpty { firstPage = number }
        bytes.append(contentsOf: page)
    }

    mutating func flush() async throws {
        guard !bytes.isEmpty else { return }
        try await database.write(bytes, at: Int64(firstPage - 1) * Int64(pageSize))
        bytes.removeAll(keepingCapacity: true)
    }
}
