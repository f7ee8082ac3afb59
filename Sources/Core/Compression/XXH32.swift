/// Streaming XXH32, the checksum of the LZ4 frame format (content checksum and header byte).
///
/// Why our own: Debian's liblz4 1.9.4 is built so that GCC auto-vectorises its XXH32 into
/// SSE2 code emulating 32-bit multiplies, which profiling showed slower than the compression
/// itself (a quarter of the simulator's CPU time; the same cost in production on every
/// uploaded and restored byte). This scalar version with four independent lanes is the
/// reference algorithm, checked against liblz4's own verification in the tests.
public struct XXH32 {
    private static let prime1: UInt32 = 0x9E37_79B1
    private static let prime2: UInt32 = 0x85EB_CA77
    private static let prime3: UInt32 = 0xC2B2_AE3D
    private static let prime4: UInt32 = 0x27D4_EB2F
    private static let prime5: UInt32 = 0x1656_67B1

    private let seed: UInt32
    private var v1: UInt32
    private var v2: UInt32
    private var v3: UInt32
    private var v4: UInt32
    private var totalLength: UInt64 = 0
    /// Input not yet consumed as a whole 16-byte stripe.
    private var buffer: [UInt8] = []

    public init(seed: UInt32 = 0) {
        self.seed = seed
        v1 = seed &+ Self.prime1 &+ Self.prime2
        v2 = seed &+ Self.prime2
        v3 = seed
        v4 = seed &- Self.prime1
        buffer.reserveCapacity(16)
    }

    /// The checksum of `bytes` in one call.
    public static func hash<C: Collection>(_ bytes: C, seed: UInt32 = 0) -> UInt32 where C.Element == UInt8 {
        var state = XXH32(seed: seed)
        state.update(Array(bytes))
        return state.digest()
    }

    @inline(__always)
    private static func round(_ accumulator: UInt32, _ lane: UInt32) -> UInt32 {
        var acc = accumulator &+ lane &* prime2
        acc = (acc << 13) | (acc >> 19)
        return acc &* prime1
    }

    public mutating func update(_ input: [UInt8]) {
        input.withUnsafeBytes { update(UnsafeRawBufferPointer($0)) }
    }

    public mutating func update(_ input: UnsafeRawBufferPointer) {
        totalLength += UInt64(input.count)
        var offset = 0
        if !buffer.isEmpty {
            let take = min(16 - buffer.count, input.count)
            buffer.append(contentsOf: input[0..<take])
            offset = take
            guard buffer.count == 16 else { return }
            buffer.withUnsafeBytes { consumeStripes($0, count: 16) }
            buffer.removeAll(keepingCapacity: true)
        }
        let whole = (input.count - offset) & ~15
        if whole > 0 {
            consumeStripes(UnsafeRawBufferPointer(rebasing: input[offset..<(offset + whole)]), count: whole)
            offset += whole
        }
        if offset < input.count { buffer.append(contentsOf: input[offset...]) }
    }

    private mutating func consumeStripes(_ bytes: UnsafeRawBufferPointer, count: Int) {
        var a = v1
        var b = v2
        var c = v3
        var d = v4
        var position = 0
        while position < count {
            a = Self.round(a, UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt32.self)))
            b = Self.round(b, UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: position + 4, as: UInt32.self)))
            c = Self.round(c, UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: position + 8, as: UInt32.self)))
            d = Self.round(d, UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: position + 12, as: UInt32.self)))
            position += 16
        }
        v1 = a
        v2 = b
        v3 = c
        v4 = d
    }

    /// The checksum of everything passed to `update` so far.
    public func digest() -> UInt32 {
        var hash: UInt32
        if totalLength >= 16 {
            hash =
                ((v1 << 1) | (v1 >> 31)) &+ ((v2 << 7) | (v2 >> 25)) &+ ((v3 << 12) | (v3 >> 20))
                &+ ((v4 << 18) | (v4 >> 14))
        } else {
            hash = seed &+ Self.prime5
        }
        hash = hash &+ UInt32(truncatingIfNeeded: totalLength)
        buffer.withUnsafeBytes { tail in
            var position = 0
            while position + 4 <= tail.count {
                hash =
                    hash &+ UInt32(littleEndian: tail.loadUnaligned(fromByteOffset: position, as: UInt32.self))
                    &* Self.prime3
                hash = ((hash << 17) | (hash >> 15)) &* Self.prime4
                position += 4
            }
            while position < tail.count {
                hash = hash &+ UInt32(tail[position]) &* Self.prime5
                hash = ((hash << 11) | (hash >> 21)) &* Self.prime1
                position += 1
            }
        }
        hash ^= hash >> 15
        hash = hash &* Self.prime2
        hash ^= hash >> 13
        hash = hash &* Self.prime3
        hash ^= hash >> 16
        return hash
    }
}
