import Core
import Glibc

/// The simulated storage of one machine: a POSIX-like file system whose files and directories
/// have a *live* layer (what every process reads) and a *durable* layer (what survives power loss),
/// plus the machine's volatile kernel state: processes, open descriptors, POSIX advisory locks and
/// SQLite's shared memory.
///
/// Durability rules, as on a real disk with a page cache:
/// - `write` and `truncate` change the live layer only; `sync(_:)` (fsync) makes that file's bytes
///   and size durable.
/// - Creating, renaming and removing entries changes the directory's live entries; they become
///   durable only when *that directory* is fsynced (`syncDirectory`). A file's content being
///   synced does not make its name durable.
/// - `crash(random:model:)` is a power loss: see there for exactly what survives.
///
/// Processes own descriptors; `kill(_:)` closes them, drops the process's locks and unmaps its
/// shared memory, but the page cache survives (a process crash loses nothing written).
///
/// All calls are synchronous and instantaneous; latency belongs to the async layer above
/// (`SimFileSystem.latency`). Thread-safe, but meant for the simulator's one thread.
// @unchecked: every mutable field is guarded by `lock` (a SimLock).
public final class SimDisk: @unchecked Sendable {
    struct OpenFile {
        var node: Int
        /// The node itself when it is a file, so reads and writes need no node lookup.
        var file: FileNode?
        var process: Int
        var path: String
        var isWritable: Bool
    }

    struct BrokenOperation: Hashable {
        var node: Int
        var kind: DiskOperationKind
    }

    let mutex = SimLock()
    let faultRandom: any RandomSource
    let wallClock: @Sendable () -> Timestamp

    // Everything below is guarded by `mutex`.
    static let rootNode = 0
    var nodes: [Int: DiskNode]
    var nextNode = 1
    /// The node count at which `collectGarbageIfDue` collects.
    var garbageThreshold = 256
    var nextChangeSequence = 0
    var descriptors = NumberTable<OpenFile>()
    var nextDescriptor = 3
    var liveProcesses: [Int: SimProcess] = [:]
    var nextProcess = 1
    var lockTables: [Int: POSIXLockTable] = [:]
    var sharedMemory: [String: SharedMemoryNode] = [:]
    var mappingOwners = NumberTable<SharedMemoryNode>()
    var nextMapping = 1
    // Shared memory a dead process may still point into; freed with the disk.
    var graveyard: [SharedMemoryNode] = []
    var brokenOperations: Set<BrokenOperation> = []
    var currentFaults: DiskFaults
    var halted = false
    var mutations = 0
    var boots = 0
    var powerLossHandler: (@Sendable () -> Void)?
    var powerLossPending = false
    /// Told of changes before they happen (`SimDiskObserver`); nil for none.
    var observer: (any SimDiskObserver)?
    /// One-shot change watches by node (`SimChangeNotifier`).
    var changeWatches: [Int: [SimChangeSubscription]] = [:]

    /// - Parameters:
    ///   - faults: Fault injection; none by default.
    ///   - faultRandom: The stream faults are drawn from (only drawn when a rate is non-zero).
    ///   - wallClock: Modification times for `stat`.
    public init(
        faults: DiskFaults = .none, faultRandom: any RandomSource = SplitMix64(seed: 0),
        wallClock: @escaping @Sendable () -> Timestamp = { Timestamp(millisecondsSince1970: 0) }
    ) {
        self.currentFaults = faults
        self.faultRandom = faultRandom
        self.wallClock = wallClock
        nodes = [Self.rootNode: .directory(DirectoryNode(modified: wallClock()))]
    }

    deinit {
        for node in sharedMemory.values { node.free() }
        for node in graveyard { node.free() }
    }

    /// The fault configuration; may be changed between (or during) runs.
    public var faults: DiskFaults {
        get { mutex.withLock { currentFaults } }
        set { mutex.withLock { currentFaults = newValue } }
    }

