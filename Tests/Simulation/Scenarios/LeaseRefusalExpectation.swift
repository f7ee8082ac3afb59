import Core
import SimHarness
import Testing

/// Expects `other` to stop within `limit` refused by a lease that `holder` holds; `ifTakenOver`
/// says what went wrong if it got the location instead.
func expectLeaseRefused(
    _ other: ReplicatorProcess, holder: String, within limit: Duration, world: ScenarioWorld, ifTakenOver: String
) async throws {
    switch try await other.outcome(within: limit, clock: world.scheduler.clock) {
    case .failure(let error as LeaseError):
        guard case .held(_, let current) = error else {
            Issue.record("refused with \(error), expected held")
            return
        }
        #expect(current.owner == holder)
    case nil:
        Issue.record("the other machine's replicator took the location over: \(ifTakenOver)")
        await other.stop()
    case .some(let outcome):
        Issue.record("the other machine's replicator ended with \(outcome), expected LeaseError.held")
    }
}
