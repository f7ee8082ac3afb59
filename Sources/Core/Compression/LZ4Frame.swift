import CLZ4

/// Errors from LZ4 framing.
public enum LZ4Error: Error, Equatable, CustomStringConvertible {
    /// liblz4 rejected the input; the text is liblz4's own.
    case corrupt(String)
    /// The input ended before the frame's end mark.
    case truncated

    public var description: String {
        switch self {
        case .corrupt(let message): return "corrupt lz4 data: \(message)"
        case .truncated: return "truncated lz4 data: the frame has no end mark"
        }
    }
}

/// Streaming compressor to one standard LZ4 frame (the format Litestream reads and writes), with
/// a content checksum. Memory is one block buffer, whatever the total size.
///
/// liblz4 compresses; the content checksum is computed here with `XXH32` (liblz4's is slow on
/// Debian) and declared in the frame header, so the frame is byte for byte what liblz4 itself
/// would write with its content checksum on.
public final class LZ4FrameEncoder {
    private let context: OpaquePointer
    private var preferences = LZ4F_preferences_t()
    private var started = false
    private var checksum = XXH32()

    public init() {
        context = LZ4ContextCache.takeCompression()
        // 256 KiB blocks: the compression context holds about two blocks, per stream.
        preferences.frameInfo.blockSizeID = LZ4F_max256KB
        preferences.frameInfo.blockMode = LZ4F_blockLinked
        // liblz4 writes the frame without its own checksum; `begin` and `finish` add ours.
        preferences.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum
    }

    deinit { LZ4ContextCache.returnCompression(context) }

    /// Compresses `input`, returning whatever output is ready (possibly nothing).
    public func update(_ input: [UInt8]) -> [UInt8] {
        let header = begin()
        guard !input.isEmpty else { return header }
        checksum.update(input)
        let bound = LZ4F_compressBound(input.count, &preferences)
        let body = [UInt8](unsafeUninitializedCapacity: bound) { out, count in
            let written = input.withUnsafeBytes { inp in
                LZ4F_compressUpdate(context, out.baseAddress, bound, inp.baseAddress, inp.count, nil)
            }
            precondition(
                LZ4F_isError(written) == 0, "LZ4F_compressUpdate: \(String(cString: LZ4F_getErrorName(written)))")
            count = written
        }
        // Only the first call carries the header; the others hand the compressed bytes over uncopied.
        return header.isEmpty ? body : header + body
    }

    /// Ends the frame, returning the remaining output including the end mark and checksum.
    public func finish() -> [UInt8] {
        let header = begin()
        let bound = LZ4F_compressBound(0, &preferences)
        let end = [UInt8](unsafeUninitializedCapacity: bound) { out, count in
            let written = LZ4F_compressEnd(context, out.baseAddress, bound, nil)
            precondition(LZ4F_isError(written) == 0, "LZ4F_compressEnd: \(String(cString: LZ4F_getErrorName(written)))")
            count = written
        }
        let digest = checksum.digest()
        return header + end + digest.littleEndianBytes
    }

    private func begin() -> [UInt8] {
        guard !started else { return [] }
        started = true
        var header = [UInt8](repeating: 0, count: Int(LZ4F_HEADER_SIZE_MAX))
        let written = header.withUnsafeMutableBytes {
            LZ4F_compressBegin(context, $0.baseAddress, $0.count, &preferences)
        }
        precondition(LZ4F_isError(written) == 0, "LZ4F_compressBegin failed")
        // Magic, FLG, BD, header checksum: no content size or dictionary with our preferences.
        precondition(written == 7, "unexpected LZ4 frame header size \(written)")
        header[4] |= Self.contentChecksumBit
        header[6] = UInt8(truncatingIfNeeded: XXH32.hash(header[4..<6]) >> 8)
        return Array(header.prefix(written))
    }

    /// FLG's content-checksum bit (LZ4 frame format 1.6.x, section "Frame descriptor").
    static let contentChecksumBit: UInt8 = 0x04

    /// Compresses a whole buffer into one frame.
    public static func compress(_ bytes: [UInt8]) -> [UInt8] {
        let encoder = LZ4FrameEncoder()
        return encoder.update(bytes) + encoder.finish()
    }
}

