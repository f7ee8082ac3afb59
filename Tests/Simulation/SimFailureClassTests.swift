import SimHarness
import Testing

@Suite("SimFailureClass: what `sluice sim` exits with")
struct SimFailureClassTests {
    @Test("invariant violations: catch-up is liveness, a replicator's own failure a crash, every other one safety")
    func violations() {
        #expect(SimFailureClass(.noCatchUp("x")) == .liveness)
        #expect(SimFailureClass(.replicaLagging("x")) == .liveness)
        #expect(SimFailureClass(.snapshotLate("x")) == .liveness)
        #expect(SimFailureClass(.walRunaway("x")) == .liveness)
        #expect(SimFailureClass(.replicatorFailed("x")) == .crash)
        for violation: InvariantViolation in [
            .replicatedCommitLost("x"), .tornRestore("x"), .pointInTimeWrong("x"),
            .retentionLostRestorePoint("x"), .sourceHarmed("x"), .needlessGeneration("x"),
            .writeWithoutLease("x"), .damagedObjectRestored("x"), .planNotExact("x"),
            .shadowIndexDiffers("x"), .restoreFailed("x"),
        ] {
            #expect(SimFailureClass(violation) == .safety, "\(violation)")
        }
    }

    @Test("scheduler failures: deadlocks and runaways are liveness, escapes escape, anything else thrown a crash")
    func schedulerFailures() {
        #expect(SimFailureClass(.deadlock) == .liveness)
        #expect(SimFailureClass(.jobLimit(10)) == .liveness)
        #expect(SimFailureClass(.timeLimit(.seconds(1))) == .liveness)
        #expect(SimFailureClass(.escape(.globalEnqueue)) == .escape)
        #expect(SimFailureClass(.bodyThrew("x")) == .crash)
    }

    @Test("several classes: safety, then escape, then crash, then liveness; distinct statuses; none for no failure")
    func precedence() {
        #expect(SimFailureClass.exitClass(of: []) == nil)
        #expect(SimFailureClass.exitClass(of: [.liveness, .crash, .escape, .safety]) == .safety)
        #expect(SimFailureClass.exitClass(of: [.liveness, .crash, .escape]) == .escape)
        #expect(SimFailureClass.exitClass(of: [.liveness, .crash]) == .crash)
        #expect(SimFailureClass.exitClass(of: [.liveness]) == .liveness)
        #expect(Set(SimFailureClass.allCases.map(\.rawValue)).count == SimFailureClass.allCases.count)
        #expect(SimFailureClass.allCases.allSatisfy { $0.rawValue > 1 && $0.rawValue < 64 })
    }
}
