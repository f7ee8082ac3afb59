import Core
import Foundation
import Glibc

/// A private OpenSSH server on 127.0.0.1 for SFTP tests: its own host key, an authorized user
/// key for the current user, a free port, everything in one temp folder. Stop it with `stop()`.
///
/// Needs the `openssh-server` package (`/usr/sbin/sshd`) and `/run/sshd` (created if missing).
final class SSHServer: @unchecked Sendable {
    let directory: TemporaryDirectory
    let port: Int
    let user: String
    /// The authorized private key (its `.pub` sits beside it).
    let userKey: String
    /// A valid key the server does not know.
    let strangerKey: String
    /// The host key's SHA-256 fingerprint, unpadded base64.
    let hostKeySHA256: String
    private let process: Process

    enum Failure: Error, CustomStringConvertible {
        case missing(String)
        case command(String, String)
        case notListening(String)

        var description: String {
            switch self {
            case .missing(let what): return "SFTP tests need \(what) (apt-get install -y openssh-server)"
            case .command(let command, let output): return "\(command) failed: \(output)"
            case .notListening(let log): return "sshd did not start listening: \(log)"
            }
        }
    }

    static func start() async throws -> SSHServer {
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/sshd") else { throw Failure.missing("/usr/sbin/sshd") }
        // sshd insists on its privilege-separation folder even when it does not change user.
        try? FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)
        let directory = try TemporaryDirectory("sluice-sshd")
        do {
            return try await SSHServer(directory: directory)
        } catch {
            directory.remove()
            throw error
        }
    }

    private init(directory: TemporaryDirectory) async throws {
        self.directory = directory
        user = String(cString: getpwuid(getuid())!.pointee.pw_name)
        for name in ["host_key", "user_key", "stranger_key"] {
            _ = try Self.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "sluice-test", "-f", directory.file(name)])
        }
        userKey = directory.file("user_key")
        strangerKey = directory.file("stranger_key")
        try FileManager.default.copyItem(atPath: userKey + ".pub", toPath: directory.file("authorized_keys"))
        let fingerprint = try Self.run("/usr/bin/ssh-keygen", ["-l", "-E", "sha256", "-f", directory.file("host_key.pub")])
        guard let range = fingerprint.range(of: "SHA256:") else { throw Failure.command("ssh-keygen -l", fingerprint) }
        hostKeySHA256 = String(fingerprint[range.upperBound...].prefix { $0 != " " })

        var lastLog = ""
        // A free port may be taken between probing and binding: try a few.
        for _ in 0..<5 {
            let port = try Self.freePort()
            let config = """
                Port \(port)
                ListenAddress 127.0.0.1
                HostKey \(directory.file("host_key"))
                AuthorizedKeysFile \(directory.file("authorized_keys"))
                PidFile \(directory.file("sshd.pid"))
                PasswordAuthentication no
                KbdInteractiveAuthentication no
                PubkeyAuthentication yes
                PermitRootLogin yes
                StrictModes no
                UsePAM no
                Subsystem sftp internal-sftp
                """
            try config.write(toFile: directory.file("sshd_config"), atomically: true, encoding: .utf8)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/sshd")
            process.arguments = ["-D", "-e", "-f", directory.file("sshd_config")]
            FileManager.default.createFile(atPath: directory.file("sshd.log"), contents: nil)
            let log = try Foundation.FileHandle(forWritingTo: URL(fileURLWithPath: directory.file("sshd.log")))
            process.standardOutput = log
            process.standardError = log
            try process.run()
            if await Self.waitForListening(port: port, process: process) {
                self.port = port
                self.process = process
                return
            }
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
            lastLog = (try? String(contentsOfFile: directory.file("sshd.log"), encoding: .utf8)) ?? ""
        }
        throw Failure.notListening(lastLog)
    }

    /// An SFTP location for `path` (relative to the temp folder) that logs in with the user
    /// key and pins the host key.
    func location(_ path: String = "replica") -> SFTPLocation {
        SFTPLocation(user: user, host: "127.0.0.1", port: port, path: directory.file(path),
                     privateKeyPath: userKey, hostKeyCheck: .sha256(hostKeySHA256))
    }

    /// Stops sshd by its process id and removes the folder.
    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        process.waitUntilExit()
        directory.remove()
    }

    // MARK: - Helpers

    private static func run(_ tool: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw Failure.command(([tool] + arguments).joined(separator: " "), output) }
        return output
    }

    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw Failure.command("bind 127.0.0.1:0", String(cString: strerror(errno))) }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    private static func waitForListening(port: Int, process: Process) async -> Bool {
        for _ in 0..<100 {
            guard process.isRunning else { return false }
            if canConnect(port: port) { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    private static func canConnect(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}
