import Foundation
import Glibc

/// The `/metrics` endpoint: a minimal HTTP/1.x server on one thread of its own that answers
/// `GET /metrics` with `render()`'s bytes (Prometheus text), 404 for any other path and 405 for
/// any other method, one request per connection.
///
/// A thread of its own, blocking in `accept`, and no thread pool: the endpoint must answer while
/// replication is stalled (a replica that hangs holds engine threads, never this one), and an
/// idle endpoint costs one sleeping thread. Requests are served one at a time, each bounded by a
/// 5 s socket timeout, which is plenty for a scraper and keeps a slow client from holding it.
public final class MetricsServer: Sendable {
    /// Why the endpoint could not start.
    public struct StartError: Error, Sendable, CustomStringConvertible {
        public var address: String
        public var reason: String

        public init(address: String, reason: String) {
            self.address = address
            self.reason = reason
        }

        public var description: String { "--addr \(address): \(reason)" }
    }

    /// The address actually bound (its port is the one picked when 0 was asked for).
    public let address: ListenAddress
    private let socket: Int32

    private init(address: ListenAddress, socket: Int32) {
        self.address = address
        self.socket = socket
    }

    /// Binds `address` and starts serving; throws `StartError` naming what failed (address in
    /// use, unknown host) before anything is served.
    public static func start(_ address: ListenAddress, render: @escaping @Sendable () -> [UInt8]) throws(StartError)
        -> MetricsServer
    {
        let socket = try listen(on: address)
        let server = MetricsServer(address: ListenAddress(host: address.host, port: boundPort(socket)), socket: socket)
        let thread = Thread { server.serve(render) }
        thread.name = "sluice-metrics"
        thread.stackSize = 256 << 10
        thread.start()
        return server
    }

    private static func listen(on address: ListenAddress) throws(StartError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(address.host, String(address.port), &hints, &list)
        guard status == 0, let list else {
            throw StartError(address: "\(address)", reason: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(list) }
        var lastError: Int32 = EADDRNOTAVAIL
        var entry: UnsafeMutablePointer<addrinfo>? = list
        while let current = entry {
            entry = current.pointee.ai_next
            let fd = Glibc.socket(
                current.pointee.ai_family, current.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue),
                current.pointee.ai_protocol)
            guard fd >= 0 else {
                lastError = errno
                continue
            }
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            if bind(fd, current.pointee.ai_addr, current.pointee.ai_addrlen) == 0, Glibc.listen(fd, 16) == 0 {
                return fd
            }
            lastError = errno
            close(fd)
        }
        throw StartError(address: "\(address)", reason: String(cString: strerror(lastError)))
    }

    private static func boundPort(_ socket: Int32) -> UInt16 {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) }
        }
        let port: UInt16
        if Int32(storage.ss_family) == AF_INET6 {
            port = withUnsafeBytes(of: storage) { $0.load(as: sockaddr_in6.self).sin6_port }
        } else {
            port = withUnsafeBytes(of: storage) { $0.load(as: sockaddr_in.self).sin_port }
        }
        return UInt16(bigEndian: port)
    }

    private func serve(_ render: @Sendable () -> [UInt8]) {
        while true {
            let connection = accept(socket, nil, nil)
            guard connection >= 0 else {
                if errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE { continue }
                return
            }
            // Not inherited by an `--exec` child spawned meanwhile.
            _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(connection, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            respond(on: connection, render: render)
            close(connection)
        }
    }

    private func respond(on connection: Int32, render: () -> [UInt8]) {
        guard let head = Self.readRequestHead(connection) else { return }
        let requestLine = head.prefix { $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\n") }
        let parts = requestLine.split(separator: UInt8(ascii: " "))
        guard parts.count >= 2 else {
            Self.send(connection, status: "400 Bad Request", body: Array("bad request\n".utf8))
            return
        }
        let method = String(decoding: parts[0], as: UTF8.self)
        let target = String(decoding: parts[1], as: UTF8.self)
        let path =
            target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init)
            ?? target
        guard path == "/metrics" else {
            Self.send(connection, status: "404 Not Found", body: Array("not found; metrics are at /metrics\n".utf8))
            return
        }
        guard method == "GET" || method == "HEAD" else {
            Self.send(
                connection, status: "405 Method Not Allowed", body: Array("use GET\n".utf8),
                extraHeaders: "Allow: GET, HEAD\r\n")
            return
        }
        Self.send(
            connection, status: "200 OK", body: render(), contentType: "text/plain; version=0.0.4; charset=utf-8",
            includeBody: method == "GET")
    }

    /// Reads up to the blank line ending the request head (at most 8 KiB); nil if the client
    /// sent none before closing or timing out.
    private static func readRequestHead(_ connection: Int32) -> [UInt8]? {
        var head: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 2048)
        while head.count < 8192 {
            let count = chunk.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return head.isEmpty ? nil : head }
            head.append(contentsOf: chunk[..<count])
            if head.contains(subsequence: [13, 10, 13, 10]) || head.contains(subsequence: [10, 10]) { return head }
        }
        return head
    }

    private static func send(
        _ connection: Int32, status: String, body: [UInt8], contentType: String = "text/plain; charset=utf-8",
        extraHeaders: String = "", includeBody: Bool = true
    ) {
        let header =
            "HTTP/1.1 \(status)\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n\(extraHeaders)Connection: close\r\n\r\n"
        guard write(connection, Array(header.utf8)), includeBody else { return }
        _ = write(connection, body)
    }

    /// Writes everything, never raising SIGPIPE on a client that left; false on failure.
    private static func write(_ connection: Int32, _ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let count = bytes.withUnsafeBytes {
                Glibc.send(connection, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL))
            }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return false }
            sent += count
        }
        return true
    }
}

extension Array where Element == UInt8 {
    /// Whether `subsequence` occurs in the array.
    fileprivate func contains(subsequence: [UInt8]) -> Bool {
        guard count >= subsequence.count else { return false }
        for start in 0...(count - subsequence.count)
        where self[start..<(start + subsequence.count)].elementsEqual(subsequence) {
            return true
        }
        return false
    }
}
