import CLZ4
import Synchronization

/// liblz4 contexts kept between frames. A compression context with 256 KiB blocks allocates
/// about 400 KiB on its first frame; made afresh for every uploaded segment, that was an mmap,
/// a hundred page faults and a munmap per segment under the replicator's allocator settings, and
/// a restore paid the same for every object it decoded. A context is reset before reuse
/// (`LZ4F_compressBegin` starts a frame from scratch; decompression contexts are reset on
/// return), so what a frame's bytes are never depends on which context made them.
enum LZ4ContextCache {
    /// Enough for the uploads and downloads that run at once; more are freed, not kept.
    private static let limit = 4

    // @unchecked: only touched under the `contexts` Mutex; liblz4 contexts have no thread affinity.
    private struct Contexts: @unchecked Sendable {
        // Only ever touched under the mutex below; liblz4 contexts have no thread affinity.
        var compression: [OpaquePointer] = []
        var decompression: [OpaquePointer] = []
    }

    private static let contexts = Mutex(Contexts())

    static func takeCompression() -> OpaquePointer {
        if let cached = contexts.withLock({ $0.compression.popLast() }) { return cached }
        var context: OpaquePointer?
        let rc = LZ4F_createCompressionContext(&context, UInt32(LZ4F_VERSION))
        precondition(LZ4F_isError(rc) == 0 && context != nil, "LZ4F_createCompressionContext failed")
        return context!
    }

    static func returnCompression(_ context: OpaquePointer) {
        let kept = contexts.withLock { cache -> Bool in
            guard cache.compression.count < limit else { return false }
            cache.compression.append(context)
            return true
        }
        if !kept { LZ4F_freeCompressionContext(context) }
    }

    static func takeDecompression() -> OpaquePointer {
        if let cached = contexts.withLock({ $0.decompression.popLast() }) { return cached }
        var context: OpaquePointer?
        let rc = LZ4F_createDecompressionContext(&context, UInt32(LZ4F_VERSION))
        precondition(LZ4F_isError(rc) == 0 && context != nil, "LZ4F_createDecompressionContext failed")
        return context!
    }

    /// Frees a decompression context instead of keeping it: after an error, liblz4 1.9.4's reset
    /// leaves the frame's remaining content size behind (`frameRemainingSize`), so a context
    /// that failed on a frame claiming a content size fails the next, whole frame it decodes
    /// with `ERROR_frameSize_wrong`.
    static func discardDecompression(_ context: OpaquePointer) {
        LZ4F_freeDecompressionContext(context)
    }

    static func returnDecompression(_ context: OpaquePointer) {
        // A frame abandoned half way leaves the context mid-stream; reset, it decodes a new one.
        LZ4F_resetDecompressionContext(context)
        let kept = contexts.withLock { cache -> Bool in
            guard cache.decompression.count < limit else { return false }
            cache.decompression.append(context)
            return true
        }
        if !kept { LZ4F_freeDecompressionContext(context) }
    }
}
