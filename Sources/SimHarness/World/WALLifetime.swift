import Core

/// One lifetime of the source WAL as it stood when it ended: a new header written over its
/// header, a truncate that cut its committed frames, or an unlink. `bytes` share the disk's
/// pages (copy on write), so keeping one costs a reference per page, not a copy.
struct WALLifetime {
    var header: WALHeader
    var bytes: PagedBytes
    /// The header of the lifetime that followed, once one was written.
    var successor: [UInt8]?

    /// The committed prefix: the header and every frame up to the last commit frame of the
    /// valid run that starts after it (salts equal the header's, the checksum chain holds),
    /// exactly as the replicator validates what it copies and SQLite's recovery what it keeps.
    func committedLength() -> Int {
        let frameSize = header.frameSize
        var validator = WALFrameValidator(header: header)
        var frame = [UInt8](repeating: 0, count: frameSize)
        var offset = WALFormat.headerSize
        var committed = offset
        while offset + frameSize <= bytes.count {
            let valid = frame.withUnsafeMutableBytes { buffer -> Bool in
                _ = bytes.read(at: offset, into: buffer)
                guard let frameHeader = validator.accept(UnsafeRawBufferPointer(buffer)) else { return false }
                if frameHeader.isCommit { committed = offset + frameSize }
                return true
            }
            guard valid else { break }
            offset += frameSize
        }
        return committed
    }

    /// The WAL header `bytes` start with, if they hold a valid one.
    static func header(of bytes: PagedBytes) -> WALHeader? {
        guard bytes.count >= WALFormat.headerSize else { return nil }
        var raw = [UInt8](repeating: 0, count: WALFormat.headerSize)
        _ = raw.withUnsafeMutableBytes { bytes.read(at: 0, into: $0) }
        return WALHeader(raw)
    }
}
