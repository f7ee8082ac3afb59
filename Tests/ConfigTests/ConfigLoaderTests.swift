import Core
import Testing

@testable import Config

@Suite("Config: loading")
struct ConfigLoaderTests {
    @Test("$VAR and ${VAR} are replaced; unset ones become empty; $$ is one $; other $ stay")
    func expansion() {
        let environment = ["BUCKET": "b1", "KEY_2": "k"]
        #expect(EnvironmentExpansion.expand("s3://$BUCKET/${KEY_2}/x", environment: environment) == "s3://b1/k/x")
        #expect(EnvironmentExpansion.expand("a${MISSING}b$MISSING.c", environment: environment) == "ab.c")
        #expect(
            EnvironmentExpansion.expand("cost $$5 $5 ${not closed $", environment: environment)
                == "cost $5 $5 ${not closed $")
    }

    @Test("expansion happens before parsing and -no-expand-env turns it off")
    func expansionBeforeParsing() throws {
        let text = "dbs:\n  - path: $DIR/app.db\n    replicas:\n      - path: ${DIR}/backup\n        retention: $KEEP\n"
        let environment = ["DIR": "/srv", "KEEP": "72h"]
        let settings = try ConfigLoader(environment: environment).parse(text, path: "c.yml").settings
        #expect(settings.databases[0].path == "/srv/app.db")
        #expect(settings.databases[0].replicas[0].url == .file(path: "/srv/backup"))
        #expect(settings.databases[0].replicas[0].options.retention == .seconds(72 * 3600))
        #expect(throws: ConfigError.self) {
            try ConfigLoader(environment: environment, expandsEnvironment: false).parse(text, path: "c.yml")
        }
    }

    /// A loader over an in-memory set of files.
    func loader(files: [String: String], environment: [String: String] = [:]) -> ConfigLoader {
        var loader = ConfigLoader(environment: environment)
        loader.readFile = { files[$0] }
        return loader
    }

    static func config(_ database: String) -> String {
        "dbs:\n  - path: \(database)\n    replicas: [{path: /backup\(database)}]\n"
    }

    @Test("discovery: -config, else $SLUICE_CONFIG, else ./sluice.yml, else /etc/sluice.yml")
    func discoveryOrder() throws {
        let all = [
            "flag.yml": Self.config("/flag.db"), "env.yml": Self.config("/env.db"),
            "sluice.yml": Self.config("/local.db"), "/etc/sluice.yml": Self.config("/etc.db"),
        ]
        func loaded(_ files: [String: String], flag: String?, environment: [String: String] = [:]) throws -> String? {
            try loader(files: files, environment: environment).load(flag: flag)?.settings.databases[0].path
        }
        let variable = ["SLUICE_CONFIG": "env.yml"]
        #expect(try loaded(all, flag: "flag.yml", environment: variable) == "/flag.db")
        #expect(try loaded(all, flag: nil, environment: variable) == "/env.db")
        #expect(try loaded(all, flag: nil) == "/local.db")
        #expect(try loaded(all.filter { $0.key != "sluice.yml" }, flag: nil) == "/etc.db")
        #expect(try loaded([:], flag: nil) == nil)
    }

    @Test("a named config file that does not exist is an error; the fallbacks are not")
    func missingNamedFile() {
        #expect(throws: ConfigError(file: "nope.yml", problem: "no such config file")) {
            try loader(files: [:]).load(flag: "nope.yml")
        }
        #expect(throws: ConfigError(file: "gone.yml", problem: "no such config file (named by $SLUICE_CONFIG)")) {
            try loader(files: [:], environment: ["SLUICE_CONFIG": "gone.yml"]).load(flag: nil)
        }
    }

    @Test("a Litestream 0.3 file resolves: per-database checkpoints, per-replica schedules and credentials")
    func litestreamKeys() throws {
        let text = """
            access-key-id: GLOBALID
            secret-access-key: GLOBALSECRET
            logging:
              level: warn
              type: json
              stderr: false
            dbs:
              - path: /data/app.db
                meta-path: /data/.app-meta
                monitor-interval: 2s
                checkpoint-interval: 0
                min-checkpoint-page-count: 500
                max-checkpoint-page-count: 20000
                replicas:
                  - url: s3://bucket/app?endpoint=http://127.0.0.1:9000
                    retention: 72h
                    sync-interval: 10s
                    snapshot-interval: 6h
                    validation-interval: 0
                  - name: local
                    path: /backups/app
                    retention: 1h
                    sync-interval: 500ms
                    layout: legacy
                    lease-duration: 1m
              - path: /data/other.db
                replica:
                  type: sftp
                  host: backup.example:2222
                  user: me
                  password: pw
                  path: /srv/other
                  insecure-host-key: true
            """
        let settings = try ConfigLoader(environment: [:]).parse(text, path: "litestream.yml").settings
        #expect(settings.logging == LoggingSettings(level: .warning, format: .json, toStandardError: false))
        let app = settings.databases[0]
        #expect(app.options.monitorInterval == .seconds(2))
        #expect(app.options.checkpoint.idleInterval == nil)
        #expect(app.options.checkpoint.minimumPages == 500)
        #expect(app.options.checkpoint.truncatePages == 20000)
        #expect(app.options.stateDirectory == "/data/.app-meta")
        #expect(
            app.options.syncInterval == .milliseconds(500), "the monitor wakes replicas as often as the most eager one")
        let s3 = app.replicas[0]
        let local = app.replicas[1]
        #expect(s3.name == "s3" && local.name == "local")
        #expect(s3.options.retention == .seconds(72 * 3600) && s3.options.syncInterval == .seconds(10))
        #expect(s3.options.snapshotInterval == .seconds(6 * 3600))
        #expect(s3.credentialEnvironment == ["AWS_ACCESS_KEY_ID": "GLOBALID", "AWS_SECRET_ACCESS_KEY": "GLOBALSECRET"])
        #expect(local.options.retention == .seconds(3600) && local.options.layout == .legacy)
        #expect(local.options.leaseDuration == .seconds(60))
        let other = settings.databases[1].replicas[0]
        guard case .sftp(let location) = other.url else {
            Issue.record("not sftp")
            return
        }
        #expect(location.host == "backup.example" && location.port == 2222 && location.user == "me")
        #expect(location.password == "pw" && location.path == "/srv/other" && location.hostKeyCheck == .insecure)
        #expect(!other.displayURL.contains("pw"))
    }

    @Test("KeySuggestion: close typos only")
    func suggestions() {
        #expect(KeySuggestion.nearest(to: "retension", in: ReplicaSection.keys) == "retention")
        #expect(KeySuggestion.nearest(to: "snapshot-intervall", in: ReplicaSection.keys) == "snapshot-interval")
        #expect(KeySuggestion.nearest(to: "bukcet", in: ReplicaSection.keys) == "bucket")
        #expect(KeySuggestion.nearest(to: "xyz", in: ReplicaSection.keys) == nil)
    }
}
