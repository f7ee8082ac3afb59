import Testing

@testable import Core

@Suite("CheckpointPolicy")
struct CheckpointPolicyTests {
    let policy = CheckpointPolicy(minimumPages: 1000, idleInterval: .seconds(60), truncatePages: 500_000)

    func state(wal: Int, shadow: Int, idle: Duration = .zero, sinceCheckpoint: Duration? = nil) -> CheckpointState {
        CheckpointState(
            walFrames: wal, shadowFrames: shadow, sinceLastNewFrames: idle, sinceLastCheckpoint: sinceCheckpoint)
    }

    func isPassive(_ decision: CheckpointDecision?) -> Bool {
        if case .passive = decision { return true }
        return false
    }

    func isTruncate(_ decision: CheckpointDecision?) -> Bool {
        if case .truncate = decision { return true }
        return false
    }

    @Test("CheckpointPolicy: defaults: 1000 pages, 60 s idle, 500 000-frame brake")
    func defaults() {
        let defaults = CheckpointPolicy()
        #expect(defaults.minimumPages == 1000)
        #expect(defaults.idleInterval == .seconds(60))
        #expect(defaults.truncatePages == 500_000)
        #expect(throws: Never.self) { try defaults.validated() }
    }

    @Test("CheckpointPolicy: decide: a small busy WAL needs no checkpoint")
    func belowEverything() {
        #expect(policy.decide(state(wal: 999, shadow: 999, idle: .seconds(1))) == nil)
        #expect(policy.decide(state(wal: 0, shadow: 0, idle: .seconds(59))) == nil)
    }

    @Test("CheckpointPolicy: decide: the page threshold fires PASSIVE at exactly minimumPages")
    func pageThreshold() {
        #expect(isPassive(policy.decide(state(wal: 1000, shadow: 1000))))
        #expect(isPassive(policy.decide(state(wal: 5000, shadow: 4000))))
        #expect(policy.decide(state(wal: 999, shadow: 999)) == nil)
    }

    @Test("CheckpointPolicy: decide: the page threshold counts the shadow index, not uncopied WAL frames")
    func pageThresholdUsesShadow() {
        // The real WAL is past the threshold but the replicator has validated only 10 frames
        // (the rest is an uncommitted transaction); checkpointing would gain nothing yet.
        #expect(policy.decide(state(wal: 1200, shadow: 10)) == nil)
    }

    @Test("CheckpointPolicy: decide: the brake fires TRUNCATE at exactly truncatePages, before the page rule")
    func truncateBrake() {
        let decision = policy.decide(state(wal: 500_000, shadow: 400_000))
        #expect(isTruncate(decision))
        #expect(decision?.reason.contains("500000") == true)
        #expect(isPassive(policy.decide(state(wal: 499_999, shadow: 499_999))))
    }

    @Test("CheckpointPolicy: decide: the brake uses the real WAL even when the shadow lags")
    func truncateUsesRealWAL() {
        #expect(isTruncate(policy.decide(state(wal: 600_000, shadow: 3))))
    }

    @Test("CheckpointPolicy: decide: the brake wins over an idle checkpoint too")
    func truncateBeforeIdle() {
        #expect(isTruncate(policy.decide(state(wal: 700_000, shadow: 5, idle: .seconds(3600)))))
    }

    @Test("CheckpointPolicy: decide: no brake when truncatePages is nil")
    func noBrake() {
        let unbraked = CheckpointPolicy(minimumPages: 1000, idleInterval: nil, truncatePages: nil)
        #expect(unbraked.decide(state(wal: 10_000_000, shadow: 5)) == nil)
        #expect(isPassive(unbraked.decide(state(wal: 10_000_000, shadow: 1000))))
    }

    @Test("CheckpointPolicy: decide: idle for the interval with frames in the WAL fires PASSIVE")
    func idle() {
        let decision = policy.decide(state(wal: 5, shadow: 5, idle: .seconds(60)))
        #expect(isPassive(decision))
        #expect(decision?.reason.contains("1m") == true)
        #expect(policy.decide(state(wal: 5, shadow: 5, idle: .seconds(59))) == nil)
    }

