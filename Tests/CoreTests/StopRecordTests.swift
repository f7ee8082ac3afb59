import Core
import Foundation
import Testing

@Suite("StopRecord and XXH64")
struct StopRecordTests {
    @Test("XXH64 matches the reference vectors, in one call and streamed in pieces")
    func xxh64Vectors() {
        let long = (0..<3).flatMap { _ in (0..<256).map { UInt8($0) } }
        let vectors: [([UInt8], UInt64, UInt64)] = [
            ([], 0, 0xEF46_DB37_51D8_E999),
            (Array("a".utf8), 0, 0xD24E_C4F1_A98C_6E5B),
            (Array("abc".utf8), 0, 0x44BC_2CF5_AD77_0999),
            (Array("abc".utf8), 7, 0x9E75_5206_1566_76D7),
            ([UInt8](repeating: UInt8(ascii: "x"), count: 37), 0, 0x1E58_0C47_5BDC_5381),
            (long, 0, 0x8E03_C838_C596_036F),
        ]
        for (input, seed, expected) in vectors {
            #expect(XXH64.hash(input, seed: seed) == expected, "\(input.count) bytes, seed \(seed)")
            var streamed = XXH64(seed: seed)
            var offset = 0
            var piece = 1
            while offset < input.count {
                let end = min(input.count, offset + piece)
                streamed.update(Array(input[offset..<end]))
                offset = end
                piece = piece * 3 + 1
            }
            #expect(streamed.digest() == expected, "streamed \(input.count) bytes")
        }
    }

    @Test("a record survives its encoding; anything else parses as no record")
    func encoding() throws {
        let generation = try #require(Generation("0190a1b2c3d4e5f6"))
        let record = StopRecord(
            position: Position(generation: generation, index: 7, offset: 4152),
            databaseSize: 1 << 20, databaseDigest: 0x0123_4567_89ab_cdef)
        #expect(StopRecord(encoded: record.encoded) == record)
        let text = String(decoding: record.encoded, as: UTF8.self)
        #expect(StopRecord(encoded: Array(text.dropLast(8).utf8)) == nil, "a torn record")
        #expect(StopRecord(encoded: Array(text.replacingOccurrences(of: "record 1", with: "record 2").utf8)) == nil)
        #expect(StopRecord(encoded: Array(text.replacingOccurrences(of: "index 7", with: "index -7").utf8)) == nil)
        #expect(StopRecord(encoded: []) == nil)
    }
}
