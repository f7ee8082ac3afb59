import Core
import Testing

@testable import SimHarness

/// The disk's tables of descriptors and mappings behave like a dictionary of increasing numbers.
@Suite("NumberTable")
struct NumberTableTests {
    @Test("seeded inserts and removals match a dictionary, and entries come in number order")
    func matchesDictionary() {
        let random = SplitMix64(seed: 7)
        var table = NumberTable<String>()
        var reference: [Int: String] = [:]
        var next = 3
        for step in 0..<5000 {
            switch random.next() % 7 {
            case 0, 1, 2:
                // Numbers are handed out in increasing order, sometimes with gaps.
                next += 1 + Int(random.next() % 3)
                table.insert("entry \(step)", at: next)
                reference[next] = "entry \(step)"
            case 3, 4, 5:
                let candidates = reference.keys.sorted()
                let number =
                    candidates.isEmpty || random.next() % 5 == 0
                    ? Int(random.next() % UInt64(next + 2)) : candidates[Int(random.next() % UInt64(candidates.count))]
                #expect(table.remove(number) == reference.removeValue(forKey: number))
            default:
                if random.next() % 50 == 0 {
                    table.removeAll()
                    reference.removeAll()
                }
            }
            #expect(table.count == reference.count)
            let probe = Int(random.next() % UInt64(next + 2))
            #expect(table[probe] == reference[probe])
            if step % 100 == 0 {
                #expect(table.entries.map(\.number) == reference.keys.sorted())
                #expect(table.entries.map(\.entry) == reference.keys.sorted().map { reference[$0]! })
            }
        }
    }
}
