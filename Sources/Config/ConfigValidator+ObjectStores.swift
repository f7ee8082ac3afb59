import Core
import IO

extension ConfigValidator {
    /// `url: s3://bucket/prefix?...`, or `bucket` + `path` (the prefix); `region`, `endpoint`,
    /// `force-path-style` and `skip-verify` override what the URL says. Checked by parsing the
    /// result back, so the config and the command line accept exactly the same locations.
    func s3URL(_ section: ReplicaSection) throws(ConfigError) -> ReplicaURL {
        var location: S3Location
        let origin: (line: Int, key: String)
        if let url = section.url {
            for conflict in [section.bucket, section.path].compactMap({ $0 }) {
                throw error(conflict, "give url or bucket and path, not both")
            }
            origin = (url.line, url.key)
            do {
                guard case .s3(let parsed) = try ReplicaURL(parsing: url.value) else {
                    preconditionFailure("an s3 scheme parses as s3")
                }
                location = parsed
            } catch {
                throw urlError(error, at: url.line, key: url.key)
            }
        } else {
            guard let bucket = section.bucket, !bucket.value.isEmpty else {
                throw ConfigError(
                    file: file.path, line: section.line, key: section.key,
                    problem: "an s3 replica needs a bucket (bucket: my-bucket) or a url")
            }
            origin = (bucket.line, bucket.key)
            let prefix = (section.path?.value ?? "").split(separator: "/", omittingEmptySubsequences: true).joined(
                separator: "/")
            location = S3Location(bucket: bucket.value, prefix: prefix)
        }
        if let region = section.region { location.region = region.value }
        if let endpoint = section.endpoint { location.endpoint = endpoint.value }
        if let forcePathStyle = section.forcePathStyle { location.forcePathStyle = forcePathStyle.value }
        if let skipVerify = section.skipVerify { location.skipVerify = skipVerify.value }
        do {
            return try ReplicaURL(parsing: location.description)
        } catch {
            throw urlError(error, at: origin.line, key: origin.key)
        }
    }

    /// `url: sftp://user@host/path`, or `host` (`host` or `host:port`) + `user` + `path`;
    /// `password`, `key-path` and the host key check (`host-key-sha256`, `known-hosts`,
    /// `insecure-host-key`) add to either.
    func sftpURL(_ section: ReplicaSection) throws(ConfigError) -> ReplicaURL {
        var text: String
        let origin: (line: Int, key: String)
        if let url = section.url {
            for conflict in [section.host, section.user, section.path].compactMap({ $0 }) {
                throw error(conflict, "give url or host, user and path, not both")
            }
            origin = (url.line, url.key)
            text = url.value
        } else {
            guard let host = section.host, !host.value.isEmpty, let user = section.user, !user.value.isEmpty,
                let path = section.path, !path.value.isEmpty
            else {
                throw ConfigError(
                    file: file.path, line: section.line, key: section.key,
                    problem: "an sftp replica needs host, user and path (or a url)")
            }
            origin = (host.line, host.key)
            let remote = path.value.hasPrefix("/") ? path.value : "/" + path.value
            text =
                "sftp://\(ReplicaURL.percentEncode(user.value, keeping: "-._~"))@\(host.value)\(ReplicaURL.percentEncode(remote, keeping: "/-._~"))"
        }
        var query: [String] = []
        if let key = section.keyPath {
            query.append(
                "key=" + ReplicaURL.percentEncode(ReplicaClientFactory.absolutePath(key.value), keeping: "/-._~"))
        }
        if let fingerprint = section.hostKeySHA256 {
            query.append("host-key-sha256=" + ReplicaURL.percentEncode(fingerprint.value, keeping: ""))
        }
        if let knownHosts = section.knownHosts {
            query.append("known-hosts=" + ReplicaURL.percentEncode(knownHosts.value, keeping: "/-._~"))
        }
        if let insecure = section.insecureHostKey { query.append("insecure-host-key=\(insecure.value)") }
        if !query.isEmpty { text += (text.contains("?") ? "&" : "?") + query.joined(separator: "&") }
        do {
            guard case .sftp(var location) = try ReplicaURL(parsing: text) else {
                preconditionFailure("an sftp scheme parses as sftp")
            }
            if let password = section.password { location.password = password.value }
            return .sftp(location)
        } catch {
            throw urlError(error, at: origin.line, key: origin.key)
        }
    }

    /// The replica's `access-key-id` and `secret-access-key`, else the top level's, as the
    /// variables the S3 client reads; empty (the process environment decides) when neither
    /// level gives them. A key without its secret, or the reverse, fails.
    func s3Credentials(_ section: ReplicaSection) throws(ConfigError) -> [String: String] {
        for (id, secret) in [(section.accessKeyID, section.secretAccessKey), (file.accessKeyID, file.secretAccessKey)] {
            switch (id, secret) {
            case (let id?, let secret?):
                return ["AWS_ACCESS_KEY_ID": id.value, "AWS_SECRET_ACCESS_KEY": secret.value]
            case (let id?, nil):
                throw error(id, "needs secret-access-key beside it")
            case (nil, let secret?):
                throw error(secret, "needs access-key-id beside it")
            case (nil, nil):
                continue
            }
        }
        return [:]
    }
}
