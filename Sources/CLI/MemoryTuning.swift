import CShims

/// glibc allocator settings for a long-running replicator.
///
/// By default glibc gives each thread that allocates its own arena, and raises its mmap
/// threshold to the largest block freed so far, after which freed 1 MiB copy buffers stay in the
/// arenas instead of going back to the kernel. The replicator's threads (the cooperative pool
/// and the blocking-call pool) all pass such buffers around, so resident memory grew with every
/// large transaction. Two arenas and a fixed threshold keep it at the working set.
///
/// The threshold sits above a 256 KiB chunk, its LZ4 output and the 384 KiB buffer liblz4
/// allocates at the start of every frame: at 64 KiB each of those was an mmap, page faults on
/// first touch and a munmap, a third of the steady replicator's CPU; 1 MiB buffers (snapshots,
/// restores) still map and unmap.
enum MemoryTuning {
    static func apply() {
        sluice_tune_allocator(2, 512 * 1024, 1024 * 1024)
        disableSQLiteMemoryStatistics()
    }

    /// The simulator's settings: `sluice sim` runs one seed per thread, each allocating and
    /// freeing large buffers millions of times. An arena per thread, and thresholds high enough
    /// that those buffers neither become an mmap, page faults and munmap each, nor make glibc
    /// give the heap's top back to the kernel and fault it in again.
    static func applyForSimulator() {
        sluice_tune_allocator(64, 32 << 20, 1 << 30)
        disableSQLiteMemoryStatistics()
    }

    /// SQLite counts every allocation under one process-wide mutex (nothing here reads the
    /// counts). Threads that run SQLite at the same time, seeds of `sluice sim --jobs` or the
    /// replicator's blocking-call pool, queued on that mutex: two simulator threads kept only
    /// 1.3 cores busy. Must run before anything opens a database.
    private static func disableSQLiteMemoryStatistics() {
        _ = sluice_sqlite3_disable_memory_statistics()
    }
}