    @Test("CheckpointPolicy: decide: idle with only the replicator's own bump frame does not loop (Litestream #422)")
    func idleBumpFrameDoesNotLoop() {
        // After our checkpoint restarts the WAL, the bump leaves one frame. Hours later the
        // database is still idle: checkpointing that frame would bump again, forever.
        #expect(policy.decide(state(wal: 1, shadow: 1, idle: .seconds(7200), sinceCheckpoint: .seconds(7200))) == nil)
        #expect(policy.decide(state(wal: 0, shadow: 0, idle: .seconds(7200))) == nil)
        #expect(
            isPassive(policy.decide(state(wal: 2, shadow: 2, idle: .seconds(7200), sinceCheckpoint: .seconds(7200)))))
    }

    @Test("CheckpointPolicy: decide: idle fires at most once per interval when the WAL could not restart")
    func idleRateLimited() {
        // A reader kept the last PASSIVE checkpoint from completing, so the WAL still has frames.
        #expect(policy.decide(state(wal: 40, shadow: 40, idle: .seconds(300), sinceCheckpoint: .seconds(1))) == nil)
        #expect(policy.decide(state(wal: 40, shadow: 40, idle: .seconds(300), sinceCheckpoint: .seconds(59))) == nil)
        #expect(
            isPassive(policy.decide(state(wal: 40, shadow: 40, idle: .seconds(300), sinceCheckpoint: .seconds(60)))))
    }

    @Test("CheckpointPolicy: decide: the page threshold ignores the idle rate limit")
    func pageThresholdNotRateLimited() {
        #expect(
            isPassive(policy.decide(state(wal: 2000, shadow: 2000, idle: .zero, sinceCheckpoint: .milliseconds(10)))))
    }

    @Test("CheckpointPolicy: decide: idle rule disabled when idleInterval is nil")
    func idleDisabled() {
        let noIdle = CheckpointPolicy(minimumPages: 1000, idleInterval: nil, truncatePages: 500_000)
        #expect(noIdle.decide(state(wal: 500, shadow: 500, idle: .seconds(86_400))) == nil)
    }

    @Test("CheckpointPolicy: decide: every decision over a grid is PASSIVE, TRUNCATE or nil and follows the rule order")
    func grid() {
        // Re-derives the documented order independently for many states; there is no RESTART
        // case to return, so the type already rules that out.
        for wal in [0, 1, 2, 999, 1000, 499_999, 500_000, 900_000] {
            for shadow in [0, 1, 999, 1000, 2000] {
                for idle in [Duration.zero, .seconds(59), .seconds(60), .seconds(600)] {
                    for sinceCheckpoint in [nil, Duration.seconds(1), .seconds(600)] {
                        let decision = policy.decide(
                            state(wal: wal, shadow: shadow, idle: idle, sinceCheckpoint: sinceCheckpoint))
                        if wal >= 500_000 {
                            #expect(isTruncate(decision))
                        } else if shadow >= 1000 {
                            #expect(isPassive(decision))
                        } else if idle >= .seconds(60) && wal > 1 && (sinceCheckpoint ?? .seconds(60)) >= .seconds(60) {
                            #expect(isPassive(decision))
                        } else {
                            #expect(decision == nil)
                        }
                    }
                }
            }
        }
    }

    @Test("CheckpointPolicy: validated: rejects minimumPages below 1")
    func rejectsMinimum() {
        #expect(throws: ConfigurationError.minimumCheckpointPagesTooSmall(0)) {
            try CheckpointPolicy(minimumPages: 0).validated()
        }
        #expect(throws: ConfigurationError.minimumCheckpointPagesTooSmall(-5)) {
            try CheckpointPolicy(minimumPages: -5).validated()
        }
    }

    @Test("CheckpointPolicy: validated: rejects truncatePages at or below minimumPages")
    func rejectsTruncate() {
        #expect(throws: ConfigurationError.truncatePagesNotAboveMinimum(truncatePages: 1000, minimumPages: 1000)) {
            try CheckpointPolicy(minimumPages: 1000, truncatePages: 1000).validated()
        }
        #expect(throws: ConfigurationError.truncatePagesNotAboveMinimum(truncatePages: 10, minimumPages: 1000)) {
            try CheckpointPolicy(minimumPages: 1000, truncatePages: 10).validated()
        }
        #expect(throws: Never.self) { try CheckpointPolicy(minimumPages: 1000, truncatePages: 1001).validated() }
        #expect(throws: Never.self) { try CheckpointPolicy(minimumPages: 1000, truncatePages: nil).validated() }
    }

    @Test("CheckpointPolicy: validated: rejects a zero or negative idle interval, accepts nil")
    func rejectsInterval() {
        #expect(throws: ConfigurationError.checkpointIntervalNotPositive(.zero)) {
            try CheckpointPolicy(idleInterval: .zero).validated()
        }
        #expect(throws: ConfigurationError.checkpointIntervalNotPositive(.seconds(-1))) {
            try CheckpointPolicy(idleInterval: .seconds(-1)).validated()
        }
        #expect(throws: Never.self) { try CheckpointPolicy(idleInterval: nil).validated() }
    }

    @Test("CheckpointPolicy: validated: errors are one line naming the config key")
    func errorMessages() {
        let errors: [ConfigurationError] = [
            .minimumCheckpointPagesTooSmall(0),
            .truncatePagesNotAboveMinimum(truncatePages: 5, minimumPages: 10),
            .checkpointIntervalNotPositive(.seconds(-30)),
            .invalidDuration(key: "retention", text: "soon"),
        ]
        let keys = ["min-checkpoint-page-count", "truncate-page-count", "checkpoint-interval", "retention"]
        for (error, key) in zip(errors, keys) {
            #expect(!error.description.contains("\n"))
            #expect(error.description.contains(key))
        }
        #expect(ConfigurationError.checkpointIntervalNotPositive(.seconds(-30)).description.contains("-30s"))
    }
}
