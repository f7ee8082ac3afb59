/// Streaming XXH64: the 64-bit member of the XXH family, for fingerprints of whole files.
///
/// XXH32 (beside this file) is what the LZ4 frame format fixes; a database fingerprint that
/// decides whether a generation may continue needs more than 32 bits, so that an accidental
/// collision is out of the question (2^-64 per comparison). The reference algorithm, scalar, four
/// lanes; checked against published vectors in the tests.
public struct XXH64 {
    private static let prime1: UInt64 = 0x9E37_79B1_85EB_CA87
    private static let prime2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    private static let prime3: UInt64 = 0x1656_67B1_9E37_79F9
    private static let prime4: UInt64 = 0x85EB_CA77_C2B2_AE63
    private static let prime5: UInt64 = 0x27D4_EB2F_1656_67C5

    private let seed: UInt64
    private var v1: UInt64
    private var v2: UInt64
    private var v3: UInt64
    private var v4: UInt64
    private var totalLength: UInt64 = 0
    /// Input not yet consumed as a whole 32-byte stripe.
    private var buffer: [UInt8] = []

    public init(seed: UInt64 = 0) {
        self.seed = seed
        v1 = seed &+ Self.prime1 &+ Self.prime2
        v2 = seed &+ Self.prime2
        v3 = seed
        v4 = seed &- Self.prime1
        buffer.reserveCapacity(32)
    }

    /// The hash of `bytes` in one call.
    public static func hash(_ bytes: [UInt8], seed: UInt64 = 0) -> UInt64 {
        var state = XXH64(seed: seed)
        state.update(bytes)
        return state.digest()
    }

    @inline(__always)
    private static func rotate(_ value: UInt64, _ bits: UInt64) -> UInt64 { (value << bits) | (value >> (64 - bits)) }

    @inline(__always)
    private static func round(_ accumulator: UInt64, _ lane: UInt64) -> UInt64 {
        rotate(accumulator &+ lane &* prime2, 31) &* prime1
    }

    @inline(__always)
    private static func merge(_ hash: UInt64, _ lane: UInt64) -> UInt64 {
        (hash ^ round(0, lane)) &* prime1 &+ prime4
    }

    public mutating func update(_ input: [UInt8]) {
        input.withUnsafeBytes { update($0) }
    }

    public mutating func update(_ input: UnsafeRawBufferPointer) {
        totalLength += UInt64(input.count)
        var offset = 0
        if !buffer.isEmpty {
            let take = min(32 - buffer.count, input.count)
            buffer.append(contentsOf: input[0..<take])
            offset = take
            guard buffer.count == 32 else { return }
            buffer.withUnsafeBytes { consumeStripes($0, count: 32) }
            buffer.removeAll(keepingCapacity: true)
        }
        let whole = (input.count - offset) & ~31
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
            a = Self.round(a, UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt64.self)))
            b = Self.round(b, UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: position + 8, as: UInt64.self)))
            c = Self.round(c, UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: position + 16, as: UInt64.self)))
            d = Self.round(d, UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: position + 24, as: UInt64.self)))
            position += 32
        }
        v1 = a
        v2 = b
        v3 = c
        v4 = d
    }

    /// The hash of everything passed to `update` so far.
    public func digest() -> UInt64 {
        var hash: UInt64
        if totalLength >= 32 {
            hash = Self.rotate(v1, 1) &+ Self.rotate(v2, 7) &+ Self.rotate(v3, 12) &+ Self.rotate(v4, 18)
            hash = Self.merge(hash, v1)
            hash = Self.merge(hash, v2)
            hash = Self.merge(hash, v3)
            hash = Self.merge(hash, v4)
        } else {
            hash = seed &+ Self.prime5
        }
        hash = hash &+ totalLength
        buffer.withUnsafeBytes { tail in
            var position = 0
            while position + 8 <= tail.count {
                let lane = UInt64(littleEndian: tail.loadUnaligned(fromByteOffset: position, as: UInt64.self))
                hash ^= Self.round(0, lane)
                hash = Self.rotate(hash, 27) &* Self.prime1 &+ Self.prime4
                position += 8
            }
            if position + 4 <= tail.count {
                let lane = UInt64(UInt32(littleEndian: tail.loadUnaligned(fromByteOffset: position, as: UInt32.self)))
                hash ^= lane &* Self.prime1
                hash = Self.rotate(hash, 23) &* Self.prime2 &+ Self.prime3
                position += 4
            }
            while position < tail.count {
                hash ^= UInt64(tail[position]) &* Self.prime5
                hash = Self.rotate(hash, 11) &* Self.prime1
                position += 1
            }
        }
        hash ^= hash >> 33
        hash = hash &* Self.prime2
        hash ^= hash >> 29
        hash = hash &* Self.prime3
        hash ^= hash >> 32
        return hash
    }
}
