import Core
import Glibc

/// Directory operations. Every change is live at once and durable only after the directory's
/// fsync (`syncDirectory`); until then a power loss may keep or drop it (`DiskCrashModel`).
extension SimDisk {
    /// stat: size, kind and modification time, or nil when nothing is at `path` (including when
    /// a component on the way is a file).
    public func stat(_ path: String, by process: SimProcess) throws(DiskError) -> FileStat? {
        try locked { () throws(DiskError) -> FileStat? in
            try checkFault(.metadata, node: nil, process: process.id)
            let id: Int
            do throws(DiskError) {
                id = try resolve(path)
            } catch {
                if error.code == ENOENT || error.code == ENOTDIR { return nil }
                throw error
            }
            try checkFault(.metadata, node: id, process: process.id)
            switch nodes[id]! {
            case .file(let file): return FileStat(size: Int64(file.size), isDirectory: false, modified: file.modified)
            case .directory(let directory): return FileStat(size: 0, isDirectory: true, modified: directory.modified)
            }
        }
    }

    /// The names in a directory, sorted bytewise.
    public func list(_ path: String, by process: SimProcess) throws(DiskError) -> [String] {
        try locked { () throws(DiskError) -> [String] in
            try checkFault(.metadata, node: nil, process: process.id)
            let id = try resolve(path)
            guard case .directory(let directory) = nodes[id]! else { throw .notADirectory }
            try checkFault(.metadata, node: id, process: process.id)
            return directory.sortedLiveNames
        }
    }

    /// mkdir of one directory: the parent must exist; EEXIST if anything is at `path`.
    public func makeDirectory(_ path: String, by process: SimProcess) throws(DiskError) {
        try locked { () throws(DiskError) in
            try checkFault(.namespace, node: nil, process: process.id)
            let (parentID, parent, name) = try resolveParent(path)
            if parent.live[name] != nil { throw .exists }
            try checkFault(.namespace, node: parentID, process: process.id)
            try countMutation()
            let id = makeNode(.directory(DirectoryNode(modified: wallClock())))
            parent.record(EntryChange(sequence: takeSequence(), assignments: [(name, id)]))
            parent.modified = wallClock()
        }
    }

    /// unlink of a file (EISDIR for a directory, ENOENT when missing). Open descriptors keep working.
    public func unlink(_ path: String, by process: SimProcess) throws(DiskError) {
        try locked { () throws(DiskError) in
            try checkFault(.namespace, node: nil, process: process.id)
            let (parentID, parent, name) = try resolveParent(path)
            guard let id = parent.live[name] else { throw .notFound }
            guard case .file(let file) = nodes[id]! else { throw .isADirectory }
            try checkFault(.namespace, node: parentID, process: process.id)
            try countMutation()
            observer?.willUnlink(ObservedFile(node: id, file: file, path: path), on: self)
            noticeChange(of: id)
            parent.record(EntryChange(sequence: takeSequence(), assignments: [(name, nil)]))
            parent.modified = wallClock()
        }
    }

    /// rmdir of an empty directory (ENOTEMPTY otherwise, ENOTDIR for a file).
    public func removeDirectory(_ path: String, by process: SimProcess) throws(DiskError) {
        try locked { () throws(DiskError) in
            try checkFault(.namespace, node: nil, process: process.id)
            let (parentID, parent, name) = try resolveParent(path)
            guard let id = parent.live[name] else { throw .notFound }
            guard case .directory(let directory) = nodes[id]! else { throw .notADirectory }
            guard directory.live.isEmpty else { throw .notEmpty }
            try checkFault(.namespace, node: parentID, process: process.id)
            try countMutation()
            parent.record(EntryChange(sequence: takeSequence(), assignments: [(name, nil)]))
            parent.modified = wallClock()
        }
    }

