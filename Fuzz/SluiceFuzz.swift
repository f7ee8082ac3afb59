// libFuzzer target over what Sluice parses from a replica it does not trust: object names, LZ4
// frames (with their leading skippable frames and seals), WAL streams and snapshot headers.
// Built and run by Scripts/fuzz (not by SwiftPM): it compiles the Core files these need with
// `swiftc -sanitize=fuzzer,address`. The first input byte picks the target; the second, where
// a stream is split into chunks, picks the chunk size, so splits are fuzzed too.

@_cdecl("LLVMFuzzerTestOneInput")
public func sluiceFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 2 else { return 0 }
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    let chunk = Int(input[1]) * 7 + 1
    let body = Array(input[2...])
    switch input[0] % 4 {
    case 0: fuzzNames(body)
    case 1: fuzzLZ4(body, chunk: chunk)
    case 2: fuzzWAL(body, chunk: chunk)
    default: fuzzWAL(decompressed(body, chunk: chunk) ?? body, chunk: chunk)
    }
    return 0
}

/// Every name parser, on each line of the input taken as a key.
func fuzzNames(_ body: [UInt8]) {
    let text = String(decoding: body, as: UTF8.self)
    let generation = Generation(value: 0x1a25_0898_0c80_6d64)
    var entries: [ReplicaObjectEntry] = []
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
        let key = String(line)
        _ = ReplicaLayout.parseSnapshotName(key)
        _ = ReplicaLayout.parseIndexDirectoryName(key)
        _ = ReplicaLayout.parseGroupedSegmentName(key)
        _ = ReplicaLayout.parseLegacySegmentName(key)
        _ = ReplicaLayout.parseWALKey(key)
        _ = Generation(key)
        _ = ReplicaKeyClass.classify(key)
        entries.append(
            ReplicaObjectEntry(
                key: key, size: Int64(key.utf8.count),
                modified: Timestamp(millisecondsSince1970: 0)))
    }
    let listing = VerifyListing.make(generation, entries: entries)
    for segment in listing.listing.segments { _ = listing.key(of: segment.position) }
}

/// The LZ4 decoder fed in chunks, then the seal reader over its skippable frames.
func fuzzLZ4(_ body: [UInt8], chunk: Int) {
    _ = decompressed(body, chunk: chunk)
    _ = try? LZ4FrameDecoder.decompress(body)
}

/// Decodes `body` chunk by chunk as a download would; nil when it is not one whole frame.
func decompressed(_ body: [UInt8], chunk: Int) -> [UInt8]? {
    let decoder = LZ4FrameDecoder()
    var output: [UInt8] = []
    var start = 0
    do {
        while start < body.count {
            let end = min(body.count, start + chunk)
            output += try decoder.update(Array(body[start..<end]))
            start = end
            // Bound the work per input: LZ4 expands up to 255:1.
            if output.count > 1 << 24 { return nil }
        }
    } catch {
        return nil
    }
    for index: UInt64 in 0...2 {
        _ = try? WALIndexSeal.read(
            decoder.skippableFrames,
            segmentAt: Position(
                generation: Generation(value: 1), index: index, offset: index == 2 ? 4152 : 0))
    }
    return decoder.isFinished ? output : nil
}

/// The WAL stream verifier, verify's index check and snapshot check, fed in chunks.
func fuzzWAL(_ body: [UInt8], chunk: Int) {
    var verifier = WALStreamVerifier()
    var check = WALIndexCheck(generation: Generation(value: 1), index: 1, expectedPageSize: 4096)
    var snapshot = SnapshotCheck()
    let segment = WALSegmentInfo(
        generation: Generation(value: 1), index: 1, offset: 0, size: 0,
        createdAt: Timestamp(millisecondsSince1970: 0))
    _ = check.begin(segment, key: "k")
    var start = 0
    while start < body.count {
        let end = min(body.count, start + chunk)
        verifier.consume(body[start..<end])
        check.consume(body[start..<end])
        snapshot.consume(body[start..<end])
        start = end
    }
    _ = verifier.outcome
    _ = verifier.frames?.count
    check.finish()
    _ = snapshot.problem
}