/// Streaming decompressor of one LZ4 frame; verifies the content checksum when present and
/// reports a frame that ends early as `.truncated`. Skippable frames before the LZ4 frame are
/// set aside (`skippableFrames`), as the format asks of every decoder.
///
/// liblz4 decodes with its own checksum work switched off; the content checksum, when the frame
/// has one, is verified here with `XXH32` against the four bytes after the end mark.
public final class LZ4FrameDecoder {
    private let context: OpaquePointer
    private var finished = false
    private var options = LZ4F_decompressOptions_t()
    private var checksum = XXH32()
    /// The last four input bytes consumed: after the end mark, the stored content checksum.
    private var tail: [UInt8] = []
    /// Input bytes consumed so far, and the frame descriptor's FLG byte (the fifth) once seen.
    private var inputConsumed = 0
    private var flags: UInt8?
    private var skippable = LZ4SkippableFrameReader()

    /// The skippable frames that came before the LZ4 frame, in order.
    public var skippableFrames: [LZ4SkippableFrame] { skippable.frames }

    public init() {
        context = LZ4ContextCache.takeDecompression()
        options.skipChecksums = 1
    }

    /// Whether liblz4 reported an error: the context is then discarded, not reused.
    private var failed = false

    deinit {
        if failed {
            LZ4ContextCache.discardDecompression(context)
        } else {
            LZ4ContextCache.returnDecompression(context)
        }
    }

    /// Whether the frame's end mark has been seen.
    public var isFinished: Bool { finished }

    /// Decompresses `input`, returning the bytes it yields. Input after the frame's end is an error.
    public func update(_ input: [UInt8]) throws -> [UInt8] {
        let input = skipFrames(input)
        guard !input.isEmpty else { return [] }
        var output: [UInt8] = []
        var offset = 0
        while !finished {
            let piece = try [UInt8](unsafeUninitializedCapacity: Self.chunk) { out, count in
                count = try decode(input, offset: &offset, into: UnsafeMutableRawBufferPointer(out))
            }
            output.append(contentsOf: piece)
            if piece.count < Self.chunk { break }
        }
        if offset < input.count { throw LZ4Error.corrupt("data after the end of the frame") }
        return output
    }

    /// Sets aside the skippable frames at the start of the stream: what is left of `input` is
    /// for `decode`. Every input chunk passes through here first, in order.
    public func skipFrames(_ input: [UInt8]) -> [UInt8] {
        skippable.take(input)
    }

    /// Decodes `input` from `offset` on straight into `out`, until `out` is full, the input is
    /// used up and liblz4 holds no decoded bytes back, or the frame ends; advances `offset` past
    /// what was consumed and returns how many bytes it wrote. The caller owns the output buffer,
    /// so a stream decodes without building an array per step.
    public func decode(_ input: [UInt8], offset: inout Int, into out: UnsafeMutableRawBufferPointer) throws -> Int {
        var written = 0
        while !finished && written < out.count {
            var inSize = input.count - offset
            var outSize = out.count - written
            let hint = input.withUnsafeBytes { inp in
                LZ4F_decompress(
                    context, out.baseAddress! + written, &outSize,
                    inSize > 0 ? inp.baseAddress! + offset : nil, &inSize, &options)
            }
            if LZ4F_isError(hint) != 0 {
                failed = true
                throw LZ4Error.corrupt(String(cString: LZ4F_getErrorName(hint)))
            }
            if inSize > 0 {
                if flags == nil, inputConsumed + inSize > 4 { flags = input[offset + 4 - inputConsumed] }
                inputConsumed += inSize
                tail.append(contentsOf: input[max(offset, offset + inSize - 4)..<(offset + inSize)])
                if tail.count > 4 { tail.removeFirst(tail.count - 4) }
            }
            checksum.update(UnsafeRawBufferPointer(rebasing: out[written..<(written + outSize)]))
            offset += inSize
            written += outSize
            if hint == 0 {
                finished = true
                try verifyContentChecksum()
            }
            if inSize == 0 && outSize == 0 { break }
        }
        return written
    }

    private static let chunk = 1 << 16

    private func verifyContentChecksum() throws {
        guard let flags, flags & LZ4FrameEncoder.contentChecksumBit != 0 else { return }
        guard tail.count == 4 else { throw LZ4Error.corrupt("ERROR_contentChecksum_invalid: no stored checksum") }
        let stored = UInt32(littleEndianBytes: tail)
        // liblz4's own name for this error, so messages read the same as before.
        guard stored == checksum.digest() else { throw LZ4Error.corrupt("ERROR_contentChecksum_invalid") }
    }

