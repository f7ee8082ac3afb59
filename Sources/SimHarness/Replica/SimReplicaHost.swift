import Core
import Synchronization

/// A machine that holds a folder replica on a disk of its own, served to replicators and
/// restores through the real `FileReplicaClient` (the client users run for `file://` replicas).
///
/// The host's file system is a `SimFileSystem` of its current process; `reboot` cuts the power
/// of its disk (`SimDisk.crash`: un-synced writes and directory entries may be lost) and starts a
/// new process, so calls made afterwards see the recovered disk while handles opened before the
/// power loss keep failing, as descriptors of a dead kernel would.
public final class SimReplicaHost: Sendable {
    public let disk: SimDisk
    public let name: String
    private let state: Mutex<(process: SimProcess, boots: Int)>
    private let latency: (@Sendable (SimFileOperation) async -> Void)?
    /// One temp-name source for every client of this host: names stay unique across clients
    /// and deterministic across runs of one seed.
    private let tempNames: ReplicaTempNames

    public init(
        disk: SimDisk, name: String = "replica-host", latency: (@Sendable (SimFileOperation) async -> Void)? = nil
    ) {
        self.disk = disk
        self.name = name
        self.latency = latency
        state = Mutex((disk.startProcess(named: name), 0))
        tempNames = ReplicaTempNames(prefix: "sim")
    }

    /// The host's file system as its current process sees it.
    public var fileSystem: any FileSystem { HostFileSystem(host: self) }

    /// A folder replica at `root` on this host.
    public func client(root: String = "/replica", writeLayout: ReplicaLayout = .grouped) -> FileReplicaClient {
        FileReplicaClient(root: root, fileSystem: fileSystem, writeLayout: writeLayout, tempNames: tempNames)
    }

    /// Power loss and reboot of the host (see `SimDisk.crash`); later calls run in a new process.
    public func reboot(random: any RandomSource, model: DiskCrashModel = DiskCrashModel()) {
        disk.crash(random: random, model: model)
        state.withLock { state in
            state.boots += 1
            state.process = disk.startProcess(named: "\(name)-\(state.boots)")
        }
    }

    fileprivate var currentFileSystem: SimFileSystem {
        SimFileSystem(disk: disk, process: state.withLock { $0.process }, latency: latency)
    }
}

/// Forwards each call to the host's current process, so a client outlives a reboot.
private struct HostFileSystem: FileSystem {
    let host: SimReplicaHost

    func open(_ path: String, mode: FileOpenMode) async throws -> any FileHandle {
        try await host.currentFileSystem.open(path, mode: mode)
    }

    func stat(_ path: String) async throws -> FileStat? { try await host.currentFileSystem.stat(path) }

    func remove(_ path: String) async throws { try await host.currentFileSystem.remove(path) }

    func removeTree(_ path: String) async throws { try await host.currentFileSystem.removeTree(path) }

    func rename(_ source: String, to target: String) async throws {
        try await host.currentFileSystem.rename(source, to: target)
    }

    func createDirectory(_ path: String) async throws { try await host.currentFileSystem.createDirectory(path) }

    func list(_ path: String) async throws -> [String] { try await host.currentFileSystem.list(path) }

    func syncDirectory(_ path: String) async throws { try await host.currentFileSystem.syncDirectory(path) }
}
