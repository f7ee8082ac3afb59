import CLZ4
import Testing

@testable import Core

/// A byte source that hands out at most `chunkSize` bytes per read, whatever is asked, so
/// every buffer boundary inside the streaming coders gets exercised.
// @unchecked: read by one task at a time (ByteSource's contract).
final class ChunkedSource: ByteSource, @unchecked Sendable {
    private let bytes: [UInt8]
    private let chunkSize: Int
    private var offset = 0
    private(set) var closed = false

    init(_ bytes: [UInt8], chunkSize: Int) {
        self.bytes = bytes
        self.chunkSize = chunkSize
    }

    func read(upTo maxCount: Int) async throws -> [UInt8] {
        let end = min(bytes.count, offset + min(maxCount, chunkSize))
        defer { offset = end }
        return Array(bytes[offset..<end])
    }

    func close() async { closed = true }
}

@Suite("LZ4 frame")
struct LZ4FrameTests {
    /// Data that is partly compressible (repeated text) and partly not (random runs), so both
    /// compressed and stored blocks appear.
    static func sample(count: Int, seed: UInt64) -> [UInt8] {
        let random = SplitMix64(seed: seed)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        let text = Array("INSERT INTO t VALUES (42, 'sluice replicates sqlite');".utf8)
        while bytes.count < count {
            if random.next() % 2 == 0 {
                bytes.append(contentsOf: text)
            } else {
                for _ in 0..<Int(random.next() % 512) { bytes.append(UInt8(truncatingIfNeeded: random.next())) }
            }
        }
        return Array(bytes.prefix(count))
    }

    @Test("LZ4: round trip through compress and decompress", arguments: [0, 1, 7, 4096, 70_000, 3 * 1024 * 1024 + 17])
    func roundTrip(count: Int) throws {
        let input = Self.sample(count: count, seed: UInt64(count))
        let frame = LZ4FrameEncoder.compress(input)
        // Standard LZ4 frame magic 0x184D2204, little-endian.
        #expect(Array(frame.prefix(4)) == [0x04, 0x22, 0x4D, 0x18])
        #expect(try LZ4FrameDecoder.decompress(frame) == input)
    }

    @Test("LZ4: compressible data shrinks")
    func compresses() {
        let input = [UInt8](repeating: 0x61, count: 1 << 20)
        #expect(LZ4FrameEncoder.compress(input).count < input.count / 50)
    }

    @Test("LZ4: encoder fed in many small updates produces a frame that decodes to the whole")
    func incrementalEncoder() throws {
        let input = Self.sample(count: 200_000, seed: 3)
        let encoder = LZ4FrameEncoder()
        var frame: [UInt8] = []
        var offset = 0
        var step = 1
        while offset < input.count {
            let end = min(input.count, offset + step)
            frame += encoder.update(Array(input[offset..<end]))
            offset = end
            step = step * 3 % 9973 + 1
        }
        frame += encoder.finish()
        #expect(try LZ4FrameDecoder.decompress(frame) == input)
    }

    @Test("LZ4: decoder fed one byte at a time")
    func byteAtATimeDecoder() throws {
        let input = Self.sample(count: 20_000, seed: 4)
        let frame = LZ4FrameEncoder.compress(input)
        let decoder = LZ4FrameDecoder()
        var output: [UInt8] = []
        for byte in frame {
            #expect(!decoder.isFinished)
            output += try decoder.update([byte])
        }
        #expect(decoder.isFinished)
        #expect(output == input)
    }

    // Also a performance guard: before the encoder reused its scratch buffer, each update
    // zero-filled a whole block bound (~1 MiB) and these cases took minutes in a debug build.
    @Test(
        "LZ4: streaming sources round trip with tiny chunks",
        arguments: [
            (0, 1, 1), (1, 1, 1), (10_000, 3, 5), (300_000, 7, 13), (2 * 1024 * 1024 + 5, 4096, 1000),
        ] as [(Int, Int, Int)])
    func streamingRoundTrip(count: Int, readSize: Int, chunkSize: Int) async throws {
        let input = Self.sample(count: count, seed: UInt64(count) &+ 99)
        let compressing = LZ4CompressingSource(ChunkedSource(input, chunkSize: chunkSize), readSize: readSize)
        let frame = try await compressing.readToEnd(chunkSize: max(1, chunkSize - 1))
        #expect(try LZ4FrameDecoder.decompress(frame) == input)

        let decompressing = LZ4DecompressingSource(ChunkedSource(frame, chunkSize: chunkSize))
        #expect(try await decompressing.readToEnd(chunkSize: chunkSize + 2) == input)
        // After the end, reads keep returning empty.
        #expect(try await decompressing.read(upTo: 10).isEmpty)
    }

