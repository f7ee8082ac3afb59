import Core
import Foundation
import Glibc

/// A private OpenSSH server on 127.0.0.1 for SFTP tests: its own host key, an authorized user
/// key for the current user, a free port, everything in one temp folder. Stop it with `stop()`.
///
/// Needs the `openssh-server` package (`/usr/sbin/sshd`) and `/run/sshd` (created if missing).
final class SSHServer: Sendable {
    let directory: TemporaryDirectory
    let port: Int
    let user: String
    /// The authorized private key (its `.pub` sits beside it).
    let userKey: String
    /// A valid key the server does not know.
    let strangerKey: String
    /// The host key's SHA-256 fingerprint, unpadded base64.
    let hostKeySHA256: String
    private let pid: pid_t

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
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/sshd") else {
            throw Failure.missing("/usr/sbin/sshd")
        }
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
            _ = try Self.run(
                "/usr/bin/ssh-keygen",
                ["-q", "-t", "ed25519", "-N", "", "-C", "sluice-test", "-f", directory.file(name)], in: directory)
        }
        userKey = directory.file("user_key")
        strangerKey = directory.file("stranger_key")
        try FileManager.default.copyItem(atPath: userKey + ".pub", toPath: directory.file("authorized_keys"))
        let fingerprint = try Self.run(
            "/usr/bin/ssh-keygen", ["-l", "-E", "sha256", "-f", directory.file("host_key.pub")], in: directory)
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
            let pid = try Self.spawn(
                "/usr/sbin/sshd", ["-D", "-e", "-f", directory.file("sshd_config")],
                output: directory.file("sshd.log"))
            if await Self.waitForListening(port: port, pid: pid) {
                self.port = port
                self.pid = pid
                return
            }
            kill(pid, SIGTERM)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            lastLog = (try? String(contentsOfFile: directory.file("sshd.log"), encoding: .utf8)) ?? ""
        }
        throw Failure.notListening(lastLog)
    }

    /// An SFTP location for `path` (relative to the temp folder) that logs in with the user
    /// key and pins the host key.
    func location(_ path: String = "replica") -> SFTPLocation {
        SFTPLocation(
            user: user, host: "127.0.0.1", port: port, path: directory.file(path),
            privateKeyPath: userKey, hostKeyCheck: .sha256(hostKeySHA256))
    }

    /// Stops sshd by its process id and removes the folder.
    func stop() {
        kill(pid, SIGTERM)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        directory.remove()
    }

    // MARK: - Helpers

    /// Runs a tool to its end and returns what it printed. posix_spawn rather than Foundation's
    /// Process, whose exit monitoring stalls while another child (sshd) keeps running.
    private static func run(_ tool: String, _ arguments: [String], in directory: TemporaryDirectory) throws -> String {
        let output = directory.file("command.out")
        let pid = try spawn(tool, arguments, output: output)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let printed = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        // Exited normally with status 0.
        guard status & 0x7f == 0 && (status >> 8) & 0xff == 0 else {
            throw Failure.command(([tool] + arguments).joined(separator: " "), printed)
        }
        return printed
    }

    /// Starts `tool` with stdout and stderr going to `output` (created or truncated).
    private static func spawn(_ tool: String, _ arguments: [String], output: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        let argv = ([tool] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, tool, &actions, nil, argv, environ)
        guard result == 0 else { throw Failure.command(tool, String(cString: strerror(result))) }
        return pid
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

    private static func waitForListening(port: Int, pid: pid_t) async -> Bool {
        for _ in 0..<100 {
            var status: Int32 = 0
            guard waitpid(pid, &status, WNOHANG) == 0 else { return false }
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
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}
