// SQLite WAL file format, as Sluice relies on it.
//
// Header (32 bytes, every field big-endian):
//   0  magic: 0x377f0682 (checksums over little-endian words) or 0x377f0683 (big-endian words)
//   4  format version 3007000
//   8  page size
//  12  checkpoint sequence number
//  16  salt-1, 20 salt-2 (copied into every frame; a restart changes them)
//  24  checksum-1, 28 checksum-2 over header bytes 0..<24
//
// Frame header (24 bytes, big-endian), followed by one page:
//   0  page number
//   4  database size in pages after commit; non-zero only on a transaction's last frame
//   8  salt-1, 12 salt-2 (must equal the header's)
//  16  checksum-1, 20 checksum-2: the running checksum over every previous frame, this frame
//      header's first 8 bytes and the page
//
// A frame is valid only if its salts match and its checksum continues the chain; the first
// invalid frame marks the end of the WAL's live content (stale frames after a restart keep their
// old salts). Validity is never an error: it is where the data stops.

/// Sizes fixed by the format.
public enum WALFormat {
    public static let headerSize = 32
    public static let frameHeaderSize = 24
    public static let magicLittleEndian: UInt32 = 0x377F_0682
    public static let magicBigEndian: UInt32 = 0x377F_0683
    public static let formatVersion: UInt32 = 3_007_000

    /// Bytes one frame takes for a page size.
    public static func frameSize(pageSize: Int) -> Int { frameHeaderSize + pageSize }

    /// The largest frame boundary at or below `offset` (0 below the header).
    public static func alignToFrame(_ offset: Int64, pageSize: Int) -> Int64 {
        guard offset >= Int64(headerSize) else { return 0 }
        let frame = Int64(frameSize(pageSize: pageSize))
        return Int64(headerSize) + (offset - Int64(headerSize)) / frame * frame
    }

    /// WAL bytes for `frames` frames plus the header.
    public static func walSize(pageSize: Int, frames: Int) -> Int64 {
        Int64(headerSize) + Int64(frames) * Int64(frameSize(pageSize: pageSize))
    }
}

/// Reads a big-endian u32 from `bytes` at `offset`.
@inline(__always)
func readBigEndian32(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt32 {
    UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8
        | UInt32(bytes[offset + 3])
}

@inline(__always)
func writeBigEndian32(_ value: UInt32, into bytes: inout [UInt8], at offset: Int) {
    bytes[offset] = UInt8(truncatingIfNeeded: value >> 24)
    bytes[offset + 1] = UInt8(truncatingIfNeeded: value >> 16)
    bytes[offset + 2] = UInt8(truncatingIfNeeded: value >> 8)
    bytes[offset + 3] = UInt8(truncatingIfNeeded: value)
}
