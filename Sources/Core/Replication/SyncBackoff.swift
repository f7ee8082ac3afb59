/// How long a replica's loop waits before its next attempt, after a run of failed ones.
///
/// The count that drives the backoff is of attempts in a row that failed *without moving the
/// replica forward*. An attempt whose WAL upload the store cut short after earlier uploads went
/// through is progress: the store answers, just not every time. (A snapshot or retention that
/// fails after WAL went up is not: it keeps failing however much WAL each attempt uploads.)
/// Counting such an attempt as one more failure grew the delay to its one-minute cap under a few
/// per cent of errors, while a backlog of many WAL indexes needed one request each; every
/// attempt then got part of the way and failed, the replica fell minutes behind and no scheduled
/// snapshot was ever reached (found by `sluice sim`, default seed 37: at 7% errors, no snapshot
/// in the whole 300 s run and a replica 60 s behind).
public enum SyncBackoff {
    /// The longest wait between attempts.
    public static let cap: Duration = .seconds(60)

    /// The failure count after a failed attempt (a success resets it to zero): one, so no
    /// backoff yet, if the attempt still moved the replica forward; one more otherwise.
    public static func failures(afterFailedAttempt previous: Int, madeProgress: Bool) -> Int {
        madeProgress ? 1 : previous + 1
    }

    /// The wait before the next attempt. One failure waits the sync interval; each further one
    /// doubles it, up to `cap`, and takes a random half to all of that (`jitter` in 0..<1), so
    /// replicators that failed together do not retry together.
    public static func delay(failures: Int, syncInterval: Duration, jitter: Double) -> Duration {
        guard failures > 1 else { return syncInterval }
        let exponent = min(failures - 1, 6)
        let capped = min(syncInterval * (1 << exponent), cap)
        return capped * (0.5 + jitter / 2)
    }
}
