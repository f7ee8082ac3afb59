import CCurl
import Core
import Glibc
import Synchronization

/// Remote file metadata from an SFTP stat.
struct SFTPFileStat: Sendable, Equatable {
    var size: Int64
    var modified: Timestamp
}

/// A pool of libcurl handles for one server, and the runner their blocking calls go through.
///
/// Each handle keeps its SSH connection open between requests; `withSession` lends one handle to
/// a block of requests that runs on the runner's threads, never on Swift's cooperative pool.
final class SFTPConnectionPool: Sendable {
    let settings: SFTPConnectionSettings
    let replica: String
    let user: String
    let hostKeyAdvice: String
    private let runner: any BlockingRunner
    private let idle = Mutex<[CurlSFTPHandle]>([])
    private let maxIdle = 4

    init(location: SFTPLocation, runner: any BlockingRunner, home: String?) {
        settings = SFTPConnectionSettings(location: location, home: home, fileExists: { access($0, F_OK) == 0 })
        replica = location.address
        user = location.user
        switch location.hostKeyCheck {
        case .insecure: hostKeyAdvice = ""
        case .sha256:
            hostKeyAdvice =
                "it does not match host-key-sha256; check the fingerprint with 'ssh-keygen -lf' on the server's host key"
        case .knownHosts:
            hostKeyAdvice =
                "it is not in \(settings.knownHostsPath ?? "known_hosts") (add it with 'ssh-keyscan -p PORT HOST >> FILE'), or pin it with ?host-key-sha256=..."
        }
        self.runner = runner
    }

    /// Runs `body` on the runner with one handle; the handle goes back to the pool afterwards.
    func withSession<T: Sendable>(_ body: @escaping @Sendable (SFTPSession) throws -> T) async throws -> T {
        try await runner.run { [self] in
            // libssh2's own words for a missing key ("unable to extract public key") mislead.
            if let key = settings.privateKeyPath, access(key, R_OK) != 0 {
                throw ReplicaClientError.unavailable(
                    replica: replica,
                    reason:
                        "cannot read the private key file \(key) (key= in the URL): \(String(cString: strerror(errno)))"
                )
            }
            let handle = try idle.withLock { $0.popLast() } ?? makeHandle()
            defer { idle.withLock { if $0.count < maxIdle { $0.append(handle) } } }
            return try body(SFTPSession(handle: handle, pool: self))
        }
    }

    private func makeHandle() throws -> CurlSFTPHandle {
        guard let handle = CurlSFTPHandle() else {
            throw ReplicaClientError.unavailable(replica: replica, reason: "libcurl could not create a handle")
        }
        return handle
    }
}

/// Synchronous SFTP requests over one handle, with libcurl's results turned into
/// `ReplicaClientError`s. Only used inside `SFTPConnectionPool.withSession`.
struct SFTPSession {
    let handle: CurlSFTPHandle
    let pool: SFTPConnectionPool

    /// The names in a folder (without `.` and `..`), or nil if it does not exist.
    func listNames(_ directory: String) throws -> [String]? {
        let sink = TransferSink(memoryLimit: 64 << 20)
        let response = perform(SFTPRequest(path: slashTerminated(directory), body: .listNames(sink)))
        if response.code == CURLE_REMOTE_FILE_NOT_FOUND { return nil }
        try check(response, "list", directory, sink.failure)
        return String(decoding: sink.bytes, as: UTF8.self)
            .split(separator: "\n", omittingEmptySubsequences: true)
            .map { $0.hasSuffix("\r") ? String($0.dropLast()) : String($0) }
            .filter { $0 != "." && $0 != ".." }
    }

    /// Size and modification time of a file, or nil if it does not exist.
    func stat(_ path: String) throws -> SFTPFileStat? {
        let response = perform(SFTPRequest(path: path, body: .none))
        if response.code == CURLE_REMOTE_FILE_NOT_FOUND { return nil }
        try check(response, "stat", path, nil)
        guard let modified = response.modified else {
            throw ReplicaClientError.unavailable(
                replica: pool.replica, reason: "stat \(path): the server reported no time")
        }
        var size = response.size
        if size == nil {
            // libcurl reports no length for an empty file; prove it is empty by reading it.
            let sink = TransferSink(memoryLimit: 0)
            guard try download(path, into: sink) else { return nil }
            size = 0
        }
        return SFTPFileStat(size: size!, modified: Timestamp(millisecondsSince1970: modified * 1000))
    }

    /// Downloads a file into `sink`; false if it does not exist.
    func download(_ path: String, into sink: TransferSink) throws -> Bool {
        let response = perform(SFTPRequest(path: path, body: .download(sink)))
        if response.code == CURLE_REMOTE_FILE_NOT_FOUND { return false }
        try check(response, "download", path, sink.failure)
        return true
    }

