import CCurl

/// libcurl's process-wide set-up, done once before the first easy handle of any client (S3 or
/// SFTP): `curl_global_init` is not thread-safe and must not run twice concurrently, and a Swift
/// static `let` is initialised exactly once, lazily and thread-safely.
enum CurlGlobal {
    static let initialized: Bool = curl_global_init(Int(CURL_GLOBAL_ALL)) == CURLE_OK

    static func initialize() { _ = initialized }
}
