import Testing

@testable import Core

@Suite("WALIndexSeal and LZ4 skippable frames")
struct WALIndexSealTests {
    private let generation = Generation(value: 0x0190_0000_0000_0001)
    private let data: [UInt8] = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 * 7) }

    private func position(_ index: UInt64, _ offset: UInt64 = 0) -> Position {
        Position(generation: generation, index: index, offset: offset)
    }

    @Test("a sealed segment decodes to its WAL bytes, fed whole or a byte at a time, and gives back its seal")
    func roundTrip() throws {
        let seal = WALIndexSeal(previousIndex: 4, previousEnd: 123_456)
        let object = seal.frame.bytes + LZ4FrameEncoder.compress(data)
        #expect(seal.frame.bytes.count == 40)
        #expect(try LZ4FrameDecoder.decompress(object) == data)

        let decoder = LZ4FrameDecoder()
        var output: [UInt8] = []
        for byte in object { output += try decoder.update([byte]) }
        #expect(output == data && decoder.isFinished)
        #expect(try WALIndexSeal.read(decoder.skippableFrames, segmentAt: position(5)) == seal)
    }

    @Test("a plain LZ4 frame has no skippable frames and no seal")
    func plainFrame() throws {
        let decoder = LZ4FrameDecoder()
        #expect(try decoder.update(LZ4FrameEncoder.compress(data)) == data)
        #expect(decoder.skippableFrames.isEmpty)
        #expect(try WALIndexSeal.read([], segmentAt: position(5)) == nil)
    }

    @Test(
        "a stream that ends inside a seal, or whose frame claims gigabytes, is truncated; the claim keeps a bounded payload"
    )
    func truncatedInsideFrame() async throws {
        let sealBytes = WALIndexSeal(previousIndex: 1, previousEnd: 32).frame.bytes
        for cut in [2, 6, 20] {
            #expect(throws: LZ4Error.truncated) { try LZ4FrameDecoder.decompress(Array(sealBytes.prefix(cut))) }
        }
        let huge =
            LZ4SkippableFrame(kind: 0x3, payload: []).bytes.prefix(4) + [0xFF, 0xFF, 0xFF, 0x7F]
            + Array(repeating: 1, count: 10_000)
        let decoder = LZ4FrameDecoder()
        #expect(try decoder.update(Array(huge)).isEmpty)
        #expect(!decoder.isFinished)
        let source = LZ4DecompressingSource(BytesSource(Array(huge)))
        await #expect(throws: LZ4Error.truncated) { _ = try await source.readToEnd() }
    }

    @Test("a seal is refused when damaged, of another kind, on the wrong segment or naming the wrong index")
    func refusals() throws {
        let frame = WALIndexSeal(previousIndex: 4, previousEnd: 99).frame
        for at in 0..<frame.payload.count {
            var damaged = frame
            damaged.payload[at] ^= 0x01
            #expect(throws: WALIndexSeal.SealError.self, "payload byte \(at)") {
                try WALIndexSeal.read([damaged], segmentAt: position(5))
            }
        }
        var otherKind = frame
        otherKind.kind = 0x2
        #expect(throws: WALIndexSeal.SealError.self) { try WALIndexSeal.read([otherKind], segmentAt: position(5)) }
        #expect(throws: WALIndexSeal.SealError.self) { try WALIndexSeal.read([frame, frame], segmentAt: position(5)) }
        #expect(throws: WALIndexSeal.SealError.self) { try WALIndexSeal.read([frame], segmentAt: position(5, 4096)) }
        #expect(throws: WALIndexSeal.SealError.self) { try WALIndexSeal.read([frame], segmentAt: position(6)) }
        #expect(throws: WALIndexSeal.SealError.self) { try WALIndexSeal.read([frame], segmentAt: position(0)) }
    }
}
