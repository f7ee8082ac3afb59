import Core
import Testing

@Suite("Uploads follow new frames: WALChangeWatch and WakeSignal")
struct UploadTriggerTests {
    private func stat(size: Int64, modified: Int64) -> FileStat {
        FileStat(size: size, isDirectory: false, modified: Timestamp(millisecondsSince1970: modified))
    }

    private func look(_ watch: inout WALChangeWatch, _ seen: FileStat??) -> Bool {
        watch.shouldPass(looked: seen)
    }

    @Test("a pass runs when the WAL looks different from before the last pass, and every monitor interval regardless")
    func watch() {
        var watch = WALChangeWatch(
            monitorInterval: .seconds(1), minimumGap: .zero, fastest: .milliseconds(100), slowest: .milliseconds(100))
        let quiet = stat(size: 4152, modified: 1_000)
        #expect(look(&watch, .some(quiet)), "the first look always passes")
        watch.elapsed(.milliseconds(100))
        #expect(!look(&watch, .some(quiet)), "an unchanged WAL costs a look, not a pass")
        watch.elapsed(.milliseconds(100))
        #expect(look(&watch, .some(stat(size: 4152, modified: 1_001))), "rewritten in place: same size, later time")
        watch.elapsed(.milliseconds(100))
        #expect(look(&watch, .some(stat(size: 8272, modified: 1_001))), "grown")
        watch.elapsed(.milliseconds(100))
        #expect(look(&watch, .some(nil)), "gone")
        watch.elapsed(.milliseconds(100))
        #expect(!look(&watch, .some(nil)), "still gone")
        watch.elapsed(.milliseconds(100))
        #expect(look(&watch, nil), "a failed look passes")

        var idle = WALChangeWatch(
            monitorInterval: .seconds(1), minimumGap: .zero, fastest: .milliseconds(100), slowest: .milliseconds(100))
        #expect(look(&idle, .some(quiet)))
        var passes = 0
        for _ in 0..<30 {
            idle.elapsed(.milliseconds(100))
            if idle.shouldPass(looked: .some(quiet)) { passes += 1 }
        }
        #expect(passes == 3, "an idle WAL still gets a pass every monitor interval")
    }

    @Test("a change waits for the minimum gap since the last pass, and is not looked at again meanwhile")
    func minimumGap() {
        var watch = WALChangeWatch(
            monitorInterval: .seconds(5), minimumGap: .seconds(1), fastest: .milliseconds(100),
            slowest: .milliseconds(500))
        #expect(look(&watch, .some(stat(size: 4152, modified: 1_000))))
        var passes: [Duration] = []
        var looks = 0
        var now = Duration.zero
        while now < .seconds(3) {
            let pause = watch.nextLook
            watch.elapsed(pause)
            now += pause
            looks += 1
            // The WAL changes between any two looks: a busy database.
            let tick = Int64(looks)
            if look(&watch, .some(stat(size: 4152 + tick * 4120, modified: 1_000 + tick * 100))) { passes.append(now) }
        }
        #expect(passes == [.seconds(1), .seconds(2), .seconds(3)], "one pass per gap, as soon as it is over")
        #expect(looks == 6, "a look soon after each pass sees the change; the next is when the gap ends")
    }

