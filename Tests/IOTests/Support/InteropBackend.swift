import Core
import Foundation
import TestSupport
import Testing

/// One replica location that both Sluice and Litestream v0.3.13 reach, on a file folder, a moto
/// S3 server or an OpenSSH server on loopback, spelled the way each tool wants it. Servers it
/// starts it stops by PID in `stop()`.
final class InteropBackend {
    enum Kind: String, CustomStringConvertible, CaseIterable, Sendable {
        case file, s3, sftp
        var description: String { rawValue }
    }

    let kind: Kind
    /// The replica as a Sluice URL (credentials for S3 come from the environment).
    let url: String
    /// The replica's entry under `replicas:` in a config file both tools read, one key a line.
    let configYAML: [String]
    private let moto: MotoServer?
    private let ssh: SSHServer?
    /// For file and SFTP: the folder the replica is in, on this machine.
    private let folder: String?

    private init(
        kind: Kind, url: String, configYAML: [String], moto: MotoServer? = nil, ssh: SSHServer? = nil,
        folder: String? = nil
    ) {
        (self.kind, self.url, self.configYAML) = (kind, url, configYAML)
        (self.moto, self.ssh, self.folder) = (moto, ssh, folder)
    }

    static let bucket = "interop"
    static let prefix = "app"

    /// Starts what `kind` needs. Fails (never skips) when moto or sshd is missing.
    static func start(_ kind: Kind, box: SluiceSandbox) async throws -> InteropBackend {
        switch kind {
        case .file:
            return InteropBackend(
                kind: kind, url: box.url("replica"), configYAML: ["path: \(box.path("replica"))"],
                folder: box.path("replica"))
        case .s3:
            let moto = try await MotoServer.start()
            do {
                try await moto.createBucket(bucket)
            } catch {
                moto.stop()
                throw error
            }
            ReplicaBackendsEndToEndTests.setCredentials()
            // Litestream reads the same keys from its config file; moto accepts any.
            let yaml = [
                "type: s3", "bucket: \(bucket)", "path: \(prefix)", "endpoint: \(moto.endpoint)",
                "region: us-east-1", "force-path-style: true",
                "access-key-id: sluice-test", "secret-access-key: sluice-test-secret",
            ]
            return InteropBackend(
                kind: kind,
                url: "s3://\(bucket)/\(prefix)?endpoint=\(moto.endpoint)&region=us-east-1"
                    + "&force-path-style=true", configYAML: yaml, moto: moto)
        case .sftp:
            let ssh = try await SSHServer.start()
            let location = ssh.location("replica")
            // Litestream v0.3.13 has no host-key setting (it accepts any host key) and ignores
            // the key Sluice pins it with.
            let yaml = [
                "url: sftp://\(location.user)@127.0.0.1:\(ssh.port)\(location.path)",
                "key-path: \(ssh.userKey)", "host-key-sha256: \(ssh.hostKeySHA256)",
            ]
            return InteropBackend(
                kind: kind, url: ssh.sluiceURL("replica"), configYAML: yaml, ssh: ssh,
                folder: location.path)
        }
    }

    func stop() {
        moto?.stop()
        ssh?.stop()
    }

    /// Every object key under the replica's root, relative to it, sorted.
    func keys() async throws -> [String] {
        if let folder {
            let all = FileManager.default.enumerator(atPath: folder)?.compactMap { $0 as? String } ?? []
            return all.filter { !$0.hasSuffix("/") && !isDirectory(folder + "/" + $0) }.sorted()
        }
        let moto = try #require(moto)
        let response = try await moto.transport.send(
            HTTPRequest(
                method: "GET", url: "\(moto.endpoint)/\(Self.bucket)?list-type=2&prefix=\(Self.prefix)/"))
        try #require(response.isSuccess, "listing the bucket: HTTP \(response.status)")
        let xml = String(decoding: response.body, as: UTF8.self)
        try #require(!xml.contains("<IsTruncated>true</IsTruncated>"), "the test replica outgrew one listing page")
        return xml.components(separatedBy: "<Key>").dropFirst()
            .compactMap { $0.components(separatedBy: "</Key>").first }
            .map { String($0.dropFirst(Self.prefix.count + 1)) }.sorted()
    }

    /// The replica's WAL segment keys, and the (index, offset) of those named in Litestream
    /// v0.3's flat layout (`<index>_<offset>.wal.lz4`).
    func flatWALSegments() async throws -> (keys: [String], parsed: [(index: UInt64, offset: UInt64)]) {
        let segments = try await keys().filter { $0.hasSuffix(".wal.lz4") }
        let names = segments.map { String($0.split(separator: "/").last ?? "") }
        return (segments, names.compactMap(ReplicaLayout.parseLegacySegmentName))
    }

    /// Requires `sluice wal --json` to list exactly the WAL segments the replica's keys name (as
    /// `index/offset`), and never to print the S3 secret.
    func expectListingMatchesKeys(_ box: SluiceSandbox, sourceLocation: SourceLocation = #_sourceLocation) async throws
    {
        let outcome = try box.sluice(["wal", "--json", url])
        let rows = try ListingJSON.rows(outcome, key: "wal_segments", sourceLocation: sourceLocation)
        let listed = Set(rows.map { "\($0["index"] as? Int ?? -1)/\($0["offset"] as? Int ?? -1)" })
        let stored = Set(try await flatWALSegments().parsed.map { "\($0.index)/\($0.offset)" })
        #expect(
            !stored.isEmpty && listed == stored, "listed \(listed.sorted()), stored \(stored.sorted())",
            sourceLocation: sourceLocation)
        #expect(!outcome.stdout.contains("sluice-test-secret"), sourceLocation: sourceLocation)
    }

    private func isDirectory(_ path: String) -> Bool {
        var directory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &directory) && directory.boolValue
    }
}

/// Runs `body` on the blocking executor with Litestream, a fresh sandbox holding an initialised
/// `app.db`, and a started `kind` backend; removes and stops them however `body` ends.
func withInterop(
    _ kind: InteropBackend.Kind,
    _ body: (Litestream, SluiceSandbox, InteropBackend) async throws -> Void
) async throws {
    try await blocking {
        let litestream = try Litestream.require()
        let box = try SluiceSandbox()
        defer { box.remove() }
        let backend = try await InteropBackend.start(kind, box: box)
        defer { backend.stop() }
        try box.writer("app.db", ["init"])
        try await body(litestream, box, backend)
    }
}

extension SSHServer {
    /// A Sluice `sftp://` URL for `path` in the server's folder: the user key, the pinned host key.
    func sluiceURL(_ path: String) -> String {
        let location = location(path)
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~/")
        let fingerprint = hostKeySHA256.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let path = location.path.addingPercentEncoding(withAllowedCharacters: allowed)!
        return "sftp://\(location.user)@127.0.0.1:\(port)\(path)"
            + "?key=\(userKey.addingPercentEncoding(withAllowedCharacters: allowed)!)&host-key-sha256=\(fingerprint)"
    }
}
