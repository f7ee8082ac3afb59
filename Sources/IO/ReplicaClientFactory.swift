import Core
import FoundationEssentials

/// Turns a parsed replica URL into the client that serves it.
public enum ReplicaClientFactory {
    /// The URL schemes `makeClient` serves, in the order help texts list them. A plain path
    /// (no scheme) is a `file` replica too.
    public static let supportedSchemes = ["file", "s3", "sftp"]

    /// Makes the client for `url`. Relative file paths are resolved against the current
    /// directory now, so a later `chdir` cannot move the replica.
    ///
    /// Object stores read their credentials from `environment`, and run their blocking network
    /// calls on `runner` (by default a pool shared by every network client of the process).
    public static func makeClient(
        for url: ReplicaURL, fileSystem: any FileSystem, writeLayout: ReplicaLayout = .grouped,
        environment: [String: String] = ProcessInfo.processInfo.environment, runner: (any BlockingRunner)? = nil
    ) throws -> any ReplicaClient {
        switch url {
        case .file(let path):
            return FileReplicaClient(root: absolutePath(path), fileSystem: fileSystem, writeLayout: writeLayout)
        case .sftp(let location):
            return SFTPReplicaClient(location: location, runner: runner ?? networkRunner, writeLayout: writeLayout)
        case .s3(let location):
            let configuration = try S3Configuration.resolve(location, environment: environment) {
                try? String(contentsOfFile: $0, encoding: .utf8)
            }
            let transport = CurlHTTPTransport(
                runner: runner ?? networkRunner,
                options: CurlTransportOptions(caBundle: configuration.caBundle, verifyTLS: configuration.verifyTLS))
            return S3ReplicaClient(
                configuration: configuration, transport: transport, wallClock: SystemWallClock(),
                clock: ContinuousClock(), random: SystemRandom(), writeLayout: writeLayout)
        }
    }

    /// Threads for network transfers, apart from the file and SQLite pool so a slow upload
    /// never delays a checkpoint.
    private static let networkRunner = ThreadPoolRunner(threads: 4)

    /// `path` made absolute against the current directory (a leading `~/` against `$HOME`, as a
    /// config file is not expanded by a shell), with `.` and `..` components and doubled slashes
    /// removed (lexically: symlinks are left alone).
    public static func absolutePath(_ path: String) -> String {
        var path = path
        if path == "~" || path.hasPrefix("~/"), let home = ProcessInfo.processInfo.environment["HOME"], !home.isEmpty {
            path = home + path.dropFirst()
        }
        let full = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var components: [Substring] = []
        for component in full.split(separator: "/", omittingEmptySubsequences: true) {
            switch component {
            case ".": continue
            case "..": if !components.isEmpty { components.removeLast() }
            default: components.append(component)
            }
        }
        return "/" + components.joined(separator: "/")
    }
}
