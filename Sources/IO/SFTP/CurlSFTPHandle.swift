import CCurl
import CShims
import Core
import Glibc

/// One SFTP operation as libcurl performs it: optional quote commands before and after, then a
/// listing, a download, an upload, or nothing (`NOBODY`, which still stats the file).
struct SFTPRequest {
    enum Body {
        /// No transfer: run the quote commands and, for a file path, stat it.
        case none
        /// Lists a directory (the path ends in `/`) as bare names, one a line.
        case listNames(TransferSink)
        /// Downloads a file into the sink.
        case download(TransferSink)
        /// Uploads `size` bytes from the source, creating missing folders.
        case upload(UploadSource, size: Int64)
    }

    /// The remote path (not URL-encoded); a folder ends in `/`.
    var path: String
    var body: Body
    /// SFTP commands run before the transfer (`rm`, `rename`, `mkdir`, `rmdir`; `*` prefix
    /// ignores the command's failure).
    var quote: [String] = []
    /// SFTP commands run after a successful transfer.
    var postQuote: [String] = []
}

/// What libcurl reported about one operation.
struct SFTPResponse {
    var code: CURLcode
    /// libcurl's own message for the failure (never holds the password: it is not in the URL).
    var message: String
    /// The file's modification time in seconds since 1970, when curl could stat it.
    var modified: Int64?
    /// The file's size, when curl could stat it (downloads and `NOBODY` requests).
    var size: Int64?

    var ok: Bool { code == CURLE_OK }
}

/// Where a download or listing goes: memory (bounded) or a file descriptor.
// @unchecked: used by the one thread running its transfer.
final class TransferSink: @unchecked Sendable {
    private enum Target {
        case memory(limit: Int)
        case descriptor(Int32)
    }

    private let target: Target
    private(set) var bytes: [UInt8] = []
    private(set) var written: Int64 = 0
    /// Why the sink refused data (a full disk, a listing over its limit).
    private(set) var failure: String?
    /// Told of every chunk written through a descriptor, so a download's progress moves while
    /// it lands.
    private let progress: ObjectProgress?

    /// Collects up to `limit` bytes in memory; more fails the transfer.
    init(memoryLimit limit: Int) {
        target = .memory(limit: limit)
        progress = nil
    }

    /// Writes through `fd` from offset 0, telling `progress` of each chunk.
    init(descriptor fd: Int32, progress: ObjectProgress? = nil) {
        target = .descriptor(fd)
        self.progress = progress
    }

    /// Takes one chunk; false stops the transfer.
    func accept(_ data: UnsafeRawBufferPointer) -> Bool {
        switch target {
        case .memory(let limit):
            guard bytes.count + data.count <= limit else {
                failure = "the response is larger than \(limit) bytes"
                return false
            }
            bytes.append(contentsOf: data)
        case .descriptor(let fd):
            let code = POSIX.writeAll(fd, data, at: written)
            if code != 0 {
                failure = "cannot write the local spool file: \(String(cString: strerror(code)))"
                return false
            }
            progress?.landed(data.count)
        }
        written += Int64(data.count)
        return true
    }
}

/// Bytes for an upload: a local (spool) file descriptor, or a small array.
// @unchecked: used by the one thread running its transfer.
final class UploadSource: @unchecked Sendable {
    private let fd: Int32?
    private let bytes: [UInt8]
    private var offset: Int64 = 0
    private(set) var failure: String?

    init(descriptor fd: Int32) {
        self.fd = fd
        bytes = []
    }

    init(bytes: [UInt8]) {
        fd = nil
        self.bytes = bytes
    }

    /// Fills `buffer`; 0 at the end, nil on a read error.
    func fill(_ buffer: UnsafeMutableRawBufferPointer) -> Int? {
        guard let fd else {
            let count = min(buffer.count, bytes.count - Int(offset))
            bytes.withUnsafeBytes { source in
                buffer.baseAddress!.copyMemory(from: source.baseAddress! + Int(offset), byteCount: count)
            }
            offset += Int64(count)
            return count
        }
        let n = POSIX.retryingInterrupts { pread(fd, buffer.baseAddress!, buffer.count, off_t(offset)) }
        if n < 0 {
            failure = "cannot read the local spool file: \(String(cString: strerror(errno)))"
            return nil
        }
        offset += Int64(n)
        return n
    }
}

/// How to reach and authenticate to the server; applied to every request.
struct SFTPConnectionSettings: Sendable {
    var baseURL: String
    var user: String
    var password: String?
    var privateKeyPath: String?
    var publicKeyPath: String?
    var knownHostsPath: String?
    var hostKeySHA256: String?

