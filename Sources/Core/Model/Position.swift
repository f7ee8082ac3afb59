/// A place in replicated history: a generation, a WAL index (one lifetime of the `-wal` file
/// between restarts) and a byte offset into that index's WAL bytes (0 is before the 32-byte
/// header; a replicated position always sits on a frame boundary after a commit frame).
///
/// Positions order within one generation only; across generations there is no order.
public struct Position: Sendable, Hashable, CustomStringConvertible {
    public var generation: Generation
    public var index: UInt64
    public var offset: UInt64

    public init(generation: Generation, index: UInt64, offset: UInt64) {
        self.generation = generation
        self.index = index
        self.offset = offset
    }

    /// Whether `self` is at or after `other` in the same generation.
    public func isAtOrAfter(_ other: Position) -> Bool {
        generation == other.generation && (index, offset) >= (other.index, other.offset)
    }

    /// `generation/index:offset` with 16-digit hex index and offset.
    public var description: String {
        "\(generation)/\(Hex.format(index, width: 16)):\(Hex.format(offset, width: 16))"
    }
}

/// The largest WAL index a generation may reach before a new generation is forced; keeps every
/// index inside the 8-hex width Litestream's v0.3 layout can spell.
public let maximumWALIndex: UInt64 = 0x7FFF_FFFF
