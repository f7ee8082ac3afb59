import Core
import Testing

@Suite("ReplicaURL sftp")
struct SFTPURLTests {
    @Test("sftp URLs parse user, password, host, port, path and options")
    func parses() throws {
        #expect(
            try ReplicaURL(parsing: "sftp://backup@db.example.com/srv/replica")
                == .sftp(
                    SFTPLocation(
                        user: "backup", host: "db.example.com", port: 22, path: "/srv/replica")))
        #expect(
            try ReplicaURL(
                parsing:
                    "SFTP://me:p%40ss:w@[::1]:2222/~/r%20x?key=%2Fhome%2Fme%2F.ssh%2Fid&host-key-sha256=SHA256:Hh1iD44V4nFjtYNZWXnq54XZu5FCXHWzeavnxVlossQ"
            )
                == .sftp(
                    SFTPLocation(
                        user: "me", password: "p@ss:w", host: "::1", port: 2222, path: "/~/r x",
                        privateKeyPath: "/home/me/.ssh/id",
                        hostKeyCheck: .sha256("Hh1iD44V4nFjtYNZWXnq54XZu5FCXHWzeavnxVlossQ"))))
        #expect(
            try ReplicaURL(parsing: "sftp://u@h/p?insecure-host-key=true")
                == .sftp(SFTPLocation(user: "u", host: "h", path: "/p", hostKeyCheck: .insecure)))
        #expect(
            try ReplicaURL(parsing: "sftp://u@h:1/p?known-hosts=~/kh")
                == .sftp(
                    SFTPLocation(user: "u", host: "h", port: 1, path: "/p", hostKeyCheck: .knownHosts(path: "~/kh"))))
    }

    @Test(
        "the description redacts the password and parses back",
        arguments: [
            "sftp://backup@db.example.com:22/srv/replica",
            "sftp://me:REDACTED@[::1]:2222/~/r%20x?key=/home/me/.ssh/id&host-key-sha256=Hh1iD44V4nFjtYNZWXnq54XZu5FCXHWzeavnxVlossQ",
            "sftp://u@h:22/p?insecure-host-key=true",
            "sftp://u@h:22/p?known-hosts=/etc/kh%26x",
        ])
    func description(text: String) throws {
        let url = try ReplicaURL(parsing: text)
        #expect(url.description == text)
        #expect(try ReplicaURL(parsing: url.description) == url)
    }

    @Test("the password never shows")
    func redacted() throws {
        let url = try ReplicaURL(parsing: "sftp://me:hunter2@host/p")
        #expect(url.description == "sftp://me:REDACTED@host:22/p")
        guard case .sftp(let location) = url else {
            Issue.record("not sftp")
            return
        }
        #expect(location.address == "sftp://me@host:22/p")
        #expect(location.password == "hunter2")
    }

    @Test(
        "bad sftp URLs fail in one line without the password",
        arguments: [
            ("sftp://host/p", "it names no user: write sftp://user@host/path"),
            ("sftp://:pw@host/p", "it names no user: write sftp://user@host/path"),
            ("sftp://u@/p", "it names no host: write sftp://user@host/path"),
            ("sftp://u@h", "it has no path: write sftp://user@host/path/to/replica"),
            ("sftp://u@h:0/p", "port '0' is not a number from 1 to 65535"),
            ("sftp://u@h:ssh/p", "port 'ssh' is not a number from 1 to 65535"),
            ("sftp://u@[::1/p", "its IPv6 host lacks a closing ']'"),
            (
                "sftp://u:secret@h/p?region=x",
                "unknown option 'region' (known: host-key-sha256, insecure-host-key, key, known-hosts)"
            ),
            ("sftp://u@h/p?key=a&key=b", "option 'key' is given twice"),
            ("sftp://u@h/p?key=", "option 'key' has no value"),
            ("sftp://u@h/p?insecure-host-key=maybe", "insecure-host-key must be true or false"),
            (
                "sftp://u@h/p?host-key-sha256=abc",
                "host-key-sha256 must be the 43-character base64 SHA-256 fingerprint that 'ssh-keygen -lf' prints after 'SHA256:'"
            ),
            (
                "sftp://u@h/p?insecure-host-key=true&known-hosts=/k",
                "choose one of host-key-sha256, known-hosts and insecure-host-key"
            ),
            ("sftp://u@h/p#frag", "SFTP URLs take no fragment (write '#' as %23)"),
            ("sftp://u@h/p%zz", "its path has a malformed %-escape, a NUL byte or is not UTF-8"),
        ])
    func rejects(text: String, reason: String) {
        do {
            let url = try ReplicaURL(parsing: text)
            Issue.record("parsed \(text) as \(url)")
        } catch {
            #expect(error.description == "invalid replica URL '\(ReplicaURLRedaction.redact(text))': \(reason)")
            #expect(!error.description.contains("secret"))
        }
    }
}