    init(location: SFTPLocation, home: String?, fileExists: (String) -> Bool) {
        let host = location.host.contains(":") ? "[\(location.host)]" : location.host
        baseURL = "sftp://\(host):\(location.port)"
        user = location.user
        password = location.password
        privateKeyPath = location.privateKeyPath.map { Self.expandingHome($0, home: home) }
        if let key = privateKeyPath, fileExists(key + ".pub") { publicKeyPath = key + ".pub" }
        switch location.hostKeyCheck {
        case .insecure:
            break
        case .sha256(let fingerprint):
            hostKeySHA256 = fingerprint
        case .knownHosts(let path):
            knownHostsPath = path.map { Self.expandingHome($0, home: home) } ?? "\(home ?? "")/.ssh/known_hosts"
        }
    }

    static func expandingHome(_ path: String, home: String?) -> String {
        guard let home, !home.isEmpty, path == "~" || path.hasPrefix("~/") else { return path }
        return home + path.dropFirst()
    }
}

/// One libcurl easy handle. It keeps its SSH connection between requests, so a listing that
/// stats every object pays for one handshake; it is used by one thread at a time.
// @unchecked: used by one thread at a time, whoever took it from the pool.
final class CurlSFTPHandle: @unchecked Sendable {
    private let curl: UnsafeMutableRawPointer
    private let errorBuffer: UnsafeMutablePointer<CChar>

    init?() {
        CurlGlobal.initialize()
        guard let curl = curl_easy_init() else { return nil }
        self.curl = curl
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
    }

    deinit {
        curl_easy_cleanup(curl)
        errorBuffer.deallocate()
    }

