import Core
import Foundation
import IO
import TestSupport
import Testing

/// The real `sluice` binary driven by a config file the way Litestream's users deploy it: one
/// process, several databases, file + S3 (moto) + SFTP (sshd) replicas, credentials expanded
/// from the environment.
@Suite("sluice: config file, end to end", .serialized)
struct ConfigEndToEndTests {
    func dump(_ box: SluiceSandbox, _ database: String) throws -> [String] {
        try box.writer(database, ["dump"]).split(separator: "\n").map(String.init)
    }

    static let secret = "moto-secret-from-env-4711"

    /// Goal: an existing Litestream 0.3 config runs unchanged (only the binary's name differs)
    /// and every database restores exactly from every one of its replicas. Method: three
    /// databases (file + S3, SFTP, file + S3 under the top-level keys), credentials from
    /// `${VAR}`s, a workload on each, SIGTERM, then `restore -config -replica NAME` per replica.
    @Test(
        "a Litestream 0.3 config with several databases and file, S3 and SFTP replicas replicates, and each restores exactly"
    )
    func litestreamConfig() async throws {
        try await blocking {
            let moto = try await MotoServer.start()
            defer { moto.stop() }
            try await moto.createBucket("sluice-config")
            let ssh = try await SSHServer.start()
            defer { ssh.stop() }
            let box = try SluiceSandbox()
            defer { box.remove() }
            setenv("SLUICE_TEST_KEY_ID", "sluice-config-test", 1)
            setenv("SLUICE_TEST_SECRET", Self.secret, 1)
            setenv("SLUICE_TEST_DIR", box.directory.path, 1)

            let sftp = ssh.location("replica")
            let config = try box.writeConfig(
                """
                access-key-id: ${SLUICE_TEST_KEY_ID}
                secret-access-key: ${SLUICE_TEST_SECRET}
                dbs:
                  - path: ${SLUICE_TEST_DIR}/app.db
                    monitor-interval: 100ms
                    min-checkpoint-page-count: 200
                    replicas:
                      - path: ${SLUICE_TEST_DIR}/app-backup
                        sync-interval: 100ms
                      - type: s3
                        bucket: sluice-config
                        path: app
                        endpoint: \(moto.endpoint)
                        region: us-east-1
                        force-path-style: true
                        sync-interval: 100ms
                        retention: 24h
                  - path: $SLUICE_TEST_DIR/users.db
                    monitor-interval: 100ms
                    replicas:
                      - name: offsite
                        type: sftp
                        host: 127.0.0.1:\(ssh.port)
                        user: \(sftp.user)
                        key-path: \(ssh.userKey)
                        path: \(sftp.path)
                        host-key-sha256: \(ssh.hostKeySHA256)
                        sync-interval: 100ms
                  - path: ${SLUICE_TEST_DIR}/events.db
                    monitor-interval: 100ms
                    replicas:
                      - url: s3://sluice-config/events?endpoint=\(moto.endpoint)&region=us-east-1
                        access-key-id: ${SLUICE_TEST_KEY_ID}
                        secret-access-key: ${SLUICE_TEST_SECRET}
                        sync-interval: 100ms
                      - name: local
                        url: file://${SLUICE_TEST_DIR}/events-backup
                        sync-interval: 100ms
                """)
            let databases = ["app.db", "users.db", "events.db"]
            for database in databases { try box.writer(database, ["init"]) }
            let replicator = try BackgroundProcess(
                executable: SluiceSandbox.binary, arguments: ["replicate", "-config", config],
                logPath: box.path("replicate.log"))
            for database in databases {
                try box.writer(database, ["small", "--count", "15", "--batch", "a"])
            }
            try box.writer("app.db", ["big", "--mb", "2"])
            try box.writer("app.db", ["checkpoint"])
            for database in databases {
                try box.writer(database, ["small", "--count", "10", "--batch", "b"])
            }
            #expect(try replicator.terminate() == 0, "replicate log:\n\(replicator.log)")
            #expect(!replicator.log.contains(Self.secret), "a secret reached the log")

            let replicas = ["app.db": ["file", "s3"], "users.db": ["offsite"], "events.db": ["s3", "local"]]
            for database in databases {
                let source = try dump(box, database)
                #expect(source.count >= 25)
                for name in replicas[database]! {
                    let output = "\(database)-\(name).restored"
                    let restore = try box.sluice([
                        "restore", "-config", config, "-replica", name, "--integrity-check",
                        "-o", box.path(output), box.path(database),
                    ])
                    try #require(restore.status == 0, "restore of \(database) from \(name) failed: \(restore.stderr)")
                    #expect(try dump(box, output) == source, "\(database) from \(name)")
                }
            }

            // The listings find the database's replicas in the config too.
            let generations = try box.sluice(["generations", "-config", config, box.path("events.db")])
            #expect(generations.status == 0, "\(generations.stderr)")
            #expect(
                generations.stdout.split(separator: "\n").count >= 3,
                "one generation per replica: \(generations.stdout)")

            // `databases` lists every replica, and no credential.
            let listed = try box.sluice(["databases", "-config", config])
            #expect(listed.status == 0, "\(listed.stderr)")
            #expect(listed.stdout.split(separator: "\n").count == 1 + 5, "\(listed.stdout)")
            #expect(listed.stdout.contains("offsite") && listed.stdout.contains("s3://sluice-config/events"))
            #expect(
                !listed.stdout.contains(Self.secret) && !listed.stdout.contains("sluice-config-test"),
                "\(listed.stdout)")
        }
    }

    /// Goal: one process, many databases, and a replica that fails holds back nothing else.
    /// Method: a.db replicates to a folder and to moto, b.db to a folder; once both are caught
    /// up, moto is killed; new rows in both must still reach both folders. The JSON log must
    /// name the database on every line that names a replica.
    @Test(
        "a replica whose store goes away holds back neither its database's other replica nor another database; JSON log lines name db and replica"
    )
    func failingReplicaHoldsNothingBack() async throws {
        try await blocking {
            let moto = try await MotoServer.start()
            var motoStopped = false
            defer { if !motoStopped { moto.stop() } }
            try await moto.createBucket("sluice-down")
            let box = try SluiceSandbox()
            defer { box.remove() }
            setenv("SLUICE_TEST_SECRET", Self.secret, 1)
            let config = try box.writeConfig(
                """
                logging:
                  type: json
                dbs:
                  - path: \(box.path("a.db"))
                    monitor-interval: 100ms
                    replicas:
                      - path: \(box.path("a-backup"))
                        sync-interval: 100ms
                      - url: s3://sluice-down/a?endpoint=\(moto.endpoint)&region=us-east-1
                        access-key-id: sluice-down-test
                        secret-access-key: ${SLUICE_TEST_SECRET}
                        sync-interval: 100ms
                  - path: \(box.path("b.db"))
                    monitor-interval: 100ms
                    replicas:
                      - path: \(box.path("b-backup"))
                        sync-interval: 100ms
                """, name: "sluice.yml")
            for database in ["a.db", "b.db"] { try box.writer(database, ["init"]) }
            let replicator = try BackgroundProcess(
                executable: SluiceSandbox.binary, arguments: ["replicate", "-config", config],
                logPath: box.path("replicate.log"))
            defer { replicator.killNow() }

            /// Whether `database` restored from its folder replica equals the source now.
            func caughtUp(_ database: String) throws -> Bool {
                let output = box.path(database + ".probe")
                try? FileManager.default.removeItem(atPath: output)
                let restore = try box.sluice([
                    "restore", "-config", config, "-replica", "file", "-o", output, box.path(database),
                ])
                guard restore.status == 0 else { return false }
                return try dump(box, database + ".probe") == dump(box, database)
            }
            for database in ["a.db", "b.db"] {
                try box.writer(database, ["small", "--count", "5", "--batch", "before"])
            }
            #expect(try eventually { try caughtUp("a.db") && caughtUp("b.db") }, "never caught up:\n\(replicator.log)")

            moto.stop()
            motoStopped = true
            for database in ["a.db", "b.db"] {
                try box.writer(database, ["small", "--count", "5", "--batch", "after"])
            }
            #expect(
                try eventually(timeout: .seconds(120)) { try caughtUp("a.db") && caughtUp("b.db") },
                "a dead S3 replica held the others back:\n\(replicator.log)")
            #expect(replicator.process.isRunning)

            // The dead replica's failures are logged, naming it and its database (S3 requests
            // retry for several seconds before an upload counts as failed).
            #expect(
                eventually(timeout: .seconds(60)) {
                    replicator.log.split(separator: "\n").contains {
                        $0.contains("\"level\":\"ERROR\"") && $0.contains("s3://sluice-down/a")
                    }
                }, "no error logged for the dead replica:\n\(replicator.log)")
            let lines = replicator.log.split(separator: "\n")
            var replicaLines = 0
            for line in lines {
                let object = try #require(
                    try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String],
                    "not a JSON object: \(line)")
                #expect(object["time"] != nil && object["level"] != nil && object["msg"] != nil, "\(line)")
                if object["replica"] != nil || object["replica.name"] != nil {
                    replicaLines += 1
                    #expect(object["db"] != nil, "a replica's line without its database: \(line)")
                }
            }
            #expect(replicaLines > 0)
            #expect(!replicator.log.contains(Self.secret))
        }
    }

    @Test("meta-path moves the local state out of the database's folder")
    func metaPath() async throws {
        try await blocking {
            let box = try SluiceSandbox()
            defer { box.remove() }
            let config = try box.writeConfig(
                """
                dbs:
                  - path: \(box.path("app.db"))
                    meta-path: \(box.path("state"))
                    monitor-interval: 100ms
                    replicas:
                      - path: \(box.path("backup"))
                        sync-interval: 100ms
                """)
            try box.writer("app.db", ["init"])
            let replicator = try BackgroundProcess(
                executable: SluiceSandbox.binary, arguments: ["replicate", "-config", config],
                logPath: box.path("replicate.log"))
            try box.writer("app.db", ["small", "--count", "3"])
            #expect(eventually { box.exists("state/generation") }, "no state in meta-path:\n\(replicator.log)")
            #expect(try replicator.terminate() == 0, "replicate log:\n\(replicator.log)")
            #expect(!box.exists(".app.db-sluice"))
            let restore = try box.sluice([
                "restore", "-config", config, "-o", box.path("restored.db"), box.path("app.db"),
            ])
            try #require(restore.status == 0, "\(restore.stderr)")
            #expect(try dump(box, "restored.db") == dump(box, "app.db"))
        }
    }

    @Test(
        "a config error stops replicate with one line naming file, line, key and the nearest key, and nothing is written"
    )
    func configErrorFromTheBinary() async throws {
        try await blocking {
            let box = try SluiceSandbox()
            defer { box.remove() }
            let config = try box.writeConfig(
                """
                dbs:
                  - path: app.db
                    replicas:
                      - path: backup
                        retension: 24h
                """, name: "sluice.yml")
            let before = try box.entries()
            // Found as ./sluice.yml, the first fallback.
            let outcome = try box.sluice(["replicate"])
            #expect(outcome.status == 1)
            #expect(
                outcome.stderr
                    == "error: sluice.yml:5: dbs[0].replicas[0].retension: unknown key (did you mean 'retention'?)\n")
            #expect(try box.entries() == before)
            let missing = try box.sluice(["replicate", "-config", box.path("nope.yml")])
            #expect(missing.stderr == "error: \(box.path("nope.yml")): no such config file\n")
            _ = config
        }
    }

    @Test("replicate with arguments ignores a config file found by default, as Litestream does")
    func argumentsWinOverDiscoveredConfig() async throws {
        try await blocking {
            let box = try SluiceSandbox()
            defer { box.remove() }
            _ = try box.writeConfig("this is: [not valid", name: "sluice.yml")
            try box.writer("app.db", ["init"])
            let replicator = try box.startReplicate("app.db", replicas: [box.url("backup")])
            try box.writer("app.db", ["small", "--count", "3"])
            #expect(try replicator.terminate() == 0, "replicate log:\n\(replicator.log)")
            let restore = try box.sluice(["restore", "-o", box.path("restored.db"), box.url("backup")])
            #expect(restore.status == 0, "\(restore.stderr)")
        }
    }

    @Test(
        "the help of replicate, restore and the listings names exactly the replica URL schemes the client factory serves"
    )
    func helpNamesTheSchemes() async throws {
        try await blocking {
            let box = try SluiceSandbox()
            defer { box.remove() }
            for command in ["replicate", "restore", "generations", "snapshots", "wal"] {
                let help = try box.sluice([command, "--help"])
                #expect(help.status == 0)
                let text = help.stdout.replacingOccurrences(of: "\n", with: " ")
                let pattern = try NSRegularExpression(pattern: "\\b([a-z][a-z0-9+.-]*)://")
                let schemes = Set(
                    pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)).map {
                        String(text[Range($0.range(at: 1), in: text)!])
                    })
                #expect(schemes == Set(ReplicaClientFactory.supportedSchemes), "\(command) --help: \(help.stdout)")
            }
            // And every listed scheme is one the URL parser accepts.
            for scheme in ReplicaClientFactory.supportedSchemes {
                let example = ["file": "file:///x", "s3": "s3://bucket/x", "sftp": "sftp://me@host/x"][scheme]!
                #expect(throws: Never.self) { try ReplicaURL(parsing: example) }
            }
        }
    }
}
