/// One HTTP header line. Names compare case-insensitively wherever headers are looked up.
public struct HTTPHeader: Sendable, Equatable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// How long a request may take. Large transfers are bounded by a minimum speed over a window
/// rather than a total deadline, so a slow but moving multi-gigabyte download is not killed.
public struct HTTPTimeouts: Sendable, Equatable {
    /// Time allowed to open the TCP (and TLS) connection.
    public var connect: Duration
    /// A transfer slower than `lowSpeedBytesPerSecond` for `lowSpeedWindow` is abandoned.
    public var lowSpeedBytesPerSecond: Int
    public var lowSpeedWindow: Duration
    /// An overall deadline, or nil for none (bodies of unknown size).
    public var total: Duration?

    public init(
        connect: Duration = .seconds(10), lowSpeedBytesPerSecond: Int = 1024,
        lowSpeedWindow: Duration = .seconds(30), total: Duration? = nil
    ) {
        self.connect = connect
        self.lowSpeedBytesPerSecond = lowSpeedBytesPerSecond
        self.lowSpeedWindow = lowSpeedWindow
        self.total = total
    }
}

/// One request. The body is held in memory: callers that upload large objects cut them into
/// parts first (S3 multipart), so no request body exceeds one part.
public struct HTTPRequest: Sendable, Equatable {
    public var method: String
    /// An absolute `http://` or `https://` URL, already percent-encoded.
    public var url: String
    public var headers: [HTTPHeader]
    public var body: [UInt8]
    public var timeouts: HTTPTimeouts

    public init(
        method: String, url: String, headers: [HTTPHeader] = [], body: [UInt8] = [],
        timeouts: HTTPTimeouts = HTTPTimeouts()
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeouts = timeouts
    }
}

/// One response. `body` holds the whole body for `send`, and the error body (if any) for a
/// non-2xx answer to `stream`.
public struct HTTPResponse: Sendable, Equatable {
    public var status: Int
    public var headers: [HTTPHeader]
    public var body: [UInt8]

    public init(status: Int, headers: [HTTPHeader], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first header named `name`, compared case-insensitively.
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name.lowercased() == wanted }?.value
    }

    public var isSuccess: Bool { (200..<300).contains(status) }
}

/// Why a request got no HTTP response at all. The kind drives retry decisions; the message is
/// the transport's own one-line explanation.
public struct HTTPTransportError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The host name did not resolve.
        case couldNotResolve
        /// Nothing accepted the connection.
        case couldNotConnect
        /// A connect, low-speed or total timeout fired.
        case timedOut
        /// The connection dropped mid-request, or the server sent nothing.
        case connectionLost
        /// TLS handshake or certificate verification failed.
        case tls
        /// Anything else (a bad URL, out of memory, a local file error).
        case other
    }

    public var kind: Kind
    /// The transport's own error number (a CURLcode in production), for diagnosis.
    public var code: Int
    public var message: String

    public init(kind: Kind, code: Int, message: String) {
        self.kind = kind
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

/// The HTTP port: one request, one response. Production uses libcurl; tests use a scripted
/// server or an in-memory double.
public protocol HTTPTransport: Sendable {
    /// Performs `request` and returns the response with its whole body in memory. For small
    /// answers: listings, XML results, errors.
    func send(_ request: HTTPRequest) async throws -> HTTPResponse

    /// Performs `request` whose 2xx body may be large: it is spooled outside memory and returned
    /// as a byte source the caller reads and closes. A non-2xx answer comes back with its body in
    /// `response.body` and no source.
    func stream(_ request: HTTPRequest) async throws -> (response: HTTPResponse, body: (any ByteSource)?)
}
