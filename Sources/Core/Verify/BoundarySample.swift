/// A uniform random sample of at most `capacity` transaction boundaries from a stream of any
/// length (reservoir sampling, algorithm R), so `verify --sample N` picks restore targets
/// without keeping every commit of the replica in memory.
public struct BoundarySample: Sendable {
    public let capacity: Int
    /// The sample, in the order boundaries were kept (not sorted).
    public private(set) var positions: [Position] = []
    /// Boundaries offered so far.
    public private(set) var seenCount: UInt64 = 0

    public init(capacity: Int) {
        precondition(capacity >= 0, "a sample cannot hold fewer than zero boundaries")
        self.capacity = capacity
    }

    /// Offers one boundary; `random` decides whether it replaces a kept one.
    public mutating func offer(_ position: Position, random: any RandomSource) {
        guard capacity > 0 else { return }
        seenCount += 1
        if positions.count < capacity {
            positions.append(position)
            return
        }
        let slot = random.next() % seenCount
        if slot < UInt64(capacity) { positions[Int(slot)] = position }
    }

    /// The sample in history order (generation, index, offset).
    public var sorted: [Position] {
        positions.sorted { ($0.generation, $0.index, $0.offset) < ($1.generation, $1.index, $1.offset) }
    }
}
