import Testing

@testable import Core

/// A random source that returns fixed values, to pin the random low bits of a generation.
final class FixedRandom: RandomSource, Sendable {
    let value: UInt64
    init(_ value: UInt64) { self.value = value }
    func next() -> UInt64 { value }
}

@Suite("Generation")
struct GenerationTests {
    @Test("Generation: make: later times sort later whatever the random bits")
    func makeSortsByTime() {
        let t0 = Timestamp(millisecondsSince1970: 1_700_000_000_000)
        // The earlier generation gets the largest random bits, the later one the smallest.
        let earlier = Generation.make(at: t0, random: FixedRandom(.max))
        let later = Generation.make(at: t0 + .milliseconds(1), random: FixedRandom(0))
        #expect(earlier < later)
        #expect(earlier.description < later.description)

        let random = SplitMix64(seed: 631)
        var time = t0
        var previous = Generation.make(at: time, random: random)
        for _ in 0..<1000 {
            time = time + .milliseconds(Int64(1 + random.next() % 100_000))
            let next = Generation.make(at: time, random: random)
            #expect(previous < next)
            #expect(previous.description < next.description)
            previous = next
        }
    }

    @Test("Generation: make: the creation time is recoverable from the name")
    func creationTime() {
        let random = SplitMix64(seed: 7)
        for _ in 0..<200 {
            let time = Timestamp(millisecondsSince1970: Int64(random.next() % 4_000_000_000_000))
            let generation = Generation.make(at: time, random: random)
            #expect(generation.creationTime == time)
            #expect(Generation(generation.description) == generation)
        }
    }

    @Test("Generation: make: same millisecond, different random bits, different names")
    func randomLowBits() {
        let time = Timestamp(millisecondsSince1970: 1_700_000_000_000)
        let a = Generation.make(at: time, random: FixedRandom(1))
        let b = Generation.make(at: time, random: FixedRandom(2))
        #expect(a != b)
        #expect(a.creationTime == b.creationTime)
    }

    @Test("Generation: description is 16 lowercase hex digits, zero-padded")
    func description() {
        #expect(Generation(value: 1).description == "0000000000000001")
        #expect(Generation(value: 0xABCDEF).description == "0000000000abcdef")
        #expect(Generation(value: .max).description == "ffffffffffffffff")
    }

    @Test("Generation: parse accepts Litestream's random names")
    func parsesLitestreamNames() {
        #expect(Generation("29cf4bced74e92ab")?.value == 0x29CF_4BCE_D74E_92AB)
        #expect(Generation("5dfeb4aa03232553")?.description == "5dfeb4aa03232553")
        #expect(Generation("0000000000000000")?.value == 0)
    }

    static let rejectedNames: [String] = [
        "", "29cf4bced74e92a", "29cf4bced74e92abc", "29CF4BCED74E92AB", "29cf4bced74e92aB", "29cf4bced74e92ag",
        " 9cf4bced74e92ab", "+9cf4bced74e92ab", "-9cf4bced74e92ab", "0x29cf4bced74e92", "29cf4bced74e92a\n",
    ]

    @Test("Generation: parse rejects uppercase, wrong lengths and non-hex", arguments: Self.rejectedNames)
    func rejects(name: String) {
        #expect(Generation(name) == nil)
    }
}
