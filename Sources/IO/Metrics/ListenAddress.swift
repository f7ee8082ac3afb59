/// An address to listen on, as Litestream's `addr` spells it: `HOST:PORT`, `:PORT` (every
/// interface), or `[IPV6]:PORT`. The port is required; 0 picks a free one.
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    /// nil for every interface.
    public var host: String?
    public var port: UInt16

    /// Why an address was refused.
    public struct ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        public var text: String
        public var description: String {
            "'\(text)' is not a listen address; use HOST:PORT or :PORT, like :9090 or 127.0.0.1:9090"
        }
    }

    public init(host: String?, port: UInt16) {
        self.host = host
        self.port = port
    }

    public init(parsing text: String) throws(ParseError) {
        guard let colon = text.lastIndex(of: ":") else { throw ParseError(text: text) }
        var host = String(text[..<colon])
        let portText = text[text.index(after: colon)...]
        guard let port = UInt16(portText) else { throw ParseError(text: text) }
        if host.hasPrefix("[") {
            guard host.hasSuffix("]"), host.count > 2 else { throw ParseError(text: text) }
            host = String(host.dropFirst().dropLast())
        } else if host.contains(":") {
            throw ParseError(text: text) // An IPv6 address needs brackets.
        }
        self.host = host.isEmpty ? nil : host
        self.port = port
    }

    public var description: String {
        guard let host else { return ":\(port)" }
        return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
