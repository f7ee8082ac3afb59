import Core
import FoundationEssentials
import IO

extension RestoreCommand {
    /// `restore --follow`: restores, then keeps the output current until SIGINT or SIGTERM, which
    /// stop the follower between two transactions.
    func runFollower(
        _ request: RestoreRequest, client: any ReplicaClient, interval: Duration,
        environment: Environment, display: ProgressDisplay
    ) async throws {
        let follower = Follower(client: client, environment: environment, options: FollowOptions(interval: interval))
        let task = environment.spawner.spawn {
            try await display.around { try await follower.run(request, afterRestore: { await display.finish() }) }
        }
        let signals = SignalHandling.install(onFirstSignal: { _ in task.cancel() })
        defer { withExtendedLifetime(signals) {} }
        let report = try await task.value
        print(FollowSummary.text(report, replica: client.location))
    }
}

/// The lines `restore --follow` prints when it stops.
enum FollowSummary {
    static func text(_ report: FollowReport, replica: String) -> String {
        let perPoll = report.polls == 0 ? "0" : formatRatio(report.listRequests, report.polls)
        return """
            followed \(report.restore.outputPath) from \(replica)
              position:    \(report.position)
              polls:       \(report.polls) (\(report.listRequests) listing requests, \(perPoll) per poll)
              applied:     \(report.steps) transactions, \(report.generationSwitches) generation switches
            """
    }

    private static func formatRatio(_ numerator: Int, _ denominator: Int) -> String {
        let hundredths = numerator * 100 / denominator
        return "\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100)"
    }
}
