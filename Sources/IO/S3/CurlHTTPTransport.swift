import CCurl
import CShims
import Core
import Glibc
import Synchronization

/// TLS and spooling settings of a `CurlHTTPTransport`.
public struct CurlTransportOptions: Sendable, Equatable {
    /// A CA bundle file replacing the system's, or nil for the system default.
    public var caBundle: String?
    /// Certificate and host-name verification; off only for test endpoints (`skip-verify`).
    public var verifyTLS: Bool
    /// Where large response bodies are spooled (each file is unlinked as soon as it is open).
    public var spoolDirectory: String

    public init(
        caBundle: String? = nil, verifyTLS: Bool = true,
        spoolDirectory: String = CurlTransportOptions.defaultSpoolDirectory()
    ) {
        self.caBundle = caBundle
        self.verifyTLS = verifyTLS
        self.spoolDirectory = spoolDirectory
    }

    /// `TMPDIR` when set, else `/tmp`: where `FileManager.temporaryDirectory` points on Linux,
    /// without the library that provides it.
    public static func defaultSpoolDirectory() -> String {
        if let value = getenv("TMPDIR"), value.pointee != 0 { return String(cString: value) }
        return "/tmp"
    }

    /// The CA bundle named by the environment: `AWS_CA_BUNDLE`, then `CURL_CA_BUNDLE`, then
    /// `SSL_CERT_FILE`; nil when none is set.
    public static func caBundle(from environment: [String: String]) -> String? {
        S3Configuration.caBundle(from: environment)
    }
}

/// The production `HTTPTransport` on libcurl's easy interface.
///
/// Each request runs on the injected `BlockingRunner` (a dedicated thread pool), so a transfer
/// never blocks Swift's cooperative pool. Easy handles are pooled and reused, which keeps their
/// connections (and TLS sessions) alive between requests. HTTP/1.1 only, no redirects followed,
/// no `Expect: 100-continue` round trip, and no signals (`CURLOPT_NOSIGNAL`), as threads require.
public final class CurlHTTPTransport: HTTPTransport, Sendable {
    private let runner: any BlockingRunner
    private let options: CurlTransportOptions
    private let pool = CurlHandlePool()

