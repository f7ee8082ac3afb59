import Core

/// Damage to one stored object at rest: the bytes the store serves in place of the ones written,
/// or none at all. The store keeps the written bytes beside it (TigerBeetle's pristine copy), so
/// healing is dropping the damage, and a later write of the key replaces both.
public struct ObjectDamage: Sendable, Equatable, CustomStringConvertible {
    /// What happened to the object.
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        /// Trailing bytes dropped (a short write, a copy cut off).
        case truncated
        /// A run of bytes inside the object dropped, the rest closing up.
        case bytesDropped = "bytes-dropped"
        /// A few bytes changed in place (bit rot, a bad sector).
        case bytesChanged = "bytes-changed"
        /// The object is gone: listings leave it out and reads find nothing (HTTP 404).
        case lost
    }

    public var kind: Kind
    /// What a read returns while the damage lasts; nil for a lost object.
    public var served: [UInt8]?
    /// One line for the trace: which bytes changed.
    public var detail: String

    public init(kind: Kind, served: [UInt8]?, detail: String) {
        precondition((kind == .lost) == (served == nil), "only a lost object serves nothing")
        self.kind = kind
        self.served = served
        self.detail = detail
    }

    public var description: String { "\(kind.rawValue) (\(detail))" }

    /// Damages `bytes` by `kind`, drawing where and how much from `random`.
    public static func make(_ kind: Kind, of bytes: [UInt8], random: any RandomSource) -> ObjectDamage {
        let count = bytes.count
        func below(_ bound: Int) -> Int { Int(random.next() % UInt64(max(bound, 1))) }
        switch kind {
        case .lost:
            return ObjectDamage(kind: .lost, served: nil, detail: "\(count) bytes")
        case .truncated:
            // Half the cuts take only the last few bytes, where the frame's end mark and content
            // checksum live: the data decodes whole and only the frame's end says it is short.
            let dropped = random.next() & 1 == 0 ? 1 + below(min(8, count)) : 1 + below(count)
            return ObjectDamage(
                kind: .truncated, served: Array(bytes.prefix(count - min(dropped, count))),
                detail: "\(count) -> \(count - min(dropped, count)) bytes")
        case .bytesDropped:
            guard count >= 3 else { return make(.truncated, of: bytes, random: random) }
            let start = 1 + below(count - 2)
            let length = 1 + below(min(64, count - 1 - start))
            return ObjectDamage(
                kind: .bytesDropped, served: Array(bytes[..<start] + bytes[(start + length)...]),
                detail: "\(length) of \(count) bytes dropped at \(start)")
        case .bytesChanged:
            var served = bytes
            var changed: [Int] = []
            for _ in 0...below(4) where count > 0 {
                let at = below(count)
                // Each byte once: a second XOR at the same place could undo the first.
                guard !changed.contains(at) else { continue }
                // XOR with a non-zero byte: the byte always ends up different.
                served[at] ^= UInt8(1 + below(255))
                changed.append(at)
            }
            return ObjectDamage(
                kind: .bytesChanged, served: served,
                detail: "\(count) bytes, changed at \(changed.map(String.init).joined(separator: ","))")
        }
    }
}

/// The damage one reader met in the store: damaged objects it was served and lost objects its
/// listings left out or its reads found missing. The oracle asks for it after each restore.
public struct DamageSeen: Sendable, Equatable {
    /// A damaged object a read was served.
    public struct Read: Sendable, Equatable {
        public var key: String
        public var kind: ObjectDamage.Kind

        public init(key: String, kind: ObjectDamage.Kind) {
            self.key = key
            self.kind = kind
        }
    }

    /// Damaged (not lost) objects read, in the order first read, each once.
    public var damagedReads: [Read] = []
    /// Lost objects a listing skipped or a read missed, in the order first met, each once.
    public var lostKeys: [String] = []

    public init() {}

    /// Whether the reader met no damage at all.
    public var isEmpty: Bool { damagedReads.isEmpty && lostKeys.isEmpty }

    mutating func noteRead(_ key: String, _ kind: ObjectDamage.Kind) {
        if kind == .lost {
            noteLost(key)
        } else if !damagedReads.contains(where: { $0.key == key }) {
            damagedReads.append(Read(key: key, kind: kind))
        }
    }

    mutating func noteLost(_ key: String) {
        if !lostKeys.contains(key) { lostKeys.append(key) }
    }
}