    @Test("LZ4: close is passed upstream")
    func closePropagates() async {
        let upstream = ChunkedSource([1, 2, 3], chunkSize: 1)
        let source = LZ4CompressingSource(upstream)
        await source.close()
        #expect(upstream.closed)
        let upstream2 = ChunkedSource([], chunkSize: 1)
        await LZ4DecompressingSource(upstream2).close()
        #expect(upstream2.closed)
    }

    @Test("LZ4: a truncated frame is reported as truncated")
    func truncated() async throws {
        let input = Self.sample(count: 100_000, seed: 5)
        let frame = LZ4FrameEncoder.compress(input)
        for cut in [1, 4, 5, 100, frame.count / 2, frame.count - 7] {
            let short = Array(frame.prefix(frame.count - cut))
            #expect(throws: LZ4Error.truncated) { try LZ4FrameDecoder.decompress(short) }
            let source = LZ4DecompressingSource(ChunkedSource(short, chunkSize: 333))
            await #expect(throws: LZ4Error.truncated) { try await source.readToEnd() }
        }
        #expect(throws: LZ4Error.truncated) { try LZ4FrameDecoder.decompress([]) }
    }

    @Test("LZ4: a corrupted byte in stored data fails the content checksum")
    func corruptedByte() async throws {
        // Random bytes do not compress, so the block is stored raw: only the content checksum
        // can notice a changed byte.
        let random = SplitMix64(seed: 6)
        let input = (0..<50_000).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        let frame = LZ4FrameEncoder.compress(input)
        var damaged = frame
        damaged[frame.count / 2] ^= 0x10
        #expect {
            try LZ4FrameDecoder.decompress(damaged)
        } throws: { error in
            guard case LZ4Error.corrupt(let message) = error else { return false }
            return message.lowercased().contains("checksum")
        }
        let source = LZ4DecompressingSource(ChunkedSource(damaged, chunkSize: 4096))
        await #expect {
            try await source.readToEnd()
        } throws: { error in
            if case LZ4Error.corrupt = error { return true }
            return false
        }
    }

    @Test("LZ4: a damaged frame header or trailing bytes are corrupt, never silently accepted")
    func corruptHeaderAndTrailer() throws {
        let frame = LZ4FrameEncoder.compress(Self.sample(count: 10_000, seed: 7))
        var badMagic = frame
        badMagic[0] ^= 0xFF
        #expect(throws: (any Error).self) { try LZ4FrameDecoder.decompress(badMagic) }
        #expect {
            try LZ4FrameDecoder.decompress(frame + [0x00])
        } throws: { error in
            if case LZ4Error.corrupt = error { return true }
            return false
        }
    }

    @Test("XXH32: the reference vectors, in one call and fed in pieces of every size")
    func xxh32Vectors() {
        // Published XXH32 values (seed 0 unless given).
        #expect(XXH32.hash([UInt8]()) == 0x02CC_5D05)
        #expect(XXH32.hash(Array("a".utf8)) == 0x550D_7456)
        #expect(XXH32.hash(Array("abc".utf8)) == 0x32D1_53FF)
        #expect(XXH32.hash(Array("Nobody inspects the spammish repetition".utf8)) == 0xE229_3B2F)
        #expect(XXH32.hash([UInt8](), seed: 1) == 0x0B2C_B792)
        let input = Self.sample(count: 1000, seed: 9)
        let whole = XXH32.hash(input)
        for piece in [1, 3, 15, 16, 17, 64, 999] {
            var state = XXH32()
            var offset = 0
            while offset < input.count {
                let end = min(input.count, offset + piece)
                state.update(Array(input[offset..<end]))
                offset = end
            }
            #expect(state.digest() == whole, "pieces of \(piece)")
        }
    }

    @Test("LZ4: our content checksum and header byte are what liblz4 verifies", arguments: [0, 1, 15, 16, 17, 300_000])
    func liblz4VerifiesOurChecksum(count: Int) throws {
        let input = Self.sample(count: count, seed: 10)
        let frame = LZ4FrameEncoder.compress(input)
        #expect(frame[4] & LZ4FrameEncoder.contentChecksumBit != 0)
        // Decode with liblz4's own checksum verification on (default options).
        var context: OpaquePointer?
        _ = LZ4F_createDecompressionContext(&context, UInt32(LZ4F_VERSION))
        defer { LZ4F_freeDecompressionContext(context) }
        var output = [UInt8](repeating: 0, count: max(count, 1))
        var outSize = output.count
        var inSize = frame.count
        let rc = frame.withUnsafeBytes { inp in
            output.withUnsafeMutableBytes { out in
                LZ4F_decompress(context, out.baseAddress, &outSize, inp.baseAddress, &inSize, nil)
            }
        }
        try #require(LZ4F_isError(rc) == 0, "liblz4 refused our frame: \(String(cString: LZ4F_getErrorName(rc)))")
        #expect(rc == 0, "liblz4 did not reach the frame's end")
        #expect(inSize == frame.count)
        #expect(Array(output.prefix(outSize)) == input)
    }

    @Test("LZ4: a wrong stored content checksum is refused; a frame without one is accepted")
    func storedChecksum() throws {
        let input = Self.sample(count: 20_000, seed: 11)
        var frame = LZ4FrameEncoder.compress(input)
        frame[frame.count - 1] ^= 0x01
        #expect(throws: LZ4Error.corrupt("ERROR_contentChecksum_invalid")) { try LZ4FrameDecoder.decompress(frame) }
        // liblz4's own frame without a content checksum (as other writers may produce).
        var preferences = LZ4F_preferences_t()
        preferences.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum
        let bound = LZ4F_compressFrameBound(input.count, &preferences)
        var plain = [UInt8](repeating: 0, count: bound)
        let written = plain.withUnsafeMutableBytes { out in
            input.withUnsafeBytes {
                LZ4F_compressFrame(out.baseAddress, bound, $0.baseAddress, input.count, &preferences)
            }
        }
        try #require(LZ4F_isError(written) == 0)
        #expect(try LZ4FrameDecoder.decompress(Array(plain.prefix(written))) == input)
    }

    @Test("LZ4: errors read as one line")
    func errorDescriptions() {
        #expect(LZ4Error.truncated.description.contains("truncated"))
        #expect(LZ4Error.corrupt("ERROR_contentChecksum_invalid").description.contains("ERROR_contentChecksum_invalid"))
        #expect(!LZ4Error.truncated.description.contains("\n"))
    }

    /// Found by the hostile-replica corpus: liblz4 1.9.4 keeps a failed frame's remaining
    /// content size through a context reset, so the next whole frame decoded with a reused
    /// context failed with ERROR_frameSize_wrong, and `sluice verify` blamed the wrong objects.
    @Test("LZ4: a frame that fails on its claimed content size does not poison the next decode")
    func failedContentSizeClaim() async throws {
        let content = Self.sample(count: 300_000, seed: 5)
        let frame = LZ4FrameEncoder.compress(content)
        var descriptor = [frame[4] | 0x08, frame[5]]
        for shift in stride(from: 0, to: 64, by: 8) {
            descriptor.append(UInt8(truncatingIfNeeded: UInt64(1 << 31) >> UInt64(shift)))
        }
        let claiming =
            Array(frame[0..<4]) + descriptor + [UInt8(truncatingIfNeeded: XXH32.hash(descriptor) >> 8)]
            + Array(frame[7...])
        for _ in 0..<6 {
            #expect(throws: LZ4Error.corrupt("ERROR_frameSize_wrong")) { try LZ4FrameDecoder.decompress(claiming) }
            #expect(try LZ4FrameDecoder.decompress(frame) == content)
        }
    }
}