    /// Uploads to `temp` (creating missing folders), then renames it to `target`. SFTP's rename
    /// does not replace an existing file: with `replacing`, an existing target is removed and
    /// the rename retried (a short window in which neither exists); without it, an existing
    /// target makes this return false. The temp file never outlives a failure we see.
    func upload(from source: UploadSource, size: Int64, temp: String, to target: String, replacing: Bool) throws -> Bool
    {
        let rename = "rename \(quoted(temp)) \(quoted(target))"
        let response = perform(SFTPRequest(path: temp, body: .upload(source, size: size), postQuote: [rename]))
        if response.ok { return true }
        guard response.code == CURLE_QUOTE_ERROR else {
            removeQuietly(temp)
            try check(response, "upload", target, source.failure)
            return false
        }
        // The upload landed but the rename failed; most often because the target exists. Only
        // then is the target removed: a rename failing for another reason must not cost the
        // object that is there.
        let targetExists: Bool
        do {
            targetExists = try stat(target) != nil
        } catch {
            removeQuietly(temp)
            throw error
        }
        if replacing && targetExists {
            let retry = perform(
                SFTPRequest(
                    path: slashTerminated(Path.directory(of: target)), body: .none,
                    quote: ["*rm \(quoted(target))", rename]))
            if retry.ok { return true }
            removeQuietly(temp)
            try check(retry, "rename onto", target, nil)
            return false
        }
        removeQuietly(temp)
        if targetExists { return false }
        try check(response, "rename onto", target, nil)
        return false
    }

    /// Creates `target` holding `bytes` unless it exists (then false): upload, then a rename
    /// that SFTP refuses onto an existing file.
    func upload(bytes: [UInt8], temp: String, to target: String) throws -> Bool {
        try upload(from: UploadSource(bytes: bytes), size: Int64(bytes.count), temp: temp, to: target, replacing: false)
    }

    /// Runs SFTP commands (already formed, paths quoted with `quoted`).
    func run(_ commands: [String], near directory: String) throws {
        guard !commands.isEmpty else { return }
        // A quote-only request still needs a URL; an existing folder keeps curl from failing
        // after the commands ran. The server's root always exists.
        let response = perform(SFTPRequest(path: "/", body: .none, quote: commands))
        try check(response, "change", directory, nil)
    }

    /// Removes a file if it exists, ignoring every failure (cleanup after another error).
    func removeQuietly(_ path: String) {
        _ = perform(SFTPRequest(path: "/", body: .none, quote: ["*rm \(quoted(path))"]))
    }

    func quoted(_ path: String) -> String { CurlSFTPHandle.quoteArgument(path) }

    private func slashTerminated(_ directory: String) -> String {
        directory.hasSuffix("/") ? directory : directory + "/"
    }

    private func perform(_ request: SFTPRequest) -> SFTPResponse {
        handle.perform(request, settings: pool.settings)
    }

    /// Throws a one-line error for a failed response, naming the operation and path.
    private func check(_ response: SFTPResponse, _ operation: String, _ path: String, _ localFailure: String?) throws {
        guard !response.ok else { return }
        let reason: String
        switch response.code {
        case CURLE_REMOTE_FILE_NOT_FOUND:
            throw ReplicaClientError.notFound(replica: pool.replica, key: path)
        case CURLE_LOGIN_DENIED:
            reason = "the server refused user \(pool.user) (check the key= file, its passphrase, or the password)"
        case CURLE_PEER_FAILED_VERIFICATION:
            reason = "the server's host key is not trusted: \(pool.hostKeyAdvice)"
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_OPERATION_TIMEDOUT:
            reason = "cannot reach the server: \(response.message)"
        case CURLE_WRITE_ERROR, CURLE_READ_ERROR, CURLE_ABORTED_BY_CALLBACK:
            reason = "\(operation) \(path): \(localFailure ?? response.message)"
        default:
            reason = "\(operation) \(path): \(response.message)"
        }
        throw ReplicaClientError.unavailable(replica: pool.replica, reason: reason)
    }
}

/// Unique suffixes for temp names: the process id and a random part keep replicators on
/// different hosts apart, a counter keeps this process's concurrent writes apart.
enum SFTPTempNames {
    private static let counter = Atomic<UInt64>(0)
    private static let prefix: String = {
        var random = SystemRandomNumberGenerator()
        return "\(String(getpid(), radix: 16))-\(String(random.next() as UInt32, radix: 16))"
    }()

    static func next() -> String {
        "\(prefix)-\(String(counter.add(1, ordering: .relaxed).newValue, radix: 16))"
    }
}