    /// True after power failed (`crashAfterMutations` fired): every call fails with EIO until
    /// `crash(random:model:)` reboots the disk.
    public var isHalted: Bool { mutex.withLock { halted } }

    /// Called once, right after the call during which `crashAfterMutations` cut the power has
    /// released the disk (never with the disk locked), so the harness can stop the machine's
    /// tasks and then call `crash(random:model:)`. The failing call itself still returns EIO.
    public func onPowerLoss(_ handler: (@Sendable () -> Void)?) {
        mutex.withLock { powerLossHandler = handler }
    }

    /// Mutations performed so far (see `DiskFaults.crashAfterMutations`), across reboots.
    public var mutationCount: Int { mutex.withLock { mutations } }

    /// How many power losses the disk has been through.
    public var bootCount: Int { mutex.withLock { boots } }

    // MARK: - Processes

    /// Starts a process that can open files.
    public func startProcess(named name: String) -> SimProcess {
        mutex.withLock {
            let process = SimProcess(id: nextProcess, name: name)
            nextProcess += 1
            liveProcesses[process.id] = process
            return process
        }
    }

    /// kill -9: closes the process's descriptors, drops its POSIX locks and its shared-memory
    /// mappings and locks. Written data stays in the page cache. Its later calls fail with EIO.
    public func kill(_ process: SimProcess) {
        mutex.withLock {
            guard liveProcesses.removeValue(forKey: process.id) != nil else { return }
            for (number, file) in descriptors.entries where file.process == process.id {
                descriptors.remove(number)
                lockTables[file.node]?.dropAll(process: process.id)
            }
            for (path, node) in sharedMemory.sorted(by: { $0.key < $1.key }) {
                let dead = node.mappings.filter { $0.value.process == process.id }.map(\.key)
                guard !dead.isEmpty else { continue }
                for mapping in dead {
                    node.mappings[mapping] = nil
                    mappingOwners.remove(mapping)
                }
                // The killed connections may still hold pointers into the regions: never free them now.
                if node.mappings.isEmpty {
                    sharedMemory[path] = nil
                    graveyard.append(node)
                }
            }
            collectGarbageIfDue()
        }
    }

    /// True until the process is killed or the machine loses power.
    public func isAlive(_ process: SimProcess) -> Bool {
        mutex.withLock { liveProcesses[process.id] != nil }
    }

    /// The running processes, in start order.
    public var processes: [SimProcess] {
        mutex.withLock { liveProcesses.values.sorted() }
    }

    // MARK: - Descriptors

    /// Opens (or creates) a file for `process`, with `FileSystem.open`'s modes.
    public func open(_ path: String, mode: FileOpenMode, by process: SimProcess) throws(DiskError) -> SimFileDescriptor
    {
        try locked { () throws(DiskError) -> SimFileDescriptor in
            try checkFault(.open, node: nil, process: process.id)
            if try components(path).isEmpty { throw .isADirectory }
            let (directoryID, directory, name) = try resolveParent(path)
            let nodeID: Int
            if let existing = directory.live[name] {
                if mode == .createNew { throw .exists }
                guard case .file(let file) = nodes[existing]! else { throw .isADirectory }
                try checkFault(.open, node: existing, process: process.id)
                if mode == .truncate && file.size > 0 {
                    try countMutation()
                    observer?.willTruncate(ObservedFile(node: existing, file: file, path: path), to: 0, on: self)
                    noticeChange(of: existing)
                    file.truncate(to: 0)
                    file.modified = wallClock()
                }
                nodeID = existing
            } else {
                if mode == .readOnly || mode == .readWrite { throw .notFound }
                try checkFault(.namespace, node: directoryID, process: process.id)
                try countMutation()
                nodeID = makeNode(.file(FileNode(modified: wallClock())))
                directory.record(EntryChange(sequence: takeSequence(), assignments: [(name, nodeID)]))
                directory.modified = wallClock()
            }
            return makeDescriptor(node: nodeID, process: process.id, path: path, isWritable: mode != .readOnly)
        }
    }

