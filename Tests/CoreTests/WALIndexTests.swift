import Testing

@testable import Core

@Suite("wal-index header and hash blocks, WAL frame encoding")
struct WALIndexTests {
    @Test("a header survives encoding and needs both copies equal and its checksum whole")
    func headerRoundTrip() throws {
        let header = WALIndexHeader(
            change: 7, bigEndianChecksums: false, pageSize: 65536, maxFrame: 4100,
            pageCount: 99,
            frameChecksum: WALChecksum(s0: 1, s1: 2), salt: [1, 2, 3, 4, 5, 6, 7, 8])
        let copy = header.encoded()
        #expect(WALIndexHeader(shm: copy + copy) == header)
        var damaged = copy
        damaged[20] ^= 1
        #expect(WALIndexHeader(shm: damaged + damaged) == nil, "a changed field must fail the checksum")
        var other = copy
        other[8] ^= 1
        #expect(WALIndexHeader(shm: copy + other) == nil, "copies that differ are a header being written")
    }

    @Test("frame numbers map to blocks as SQLite's: 4062 in the first, 4096 after")
    func blockGeometry() {
        #expect(WALIndexBlock.block(ofFrame: 1) == 0)
        #expect(WALIndexBlock.block(ofFrame: 4062) == 0)
        #expect(WALIndexBlock.block(ofFrame: 4063) == 1)
        #expect(WALIndexBlock.zero(ofBlock: 1) == 4062)
        #expect(WALIndexBlock.block(ofFrame: 4062 + 4096) == 1)
        #expect(WALIndexBlock.block(ofFrame: 4062 + 4097) == 2)
    }

    @Test("appended frames are found, the latest at or before a snapshot's maxFrame; truncation forgets later ones")
    func blockLookup() throws {
        var block = WALIndexBlock(block: 0, bytes: [])
        let pages: [UInt32] = [3, 1, 3, 8195, 3] // 8195 = 3 mod 8192: it probes past page 3's slot
        for (offset, page) in pages.enumerated() { try block.append(frame: UInt32(offset + 1), page: page) }
        #expect(block.lookup(page: 3, maxFrame: 5) == 5)
        #expect(block.lookup(page: 3, maxFrame: 4) == 3)
        #expect(block.lookup(page: 8195, maxFrame: 5) == 4)
        #expect(block.lookup(page: 1, maxFrame: 1) == nil)
        #expect(block.lookup(page: 2, maxFrame: 5) == nil)
        #expect(
            block.bytes[0..<WALIndexBlock.headerRegion].allSatisfy { $0 == 0 },
            "block 0's header region is not the block's")
        block.truncate(keepingFrames: 2)
        #expect(block.lookup(page: 3, maxFrame: 5) == 1)
        #expect(block.lookup(page: 8195, maxFrame: 5) == nil)
        // Appending after a truncation reuses the freed slots.
        try block.append(frame: 3, page: 9)
        #expect(block.lookup(page: 9, maxFrame: 3) == 3)
    }

    @Test("encoded frames form a WAL the restore's verifier accepts, ending on the commit")
    func encoderMakesValidWAL() throws {
        let salt: [UInt8] = [0, 0, 0, 9, 0xAB, 0xCD, 0xEF, 0x01]
        var (bytes, encoder) = WALFrameEncoder.start(pageSize: 1024, checkpointSequence: 3, salt: salt)
        let header = try #require(WALHeader(bytes))
        #expect(header.checkpointSequence == 3)
        for page in 1...4 as ClosedRange<UInt32> {
            let data = [UInt8](repeating: UInt8(page), count: 1024)
            encoder.append(
                page: page, commitSize: page == 4 ? 4 : 0, data: data[...],
                to: &bytes)
        }
        var verifier = WALStreamVerifier()
        verifier.consume(bytes[...])
        #expect(verifier.outcome == .valid(frameCount: 4))
        // A continuation from the saved state keeps the chain going.
        var continued = WALFrameEncoder(
            pageSize: 1024, bigEndianChecksums: encoder.bigEndianChecksums, salt: salt,
            checksum: encoder.checksum)
        var more: [UInt8] = []
        continued.append(page: 2, commitSize: 4, data: [UInt8](repeating: 7, count: 1024)[...], to: &more)
        verifier.consume(more[...])
        #expect(verifier.outcome == .valid(frameCount: 5))
    }
}
