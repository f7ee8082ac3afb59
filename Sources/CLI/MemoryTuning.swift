import CShims

/// glibc allocator settings for a long-running replicator.
///
/// By default glibc gives each thread that allocates its own arena, and raises its mmap
/// threshold to the largest block freed so far, after which freed 1 MiB copy buffers stay in the
/// arenas instead of going back to the kernel. The replicator's threads (the cooperative pool
/// and the blocking-call pool) all pass such buffers around, so resident memory grew with every
/// large transaction. Two arenas and a fixed 64 KiB threshold keep it at the working set.
enum MemoryTuning {
    static func apply() {
        sluice_tune_allocator(2, 64 * 1024, 128 * 1024)
    }
}