    public init(runner: any BlockingRunner, options: CurlTransportOptions = CurlTransportOptions()) {
        CurlGlobal.initialize()
        self.runner = runner
        self.options = options
    }

    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let pool = self.pool
        let options = self.options
        return try await runner.run { try Self.perform(request, spoolTo: nil, pool: pool, options: options) }
    }

    public func stream(_ request: HTTPRequest) async throws -> (response: HTTPResponse, body: (any ByteSource)?) {
        let pool = self.pool
        let options = self.options
        // Read here: a task-local does not cross into the runner's thread.
        let progress = ObjectProgress.current
        let fd = try await runner.run { try Self.openSpoolFile(in: options.spoolDirectory) }
        let response: HTTPResponse
        do {
            response = try await runner.run {
                try Self.perform(request, spoolTo: fd, progress: progress, pool: pool, options: options)
            }
        } catch {
            Glibc.close(fd)
            throw error
        }
        guard response.isSuccess else {
            Glibc.close(fd)
            return (response, nil)
        }
        let size = Int64(lseek(fd, 0, SEEK_END))
        // The unlinked spool file is read like any file; closing the source frees it.
        let spool = POSIXFileHandle(fd: fd, path: "HTTP response spool", runner: runner)
        return (response, FileRangeSource(handle: spool, from: 0, to: size, closesHandle: true))
    }

    // MARK: - One transfer (blocking)

    private static func openSpoolFile(in directory: String) throws -> Int32 {
        let fd = POSIX.openUnlinkedTempFile(in: directory, prefix: "sluice-http-")
        guard fd >= 0 else {
            throw HTTPTransportError(
                kind: .other, code: Int(errno),
                message: "cannot create a spool file in \(directory): \(String(cString: strerror(errno)))")
        }
        return fd
    }

    private static func perform(
        _ request: HTTPRequest, spoolTo fd: Int32?, progress: ObjectProgress? = nil, pool: CurlHandlePool,
        options: CurlTransportOptions
    ) throws -> HTTPResponse {
        guard let handle = pool.take() else {
            throw HTTPTransportError(kind: .other, code: -1, message: "libcurl could not create a handle")
        }
        defer { pool.give(handle) }
        curl_easy_reset(handle)

        let context = TransferContext(upload: request.body, spoolFD: fd, progress: progress)
        let contextPointer = Unmanaged.passUnretained(context).toOpaque()
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        var headerList: UnsafeMutablePointer<curl_slist>? = nil
        defer { curl_slist_free_all(headerList) }

        let code: CURLcode = withExtendedLifetime(context) {
            errorBuffer.withUnsafeMutableBufferPointer { errorPointer -> CURLcode in
                sluice_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorPointer.baseAddress)
                sluice_curl_setopt_string(handle, CURLOPT_URL, request.url)
                sluice_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
                sluice_curl_setopt_long(handle, CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_1_1))
                sluice_curl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0)
                sluice_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Int(request.timeouts.connect.milliseconds))
                sluice_curl_setopt_long(handle, CURLOPT_LOW_SPEED_LIMIT, request.timeouts.lowSpeedBytesPerSecond)
                sluice_curl_setopt_long(
                    handle, CURLOPT_LOW_SPEED_TIME,
                    max(1, Int(request.timeouts.lowSpeedWindow.milliseconds / 1000)))
                if let total = request.timeouts.total {
                    sluice_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, Int(total.milliseconds))
                }
                sluice_curl_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, options.verifyTLS ? 1 : 0)
                sluice_curl_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, options.verifyTLS ? 2 : 0)
                if let bundle = options.caBundle { sluice_curl_setopt_string(handle, CURLOPT_CAINFO, bundle) }

                switch request.method {
                case "GET":
                    sluice_curl_setopt_long(handle, CURLOPT_HTTPGET, 1)
                case "HEAD":
                    sluice_curl_setopt_long(handle, CURLOPT_NOBODY, 1)
                case "PUT":
                    // UPLOAD with a known size sends Content-Length, never chunked encoding.
                    sluice_curl_setopt_long(handle, CURLOPT_UPLOAD, 1)
                    sluice_curl_setopt_off(handle, CURLOPT_INFILESIZE_LARGE, curl_off_t(request.body.count))
                case "POST":
                    sluice_curl_setopt_long(handle, CURLOPT_POST, 1)
                    sluice_curl_setopt_off(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.count))
                default:
                    sluice_curl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, request.method)
                    if !request.body.isEmpty {
                        sluice_curl_setopt_long(handle, CURLOPT_UPLOAD, 1)
                        sluice_curl_setopt_off(handle, CURLOPT_INFILESIZE_LARGE, curl_off_t(request.body.count))
                    }
                }
                sluice_curl_setopt_read_function(handle, curlRead)
                sluice_curl_setopt_pointer(handle, CURLOPT_READDATA, contextPointer)
                // A body curl has started sending must be rewound when it resends the request
                // (a connection reset mid-upload): without this it fails with "necessary data
                // rewind wasn't possible" instead of retrying the same bytes.
                sluice_curl_setopt_seek_function(handle, curlSeek)
                sluice_curl_setopt_pointer(handle, CURLOPT_SEEKDATA, contextPointer)
                sluice_curl_setopt_write_function(handle, curlWrite)
                sluice_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, contextPointer)
                sluice_curl_setopt_header_function(handle, curlHeader)
                sluice_curl_setopt_pointer(handle, CURLOPT_HEADERDATA, contextPointer)

                // An empty `Expect:` stops libcurl's 100-continue wait, which costs a second
                // against servers that never answer it; curl's POST default Content-Type is
                // replaced by whatever the caller set, or blanked.
                var lines = request.headers.map { "\($0.name): \($0.value)" }
                lines.append("Expect:")
                if !request.headers.contains(where: { $0.name.lowercased() == "content-type" }) {
                    lines.append("Content-Type:")
                }
                for line in lines { headerList = curl_slist_append(headerList, line) }
                sluice_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList)

                return curl_easy_perform(handle)
            }
        }

        if context.writeError != nil || code != CURLE_OK { progress?.transferFailed() }
        if let writeError = context.writeError {
            throw HTTPTransportError(
                kind: .other, code: Int(writeError),
                message: "cannot spool the response body: \(String(cString: strerror(writeError)))")
        }
        guard code == CURLE_OK else {
            let detail = String(decoding: errorBuffer.prefix { $0 != 0 }.map(UInt8.init(bitPattern:)), as: UTF8.self)
            let summary = String(cString: curl_easy_strerror(code))
            throw HTTPTransportError(
                kind: CurlErrorKind.kind(of: Int(code.rawValue)), code: Int(code.rawValue),
                message: detail.isEmpty ? summary : detail)
        }
        var status = 0
        sluice_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return HTTPResponse(status: status, headers: context.headers, body: context.body)
    }
}

/// How libcurl's error numbers map onto the transport's retry-relevant kinds.
public enum CurlErrorKind {
    public static func kind(of code: Int) -> HTTPTransportError.Kind {
        switch code {
        case 6, 5: return .couldNotResolve // COULDNT_RESOLVE_HOST / _PROXY
        case 7: return .couldNotConnect // COULDNT_CONNECT
        case 28: return .timedOut // OPERATION_TIMEDOUT
        case 18, 52, 55, 56: return .connectionLost // PARTIAL_FILE, GOT_NOTHING, SEND_ERROR, RECV_ERROR
        case 35, 51, 53, 54, 58, 59, 60, 64, 66, 77, 80, 83, 90, 91: return .tls
        default: return .other
        }
    }
}

// MARK: - Callbacks

/// What one transfer reads from and writes into; owned by `perform` for the transfer's length.
private final class TransferContext {
    let upload: [UInt8]
    var uploadOffset = 0
    let spoolFD: Int32?
    /// Told of every spooled chunk, so a download's progress moves while it lands.
    let progress: ObjectProgress?
    var headers: [HTTPHeader] = []
    var status = 0
    var body: [UInt8] = []
    var writeError: Int32?

