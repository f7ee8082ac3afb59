/// Restores a database from a replica: the entry point the CLI and the simulator call.
///
/// `plan` only lists the replica; `restore` checks the output, plans, then downloads and applies,
/// planning again if retention deleted a planned object meanwhile.
public struct Restorer: Sendable {
    public let client: any ReplicaClient
    public let environment: Environment

    public init(client: any ReplicaClient, environment: Environment) {
        self.client = client
        self.environment = environment
    }

    /// Lists the replica and plans `request` without downloading anything.
    public func plan(_ request: RestoreRequest) async throws -> RestorePlan {
        let listing = try await ReplicaListing.load(from: client)
        return try RestorePlanner.plan(request, listing: listing, replica: client.location)
    }

    /// Plans and carries out `request`. The output is refused before anything is listed or
    /// downloaded if it exists (without `overwrite`) or its directory is missing.
    ///
    /// An object that vanishes between the listing and its download (retention running in the
    /// replicator meanwhile) makes the restore plan again from a new listing and start over;
    /// `RestoreReplanning` says when that is worth it and when the error stands.
    public func restore(_ request: RestoreRequest) async throws -> RestoreReport {
        let executor = RestoreExecutor(client: client, environment: environment)
        try await executor.checkOutput(request)
        var plan = try await plan(request)
        var replans = 0
        while true {
            do {
                return try await executor.execute(plan, request: request)
            } catch ReplicaClientError.notFound(let replica, let key) {
                let missing = ReplicaClientError.notFound(replica: replica, key: key)
                let fresh = try await self.plan(request)
                guard let next = RestoreReplanning.nextPlan(after: plan, fresh: fresh, replans: replans) else {
                    throw missing
                }
                replans += 1
                environment.logger.warning(
                    "restore.replan",
                    metadata: [
                        "restore.missing": "\(key)",
                        "restore.generation": "\(next.generation)",
                        "restore.snapshot": "\(Hex.format(next.snapshot.index, width: 16))",
                        "restore.reason":
                            "a planned object is gone from the replica (retention ran meanwhile); planned again from a new listing",
                    ])
                plan = next
            }
        }
    }

    /// Carries out a plan made earlier (for example one shown to the user first).
    public func restore(_ plan: RestorePlan, request: RestoreRequest) async throws -> RestoreReport {
        guard request.parallelism >= 1 else { throw RestoreError.invalidParallelism(request.parallelism) }
        return try await RestoreExecutor(client: client, environment: environment).execute(plan, request: request)
    }
}
