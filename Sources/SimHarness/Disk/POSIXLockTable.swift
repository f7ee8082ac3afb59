/// The kind of a POSIX advisory (fcntl) record lock.
public enum POSIXLockKind: Sendable, Equatable {
    /// F_RDLCK: many processes may hold overlapping read locks.
    case read
    /// F_WRLCK: excludes every other process's lock on the overlapping bytes.
    case write
}

/// POSIX advisory record locks of one file, with the semantics that make them "broken by design"
/// (SQLite's os_unix.c): locks belong to a (process, file) pair, not to a descriptor; a process
/// never conflicts with itself (a new lock replaces its own on the same bytes); and closing *any*
/// descriptor of the file drops every lock the process holds on it.
struct POSIXLockTable {
    struct Record {
        var process: Int
        var range: Range<Int64>
        var kind: POSIXLockKind
    }

    private(set) var records: [Record] = []

    /// The first record of another process that conflicts with `kind` on `range` (F_GETLK).
    func conflict(_ kind: POSIXLockKind, _ range: Range<Int64>, process: Int) -> Record? {
        records.first { record in
            record.process != process && record.range.overlaps(range) && (kind == .write || record.kind == .write)
        }
    }

    /// F_SETLK: takes the lock, or returns false without change if another process conflicts.
    mutating func lock(_ kind: POSIXLockKind, _ range: Range<Int64>, process: Int) -> Bool {
        if conflict(kind, range, process: process) != nil { return false }
        unlock(range, process: process)
        records.append(Record(process: process, range: range, kind: kind))
        return true
    }

    /// F_SETLK with F_UNLCK: releases the process's locks on `range`, splitting records it cuts.
    mutating func unlock(_ range: Range<Int64>, process: Int) {
        var kept: [Record] = []
        for record in records {
            guard record.process == process, record.range.overlaps(range) else {
                kept.append(record)
                continue
            }
            if record.range.lowerBound < range.lowerBound {
                kept.append(
                    Record(process: process, range: record.range.lowerBound..<range.lowerBound, kind: record.kind))
            }
            if record.range.upperBound > range.upperBound {
                kept.append(
                    Record(process: process, range: range.upperBound..<record.range.upperBound, kind: record.kind))
            }
        }
        records = kept
    }

    /// What closing any descriptor of the file (or the process dying) does.
    mutating func dropAll(process: Int) {
        records.removeAll { $0.process == process }
    }
}
