import Foundation
import Glibc

/// The snapshots and WAL segments in a file replica written in Sluice's grouped layout, with the
/// real times their files were written: the test process reads them itself, off the fake clock.
struct ReplicaFolder {
    /// One snapshot or WAL segment.
    struct Object: Hashable, CustomStringConvertible {
        enum Kind: Hashable { case snapshot, segment }
        let kind: Kind
        let generation: String
        let index: UInt64
        /// The segment's offset in its WAL index; 0 for a snapshot.
        let offset: UInt64
        /// When the file was written (real seconds since 1970).
        let modified: Double
        let size: Int64

        /// Where it is, relative to the replica's root.
        var key: String {
            switch kind {
            case .snapshot: "\(generation)/snapshots/\(hex(index))"
            case .segment: "\(generation)/wal/\(hex(index))/\(hex(offset))"
            }
        }

        var description: String { key }
    }

    let root: String

    /// Generation folders, sorted.
    func generations() -> [String] {
        names(in: root + "/generations").filter { $0.count == 16 }
    }

    /// Every snapshot and WAL segment now; a file removed while the listing runs is left out.
    func objects() -> [Object] {
        var found: [Object] = []
        for generation in generations() {
            let base = root + "/generations/" + generation
            for name in names(in: base + "/snapshots") where name.hasSuffix(".snapshot.lz4") {
                if let index = UInt64(name.prefix(16), radix: 16),
                    let object = object(.snapshot, generation, index, 0, path: base + "/snapshots/" + name)
                {
                    found.append(object)
                }
            }
            for indexName in names(in: base + "/wal") {
                guard let index = UInt64(indexName, radix: 16) else { continue }
                for name in names(in: base + "/wal/" + indexName) where name.hasSuffix(".wal.lz4") {
                    if let offset = UInt64(name.prefix(16), radix: 16),
                        let object = object(
                            .segment, generation, index, offset, path: base + "/wal/\(indexName)/" + name)
                    {
                        found.append(object)
                    }
                }
            }
        }
        return found
    }

    private func object(_ kind: Object.Kind, _ generation: String, _ index: UInt64, _ offset: UInt64, path: String)
        -> Object?
    {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        let modified = Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
        return Object(
            kind: kind, generation: generation, index: index, offset: offset, modified: modified,
            size: Int64(info.st_size))
    }

    private func names(in directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }
}

private func hex(_ value: UInt64) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: max(0, 16 - digits.count)) + digits
}
