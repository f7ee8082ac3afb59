import Core
import Testing

@testable import Config

/// Each way a config file can be wrong fails with one line naming the file, the line and the
/// key, and the nearest valid key where one is close.
@Suite("Config: errors")
struct ConfigErrorTests {
    /// Parses `text` as `/etc/sluice.yml` and returns the error's line.
    func failure(
        _ text: String, environment: [String: String] = [:],
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> String {
        do {
            _ = try ConfigLoader(environment: environment).parse(text, path: "/etc/sluice.yml")
            Issue.record("expected an error", sourceLocation: sourceLocation)
            return ""
        } catch {
            #expect(!error.description.contains("\n"), "one line", sourceLocation: sourceLocation)
            return error.description
        }
    }

    @Test("an unknown key names file, line and key, and suggests the nearest valid key")
    func unknownKey() {
        let text = """
            dbs:
              - path: /data/app.db
                replicas:
                  - url: file:///backups/app
                    retension: 24h
            """
        #expect(
            failure(text) == "/etc/sluice.yml:5: dbs[0].replicas[0].retension: unknown key (did you mean 'retention'?)")
        #expect(failure("dbz:\n  - path: /a.db\n") == "/etc/sluice.yml:1: dbz: unknown key (did you mean 'dbs'?)")
        #expect(
            failure("dbs:\n  - path: /a.db\n    monitor-intreval: 1s\n")
                == "/etc/sluice.yml:3: dbs[0].monitor-intreval: unknown key (did you mean 'monitor-interval'?)")
        // Nothing close: no suggestion.
        #expect(failure("dbs:\n  - path: /a.db\n    colour: blue\n") == "/etc/sluice.yml:3: dbs[0].colour: unknown key")
        #expect(
            failure("logging:\n  levle: debug\n")
                == "/etc/sluice.yml:2: logging.levle: unknown key (did you mean 'level'?)")
    }

    @Test("a wrong type says what was expected and what was found, never the value")
    func wrongType() {
        #expect(failure("dbs:\n  path: /a.db\n") == "/etc/sluice.yml:1: dbs: expected a list, found a mapping")
        #expect(
            failure("dbs:\n  - path: [/a.db]\n")
                == "/etc/sluice.yml:2: dbs[0].path: expected a single value, found a list")
        #expect(
            failure("dbs:\n  - path: /a.db\n    replicas:\n      - path: /b\n        skip-verify: maybe\n")
                == "/etc/sluice.yml:5: dbs[0].replicas[0].skip-verify: 'maybe' is not true or false")
        #expect(
            failure("dbs:\n  - path: /a.db\n    min-checkpoint-page-count: lots\n    replicas: [{path: /b}]\n")
                == "/etc/sluice.yml:3: dbs[0].min-checkpoint-page-count: 'lots' is not a whole number of at least 0")
    }

    @Test("a malformed duration is named with the syntax to use")
    func malformedDuration() {
        let text = "dbs:\n  - path: /a.db\n    replicas:\n      - path: /b\n        sync-interval: 10 seconds\n"
        #expect(
            failure(text)
                == "/etc/sluice.yml:5: dbs[0].replicas[0].sync-interval: '10 seconds' is not a duration; use a number with a unit, like 500ms, 10s, 5m, 24h or 7d"
        )
        #expect(
            failure("dbs:\n  - path: /a.db\n    monitor-interval: 0s\n    replicas: [{path: /b}]\n")
                == "/etc/sluice.yml:3: dbs[0].monitor-interval: must be longer than zero")
    }

    @Test("a replica name used twice in one database is refused at the second")
    func duplicateReplicaName() {
        let text = """
            dbs:
              - path: /a.db
                replicas:
                  - name: backup
                    path: /b1
                  - name: backup
                    path: /b2
            """
        #expect(
            failure(text)
                == "/etc/sluice.yml:6: dbs[0].replicas[1].name: replica name 'backup' is already used by dbs[0].replicas[0] (line 4); give each replica of a database its own name"
        )
        // Unnamed replicas are named by their type, as in Litestream.
        #expect(
            failure("dbs:\n  - path: /a.db\n    replicas:\n      - path: /b1\n      - path: /b2\n")
                == "/etc/sluice.yml:5: dbs[0].replicas[1]: replica name 'file' is already used by dbs[0].replicas[0] (line 4); give each replica of a database its own name"
        )
    }

    @Test("a path that is a URL is refused, saying to write url:")
    func pathIsURL() {
        #expect(
            failure("dbs:\n  - path: /a.db\n    replicas:\n      - path: s3://bucket/app\n")
                == "/etc/sluice.yml:4: dbs[0].replicas[0].path: is a URL; write it as url: s3://bucket/app")
        #expect(
            failure("dbs:\n  - path: file:///a.db\n    replicas: [{path: /b}]\n")
                == "/etc/sluice.yml:2: dbs[0].path: a database path is a local file, not a URL; replicas go under replicas:"
        )
    }

    @Test("two databases with one path (however spelt) are refused")
    func duplicateDatabasePath() {
        let text = """
            dbs:
              - path: /data/app.db
                replicas: [{path: /b1}]
              - path: /data/../data/app.db
                replicas: [{path: /b2}]
            """
        #expect(
            failure(text)
                == "/etc/sluice.yml:4: dbs[1].path: the same database as dbs[0] (line 2); list each database once")
    }

    @Test("two replicas on one location, of one database or of two, are refused")
    func duplicateLocation() {
        let oneDatabase = """
            dbs:
              - path: /a.db
                replicas:
                  - name: one
                    url: file:///backups/app
                  - name: two
                    path: /backups//app/
            """
        #expect(
            failure(oneDatabase)
                == "/etc/sluice.yml:6: dbs[0].replicas[1]: the same location as dbs[0].replicas[0] (line 4); each replica needs a location of its own"
        )
        let twoDatabases = """
            dbs:
              - path: /a.db
                replicas:
                  - url: s3://bucket/app?endpoint=http://127.0.0.1:9000
              - path: /b.db
                replicas:
                  - type: s3
                    bucket: bucket
                    path: /app/
                    endpoint: HTTP://127.0.0.1:9000/
            """
        #expect(
            failure(twoDatabases)
                == "/etc/sluice.yml:7: dbs[1].replicas[0]: the same location as dbs[0].replicas[0] (line 4); each replica needs a location of its own"
        )
    }

    @Test("a key given twice in one mapping is refused")
    func duplicateKey() {
        #expect(
            failure("dbs:\n  - path: /a.db\n    replicas: [{path: /b}]\n    path: /b.db\n")
                == "/etc/sluice.yml:4: path: given twice in one mapping (first on line 2); keep one")
    }

    @Test("keys of another replica type, an unsupported type and missing pieces are named")
    func typeMismatches() {
        #expect(
            failure("dbs:\n  - path: /a.db\n    replicas:\n      - type: file\n        path: /b\n        bucket: x\n")
                == "/etc/sluice.yml:6: dbs[0].replicas[0].bucket: applies to s3 replicas only, and this replica is a file replica"
        )
        #expect(
            failure("dbs:\n  - path: /a.db\n    replicas:\n      - type: gcs\n        bucket: x\n")
                == "/etc/sluice.yml:4: dbs[0].replicas[0].type: replica type 'gcs' is not supported; use file, s3, sftp"
        )
        #expect(
            failure("dbs:\n  - path: /a.db\n    replicas:\n      - type: s4\n        bucket: x\n")
                == "/etc/sluice.yml:4: dbs[0].replicas[0].type: replica type 's4' is not supported; use file, s3, sftp (did you mean 's3'?)"
        )
        #expect(
            failure("dbs:\n  - path: /a.db\n")
                == "/etc/sluice.yml:2: dbs[0].replicas: the database has no replicas; add replicas: with at least one url or path"
        )
        #expect(
            failure("addr: 9090\ndbs:\n  - path: /a.db\n    replicas: [{path: /b}]\n")
                == "/etc/sluice.yml:1: addr: '9090' is not a listen address; use HOST:PORT or :PORT, like :9090 or 127.0.0.1:9090"
        )
        #expect(
            failure("exec: app 'unclosed\ndbs:\n  - path: /a.db\n    replicas: [{path: /b}]\n")
                == "/etc/sluice.yml:1: exec: the command has an unterminated ' quote")
        #expect(
            failure("logging:\n  type: jsn\n")
                == "/etc/sluice.yml:2: logging.type: 'jsn' is not a log type; use text or json (did you mean 'json'?)")
    }

    @Test("secrets never appear in a message: not in a misplaced key, a half pair, nor a YAML error on their line")
    func secretsNeverPrinted() {
        let secret = "s3cr3t-Value-42"
        let cases = [
            // A password on an s3 replica.
            "dbs:\n  - path: /a.db\n    replicas:\n      - url: s3://bucket/app\n        password: \(secret)\n",
            // A secret without its key id.
            "dbs:\n  - path: /a.db\n    replicas:\n      - url: s3://bucket/app\n        secret-access-key: \(secret)\n",
            // Broken YAML on the secret's line (expanded from the environment).
            "dbs:\n  - path: /a.db\n    replicas:\n      - url: s3://bucket/app\n        access-key-id: AKID\n        secret-access-key: ${SECRET}\n",
            // A password inside an SFTP URL that fails to parse.
            "dbs:\n  - path: /a.db\n    replicas:\n      - url: sftp://me:\(secret)@host:99999/x\n",
        ]
        for text in cases {
            let message = failure(text, environment: ["SECRET": "\"\(secret)"])
            #expect(!message.isEmpty)
            #expect(!message.contains(secret), "\(message)")
        }
    }
}
