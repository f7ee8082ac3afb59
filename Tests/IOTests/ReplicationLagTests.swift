import Core
import IO
import Testing

@Suite("ReplicationLag")
struct ReplicationLagTests {
    let generation = Generation(value: 1)
    let later = Generation(value: 2)
    func at(_ seconds: Int64) -> Timestamp { Timestamp(millisecondsSince1970: seconds * 1000) }
    func position(_ offset: UInt64, index: UInt64 = 0, in generation: Generation? = nil) -> Position {
        Position(generation: generation ?? self.generation, index: index, offset: offset)
    }

    @Test("ReplicationLag: lag is the age of the oldest change a replica lacks, zero once it holds everything")
    func ageOfOldestMissingChange() {
        var lag = ReplicationLag(replicas: ["a", "b"])
        #expect(lag.lag(of: "a", at: at(5)) == 0)
        lag.databaseReached(position(100), at: at(10))
        lag.databaseReached(position(200), at: at(12))
        // Position unknown: behind since the first change.
        #expect(lag.lag(of: "a", at: at(15)) == 5)
        lag.replicaReached("a", position(100))
        #expect(lag.lag(of: "a", at: at(15)) == 3)
        #expect(lag.lag(of: "b", at: at(15)) == 5)
        lag.replicaReached("a", position(200))
        #expect(lag.lag(of: "a", at: at(20)) == 0)
        // A pass that copied nothing new does not restart the clock.
        lag.databaseReached(position(200), at: at(21))
        #expect(lag.lag(of: "a", at: at(22)) == 0)
        #expect(lag.lag(of: "b", at: at(22)) == 12)
    }

    @Test("ReplicationLag: a new generation or index is ahead of everything before it")
    func laterGenerationAndIndex() {
        var lag = ReplicationLag(replicas: ["a"])
        lag.databaseReached(position(500), at: at(1))
        lag.replicaReached("a", position(500))
        lag.databaseReached(position(0, index: 1), at: at(2))
        #expect(lag.lag(of: "a", at: at(4)) == 2)
        lag.databaseReached(position(32, in: later), at: at(3))
        lag.replicaReached("a", position(0, index: 1))
        #expect(lag.lag(of: "a", at: at(4)) == 1)
        lag.replicaReached("a", position(32, in: later))
        #expect(lag.lag(of: "a", at: at(4)) == 0)
    }
}
