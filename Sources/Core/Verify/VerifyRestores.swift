/// `verify --restore`: restores the latest state and sampled earlier transaction boundaries into
/// a scratch folder, each checked with `PRAGMA integrity_check` and removed at once, so at most
/// one restored database exists at a time.
public struct VerifyRestores: Sendable {
    /// One restore and how it ended.
    public struct Result: Sendable, Equatable {
        /// nil for the latest state.
        public var target: Position?
        /// Where the restored database stood (the latest state's final position).
        public var reached: Position?
        /// Why it failed; nil when it passed.
        public var failure: String?
    }

    public let client: any ReplicaClient
    public let environment: Environment
    /// A folder of the caller's own, empty, that nothing else uses.
    public let scratchDirectory: String

    public init(client: any ReplicaClient, environment: Environment, scratchDirectory: String) {
        self.client = client
        self.environment = environment
        self.scratchDirectory = scratchDirectory
    }

    /// Restores the latest state, then each boundary; failures become `restore-failed` findings.
    public func run(boundaries: [Position]) async -> (results: [Result], findings: [VerifyFinding]) {
        var results: [Result] = []
        var findings: [VerifyFinding] = []
        for target in [nil] + boundaries.map(Optional.some) {
            let result = await restore(target)
            results.append(result)
            if let failure = result.failure {
                let object = target.map { VerifyObjectKey.index($0.generation, index: $0.index) } ?? "latest state"
                let what = target.map { "restore to \($0)" } ?? "restore of the latest state"
                findings.append(
                    VerifyFinding(
                        .problem, .restoreFailed, generation: target?.generation,
                        object: object, message: "\(what) failed: \(failure)"))
            }
        }
        return (results, findings)
    }

    /// One restore with an integrity check, tried twice: the first may race a live replicator
    /// (a listing caught between two uploads), damage fails both.
    private func restore(_ target: Position?) async -> Result {
        let output = Path.join(scratchDirectory, "verify.db")
        var request = RestoreRequest(outputPath: output, integrityCheck: true)
        if let target {
            request.generation = target.generation
            request.target = .position(index: target.index, offset: target.offset)
        }
        var failure = ""
        for _ in 1...2 {
            do {
                let report = try await Restorer(client: client, environment: environment).restore(request)
                await remove(output)
                return Result(target: target, reached: report.finalPosition, failure: nil)
            } catch {
                await remove(output)
                failure = "\(error)"
            }
        }
        return Result(target: target, reached: nil, failure: failure)
    }

    private func remove(_ output: String) async {
        for path in [output] + RestorePaths(output: output).outputCompanions {
            try? await environment.fileSystem.remove(path)
        }
    }
}
