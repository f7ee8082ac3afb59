import Foundation

extension SSHServer {
    /// The `sftp://` replica URL the binary takes for `path` on this server: the test user's
    /// key and the server's pinned host key in the query.
    func replicaURL(_ path: String = "replica") -> String {
        let location = location(path)
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~/")
        let fingerprint = hostKeySHA256.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        return
            "sftp://\(location.user)@127.0.0.1:\(port)\(location.path.addingPercentEncoding(withAllowedCharacters: allowed)!)"
            + "?key=\(userKey.addingPercentEncoding(withAllowedCharacters: allowed)!)&host-key-sha256=\(fingerprint)"
    }
}
