import Core
import Testing

@Suite("ReplicaURL")
struct ReplicaURLTests {
    @Test(
        "file URLs and plain paths parse to file replicas",
        arguments: [
            ("file:///var/backups/db", "/var/backups/db"),
            ("file://localhost/var/backups/db", "/var/backups/db"),
            ("FILE://LocalHost/x", "/x"),
            ("file:/var/backups/db", "/var/backups/db"),
            ("file:///srv/with%20space/%C3%A9t%C3%A9", "/srv/with space/été"),
            ("file:///a%2Fb", "/a/b"),
            ("/plain/absolute", "/plain/absolute"),
            ("relative/dir", "relative/dir"),
            ("./x", "./x"),
            ("dir%20name", "dir%20name"), // plain paths are taken literally
            ("c:/not-a-scheme", "c:/not-a-scheme"),
            ("weird/s3://inside", "weird/s3://inside"),
        ])
    func parses(text: String, path: String) throws {
        #expect(try ReplicaURL(parsing: text) == .file(path: path))
    }

    @Test(
        "bad URLs fail with a one-line message saying what to write",
        arguments: [
            ("", "empty replica URL: use file:///path or a plain path"),
            (
                "gs://bucket/prefix",
                "unsupported replica URL scheme 'gs' in 'gs://bucket/prefix': use file:///path (or a plain path), s3://bucket/prefix or sftp://user@host/path"
            ),
            (
                "xyz://host/path",
                "unsupported replica URL scheme 'xyz' in 'xyz://host/path': use file:///path (or a plain path), s3://bucket/prefix or sftp://user@host/path"
            ),
            (
                "ftp://user:hunter2@host/path",
                "unsupported replica URL scheme 'ftp' in 'ftp://user:REDACTED@host/path': use file:///path (or a plain path), s3://bucket/prefix or sftp://user@host/path"
            ),
            (
                "file://otherhost/path",
                "invalid replica URL 'file://otherhost/path': file URLs cannot name a remote host 'otherhost'"
            ),
            ("file://", "invalid replica URL 'file://': it has no path"),
            (
                "file:///bad%zzescape",
                "invalid replica URL 'file:///bad%zzescape': it has a malformed %-escape or is not UTF-8"
            ),
            ("file:///bad%ff", "invalid replica URL 'file:///bad%ff': it has a malformed %-escape or is not UTF-8"),
            ("file:///nul%00", "invalid replica URL 'file:///nul%00': it contains a NUL byte"),
            (
                "file:///a?b",
                "invalid replica URL 'file:///a?b': file URLs take no query or fragment (write '?' as %3F, '#' as %23)"
            ),
        ])
    func rejects(text: String, message: String) {
        do {
            let url = try ReplicaURL(parsing: text)
            Issue.record("parsed \(text) as \(url)")
        } catch {
            #expect(error.description == message)
            #expect(!error.description.contains("\n"))
            #expect(!error.description.contains("hunter2"))
        }
    }

    @Test(
        "looksLikeURL matches scheme:// only",
        arguments: [
            ("file:///x", true), ("s3://b", true), ("a+b.c-d://x", true), ("S3://B", true),
            ("/abs", false), ("rel/x", false), ("1abc://x", false), ("file:/x", false), ("c:\\dir", false), ("", false),
            ("://x", false), ("a b://x", false),
        ])
    func looksLikeURL(text: String, expected: Bool) {
        #expect(ReplicaURL.looksLikeURL(text) == expected)
    }

    @Test(
        "description is canonical and parses back to the same URL",
        arguments: [
            "/var/backups/db", "/with space/and%percent/été", "/q?and#hash", "relative/path",
        ])
    func roundTrip(path: String) throws {
        let url = ReplicaURL.file(path: path)
        #expect(try ReplicaURL(parsing: url.description) == url)
        if path.hasPrefix("/") { #expect(url.description.hasPrefix("file:///")) }
    }

    @Test(
        "redaction hides only the password",
        arguments: [
            ("s3://key:secret@bucket/p", "s3://key:REDACTED@bucket/p"),
            ("sftp://user@host/p", "sftp://user@host/p"),
            ("sftp://user:pa:ss@host:22/p@q", "sftp://user:REDACTED@host:22/p@q"),
            ("/plain/user:pw@x", "/plain/user:pw@x"),
        ])
    func redaction(text: String, expected: String) {
        #expect(ReplicaURLRedaction.redact(text) == expected)
    }
}
