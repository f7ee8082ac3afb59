import Glibc

/// A file's bytes as fixed-size pages, each its own copy-on-write buffer.
///
/// Two `PagedBytes` values (a file's live and durable layers, or a crash image) share every page
/// neither has changed since they were equal, so making one equal the other costs one reference
/// per changed page instead of a copy of the file, and a write copies at most the pages it
/// touches. Bytes past `count` inside the last page are always zero, so growing the file only
/// appends pages of zeros (all sharing one buffer until written).
struct PagedBytes: Equatable {
    static let pageSize = 4096
    private static let zeroPage = [UInt8](repeating: 0, count: pageSize)

    private(set) var pages: [[UInt8]] = []
    private(set) var count = 0

    init() {}

    init(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { write($0, at: 0) }
    }

    var isEmpty: Bool { count == 0 }

    /// The bytes as one array (for images and digests; not on the I/O path).
    var array: [UInt8] {
        var result = [UInt8](repeating: 0, count: count)
        result.withUnsafeMutableBytes { _ = read(at: 0, into: $0) }
        return result
    }

    /// Copies bytes at `offset` into `buffer`; returns how many, fewer only at the end.
    func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard offset < count, buffer.count > 0 else { return 0 }
        let total = min(buffer.count, count - offset)
        var done = 0
        while done < total {
            let position = offset + done
            let page = position / Self.pageSize
            let inPage = position % Self.pageSize
            let chunk = min(total - done, Self.pageSize - inPage)
            pages[page].withUnsafeBytes { source in
                (buffer.baseAddress! + done).copyMemory(from: source.baseAddress! + inPage, byteCount: chunk)
            }
            done += chunk
        }
        return total
    }

    /// Writes `bytes` at `offset`, growing the file (zeros in any gap) if it ends past `count`.
    mutating func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) {
        guard bytes.count > 0 else { return }
        let end = offset + bytes.count
        if end > count { resize(to: end) }
        var done = 0
        while done < bytes.count {
            let position = offset + done
            let page = position / Self.pageSize
            let inPage = position % Self.pageSize
            let chunk = min(bytes.count - done, Self.pageSize - inPage)
            if chunk == Self.pageSize {
                // A whole page: a fresh buffer from the bytes, instead of first copying the old
                // page out of a buffer the durable layer (or the zero page) still shares.
                pages[page] = [UInt8](UnsafeRawBufferPointer(rebasing: bytes[done..<(done + chunk)]))
            } else {
                pages[page].withUnsafeMutableBytes { target in
                    (target.baseAddress! + inPage).copyMemory(from: bytes.baseAddress! + done, byteCount: chunk)
                }
            }
            done += chunk
        }
    }

    /// Fills `range` (inside `count`) with bytes from `next`, in order.
    mutating func fill(_ range: Range<Int>, with next: () -> UInt8) {
        var position = range.lowerBound
        while position < range.upperBound {
            let page = position / Self.pageSize
            let inPage = position % Self.pageSize
            let chunk = min(range.upperBound - position, Self.pageSize - inPage)
            pages[page].withUnsafeMutableBytes { target in
                for index in inPage..<(inPage + chunk) { target[index] = next() }
            }
            position += chunk
        }
    }

    /// Copies `source`'s bytes in `range` over the same range here (growing this file if the
    /// range ends past it). A whole page is shared rather than copied.
    mutating func copy(from source: PagedBytes, range: Range<Int>) {
        guard !range.isEmpty else { return }
        if range.upperBound > count { resize(to: range.upperBound) }
        var position = range.lowerBound
        while position < range.upperBound {
            let page = position / Self.pageSize
            let inPage = position % Self.pageSize
            let chunk = min(range.upperBound - position, Self.pageSize - inPage)
            if chunk == Self.pageSize {
                pages[page] = source.pages[page]
            } else {
                source.pages[page].withUnsafeBytes { from in
                    pages[page].withUnsafeMutableBytes { to in
                        (to.baseAddress! + inPage).copyMemory(from: from.baseAddress! + inPage, byteCount: chunk)
                    }
                }
            }
            position += chunk
        }
    }

    /// Takes `source`'s page `index` as it is (both must hold it).
    mutating func sharePage(_ index: Int, from source: PagedBytes) {
        pages[index] = source.pages[index]
    }

    /// Cuts, or extends with zeros, to `newCount` bytes.
    mutating func resize(to newCount: Int) {
        if newCount < count {
            let keptPages = (newCount + Self.pageSize - 1) / Self.pageSize
            pages.removeSubrange(keptPages...)
            let tail = newCount % Self.pageSize
            if tail > 0 {
                // Keep the invariant: nothing but zeros past the end of the last page.
                _ = pages[keptPages - 1].withUnsafeMutableBytes { page in
                    (page.baseAddress! + tail).initializeMemory(
                        as: UInt8.self, repeating: 0, count: Self.pageSize - tail)
                }
            }
        } else {
            let neededPages = (newCount + Self.pageSize - 1) / Self.pageSize
            while pages.count < neededPages { pages.append(Self.zeroPage) }
        }
        count = newCount
    }
}

extension PagedBytes {
    /// The first offset below `count` where the two differ (a byte past either's end counts as
    /// different), or nil if their first `count` bytes are equal. Compares a page at a time.
    func firstDifference(from other: PagedBytes, upTo count: Int) -> Int? {
        let common = min(count, self.count, other.count)
        var offset = 0
        while offset < common {
            let page = offset / Self.pageSize
            let length = min(Self.pageSize, common - offset)
            let differs = pages[page].withUnsafeBytes { mine in
                other.pages[page].withUnsafeBytes { theirs in
                    memcmp(mine.baseAddress!, theirs.baseAddress!, length) != 0
                }
            }
            if differs {
                let mine = pages[page]
                let theirs = other.pages[page]
                var index = 0
                while mine[index] == theirs[index] { index += 1 }
                return offset + index
            }
            offset += length
        }
        return common < count ? common : nil
    }
}
