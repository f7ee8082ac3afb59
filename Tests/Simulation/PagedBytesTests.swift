import Core
import Testing

@testable import SimHarness

/// The page-granular file bytes behave exactly like one flat array, and layers share pages.
@Suite("PagedBytes")
struct PagedBytesTests {
    @Test("seeded writes, cuts, extensions and page copies match a flat array")
    func matchesFlatArray() {
        let random = SplitMix64(seed: 42)
        var paged = PagedBytes()
        var flat: [UInt8] = []
        var other = PagedBytes()
        var otherFlat: [UInt8] = []
        let size = PagedBytes.pageSize
        for step in 0..<2000 {
            switch random.next() % 5 {
            case 0, 1:
                let offset = Int(random.next() % UInt64(3 * size))
                let count = 1 + Int(random.next() % UInt64(2 * size))
                let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 &+ step) }
                bytes.withUnsafeBytes { paged.write($0, at: offset) }
                if flat.count < offset + count { flat += [UInt8](repeating: 0, count: offset + count - flat.count) }
                flat.replaceSubrange(offset..<(offset + count), with: bytes)
            case 2:
                let newCount = Int(random.next() % UInt64(4 * size))
                paged.resize(to: newCount)
                if newCount < flat.count {
                    flat.removeSubrange(newCount...)
                } else {
                    flat += [UInt8](repeating: 0, count: newCount - flat.count)
                }
            case 3:
                // Snapshot: the other layer takes this one (sharing every page).
                other = paged
                otherFlat = flat
            default:
                let start = Int(random.next() % UInt64(max(1, otherFlat.count)))
                let end = min(otherFlat.count, start + Int(random.next() % UInt64(2 * size)))
                guard start < end else { continue }
                paged.copy(from: other, range: start..<end)
                if flat.count < end { flat += [UInt8](repeating: 0, count: end - flat.count) }
                flat.replaceSubrange(start..<end, with: otherFlat[start..<end])
            }
            #expect(paged.count == flat.count)
            #expect(paged.array == flat, "step \(step)")
            #expect(other.array == otherFlat, "step \(step): a write to one layer leaked into the other")
        }
    }

    @Test("reads stop at the end and cross page boundaries")
    func reads() {
        let bytes = (0..<(PagedBytes.pageSize * 2 + 100)).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let paged = PagedBytes(bytes)
        var buffer = [UInt8](repeating: 0, count: 5000)
        let read = buffer.withUnsafeMutableBytes { paged.read(at: PagedBytes.pageSize * 2 - 10, into: $0) }
        #expect(read == 110)
        #expect(Array(buffer[0..<read]) == Array(bytes[(PagedBytes.pageSize * 2 - 10)...]))
        #expect(buffer.withUnsafeMutableBytes { paged.read(at: bytes.count, into: $0) } == 0)
    }
}
