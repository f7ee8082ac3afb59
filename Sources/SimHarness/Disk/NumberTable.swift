/// Entries keyed by numbers the disk hands out in increasing order and never reuses (file
/// descriptors, shared-memory mappings): the open ones in an array sorted by number, found by
/// binary search.
///
/// Every read, write and `xShmLock` resolves its number in one of these; a `Dictionary` spent a
/// SipHash and a probe on each, a visible part of a seed's time with SQLite's many small reads.
/// Few numbers are open at once, so the search is a handful of comparisons, and the array holds
/// only open entries however long a number stays open. Iteration is in ascending number order,
/// as the sorted dictionary walks it replaces were.
struct NumberTable<Entry> {
    private var open: [(number: Int, entry: Entry)] = []
    /// Every number inserted so far is below this.
    private var next = Int.min

    var count: Int { open.count }

    subscript(number: Int) -> Entry? {
        let index = position(of: number)
        return index < open.count && open[index].number == number ? open[index].entry : nil
    }

    /// Adds `entry` under `number`, which must be above every number the table has seen.
    mutating func insert(_ entry: Entry, at number: Int) {
        precondition(number >= next, "number \(number) handed out twice")
        next = number + 1
        open.append((number, entry))
    }

    /// Removes and returns the entry under `number`, if any.
    @discardableResult
    mutating func remove(_ number: Int) -> Entry? {
        let index = position(of: number)
        guard index < open.count, open[index].number == number else { return nil }
        return open.remove(at: index).entry
    }

    mutating func removeAll() {
        open.removeAll()
    }

    /// The open entries in ascending number order.
    var entries: [(number: Int, entry: Entry)] { open }

    /// The index of the first open entry whose number is not below `number`.
    private func position(of number: Int) -> Int {
        var low = 0
        var high = open.count
        while low < high {
            let middle = (low + high) / 2
            if open[middle].number < number { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
