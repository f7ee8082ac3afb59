/// An LZ4 skippable frame (LZ4 frame format, section "Skippable frames"): a magic number from
/// 0x184D2A50 to 0x184D2A5F, a 4-byte little-endian size, then that many bytes of user data that
/// standard decoders skip. Sluice puts metadata there that plain LZ4 readers can ignore.
public struct LZ4SkippableFrame: Sendable, Equatable {
    /// The low nibble of the magic number (0...15), naming what the frame holds.
    public var kind: UInt8
    /// The user data. A frame whose declared size exceeds `LZ4SkippableFrameReader.keptPayloadLimit`
    /// keeps only a prefix of it here (`declaredSize` says how many bytes it skipped).
    public var payload: [UInt8]
    public var declaredSize: UInt32

    public init(kind: UInt8, payload: [UInt8]) {
        precondition(kind < 16, "a skippable frame's kind is one nibble")
        self.kind = kind
        self.payload = payload
        declaredSize = UInt32(payload.count)
    }

    static let magicBase: UInt32 = 0x184D_2A50

    /// The frame's bytes: magic, size, payload.
    public var bytes: [UInt8] {
        (Self.magicBase | UInt32(kind)).littleEndianBytes + UInt32(payload.count).littleEndianBytes + payload
    }
}

/// Splits the skippable frames that lead a stream from the LZ4 frame after them, as bytes arrive.
///
/// Only leading frames are taken: a Sluice object is at most some skippable frames and then one
/// LZ4 frame, and whatever follows that frame is an error of the decoder's.
struct LZ4SkippableFrameReader {
    /// Payloads longer than this are skipped without being kept (the size field is untrusted: a
    /// damaged one may claim gigabytes, and the stream then simply ends early).
    static let keptPayloadLimit = 4096

    private(set) var frames: [LZ4SkippableFrame] = []
    /// Whether the leading frames are over and every further byte belongs to the LZ4 frame.
    private(set) var isDone = false
    /// A frame header being read (up to 8 bytes), or the first bytes of the LZ4 frame.
    private var header: [UInt8] = []
    /// The frame whose payload is being read: what is kept so far, and how much is left.
    private var current: (frame: LZ4SkippableFrame, remaining: UInt32)?

    /// Takes `input`; returns the bytes that belong to the LZ4 frame (empty while still inside
    /// the leading skippable frames).
    mutating func take(_ input: [UInt8]) -> [UInt8] {
        if isDone { return input }
        var index = 0
        while index < input.count {
            if var (frame, remaining) = current {
                let count = Int(min(UInt32(input.count - index), remaining))
                let room = max(0, Self.keptPayloadLimit - frame.payload.count)
                frame.payload.append(contentsOf: input[index..<(index + min(count, room))])
                remaining -= UInt32(count)
                index += count
                if remaining == 0 {
                    frames.append(frame)
                    current = nil
                } else {
                    current = (frame, remaining)
                }
                continue
            }
            header.append(input[index])
            index += 1
            if header.count == 4 && !Self.isSkippableMagic(header) {
                // The LZ4 frame begins: hand back its first bytes with the rest of the input.
                isDone = true
                defer { header = [] }
                return header + input[index...]
            }
            guard header.count == 8 else { continue }
            let size = UInt32(littleEndianBytes: header, at: 4)
            var frame = LZ4SkippableFrame(kind: header[0] & 0x0F, payload: [])
            frame.declaredSize = size
            header = []
            if size == 0 {
                frames.append(frame)
            } else {
                current = (frame, size)
            }
        }
        return []
    }

    /// Whether the stream ended inside a skippable frame's header or payload.
    var endedInsideFrame: Bool { !isDone && (current != nil || !header.isEmpty) }

    private static func isSkippableMagic(_ bytes: [UInt8]) -> Bool {
        UInt32(littleEndianBytes: bytes) & 0xFFFF_FFF0 == LZ4SkippableFrame.magicBase
    }
}
