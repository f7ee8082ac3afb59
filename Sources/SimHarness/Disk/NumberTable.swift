/// Entries keyed by numbers the disk hands out in increasing order and never reuses (file
/// descriptors, shared-memory mappings): an array indexed from the oldest number still present.
///
/// Every read, write and `xShmLock` resolves its number in one of these; a `Dictionary` spent a
/// SipHash and a probe on each, a visible part of a seed's time with SQLite's many small reads.
/// Iteration is in ascending number order, as the sorted dictionary walks it replaces were.
struct NumberTable<Entry> {
    /// The number `slots[0]` stands for.
    private var base = 0
    private var slots: [Entry?] = []
    private(set) var count = 0

    subscript(number: Int) -> Entry? {
        let index = number - base
        return index >= 0 && index < slots.count ? slots[index] : nil
    }

    /// Adds `entry` under `number`, which must be above every number the table has seen.
    mutating func insert(_ entry: Entry, at number: Int) {
        if slots.isEmpty { base = number }
        precondition(number >= base + slots.count, "number \(number) handed out twice")
        while base + slots.count < number { slots.append(nil) }
        slots.append(entry)
        count += 1
    }

    /// Removes and returns the entry under `number`, if any.
    @discardableResult
    mutating func remove(_ number: Int) -> Entry? {
        let index = number - base
        guard index >= 0, index < slots.count, let entry = slots[index] else { return nil }
        slots[index] = nil
        count -= 1
        // Closed numbers at the front are never used again: drop them once they are most of the
        // array, so it stays about as long as the span of numbers still open.
        if count == 0 {
            base += slots.count
            slots.removeAll(keepingCapacity: true)
        } else if index == 0 {
            var leading = 0
            while slots[leading] == nil { leading += 1 }
            if leading * 2 >= slots.count {
                slots.removeFirst(leading)
                base += leading
            }
        }
        return entry
    }

    mutating func removeAll() {
        base += slots.count
        slots.removeAll()
        count = 0
    }

    /// The open entries in ascending number order.
    var entries: [(number: Int, entry: Entry)] {
        slots.indices.compactMap { index in slots[index].map { (base + index, $0) } }
    }
}
