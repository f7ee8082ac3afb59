import Core
import IO

/// A replica location in one spelling, so two ways of writing one place compare equal:
/// relative and absolute file paths, `file://` and plain paths, an S3 endpoint with or without a
/// trailing slash or in capitals, an SFTP port left at its default or written out.
enum ReplicaLocationKey {
    static func make(_ url: ReplicaURL) -> String {
        switch url {
        case .file(let path):
            return "file:" + ReplicaClientFactory.absolutePath(path)
        case .s3(let location):
            let endpoint = location.endpoint?.lowercased() ?? "aws"
            return "s3:\(endpoint)/\(location.bucket)/\(location.prefix)"
        case .sftp(let location):
            let path = location.path.split(separator: "/", omittingEmptySubsequences: true).joined(separator: "/")
            return "sftp:\(location.host.lowercased()):\(location.port)/\(path)"
        }
    }
}
