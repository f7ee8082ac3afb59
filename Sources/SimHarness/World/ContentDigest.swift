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
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        var idBits = UInt64(bitPattern: id)
        for _ in 0..<8 {
            hash = (hash ^ (idBits & 0xff)) &* 0x0000_0100_0000_01b3
            idBits >>= 8
        }
        for byte in value { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        hash = (hash ^ UInt64(value.count)) &* 0x0000_0100_0000_01b3
        // Finalise so that sums of similar rows do not cancel.
        hash ^= hash >> 33
        hash &*= 0xff51_afd7_ed55_8ccd
        hash ^= hash >> 33
        return hash
    }

    public var description: String { "\(rows) rows, sum \(String(sum, radix: 16))" }
}