    /// A new read-write file with no name (open + unlink), as SQLite's temporary files are.
    public func openAnonymous(by process: SimProcess) throws(DiskError) -> SimFileDescriptor {
        try locked { () throws(DiskError) -> SimFileDescriptor in
            try checkFault(.open, node: nil, process: process.id)
            let nodeID = makeNode(.file(FileNode(modified: wallClock())))
            return makeDescriptor(node: nodeID, process: process.id, path: "(anonymous \(nodeID))", isWritable: true)
        }
    }

    /// pread into `buffer`; returns the bytes read, fewer only at end of file.
    public func read(_ descriptor: SimFileDescriptor, at offset: Int64, into buffer: UnsafeMutableRawBufferPointer)
        throws(DiskError) -> Int
    {
        try locked { () throws(DiskError) -> Int in
            let (open, file) = try openFile(descriptor)
            try checkInjectedFault(.read, node: open.node)
            guard offset >= 0 else { throw .invalid }
            guard offset < Int64(file.size) else { return 0 }
            return file.read(at: Int(offset), into: buffer)
        }
    }

    /// Reads up to `count` bytes at `offset`; fewer only at end of file.
    public func read(_ descriptor: SimFileDescriptor, at offset: Int64, count: Int) throws(DiskError) -> [UInt8] {
        let bytes = try rethrowingDiskError {
            try [UInt8](unsafeUninitializedCapacity: count) { buffer, filled in
                filled = try read(descriptor, at: offset, into: UnsafeMutableRawBufferPointer(buffer))
            }
        }
        // A short read near the end of a file must not pin a buffer sized for the whole request.
        return bytes.count >= count / 2 ? bytes : bytes.withUnsafeBufferPointer { [UInt8]($0) }
    }

    /// pwrite of all of `bytes`, extending the file (with zeros in any gap) if needed.
    public func write(_ descriptor: SimFileDescriptor, _ bytes: UnsafeRawBufferPointer, at offset: Int64)
        throws(DiskError)
    {
        try locked { () throws(DiskError) in
            let (open, file) = try openFile(descriptor)
            guard open.isWritable else { throw .badDescriptor }
            try checkInjectedFault(.write, node: open.node)
            guard offset >= 0 else { throw .invalid }
            try checkCapacity(growingBy: Int64(Int(offset) + bytes.count - file.size))
            try countMutation()
            observer?.willWrite(
                ObservedFile(node: open.node, file: file, path: open.path), bytes: bytes, at: Int(offset), on: self)
            noticeChange(of: open.node)
            file.write(bytes, at: Int(offset))
            file.modified = wallClock()
        }
    }

    /// pwrite of all of `bytes`.
    public func write(_ descriptor: SimFileDescriptor, _ bytes: [UInt8], at offset: Int64) throws(DiskError) {
        try rethrowingDiskError { try bytes.withUnsafeBytes { try write(descriptor, $0, at: offset) } }
    }

    /// The live size in bytes (fstat).
    public func size(_ descriptor: SimFileDescriptor) throws(DiskError) -> Int64 {
        try locked { () throws(DiskError) -> Int64 in
            let (open, file) = try openFile(descriptor)
            try checkInjectedFault(.metadata, node: open.node)
            return Int64(file.size)
        }
    }

    /// ftruncate: cuts the file, or extends it with zeros.
    public func truncate(_ descriptor: SimFileDescriptor, to size: Int64) throws(DiskError) {
        try locked { () throws(DiskError) in
            let (open, file) = try openFile(descriptor)
            guard open.isWritable else { throw .invalid }
            try checkInjectedFault(.truncate, node: open.node)
            guard size >= 0 else { throw .invalid }
            try checkCapacity(growingBy: size - Int64(file.size))
            try countMutation()
            observer?.willTruncate(ObservedFile(node: open.node, file: file, path: open.path), to: Int(size), on: self)
            noticeChange(of: open.node)
            file.truncate(to: Int(size))
            file.modified = wallClock()
        }
    }

