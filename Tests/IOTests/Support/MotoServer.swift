import Core
import Foundation
import Glibc

@testable import IO

/// A moto S3 server on 127.0.0.1 and a free port, for one test: started by `withMoto`, stopped by
/// PID (SIGTERM, then waitpid) however the test ends.
final class MotoServer: Sendable {
    let port: Int
    let pid: pid_t
    let transport: CurlHTTPTransport

    var endpoint: String { "http://127.0.0.1:\(port)" }

    /// The interpreter with moto installed: `SLUICE_TEST_PYTHON` (for instance the virtual
    /// environment `Scripts/test-tools` makes, `.tools/venv/bin/python3`), else `python3` on the PATH.
    static let python: String = {
        if let value = ProcessInfo.processInfo.environment["SLUICE_TEST_PYTHON"], !value.isEmpty { return value }
        return "python3"
    }()

    /// Whether `python -m moto.server` can run here.
    static let isAvailable: Bool = {
        let status = run([python, "-c", "import moto.server, flask, werkzeug"], environment: [:])
        return status == 0
    }()

    /// Whether the S3 tests must run: `./Scripts/test` names the interpreter it installed moto
    /// into (`SLUICE_TEST_PYTHON`), so there a missing moto fails them instead of skipping them.
    /// A bare `swift test` without moto skips them.
    static let mustRun: Bool =
        isAvailable || ProcessInfo.processInfo.environment["SLUICE_TEST_PYTHON"].map { !$0.isEmpty } == true

    private init(port: Int, pid: pid_t, transport: CurlHTTPTransport) {
        self.port = port
        self.pid = pid
        self.transport = transport
    }

    /// Starts moto with `environment` added to ours and waits until it answers, polling every
    /// 50 ms for a minute of polls (importing moto is slow on a loaded machine). A moto that
    /// exits instead (its port, free when we chose it, was taken meanwhile) is started again on
    /// another port.
    static func start(environment: [String: String] = [:]) async throws -> MotoServer {
        var env = ProcessInfo.processInfo.environment
        // Small multipart parts keep multipart tests fast.
        env["S3_UPLOAD_PART_MIN_SIZE"] = "65536"
        for (key, value) in environment { env[key] = value }
        var port = 0
        for _ in 0..<3 {
            port = try freePort()
            let pid = try spawn([python, "-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)], environment: env)
            let server = MotoServer(
                port: port, pid: pid, transport: CurlHTTPTransport(runner: ThreadPoolRunner(threads: 2)))
            // Polls are counted, not a wall-clock deadline: each await may wait for a thread of
            // the blocking test executor, which other tests hold for minutes on a loaded run.
            var exited = false
            var polls = 0
            while polls < 1200 && !exited {
                polls += 1
                if let response = try? await server.transport.send(
                    HTTPRequest(method: "GET", url: server.endpoint + "/moto-api/")),
                    response.status > 0
                {
                    return server
                }
                var status: Int32 = 0
                // Reaped here, so never signalled again: its pid may be reused.
                exited = waitpid(pid, &status, WNOHANG) == pid
                if !exited { try await Task.sleep(for: .milliseconds(50)) }
            }
            if !exited {
                server.stop()
                throw MotoError.notStarted(port: port)
            }
        }
        throw MotoError.notStarted(port: port)
    }

    /// SIGTERM, a grace period, then SIGKILL; always reaped with waitpid.
    func stop() {
        kill(pid, SIGTERM)
        var status: Int32 = 0
        for _ in 0..<40 {
            if waitpid(pid, &status, WNOHANG) == pid { return }
            usleep(50_000)
        }
        kill(pid, SIGKILL)
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    }

    /// Creates a bucket (moto accepts unsigned requests by default).
    func createBucket(_ name: String) async throws {
        let response = try await transport.send(HTTPRequest(method: "PUT", url: "\(endpoint)/\(name)"))
        guard response.isSuccess else { throw MotoError.bucketNotCreated(name: name, status: response.status) }
    }

    /// A client for `bucket`/`prefix` on this server, built through the production configuration path.
    func client(
        bucket: String, prefix: String = "replica", partSize: Int = 8 << 20, listPageSize: Int = 1000,
        writeLayout: ReplicaLayout = .grouped, accessKey: String = "AKIDMOTO", secret: String = "moto-secret",
        retryPolicy: S3RetryPolicy = S3RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(10))
    ) throws -> S3ReplicaClient {
        let location = S3Location(bucket: bucket, prefix: prefix, endpoint: endpoint, region: "us-east-1")
        let configuration = try S3Configuration.resolve(
            location, environment: ["AWS_ACCESS_KEY_ID": accessKey, "AWS_SECRET_ACCESS_KEY": secret],
            readFile: { _ in nil })
        return S3ReplicaClient(
            configuration: configuration, transport: transport, wallClock: SystemWallClock(),
            clock: ContinuousClock(), random: SystemRandom(), writeLayout: writeLayout,
            partSize: partSize, listPageSize: listPageSize, retryPolicy: retryPolicy)
    }

    // MARK: - Processes

    /// A port nothing listens on right now: bind to port 0, read it back, close.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw MotoError.noPort }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw MotoError.noPort }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    private static func spawn(_ arguments: [String], environment: [String: String]) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        // The test runner's threads may block or ignore signals, and a child inherits both:
        // reset them so SIGTERM stops the server.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let status = posix_spawnp(&pid, arguments[0], &actions, &attributes, argv, envp)
        guard status == 0 else { throw MotoError.spawnFailed(errno: status) }
        return pid
    }

    private static func run(_ arguments: [String], environment: [String: String]) -> Int32 {
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        guard let pid = try? spawn(arguments, environment: env) else { return -1 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return status
    }
}

enum MotoError: Error {
    case noPort
    case spawnFailed(errno: Int32)
    case notStarted(port: Int)
    case bucketNotCreated(name: String, status: Int)
}

/// Runs `body` with a fresh moto server, stopped afterwards whether `body` throws or not.
func withMoto<T>(environment: [String: String] = [:], _ body: (MotoServer) async throws -> T) async throws -> T {
    let server = try await MotoServer.start(environment: environment)
    do {
        let result = try await body(server)
        server.stop()
        return result
    } catch {
        server.stop()
        throw error
    }
}
