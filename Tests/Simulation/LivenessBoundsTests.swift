import Core
import Testing

@testable import SimHarness

@Suite("Liveness bounds")
struct LivenessBoundsTests {
    let start = Timestamp(millisecondsSince1970: 1_000_000)
    let bounds = LivenessBounds(
        settle: .seconds(70), window: .seconds(60), lag: .seconds(4), snapshotGap: nil,
        walThresholdFrames: 100, walDelay: .seconds(2))

    func samples(_ frames: [Int], every step: Duration = .milliseconds(500)) -> [CommitLog.WALSample] {
        frames.enumerated().map { CommitLog.WALSample(time: start + step * $0.offset, frames: $0.element) }
    }

    @Test("a WAL restarted past its threshold within the delay passes")
    func restartedWAL() throws {
        // 40 frames a commit, half a second apart: over 100 frames, restarted two commits later.
        try SimWorld.checkWALFrames(samples([40, 80, 120, 160, 1, 41, 81, 121, 161, 1]), from: start, bounds: bounds)
    }

    @Test("a WAL that keeps growing past its threshold fails, naming its frames")
    func runawayWAL() {
        let growing = samples(Array(stride(from: 40, through: 800, by: 40)))
        #expect(throws: InvariantViolation.self) { try SimWorld.checkWALFrames(growing, from: start, bounds: bounds) }
    }

    @Test("the replicator's preemption pauses do not count towards the delay")
    func pausesExcused() throws {
        // A runaway whatever a fifth of the time paused; excused when the replicator was paused throughout.
        var paused = samples(Array(stride(from: 40, through: 400, by: 40)))
        for index in paused.indices { paused[index].replicatorPaused = .milliseconds(100 * index) }
        #expect(throws: InvariantViolation.self) { try SimWorld.checkWALFrames(paused, from: start, bounds: bounds) }
        for index in paused.indices { paused[index].replicatorPaused = .milliseconds(500 * index) }
        try SimWorld.checkWALFrames(paused, from: start, bounds: bounds)
    }

    @Test("samples before the window are the baseline only")
    func beforeTheWindow() throws {
        let grown = samples(Array(stride(from: 40, through: 800, by: 40)) + [1, 41])
        try SimWorld.checkWALFrames(grown, from: start + .seconds(10), bounds: bounds)
    }

    @Test("stated bounds grow with the seed's intervals")
    func statedBounds() {
        var parameters = SwarmParameters.draw(seed: 2, profile: .noFaults, span: .seconds(300))
        parameters.replication.snapshotInterval = .seconds(60)
        parameters.replication.syncInterval = .seconds(2)
        let slow = LivenessBounds.stated(for: parameters)
        parameters.replication.syncInterval = .milliseconds(100)
        let fast = LivenessBounds.stated(for: parameters)
        #expect(slow.lag > fast.lag)
        #expect(slow.window >= .seconds(140))
        #expect(slow.snapshotGap! > .seconds(60))
    }
}