    @Test("looks come fast while the WAL changes and back off to the slowest while it does not")
    func backoff() {
        var watch = WALChangeWatch(
            monitorInterval: .seconds(1), minimumGap: .zero, fastest: .milliseconds(100), slowest: .milliseconds(500))
        let quiet = stat(size: 4152, modified: 1_000)
        var pauses: [Duration] = []
        _ = look(&watch, .some(quiet))
        pauses.append(watch.nextLook)
        for _ in 0..<4 {
            _ = look(&watch, .some(quiet))
            pauses.append(watch.nextLook)
        }
        #expect(
            pauses == [
                .milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(500), .milliseconds(500),
            ])
        _ = look(&watch, .some(stat(size: 8272, modified: 1_200)))
        #expect(watch.nextLook == .milliseconds(100), "a change brings the looks back to the fastest")
        let capped = WALChangeWatch(
            monitorInterval: .milliseconds(50), minimumGap: .zero, fastest: .milliseconds(100),
            slowest: .milliseconds(500))
        #expect(capped.nextLook == .milliseconds(50), "never less often than the monitor interval")
    }

    /// A 1 s gap and a pass every 10 s while notices work.
    private func notifiedWatch() -> WALChangeWatch {
        var watch = WALChangeWatch(
            monitorInterval: .seconds(1), minimumGap: .seconds(1), fastest: .milliseconds(100),
            slowest: .milliseconds(500), notifiedPassInterval: .seconds(10))
        watch.isNotified = true
        return watch
    }

    @Test(
        "with notices, an idle WAL is not looked at: the monitor waits for a notice until the pass that runs regardless"
    )
    func notifiedIdle() {
        var watch = notifiedWatch()
        let quiet = stat(size: 4152, modified: 1_000)
        #expect(look(&watch, .some(quiet)), "the first look always passes")
        #expect(watch.waitsForNotice && watch.nextLook == .seconds(10))
        var passes = 0
        var waits = 0
        for _ in 0..<6 {
            let pause = watch.nextLook
            watch.elapsed(pause)
            waits += 1
            if look(&watch, .some(quiet)) { passes += 1 }
        }
        #expect(passes == 6 && waits == 6, "one wait and one pass every 10 s: \(passes) passes, \(waits) waits")

        watch.isNotified = false
        _ = look(&watch, .some(quiet))
        #expect(!watch.waitsForNotice && watch.nextLook <= .milliseconds(500), "without notices it polls again")
    }

    @Test("a notice is a change even when the look shows none, and it waits out the gap without being lost")
    func noticeIsAChange() {
        var watch = notifiedWatch()
        let quiet = stat(size: 4152, modified: 1_000)
        #expect(look(&watch, .some(quiet)))
        // Rewritten in place within the clock's resolution: the look sees nothing new.
        watch.elapsed(.milliseconds(300))
        let insideGap = watch.shouldPass(looked: .some(quiet), noticed: true)
        #expect(!insideGap, "inside the gap")
        #expect(
            !watch.waitsForNotice && watch.nextLook == .milliseconds(700), "sleeps to the gap's end, no notice needed")
        watch.elapsed(.milliseconds(700))
        #expect(look(&watch, .some(quiet)), "the noticed change passes once the gap is over")
        #expect(watch.waitsForNotice)
        watch.elapsed(.seconds(2))
        #expect(!look(&watch, .some(quiet)), "answered: no pass without another notice")
    }

    @Test("a signal given while nobody waits is kept for the next wait; clear forgets it")
    func keptSignal() async throws {
        let signal = WakeSignal()
        signal.signal()
        #expect(try await signal.wait(timeout: .seconds(60), clock: ContinuousClock()))
        #expect(try await signal.wait(timeout: .milliseconds(1), clock: ContinuousClock()) == false, "consumed")
        signal.signal()
        signal.clear()
        #expect(try await signal.wait(timeout: .milliseconds(1), clock: ContinuousClock()) == false, "cleared")
    }

    @Test("a signal wakes a waiting loop long before its timeout")
    func wakes() async throws {
        let signal = WakeSignal()
        async let woken = signal.wait(timeout: .seconds(600), clock: ContinuousClock())
        // Signalled repeatedly until the wait returns, so the test does not depend on when the
        // waiter registered: a signal before it registers is kept, one after wakes it.
        let signaller = Task {
            while !Task.isCancelled {
                signal.signal()
                await Task.yield()
            }
        }
        #expect(try await woken)
        signaller.cancel()
    }

    @Test("cancelling the waiting task ends the wait with CancellationError and keeps a later signal")
    func cancellation() async throws {
        let signal = WakeSignal()
        let waiter = Task { try await signal.wait(timeout: .seconds(600), clock: ContinuousClock()) }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { _ = try await waiter.value }
        signal.signal()
        #expect(try await signal.wait(timeout: .seconds(60), clock: ContinuousClock()))
    }
}