    /// Runs one request, blocking the calling thread until it ends.
    func perform(_ request: SFTPRequest, settings: SFTPConnectionSettings) -> SFTPResponse {
        // Reset forgets every option of the previous request but keeps the live connection.
        curl_easy_reset(curl)
        errorBuffer[0] = 0

        var lists: [UnsafeMutablePointer<curl_slist>] = []
        defer { lists.forEach { curl_slist_free_all($0) } }
        var setupFailure: CURLcode = CURLE_OK
        func check(_ code: CURLcode) { if code != CURLE_OK && setupFailure == CURLE_OK { setupFailure = code } }

        check(sluice_curl_setopt_pointer(curl, CURLOPT_ERRORBUFFER, errorBuffer))
        check(sluice_curl_setopt_string(curl, CURLOPT_URL, settings.baseURL + Self.encodeURLPath(request.path)))
        check(sluice_curl_setopt_long(curl, CURLOPT_NOSIGNAL, 1))
        check(sluice_curl_setopt_long(curl, CURLOPT_CONNECTTIMEOUT, 30))
        // A stalled server fails the request instead of hanging a pool thread forever.
        check(sluice_curl_setopt_long(curl, CURLOPT_LOW_SPEED_LIMIT, 1))
        check(sluice_curl_setopt_long(curl, CURLOPT_LOW_SPEED_TIME, 60))
        check(sluice_curl_setopt_string(curl, CURLOPT_USERNAME, settings.user))
        var authTypes = 0
        if let key = settings.privateKeyPath {
            authTypes |= Int(CURLSSH_AUTH_PUBLICKEY)
            check(sluice_curl_setopt_string(curl, CURLOPT_SSH_PRIVATE_KEYFILE, key))
            if let pub = settings.publicKeyPath {
                check(sluice_curl_setopt_string(curl, CURLOPT_SSH_PUBLIC_KEYFILE, pub))
            }
            if let password = settings.password {
                check(sluice_curl_setopt_string(curl, CURLOPT_KEYPASSWD, password))
            }
        }
        if let password = settings.password {
            authTypes |= Int(CURLSSH_AUTH_PASSWORD)
            check(sluice_curl_setopt_string(curl, CURLOPT_PASSWORD, password))
        }
        if authTypes != 0 { check(sluice_curl_setopt_long(curl, CURLOPT_SSH_AUTH_TYPES, authTypes)) }
        if let fingerprint = settings.hostKeySHA256 {
            check(sluice_curl_setopt_string(curl, CURLOPT_SSH_HOST_PUBLIC_KEY_SHA256, fingerprint))
        } else if let knownHosts = settings.knownHostsPath {
            // Without a key callback, libcurl accepts only a host key that matches the file.
            check(sluice_curl_setopt_string(curl, CURLOPT_SSH_KNOWNHOSTS, knownHosts))
        }
        check(sluice_curl_setopt_long(curl, CURLOPT_FILETIME, 1))

        func slist(_ commands: [String]) -> UnsafeMutablePointer<curl_slist>? {
            var list: UnsafeMutablePointer<curl_slist>?
            for command in commands { list = curl_slist_append(list, command) }
            if let list { lists.append(list) }
            return list
        }
        if !request.quote.isEmpty { check(sluice_curl_setopt_slist(curl, CURLOPT_QUOTE, slist(request.quote))) }
        if !request.postQuote.isEmpty {
            check(sluice_curl_setopt_slist(curl, CURLOPT_POSTQUOTE, slist(request.postQuote)))
        }

        // The context object outlives perform: it is retained by the `withExtendedLifetime` below.
        var context: AnyObject?
        switch request.body {
        case .none:
            check(sluice_curl_setopt_long(curl, CURLOPT_NOBODY, 1))
        case .listNames(let sink):
            check(sluice_curl_setopt_long(curl, CURLOPT_DIRLISTONLY, 1))
            context = sink
            check(sluice_curl_setopt_write_function(curl, curlWriteToSink))
            check(sluice_curl_setopt_pointer(curl, CURLOPT_WRITEDATA, Unmanaged.passUnretained(sink).toOpaque()))
        case .download(let sink):
            context = sink
            check(sluice_curl_setopt_write_function(curl, curlWriteToSink))
            check(sluice_curl_setopt_pointer(curl, CURLOPT_WRITEDATA, Unmanaged.passUnretained(sink).toOpaque()))
        case .upload(let source, let size):
            context = source
            check(sluice_curl_setopt_long(curl, CURLOPT_UPLOAD, 1))
            check(sluice_curl_setopt_off(curl, CURLOPT_INFILESIZE_LARGE, curl_off_t(size)))
            check(sluice_curl_setopt_long(curl, CURLOPT_FTP_CREATE_MISSING_DIRS, 1))
            check(sluice_curl_setopt_read_function(curl, curlReadFromSource))
            check(sluice_curl_setopt_pointer(curl, CURLOPT_READDATA, Unmanaged.passUnretained(source).toOpaque()))
        }
        guard setupFailure == CURLE_OK else {
            return SFTPResponse(code: setupFailure, message: String(cString: curl_easy_strerror(setupFailure)))
        }

        let code = withExtendedLifetime(context) { curl_easy_perform(curl) }
        var message = String(cString: errorBuffer)
        if message.isEmpty && code != CURLE_OK { message = String(cString: curl_easy_strerror(code)) }
        var response = SFTPResponse(code: code, message: message)
        var fileTime: curl_off_t = -1
        if curlGetInfoOffset(curl, CURLINFO_FILETIME_T, &fileTime) == CURLE_OK, fileTime >= 0 {
            response.modified = Int64(fileTime)
        }
        var length: curl_off_t = -1
        if curlGetInfoOffset(curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length) == CURLE_OK, length >= 0 {
            response.size = Int64(length)
        }
        return response
    }

    /// Escapes a remote path for the URL; curl decodes it again before using it.
    static func encodeURLPath(_ path: String) -> String {
        var result = ""
        for byte in path.utf8 {
            let isAlphanumeric =
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
            if isAlphanumeric || "/-._~".utf8.contains(byte) {
                result.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                result += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return result
    }

    /// A path as one argument of a quote command: double-quoted, `"` and `\` escaped.
    static func quoteArgument(_ path: String) -> String {
        var escaped = ""
        for character in path {
            if character == "\"" || character == "\\" { escaped.append("\\") }
            escaped.append(character)
        }
        return "\"\(escaped)\""
    }
}

private func curlGetInfoOffset(_ curl: UnsafeMutableRawPointer, _ info: CURLINFO, _ value: inout curl_off_t) -> CURLcode
{
    sluice_curl_getinfo_off(curl, info, &value)
}

private let curlWriteToSink: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int =
    {
        data, size, count, context in
        let sink = Unmanaged<TransferSink>.fromOpaque(context!).takeUnretainedValue()
        let total = size * count
        guard total > 0, let data else { return 0 }
        return sink.accept(UnsafeRawBufferPointer(start: data, count: total)) ? total : 0
    }

private let curlReadFromSource:
    @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = {
        buffer, size, count, context in
        let source = Unmanaged<UploadSource>.fromOpaque(context!).takeUnretainedValue()
        guard let buffer else { return Int(CURL_READFUNC_ABORT) }
        return source.fill(UnsafeMutableRawBufferPointer(start: buffer, count: size * count))
            ?? Int(CURL_READFUNC_ABORT)
    }
