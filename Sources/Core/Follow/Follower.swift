/// How a follower polls.
public struct FollowOptions: Sendable, Equatable {
    /// The wait between polls of the replica.
    public var interval: Duration
    /// A step's downloaded WAL stays in memory up to this many bytes, in a temp file past it.
    public var spoolMemoryLimit: Int

    public init(interval: Duration = .seconds(1), spoolMemoryLimit: Int = 64 << 20) {
        self.interval = interval
        self.spoolMemoryLimit = spoolMemoryLimit
    }
}

/// What a follower did before it was stopped.
public struct FollowReport: Sendable, Equatable {
    public var restore: RestoreReport
    public var position: Position
    public var polls = 0
    /// Listing requests across all polls (generation switches' full listings excluded).
    public var listRequests = 0
    /// Steps applied: each one transaction of the read replica, covering one or more of the primary's.
    public var steps = 0
    public var generationSwitches = 0

    public init(restore: RestoreReport) {
        self.restore = restore
        position = restore.finalPosition
    }
}

/// `restore --follow`: restores a replica's latest state, then keeps the output current as new
/// WAL lands, polling at `options.interval` until its task is cancelled, between transactions.
///
/// Each poll lists only what can be new (`followChanges`), `FollowDecision` says what to do,
/// and a step downloads the new segments, verifies that they continue the WAL applied so far
/// (salts, checksum chain, commit boundaries, index seals), and commits the latest version of
/// every page they touch as one transaction through `LiveWAL`. A newer generation is restored
/// into a temp file whose every page is then committed to the output as one transaction.
public struct Follower: Sendable {
    public let client: any ReplicaClient
    public let environment: Environment
    public let options: FollowOptions

    public init(client: any ReplicaClient, environment: Environment, options: FollowOptions) {
        self.client = client
        self.environment = environment
        self.options = options
    }

    /// Restores `request` (whose target must be `.latest`) and follows until cancelled. Returns
    /// normally on cancellation, with the output consistent at the last step applied.
    /// `afterRestore` runs once the first restore is complete, before the first poll.
    public func run(
        _ request: RestoreRequest,
        afterRestore: @Sendable () async -> Void = {}
    ) async throws -> FollowReport {
        precondition(request.target == .latest, "a follower follows the latest state")
        let restored = try await Restorer(client: client, environment: environment).restore(request)
        await afterRestore()
        var session = try await FollowSession.start(restored.finalPosition, follower: self, output: request.outputPath)
        var report = FollowReport(restore: restored)
        environment.logger.info(
            "follow.start",
            metadata: [
                "follow.output": "\(request.outputPath)", "follow.position": "\(restored.finalPosition)",
                "follow.interval": "\(options.interval)",
            ])
        do {
            try await loop(&session, report: &report, request: request)
        } catch {
            await session.live.close()
            throw error
        }
        await session.live.close()
        report.position = session.cursor
        return report
    }

    private func loop(
        _ session: inout FollowSession, report: inout FollowReport,
        request: RestoreRequest
    ) async throws {
        var lastWait: String?
        while !Task.isCancelled {
            do {
                try await environment.clock.sleep(for: options.interval)
            } catch {
                return
            }
            let changes: ReplicaChanges
            do {
                changes = try await client.followChanges(after: session.cursor)
            } catch {
                if Task.isCancelled { return }
                environment.logger.warning("follow.list_failed", metadata: ["follow.error": "\(error)"])
                continue
            }
            report.polls += 1
            report.listRequests += changes.listRequests
            let step = FollowDecision.next(after: session.cursor, changes: changes)
            if case .wait(let reason) = step, reason != lastWait {
                environment.logger.notice("follow.waiting", metadata: ["follow.reason": "\(reason)"])
            }
            if case .wait(let reason) = step { lastWait = reason } else { lastWait = nil }
            do {
                switch step {
                case .idle, .wait:
                    continue
                case .apply(let segments):
                    if try await session.apply(segments) { report.steps += 1 }
                case .checkGenerations:
                    if try await session.switchIfNewer(request: request) { report.generationSwitches += 1 }
                }
            } catch is CancellationError where Task.isCancelled {
                // Stopped inside a step: it either committed whole or left the output as it was.
                return
            }
        }
    }
}