    /// Decompresses a whole frame.
    public static func decompress(_ bytes: [UInt8]) throws -> [UInt8] {
        let decoder = LZ4FrameDecoder()
        let output = try decoder.update(bytes)
        guard decoder.isFinished else { throw LZ4Error.truncated }
        return output
    }
}

/// Compresses another byte source on the fly into one LZ4 frame.
// @unchecked: read by one task at a time (ByteSource's contract), which owns the coder state.
public final class LZ4CompressingSource: ByteSource, @unchecked Sendable {
    private let upstream: any ByteSource
    private let encoder = LZ4FrameEncoder()
    private var pending: [UInt8] = []
    private var pendingOffset = 0
    private var done = false
    private let readSize: Int
    /// Bytes taken from upstream so far. A failed upstream read takes none, so a caller can
    /// simply read again and tell a retry that got further from one that did not.
    public private(set) var consumed: Int64 = 0

    public init(_ upstream: any ByteSource, readSize: Int = 1 << 20) {
        self.upstream = upstream
        self.readSize = readSize
    }

    public func read(upTo maxCount: Int) async throws -> [UInt8] {
        while pendingOffset == pending.count {
            if done { return [] }
            let input = try await upstream.read(upTo: readSize)
            if input.isEmpty {
                pending = encoder.finish()
                done = true
            } else {
                consumed += Int64(input.count)
                pending = encoder.update(input)
            }
            pendingOffset = 0
        }
        return takePending(&pending, offset: &pendingOffset, upTo: maxCount)
    }

    public func close() async { await upstream.close() }
}

/// Up to `maxCount` bytes of `pending` from `offset` on, advancing `offset`. When they are all of
/// `pending`, the array itself is handed over (emptied here) instead of copied.
@inline(__always)
func takePending(_ pending: inout [UInt8], offset: inout Int, upTo maxCount: Int) -> [UInt8] {
    if offset == 0 && pending.count <= maxCount {
        defer { pending = [] }
        return pending
    }
    let end = min(pending.count, offset + maxCount)
    defer { offset = end }
    return Array(pending[offset..<end])
}

/// Decompresses another byte source (one LZ4 frame) on the fly; a stream that ends before the
/// frame's end mark raises `LZ4Error.truncated`.
// @unchecked: read by one task at a time (ByteSource's contract), which owns the coder state.
public final class LZ4DecompressingSource: ByteSource, @unchecked Sendable {
    private let upstream: any ByteSource
    private let decoder = LZ4FrameDecoder()
    private var input: [UInt8] = []
    private var inputOffset = 0
    private var upstreamDone = false

    /// Compressed bytes asked of upstream at a time.
    private static let readSize = 1 << 16
    /// The most one read returns: what bounds memory whatever the compression ratio (LZ4
    /// expands up to 255:1), and small enough that the allocator reuses the buffer from its heap
    /// instead of mapping fresh pages for every step (`MemoryTuning`).
    private static let outputLimit = 1 << 18

    public init(_ upstream: any ByteSource) { self.upstream = upstream }

    /// The skippable frames before the LZ4 frame, once read past.
    public var skippableFrames: [LZ4SkippableFrame] { decoder.skippableFrames }

    public func read(upTo maxCount: Int) async throws -> [UInt8] {
        guard maxCount > 0 else { return [] }
        while true {
            let produced = try [UInt8](unsafeUninitializedCapacity: min(maxCount, Self.outputLimit)) { out, count in
                count = try decoder.decode(input, offset: &inputOffset, into: UnsafeMutableRawBufferPointer(out))
            }
            if decoder.isFinished && inputOffset < input.count {
                throw LZ4Error.corrupt("data after the end of the frame")
            }
            if !produced.isEmpty { return produced }
            // What was held is decoded: more input, or the end of the stream.
            if upstreamDone {
                guard decoder.isFinished else { throw LZ4Error.truncated }
                return []
            }
            let next = try await upstream.read(upTo: Self.readSize)
            if next.isEmpty {
                upstreamDone = true
            } else {
                input = decoder.skipFrames(next)
                inputOffset = 0
            }
        }
    }

    public func close() async { await upstream.close() }
}
