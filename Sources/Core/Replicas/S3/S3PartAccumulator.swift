/// Cuts a stream of chunks into equal-size multipart parts. Every part but the last is exactly
/// `partSize` bytes, because some services (Cloudflare R2) reject uneven non-trailing parts, and
/// no more than one part is ever held, so a snapshot of any size passes through bounded memory.
struct S3PartAccumulator {
    /// S3's smallest non-trailing part.
    static let minimumPartSize = 5 << 20
    /// S3's largest part.
    static let maximumPartSize = 5 << 30

    let partSize: Int
    private var buffer: [UInt8] = []

    init(partSize: Int) {
        precondition(partSize > 0, "part size must be positive")
        self.partSize = partSize
        buffer.reserveCapacity(partSize)
    }

    /// Adds a chunk; returns the parts it completed, in order.
    mutating func append(_ chunk: [UInt8]) -> [[UInt8]] {
        var parts: [[UInt8]] = []
        var rest = chunk[...]
        while !rest.isEmpty {
            let take = min(partSize - buffer.count, rest.count)
            buffer.append(contentsOf: rest.prefix(take))
            rest = rest.dropFirst(take)
            if buffer.count == partSize {
                parts.append(buffer)
                buffer = []
                buffer.reserveCapacity(partSize)
            }
        }
        return parts
    }

    /// The trailing partial part (possibly empty).
    mutating func finish() -> [UInt8] {
        defer { buffer = [] }
        return buffer
    }

    /// A requested part size clamped to what S3 accepts.
    static func clamp(_ requested: Int) -> Int {
        min(max(requested, minimumPartSize), maximumPartSize)
    }
}
