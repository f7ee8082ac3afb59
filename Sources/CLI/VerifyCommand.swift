import ArgumentParser
import Core
import FoundationEssentials
import Glibc
import IO

/// `sluice verify DB_PATH|REPLICA_URL`: checks that every generation on each replica is whole,
/// without writing a database (unless `--restore`). Exit 0 whole, 1 problems found, 2 could
/// not check.
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check that every generation on a replica is whole, without restoring it.",
        discussion: """
            Reads every snapshot and WAL segment: WAL indexes present from the first snapshot on, \
            segments contiguous, LZ4 frames and their checksums, WAL salts and checksum chain, \
            snapshots SQLite databases of their stated page size. Each problem is one line naming \
            the object; 'live:' lines are what a running replicator looks like and are not problems. \
            Exit status: 0 whole, 1 problems found, 2 could not check. With a DB_PATH, the \
            database's replicas in the config file are checked (-replica NAME picks one), else the \
            replicas recorded by 'sluice replicate' beside it. \(ReplicaURLHelp.text)
            """)

    @Flag(
        name: LegacyFlags.names("restore"),
        help: "Also restore the latest state into a temp folder and run PRAGMA integrity_check on it.")
    var restore = false

    @Option(
        name: LegacyFlags.names("sample"),
        help: "With --restore, also restore this many random earlier transaction boundaries.")
    var sample: Int = 0

    @Flag(name: LegacyFlags.names("json"), help: "Print one JSON document (schema in docs/verify.md).")
    var json = false

    @Option(
        name: LegacyFlags.names("progress-interval"),
        help: "When stderr is not a terminal, how often a verify logs its progress.")
    var progressInterval: String = "5s"

    @OptionGroup var replica: ReplicaArguments
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let outcome = await VerifyRun(command: self).run()
        if json {
            print(try VerifyJSON.document(outcome))
        } else {
            print(VerifyText.render(outcome), terminator: "")
        }
        // "Could not check" is an error on standard error too, one line per replica.
        if let error = outcome.error { StandardError.write("error: " + error.oneLine + "\n") }
        for replica in outcome.replicas {
            if let error = replica.error { StandardError.write("error: \(replica.location): \(error.oneLine)\n") }
        }
        if outcome.exitStatus != 0 { throw ExitCode(outcome.exitStatus) }
    }
}

/// Everything one `verify` run found, over all the replicas it checked.
struct VerifyOutcome {
    /// One replica's report, or why it could not be checked.
    struct Replica {
        var location: String
        var report: VerifyReport?
        var restores: [VerifyRestores.Result] = []
        var error: String?
    }

    var checkedAt: Timestamp
    var replicas: [Replica] = []
    /// Why nothing could be checked at all (bad arguments, unreachable config).
    var error: String?

    /// 1 when any problem was found, else 2 when anything could not be checked, else 0.
    var exitStatus: Int32 {
        if replicas.contains(where: { !($0.report?.problems.isEmpty ?? true) }) { return 1 }
        if error != nil || replicas.contains(where: { $0.error != nil }) { return 2 }
        return 0
    }

    var status: String {
        switch exitStatus {
        case 0: return "whole"
        case 1: return "problems"
        default: return "unchecked"
        }
    }
}

/// The I/O of one `verify` run: resolving replicas, checking each, restoring when asked.
struct VerifyRun {
    let command: VerifyCommand

    func run() async -> VerifyOutcome {
        let environment: Environment
        do {
            environment = ProductionEnvironment.make(logger: try command.logging.makeLogger())
        } catch {
            return VerifyOutcome(checkedAt: Timestamp(millisecondsSince1970: 0), error: CLIError.describe(error))
        }
        var outcome = VerifyOutcome(checkedAt: environment.wallClock.now())
        do {
            guard command.sample >= 0 else {
                throw CLIError.invalidNumber(flag: "sample", value: String(command.sample))
            }
            if command.sample > 0 && !command.restore {
                throw CLIError.flagRequires(flag: "sample", required: "restore")
            }
            let logInterval = try ReplicateCommand.positiveDuration(command.progressInterval, flag: "progress-interval")
            let clients = try await command.replica.clients(environment: environment)
            for client in clients {
                outcome.replicas.append(await check(client, environment: environment, logInterval: logInterval))
            }
        } catch {
            outcome.error = CLIError.describe(error)
        }
        return outcome
    }

    private func check(
        _ client: any ReplicaClient, environment: Environment,
        logInterval: Duration
    ) async -> VerifyOutcome.Replica {
        var result = VerifyOutcome.Replica(location: client.location)
        do {
            var verifier = ReplicaVerifier(
                client: client, environment: environment,
                sampleSize: command.restore ? command.sample : 0)
            let meter = ProgressMeter.verify()
            verifier.progress = meter
            let display = ProgressDisplay.start(
                meter, label: "verify \(client.location)", logger: environment.logger,
                logInterval: logInterval)
            var report = try await display.around {
                try await environment.spawner.run { try await verifier.verify() }
            }
            if report.generations.isEmpty {
                report.findings.append(
                    VerifyFinding(
                        .problem, .noSnapshot, generation: nil, object: "generations/",
                        message: "the replica holds no generation, so nothing can be "
                            + "restored; check the replica URL"))
            }
            if command.restore && report.problems.isEmpty {
                let (restores, findings) = try await restoreChecks(client, report: report, environment: environment)
                result.restores = restores
                report.findings += findings
            }
            result.report = report
        } catch {
            result.error = CLIError.describe(error)
        }
        return result
    }

    /// Restores into a private temp folder, removed afterwards whatever happens.
    private func restoreChecks(
        _ client: any ReplicaClient, report: VerifyReport,
        environment: Environment
    ) async throws -> ([VerifyRestores.Result], [VerifyFinding]) {
        let scratch = try ScratchDirectory.make()
        defer { ScratchDirectory.remove(scratch) }
        return await environment.spawner.run {
            await VerifyRestores(client: client, environment: environment, scratchDirectory: scratch)
                .run(boundaries: report.sampledBoundaries)
        }
    }
}

/// A private folder in the system temp directory (`mkdtemp`, mode 0700).
enum ScratchDirectory {
    static func make() throws -> String {
        let base = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array((Path.join(base, "sluice-verify-XXXXXX")).utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw VerifyCommandError.scratchDirectory(base: base, reason: String(cString: strerror(errno)))
        }
        return String(cString: made)
    }

    /// Removes the folder and whatever a failed restore may have left in it.
    static func remove(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Failures of `verify` itself.
enum VerifyCommandError: Error, CustomStringConvertible {
    case scratchDirectory(base: String, reason: String)

    var description: String {
        switch self {
        case .scratchDirectory(let base, let reason):
            return "cannot create a temp folder in \(base) for the test restores: \(reason); "
                + "set TMPDIR to a writable folder"
        }
    }
}
