import Core
import Testing

@testable import SimHarness

@Suite("Longest snapshot gap")
struct SnapshotGapTests {
    let start = Timestamp(millisecondsSince1970: 1_000_000)

    func at(_ seconds: Int64) -> Timestamp { start + .seconds(seconds) }

    @Test("the longest stretch counts from the span's start, between writes, and to its end")
    func stretches() {
        #expect(
            SimWorld.longestGap(between: [at(10), at(20), at(100)], start: start, span: .seconds(120)) == .seconds(80))
        #expect(SimWorld.longestGap(between: [at(5), at(15)], start: start, span: .seconds(120)) == .seconds(105))
        #expect(SimWorld.longestGap(between: [at(50), at(60)], start: start, span: .seconds(70)) == .seconds(50))
    }

    @Test("no snapshot in the span is a gap of the whole span; writes at the start or after the end do not count")
    func outsideTheSpan() {
        #expect(SimWorld.longestGap(between: [], start: start, span: .seconds(300)) == .seconds(300))
        #expect(SimWorld.longestGap(between: [start, at(400)], start: start, span: .seconds(300)) == .seconds(300))
    }
}
