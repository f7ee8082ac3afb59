import Core

#if canImport(Glibc)
    import Glibc
#endif

extension FileReplicaClient {
    /// A folder replica whose temp files carry this process's id, so two processes writing one
    /// replica never share a temp name.
    public init(root: String, fileSystem: any FileSystem, writeLayout: ReplicaLayout = .grouped) {
        self.init(root: root, fileSystem: fileSystem, writeLayout: writeLayout, tempNames: ReplicaTempNames.process)
    }
}

extension ReplicaTempNames {
    /// The process-wide temp names: the process id in hex, then a counter.
    static let process = ReplicaTempNames(prefix: String(UInt64(getpid()), radix: 16))
}
