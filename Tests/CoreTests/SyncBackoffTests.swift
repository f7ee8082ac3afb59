import Testing

@testable import Core

@Suite("SyncBackoff")
struct SyncBackoffTests {
    @Test(
        "SyncBackoff: a failed attempt that got nowhere adds one failure; one that moved the replica forward counts as the first"
    )
    func failureCount() {
        #expect(SyncBackoff.failures(afterFailedAttempt: 0, madeProgress: false) == 1)
        #expect(SyncBackoff.failures(afterFailedAttempt: 5, madeProgress: false) == 6)
        #expect(SyncBackoff.failures(afterFailedAttempt: 5, madeProgress: true) == 1)
        #expect(SyncBackoff.failures(afterFailedAttempt: 0, madeProgress: true) == 1)
    }

    @Test("SyncBackoff: one failure waits the sync interval, with no jitter")
    func firstFailure() {
        for failures in [0, 1] {
            #expect(SyncBackoff.delay(failures: failures, syncInterval: .seconds(1), jitter: 0) == .seconds(1))
            #expect(SyncBackoff.delay(failures: failures, syncInterval: .seconds(1), jitter: 0.999) == .seconds(1))
        }
    }

    @Test("SyncBackoff: further failures double the wait, take half to all of it, and stop at the cap")
    func doublingAndCap() {
        #expect(SyncBackoff.delay(failures: 2, syncInterval: .seconds(1), jitter: 1) == .seconds(2))
        #expect(SyncBackoff.delay(failures: 2, syncInterval: .seconds(1), jitter: 0) == .seconds(1))
        #expect(SyncBackoff.delay(failures: 4, syncInterval: .seconds(1), jitter: 1) == .seconds(8))
        #expect(SyncBackoff.delay(failures: 7, syncInterval: .seconds(1), jitter: 1) == .seconds(60))
        #expect(SyncBackoff.delay(failures: 50, syncInterval: .seconds(1), jitter: 1) == .seconds(60))
        #expect(SyncBackoff.delay(failures: 50, syncInterval: .seconds(1), jitter: 0) == .seconds(30))
        // A long sync interval is capped from the second failure on.
        #expect(SyncBackoff.delay(failures: 2, syncInterval: .seconds(45), jitter: 1) == .seconds(60))
    }
}