    /// fsync: the file's live bytes and size become durable. Its name does not (see `syncDirectory`).
    public func sync(_ descriptor: SimFileDescriptor) throws(DiskError) {
        try locked { () throws(DiskError) in
            let (open, file) = try openFile(descriptor)
            try checkInjectedFault(.sync, node: open.node)
            try countMutation()
            file.sync()
        }
    }

    /// close: releases the descriptor and, POSIX's trap, every advisory lock its process holds on
    /// the same file through *any* descriptor. Never fails for a descriptor that is open, even
    /// after a power loss; fails with EBADF for one that is not.
    public func close(_ descriptor: SimFileDescriptor) throws(DiskError) {
        try locked { () throws(DiskError) in
            guard let open = descriptors.remove(descriptor.number) else { throw .badDescriptor }
            lockTables[open.node]?.dropAll(process: open.process)
            collectGarbageIfDue()
        }
    }

    /// A number naming the file a descriptor refers to (its inode), equal for every descriptor of
    /// the same file.
    public func fileID(of descriptor: SimFileDescriptor) throws(DiskError) -> Int {
        try locked { () throws(DiskError) -> Int in
            guard let open = descriptors[descriptor.number] else { throw .badDescriptor }
            return open.node
        }
    }

    /// The path a descriptor was opened with.
    public func path(of descriptor: SimFileDescriptor) -> String? {
        mutex.withLock { descriptors[descriptor.number]?.path }
    }

    /// The open descriptors of a process, for traces and leak checks.
    public func descriptors(of process: SimProcess) -> [SimFileDescriptor] {
        mutex.withLock {
            descriptors.entries.filter { $0.entry.process == process.id }.map { SimFileDescriptor(number: $0.number) }
        }
    }

    // MARK: - Internals (call with the mutex held)

