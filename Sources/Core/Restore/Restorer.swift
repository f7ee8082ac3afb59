/// Restores a database from a replica: the entry point the CLI and the simulator call.
///
/// `plan` only lists the replica; `restore` checks the output, plans, then downloads and applies.
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
    public func restore(_ request: RestoreRequest) async throws -> RestoreReport {
        let executor = RestoreExecutor(client: client, environment: environment)
        try await executor.checkOutput(request)
        let plan = try await plan(request)
        return try await executor.execute(plan, request: request)
    }

    /// Carries out a plan made earlier (for example one shown to the user first).
    public func restore(_ plan: RestorePlan, request: RestoreRequest) async throws -> RestoreReport {
        guard request.parallelism >= 1 else { throw RestoreError.invalidParallelism(request.parallelism) }
        return try await RestoreExecutor(client: client, environment: environment).execute(plan, request: request)
    }
}
