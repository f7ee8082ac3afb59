import Core

/// The source database and its WAL as bytes, read straight from the simulated disk (no fault, no
/// scheduling point), with what the oracle asks of them: how far the WAL's committed frames
/// reach, and whether the database file already holds every one of them.
struct SourceImage {
    var database: [UInt8]
    var wal: [UInt8]

    init(disk: SimDisk, databasePath: String) {
        database = disk.peekContents(of: databasePath) ?? []
        wal = disk.peekContents(of: databasePath + "-wal") ?? []
    }

    /// The WAL's header bytes, when it has a valid one.
    var walHeader: WALHeader? {
        wal.count >= WALFormat.headerSize ? WALHeader(wal[0..<WALFormat.headerSize]) : nil
    }

    /// The committed frames of the WAL's current lifetime, in order, and the end of the last one
    /// (the header's end when there is none): frames whose salts match the header and whose
    /// checksums continue the chain, up to the last commit frame among them.
    func committedFrames() -> (pages: [(number: UInt32, range: Range<Int>)], end: Int, databasePages: UInt32?) {
        guard let header = walHeader else { return ([], 0, nil) }
        var validator = WALFrameValidator(header: header)
        let frameSize = validator.frameSize
        var pending: [(number: UInt32, range: Range<Int>)] = []
        var committed: [(number: UInt32, range: Range<Int>)] = []
        var end = WALFormat.headerSize
        var databasePages: UInt32?
        var offset = WALFormat.headerSize
        while offset + frameSize <= wal.count, let frame = validator.accept(wal[offset..<(offset + frameSize)]) {
            pending.append((frame.pageNumber, (offset + WALFormat.frameHeaderSize)..<(offset + frameSize)))
            offset += frameSize
            if frame.isCommit {
                committed += pending
                pending.removeAll()
                end = offset
                databasePages = frame.commitSize
            }
        }
        return (committed, end, databasePages)
    }

    /// Whether the database file holds the state of the WAL's last commit: every committed page's
    /// latest version is in the file, and the file has the committed number of pages. True for a
    /// WAL without committed frames. (SQLite's own test, `nBackfill == mxFrame`, lives in shared
    /// memory; comparing bytes asks the same of what a restart would find.)
    func walFullyInDatabase() -> Bool {
        let (frames, _, databasePages) = committedFrames()
        guard let header = walHeader, let databasePages else { return true }
        let pageSize = header.pageSize
        guard database.count == Int(databasePages) * pageSize else { return false }
        var latest: [UInt32: Range<Int>] = [:]
        for frame in frames { latest[frame.number] = frame.range }
        for (number, range) in latest {
            let start = (Int(number) - 1) * pageSize
            guard number <= databasePages else { continue }
            guard database[start..<(start + pageSize)] == wal[range] else { return false }
        }
        return true
    }

    /// What changed from `earlier` to `self` that a replicator starting now could not see past, or
    /// nil when the source is as `earlier` left it for a replicator that had copied the WAL up to
    /// the lifetime `shadowHeader` names:
    /// - the WAL is the same lifetime, its committed frames still there (new ones may follow), and
    ///   the shadow had reached that lifetime: plain continuation;
    /// - or the earlier state came from a clean stop, the database file is byte for byte the same,
    ///   and the WAL then held nothing the file lacked: whatever WAL there is now was written since.
    func change(since earlier: SourceImage, shadowHeader: [UInt8]?, cleanStop: Bool) -> String? {
        let earlierEnd = earlier.committedFrames().end
        if let header = earlier.walHeader, shadowHeader == header.bytes, wal.count >= earlierEnd,
            wal[0..<earlierEnd] == earlier.wal[0..<earlierEnd]
        {
            return nil
        }
        let sameDatabase = database == earlier.database
        if cleanStop, sameDatabase, earlier.walFullyInDatabase() { return nil }
        var changes: [String] = []
        if !sameDatabase {
            changes.append("the database file changed (\(earlier.database.count) to \(database.count) bytes)")
        }
        if walHeader?.bytes != earlier.walHeader?.bytes {
            changes.append(
                "the WAL \(walHeader == nil ? "lost its header" : "has a new header") (\(earlier.wal.count) to \(wal.count) bytes)"
            )
        } else if wal.count < earlierEnd || wal[0..<earlierEnd] != earlier.wal[0..<earlierEnd] {
            changes.append("the WAL lost committed frames")
        }
        if changes.isEmpty {
            changes.append(
                "the shadow had not reached the WAL's lifetime and the WAL held frames the database file lacked")
        }
        return changes.joined(separator: "; ")
    }
}