    /// The mutex around a call that may cut the power; runs the power-loss handler after it.
    func locked<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        var handler: (@Sendable () -> Void)?
        defer { handler?() }
        return try mutex.withLock { () throws(E) -> T in
            // Taken under the same lock as the call: one lock per call on the I/O path.
            defer {
                if powerLossPending {
                    powerLossPending = false
                    handler = powerLossHandler
                }
            }
            return try body()
        }
    }

    /// Narrows an untyped rethrow (the standard library's buffer closures) back to `DiskError`.
    func rethrowingDiskError<T>(_ body: () throws -> T) throws(DiskError) -> T {
        do { return try body() } catch let error as DiskError { throw error } catch {
            fatalError("unexpected \(error)")
        }
    }

    func makeNode(_ node: DiskNode) -> Int {
        let id = nextNode
        nextNode += 1
        nodes[id] = node
        return id
    }

    func takeSequence() -> Int {
        nextChangeSequence += 1
        return nextChangeSequence
    }

    func makeDescriptor(node: Int, process: Int, path: String, isWritable: Bool) -> SimFileDescriptor {
        let number = nextDescriptor
        nextDescriptor += 1
        var file: FileNode?
        if case .file(let fileNode) = nodes[node]! { file = fileNode }
        descriptors.insert(
            OpenFile(node: node, file: file, process: process, path: path, isWritable: isWritable), at: number)
        return SimFileDescriptor(number: number)
    }

    func openFile(_ descriptor: SimFileDescriptor) throws(DiskError) -> (OpenFile, FileNode) {
        if halted { throw DiskError(EIO, "power lost") }
        guard let open = descriptors[descriptor.number], let file = open.file else {
            throw .badDescriptor
        }
        return (open, file)
    }

    /// Power, liveness and injected faults, in that order. Draws only for non-zero rates.
    func checkFault(_ kind: DiskOperationKind, node: Int?, process: Int) throws(DiskError) {
        if halted { throw DiskError(EIO, "power lost") }
        guard liveProcesses[process] != nil else { throw DiskError(EIO, "process \(process) is not running") }
        guard let node else { return }
        try checkInjectedFault(kind, node: node)
    }

    /// The injected faults alone, for a call through a descriptor `openFile` resolved: an open
    /// descriptor means power and a live owner (a kill or a crash closes every one).
    func checkInjectedFault(_ kind: DiskOperationKind, node: Int) throws(DiskError) {
        // The empty checks skip hashing on every call of a disk without faults; a zero rate draws nothing anyway.
        if !brokenOperations.isEmpty && brokenOperations.contains(BrokenOperation(node: node, kind: kind)) {
            throw DiskError(EIO, "persistent \(kind.rawValue) fault")
        }
        if !currentFaults.transientErrorRate.isEmpty && faultRandom.chance(currentFaults.transientErrorRate[kind] ?? 0)
        {
            throw DiskError(EIO, "injected \(kind.rawValue) fault")
        }
        if !currentFaults.persistentErrorRate.isEmpty
            && faultRandom.chance(currentFaults.persistentErrorRate[kind] ?? 0)
        {
            brokenOperations.insert(BrokenOperation(node: node, kind: kind))
            throw DiskError(EIO, "persistent \(kind.rawValue) fault")
        }
    }

    /// Counts one mutation, or cuts the power if the armed count is reached.
    func countMutation() throws(DiskError) {
        if let limit = currentFaults.crashAfterMutations, mutations >= limit {
            currentFaults.crashAfterMutations = nil
            halted = true
            powerLossPending = true
            throw DiskError(EIO, "power lost")
        }
        mutations += 1
    }

    func checkCapacity(growingBy extra: Int64) throws(DiskError) {
        guard extra > 0, let capacity = currentFaults.capacityBytes else { return }
        if usedBytes() + extra > capacity { throw .noSpace }
    }

    /// Live bytes of every file a process can still reach: by a live name or an open descriptor.
    func usedBytes() -> Int64 {
        var seen: Set<Int> = []
        var stack = [Self.rootNode] + descriptors.entries.map(\.entry.node)
        var total: Int64 = 0
        while let id = stack.popLast() {
            guard seen.insert(id).inserted, let node = nodes[id] else { continue }
            switch node {
            case .file(let file): total += Int64(file.size)
            case .directory(let directory): stack.append(contentsOf: directory.live.values)
            }
        }
        return total
    }

    /// `collectGarbage` once the node table has doubled since the last collection. A node
    /// nothing reaches can never be reached again (no name, no descriptor, no pending entry a
    /// crash could bring back), so collecting it late changes nothing but memory; collecting on
    /// every close and directory sync made each a walk over the whole disk.
    func collectGarbageIfDue() {
        if nodes.count >= garbageThreshold { collectGarbage() }
    }

    /// Drops nodes nothing can reach any more: not by a live, durable or pending entry from the
    /// root (a crash could bring those back), nor by an open descriptor.
    func collectGarbage() {
        defer { garbageThreshold = max(256, 2 * nodes.count) }
        var reachable: Set<Int> = []
        var stack = [Self.rootNode] + descriptors.entries.map(\.entry.node)
        while let id = stack.popLast() {
            guard reachable.insert(id).inserted, case .directory(let directory)? = nodes[id] else { continue }
            stack.append(contentsOf: directory.live.values)
            stack.append(contentsOf: directory.durable.values)
            for change in directory.pending { stack.append(contentsOf: change.assignments.compactMap(\.node)) }
        }
        guard reachable.count < nodes.count else { return }
        for id in nodes.keys.filter({ !reachable.contains($0) }) {
            nodes[id] = nil
            lockTables[id] = nil
        }
    }
}
