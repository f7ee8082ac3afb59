/// The oracle's fingerprint of the workload table's content: a wrapping sum of one hash per row,
/// so the workload can keep it up to date row by row while a restore recomputes it with one scan.
public struct ContentDigest: Hashable, Sendable, CustomStringConvertible {
    public private(set) var sum: UInt64 = 0
    public private(set) var rows: Int = 0

    public init() {}

    public mutating func insert(id: Int64, value: [UInt8]) {
        sum &+= Self.rowHash(id: id, value: value)
        rows += 1
    }

    public mutating func remove(id: Int64, value: [UInt8]) {
        sum &-= Self.rowHash(id: id, value: value)
        rows -= 1
    }

    public static func rowHash(id: Int64, value: [UInt8]) -> UInt64 {
        // Four independent lanes of eight bytes each, so the multiplies overlap instead of
        // waiting on one another: the oracle hashes every row the app writes and every row of
        // every restore, so this is on the simulator's hot path.
        var lane0: UInt64 = 0xcbf2_9ce4_8422_2325 ^ UInt64(truncatingIfNeeded: value.count)
        var lane1: UInt64 = 0x8422_2325_cbf2_9ce4
        var lane2: UInt64 = 0x2545_f491_4f6c_dd1d
        var lane3: UInt64 = 0x9e37_79b9_7f4a_7c15
        lane0 = mix(lane0, UInt64(bitPattern: id))
        value.withUnsafeBytes { bytes in
            let count = bytes.count
            var offset = 0
            while offset + 32 <= count {
                lane0 = mix(lane0, UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)))
                lane1 = mix(
                    lane1, UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self)))
                lane2 = mix(
                    lane2, UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 16, as: UInt64.self)))
                lane3 = mix(
                    lane3, UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 24, as: UInt64.self)))
                offset += 32
            }
            while offset + 8 <= count {
                lane0 = mix(lane0, UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)))
                offset += 8
            }
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while offset < count {
                tail |= UInt64(bytes[offset]) << shift
                shift += 8
                offset += 1
            }
            lane0 = mix(lane0, tail)
        }
        var hash = mix(mix(mix(lane0, lane1), lane2), lane3)
        // Finalise so that sums of similar rows do not cancel.
        hash ^= hash >> 33
        hash &*= 0xff51_afd7_ed55_8ccd
        hash ^= hash >> 33
        return hash
    }

    @inline(__always)
    private static func mix(_ hash: UInt64, _ word: UInt64) -> UInt64 {
        let mixed = (hash ^ word) &* 0x9e37_79b9_7f4a_7c15
        return mixed ^ (mixed >> 29)
    }

    public var description: String { "\(rows) rows, sum \(String(sum, radix: 16))" }
}