    /// Error bodies are a few hundred bytes of XML; anything bigger is not worth keeping.
    static let inMemoryErrorLimit = 1 << 20

    init(upload: [UInt8], spoolFD: Int32?, progress: ObjectProgress?) {
        self.upload = upload
        self.spoolFD = spoolFD
        self.progress = progress
    }

    static func from(_ pointer: UnsafeMutableRawPointer?) -> TransferContext {
        Unmanaged<TransferContext>.fromOpaque(pointer!).takeUnretainedValue()
    }
}

private let curlRead: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = {
    buffer, size, count, userData in
    let context = TransferContext.from(userData)
    let n = min(size * count, context.upload.count - context.uploadOffset)
    guard n > 0, let buffer else { return 0 }
    context.upload.withUnsafeBytes { bytes in
        UnsafeMutableRawPointer(buffer).copyMemory(from: bytes.baseAddress! + context.uploadOffset, byteCount: n)
    }
    context.uploadOffset += n
    return n
}

private let curlSeek: @convention(c) (UnsafeMutableRawPointer?, curl_off_t, Int32) -> Int32 = {
    userData, offset, origin in
    let context = TransferContext.from(userData)
    guard origin == SEEK_SET, offset >= 0, offset <= curl_off_t(context.upload.count) else {
        return Int32(CURL_SEEKFUNC_CANTSEEK)
    }
    context.uploadOffset = Int(offset)
    return Int32(CURL_SEEKFUNC_OK)
}

private let curlWrite: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = {
    buffer, size, count, userData in
    let context = TransferContext.from(userData)
    let n = size * count
    guard n > 0, let buffer else { return 0 }
    if let fd = context.spoolFD, (200..<300).contains(context.status) {
        let code = POSIX.writeAll(fd, UnsafeRawBufferPointer(start: buffer, count: n))
        if code != 0 {
            context.writeError = code
            return 0 // makes libcurl abort the transfer
        }
        context.progress?.landed(n)
    } else if context.body.count < TransferContext.inMemoryErrorLimit || context.spoolFD == nil {
        let raw = UnsafeRawBufferPointer(start: buffer, count: n)
        context.body.append(contentsOf: raw)
    }
    return n
}

private let curlHeader: @convention(c) (UnsafeMutablePointer<CChar>?, Int, Int, UnsafeMutableRawPointer?) -> Int = {
    buffer, size, count, userData in
    let context = TransferContext.from(userData)
    let n = size * count
    guard let buffer else { return n }
    let line = HeaderLine.trimmed(UnsafeRawBufferPointer(start: buffer, count: n)[...])
    if line.starts(with: "HTTP/".utf8) {
        // A new status line (after a 100 Continue, say) starts a new header block.
        let parts = line.split(separator: UInt8(ascii: " "))
        context.status = parts.count > 1 ? Int(String(decoding: parts[1], as: UTF8.self)) ?? 0 : 0
        context.headers = []
    } else if let colon = line.firstIndex(of: UInt8(ascii: ":")) {
        let name = String(decoding: HeaderLine.trimmed(line[..<colon]), as: UTF8.self)
        let value = String(decoding: HeaderLine.trimmed(line[(colon + 1)...]), as: UTF8.self)
        context.headers.append(HTTPHeader(name, value))
    }
    return n
}

/// Header lines arrive as raw bytes ending in CR LF.
enum HeaderLine {
    /// `bytes` without leading and trailing spaces, tabs, CRs and LFs.
    static func trimmed<Bytes: BidirectionalCollection>(_ bytes: Bytes) -> Bytes.SubSequence
    where Bytes.Element == UInt8 {
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D || $0 == 0x0A }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }),
            let last = bytes.lastIndex(where: { !isSpace($0) })
        else { return bytes[bytes.endIndex...] }
        return bytes[first...last]
    }
}

// MARK: - Handles

/// Idle easy handles; each keeps its own connection cache, so reuse saves TCP and TLS setup.
private final class CurlHandlePool: Sendable {
    /// An easy handle is used by one thread at a time: whoever took it from the pool.
    // @unchecked: an easy handle is used by one thread at a time: whoever took it from the pool.
    private struct Handle: @unchecked Sendable { let pointer: UnsafeMutableRawPointer }

    private let idle = Mutex<[Handle]>([])
    private let maxIdle = 8

    func take() -> UnsafeMutableRawPointer? {
        let handle = idle.withLock { $0.popLast() }
        return handle?.pointer ?? curl_easy_init()
    }

    func give(_ handle: UnsafeMutableRawPointer) {
        let kept = idle.withLock { idle -> Bool in
            guard idle.count < maxIdle else { return false }
            idle.append(Handle(pointer: handle))
            return true
        }
        if !kept { curl_easy_cleanup(handle) }
    }

    deinit {
        for handle in idle.withLock({ $0 }) { curl_easy_cleanup(handle.pointer) }
    }
}
