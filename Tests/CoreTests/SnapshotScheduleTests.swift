import Testing

@testable import Core

@Suite("SnapshotSchedule")
struct SnapshotScheduleTests {
    let now = Timestamp(millisecondsSince1970: 1_700_000_000_000)

    @Test("SnapshotSchedule: no interval: only generation-start snapshots, never scheduled")
    func noInterval() {
        #expect(SnapshotSchedule.nextSnapshot(after: nil, interval: nil, now: now) == nil)
        #expect(SnapshotSchedule.nextSnapshot(after: now - .seconds(86_400 * 30), interval: nil, now: now) == nil)
    }

    @Test("SnapshotSchedule: zero or negative interval means off, as Litestream's `snapshot-interval: 0`")
    func zeroInterval() {
        #expect(SnapshotSchedule.nextSnapshot(after: now - .seconds(10), interval: .zero, now: now) == nil)
        #expect(SnapshotSchedule.nextSnapshot(after: nil, interval: .seconds(-5), now: now) == nil)
    }

    @Test("SnapshotSchedule: no snapshot yet: due now")
    func noSnapshotYet() {
        #expect(SnapshotSchedule.nextSnapshot(after: nil, interval: .seconds(3600), now: now) == now)
    }

    @Test("SnapshotSchedule: scheduled from the last snapshot's time, not process start (Litestream d02ba97)")
    func fromLastSnapshot() {
        // The process started a minute ago; the last snapshot is 50 minutes old. A ticker from
        // process start would say "in 59 minutes"; the right answer is "in 10 minutes".
        let last = now - .seconds(50 * 60)
        let due = SnapshotSchedule.nextSnapshot(after: last, interval: .seconds(3600), now: now)
        #expect(due == last + .seconds(3600))
        #expect(due == now + .seconds(10 * 60))
    }

    @Test("SnapshotSchedule: overdue after downtime: one catch-up snapshot now")
    func overdue() {
        let last = now - .seconds(5 * 3600)
        #expect(SnapshotSchedule.nextSnapshot(after: last, interval: .seconds(3600), now: now) == now)
    }

    @Test("SnapshotSchedule: due exactly now stays now")
    func dueExactlyNow() {
        let last = now - .seconds(3600)
        #expect(SnapshotSchedule.nextSnapshot(after: last, interval: .seconds(3600), now: now) == now)
    }

    @Test("SnapshotSchedule: frequent restarts never postpone the snapshot")
    func restartsDoNotReset() {
        // Simulate a replicator restarted every 10 minutes for a day with a 1 h interval: the
        // due time only depends on the last snapshot, so snapshots happen every hour.
        let interval = Duration.seconds(3600)
        var last = now
        var taken = 0
        var clock = now
        for _ in 0..<(24 * 6) {
            clock = clock + .seconds(600)
            if let due = SnapshotSchedule.nextSnapshot(after: last, interval: interval, now: clock), due <= clock {
                last = clock
                taken += 1
            }
        }
        #expect(taken == 24)
    }

    @Test("SnapshotSchedule: a snapshot at the index of the newest one is not worth taking (it would replace it)")
    func notAtTheSameIndex() {
        #expect(!SnapshotSchedule.isWorthTaking(atIndex: 4, newestSnapshotIndex: 4))
        #expect(SnapshotSchedule.isWorthTaking(atIndex: 5, newestSnapshotIndex: 4))
        #expect(SnapshotSchedule.isWorthTaking(atIndex: 4, newestSnapshotIndex: nil))
        #expect(SnapshotSchedule.isWorthTaking(atIndex: nil, newestSnapshotIndex: 4))
    }
}
