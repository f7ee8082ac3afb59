/// Watches a disk's files change, for an oracle that must see the bytes a change destroys.
///
/// The disk calls it on the thread making the change, with the disk locked, just before a write,
/// a truncate (including a truncating open) or an unlink of a file changes anything, and just
/// after a power loss. It may read the `FileNode` it is handed, and resolve paths through
/// `SimDisk.liveFileNode(at:)`, but must not call the disk's public API (the lock is not
/// reentrant) and must not suspend: an observation is no scheduling point and draws nothing, so
/// a run with an observer replays event for event as one without.
///
/// Renames are not reported; nothing watched is renamed.
protocol SimDiskObserver: AnyObject {
    /// `bytes` are about to be written at `offset` of `file`, opened as `path`.
    func willWrite(_ file: ObservedFile, bytes: UnsafeRawBufferPointer, at offset: Int, on disk: SimDisk)
    /// `file` is about to be cut (or extended) to `size`.
    func willTruncate(_ file: ObservedFile, to size: Int, on disk: SimDisk)
    /// `path`, naming `file`, is about to be unlinked.
    func willUnlink(_ file: ObservedFile, on disk: SimDisk)
    /// The disk lost power and rebooted: every file now holds what survived.
    func diskDidCrash()
}

/// A file as an observer sees it: its node, and the path it was opened or named by.
struct ObservedFile {
    var node: Int
    var file: FileNode
    var path: String
}

extension SimDisk {
    /// Sets the observer (nil to remove it). Only one at a time.
    func observe(_ observer: (any SimDiskObserver)?) {
        mutex.withLock { self.observer = observer }
    }

    /// The file `path` names through live entries, if any. For an observer, which runs with the
    /// disk locked; never call it otherwise.
    func liveFileNode(at path: String) -> (node: Int, file: FileNode)? {
        guard let id = try? resolve(path), case .file(let file)? = nodes[id] else { return nil }
        return (id, file)
    }
}