    /// rename(2): atomically points `target` at what `source` names and unbinds `source`.
    ///
    /// Within one directory both names change in one entry change, so a power loss keeps either
    /// the old or the new state of both. Across directories the target's directory gains the
    /// entry first and the source's directory loses it second; they are synced separately, so
    /// after a crash the file may have both names or (in `.independent` mode) neither.
    public func rename(_ source: String, to target: String, by process: SimProcess) throws(DiskError) {
        try locked { () throws(DiskError) in
            try checkFault(.namespace, node: nil, process: process.id)
            let (sourceParentID, sourceParent, sourceName) = try resolveParent(source)
            guard let id = sourceParent.live[sourceName] else { throw .notFound }
            let (targetParentID, targetParent, targetName) = try resolveParent(target)
            if let existing = targetParent.live[targetName] {
                if existing == id { return }
                switch (nodes[id]!, nodes[existing]!) {
                case (.file, .directory): throw .isADirectory
                case (.directory, .file): throw .notADirectory
                case (.directory, .directory(let replaced)) where !replaced.live.isEmpty: throw .notEmpty
                default: break
                }
            }
            if case .directory = nodes[id]!, try components(target).starts(with: components(source)) {
                throw .invalid
            }
            try checkFault(.namespace, node: sourceParentID, process: process.id)
            try checkFault(.namespace, node: targetParentID, process: process.id)
            try countMutation()
            // Renamed over: the replaced file loses its name, as an unlink would.
            if let existing = targetParent.live[targetName] { noticeChange(of: existing) }
            let now = wallClock()
            if sourceParentID == targetParentID {
                sourceParent.record(
                    EntryChange(sequence: takeSequence(), assignments: [(sourceName, nil), (targetName, id)]))
            } else {
                targetParent.record(EntryChange(sequence: takeSequence(), assignments: [(targetName, id)]))
                sourceParent.record(EntryChange(sequence: takeSequence(), assignments: [(sourceName, nil)]))
                targetParent.modified = now
            }
            sourceParent.modified = now
        }
    }

    /// fsync of a directory: its current entries become durable.
    public func syncDirectory(_ path: String, by process: SimProcess) throws(DiskError) {
        try locked { () throws(DiskError) in
            try checkFault(.open, node: nil, process: process.id)
            let id = try resolve(path)
            guard case .directory(let directory) = nodes[id]! else { throw .notADirectory }
            try checkFault(.syncDirectory, node: id, process: process.id)
            try countMutation()
            directory.sync()
            collectGarbageIfDue()
        }
    }

    // MARK: - Path resolution (call with the mutex held)

    /// The components of an absolute path; "." and ".." are not interpreted.
    func components(_ path: String) throws(DiskError) -> [Substring] {
        guard path.utf8.first == UInt8(ascii: "/") else { throw DiskError(EINVAL, "not an absolute path: \(path)") }
        // Split on the byte, not the Character: every open, stat and rename comes through here,
        // and walking grapheme clusters was most of it. A "/" byte is never inside another
        // character in UTF-8, so the parts are the same.
        return path.utf8.split(separator: UInt8(ascii: "/")).map { Substring($0) }
    }

    /// The node a path names through live entries.
    func resolve(_ path: String) throws(DiskError) -> Int {
        var id = Self.rootNode
        for component in try components(path) {
            guard case .directory(let directory) = nodes[id]! else { throw .notADirectory }
            guard let next = directory.live[String(component)] else { throw .notFound }
            id = next
        }
        return id
    }

    /// The directory holding `path`'s last component, and that component.
    func resolveParent(_ path: String) throws(DiskError) -> (Int, DirectoryNode, String) {
        let parts = try components(path)
        guard let name = parts.last else { throw DiskError(EBUSY, "the root has no parent") }
        var id = Self.rootNode
        for component in parts.dropLast() {
            guard case .directory(let directory) = nodes[id]! else { throw .notADirectory }
            guard let next = directory.live[String(component)] else { throw .notFound }
            id = next
        }
        guard case .directory(let parent) = nodes[id]! else { throw .notADirectory }
        return (id, parent, String(name))
    }
}
