import Core
import Foundation

/// The production `BlockingRunner`: a small fixed pool of dedicated threads that run blocking
/// calls (SQLite, fsync, pread) and resume the waiting task with a continuation, so Swift's
/// cooperative pool never sits inside a system call.
///
/// Work runs in submission order across `threadCount` threads. A blocking call cannot be
/// cancelled once it started; a cancelled task still waits for its call to return, which keeps
/// file handles and connections consistent.
///
/// The threads stop after the runner is released and the queue has drained.
public final class ThreadPoolRunner: BlockingRunner, @unchecked Sendable {
    /// How many threads run work.
    public let threadCount: Int
    private let queue: WorkQueue

    /// Starts `threads` worker threads (at least one).
    public init(threads: Int = 4) {
        threadCount = max(1, threads)
        queue = WorkQueue()
        for _ in 0..<threadCount {
            let queue = self.queue
            Thread { queue.workLoop() }.start()
        }
    }

    deinit { queue.shutDown() }

    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            queue.submit {
                do {
                    continuation.resume(returning: try body())
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }
}

/// The queue the worker threads share, guarded by one condition lock.
private final class WorkQueue: @unchecked Sendable {
    private let condition = NSCondition()
    // Guarded by `condition`. A head index instead of removeFirst keeps dequeue O(1).
    private var items: [() -> Void] = []
    private var head = 0
    private var isShutDown = false

    func submit(_ work: @escaping () -> Void) {
        condition.lock()
        items.append(work)
        condition.signal()
        condition.unlock()
    }

    func shutDown() {
        condition.lock()
        isShutDown = true
        condition.broadcast()
        condition.unlock()
    }

    /// Runs work until the queue is shut down and empty.
    func workLoop() {
        while let work = next() { work() }
    }

    private func next() -> (() -> Void)? {
        condition.lock()
        defer { condition.unlock() }
        while head == items.count {
            if isShutDown { return nil }
            condition.wait()
        }
        let work = items[head]
        head += 1
        // Compact once the consumed prefix dominates, so a long-lived pool does not grow forever.
        if head > 64 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        return work
    }
}
