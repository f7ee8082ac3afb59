/// Checks a snapshot's decompressed bytes as they stream past: an SQLite database file (the
/// 16-byte magic), a valid page size in its header, and a length that is a whole number of
/// those pages. Holds the 100-byte header only.
public struct SnapshotCheck: Sendable {
    /// SQLite's database header is 100 bytes; the page size is at 16 (big-endian, 1 = 65536).
    static let headerSize = 100
    private static let magic = Array("SQLite format 3\0".utf8)

    private var header: [UInt8] = []
    /// Decompressed bytes seen.
    public private(set) var length: UInt64 = 0

    public init() {}

    public mutating func consume(_ bytes: ArraySlice<UInt8>) {
        length += UInt64(bytes.count)
        if header.count < Self.headerSize { header.append(contentsOf: bytes.prefix(Self.headerSize - header.count)) }
    }

    /// The page size the header states, when it is valid.
    public var pageSize: Int? {
        guard header.count >= 18 else { return nil }
        let raw = Int(header[16]) << 8 | Int(header[17])
        let size = raw == 1 ? 65536 : raw
        guard size >= 512, size <= 65536, size & (size - 1) == 0 else { return nil }
        return size
    }

    /// What is wrong with the snapshot, or nil when it is whole.
    public var problem: String? {
        guard header.count == Self.headerSize, header.starts(with: Self.magic) else {
            return "not an SQLite database (\(length) bytes, no SQLite header)"
        }
        guard let pageSize else { return "the SQLite header states an invalid page size" }
        guard length % UInt64(pageSize) == 0 else {
            return "\(length) bytes is not a whole number of the \(pageSize)-byte pages its header states"
        }
        return nil
    }
}
