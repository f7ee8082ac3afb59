/// Pending sleeps ordered by (deadline, sequence number): equal deadlines fire in the order the
/// sleeps began, so ties never depend on heap layout.
struct TimerQueue {
    struct Entry {
        var deadline: Duration
        var sequence: UInt64
        var sleep: SleepToken
    }

    private var heap: [Entry] = []

    var isEmpty: Bool { heap.isEmpty }
    var count: Int { heap.count }
    var earliestDeadline: Duration? { heap.first?.deadline }

    mutating func insert(_ entry: Entry) {
        heap.append(entry)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.before(heap[child], heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func popFirst() -> Entry? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let first = heap.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count && Self.before(heap[left], heap[smallest]) { smallest = left }
            if right < heap.count && Self.before(heap[right], heap[smallest]) { smallest = right }
            if smallest == parent { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        return first
    }

    private static func before(_ a: Entry, _ b: Entry) -> Bool {
        (a.deadline, a.sequence) < (b.deadline, b.sequence)
    }
}

/// One sleep on the SimClock, shared between the sleeping task, the timer queue and the
/// cancellation handler. Guarded by the scheduler's lock.
// @unchecked: `state` is read and written only under the scheduler's `state` lock.
final class SleepToken: @unchecked Sendable {
    enum State {
        case pending
        case waiting(CheckedContinuation<Void, any Error>)
        case cancelled
        case fired
    }
    var state: State = .pending
}
