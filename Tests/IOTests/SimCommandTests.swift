import Foundation
import TestSupport
import Testing

/// `sluice sim` as a user runs it: the real binary, its summary line, its exit status, and a
/// seed that replays with the same trace digest whether it ran alone or beside others.
@Suite("sluice sim, end to end", .serialized)
struct SimCommandTests {
    static var summary: Regex<(Substring, Substring, Substring, Substring, Substring)> {
        #/^seeds (\d+), failed (\d+), simulated (\d+) s, wall [0-9.]+ s, speed (\d+) x$/#
    }

    @Test(
        "a seed range run two at a time (in worker processes) passes and ends with the summary line; a seed's digest is the same alone"
    )
    func rangeAndReplay() async throws {
        try await blocking {
            let box = try SluiceSandbox()
            defer { box.remove() }
            let range = try box.sluice(["sim", "--seeds", "1..3", "--span", "4", "--jobs", "2", "--trace"])
            #expect(range.status == 0, "sim failed:\n\(range.stdout)\n\(range.stderr)")
            let last = try #require(range.stdout.split(separator: "\n").last.map(String.init))
            let match = try #require(last.wholeMatch(of: Self.summary), "last line is not the summary: \(last)")
            #expect(match.1 == "3" && match.2 == "0")
            #expect(Int(match.3)! >= 3 * 4, "three seeds of at least 4 simulated seconds each")
            // The largest source WAL of the range, carried from the worker processes: the largest
            // of the three seeds' own figures, and which seed it was.
            let lines = range.stdout.split(separator: "\n").map(String.init)
            let perSeed = lines.compactMap { line -> (seed: String, megabytes: Double)? in
                guard let found = line.firstMatch(of: #/^seed (\d+) passed: .*, largest WAL ([0-9.]+) MB, /#) else {
                    return nil
                }
                return (String(found.1), Double(found.2)!)
            }
            #expect(perSeed.count == 3, "each seed's pass line names its largest WAL:\n\(range.stdout)")
            let largest = try #require(
                lines.lazy.compactMap { $0.wholeMatch(of: #/largest source WAL ([0-9.]+) MB \(seed (\d+)\)/#) }.first,
                "no largest-WAL line:\n\(range.stdout)")
            let top = try #require(perSeed.max { $0.megabytes < $1.megabytes })
            #expect(Double(largest.1)! == top.megabytes && top.megabytes > 0)
            #expect(perSeed.contains { $0.seed == String(largest.2) && $0.megabytes == top.megabytes })

            let alone = try box.sluice(["sim", "--seed", "2", "--span", "4"])
            #expect(alone.status == 0, "sim --seed 2 failed:\n\(alone.stdout)\n\(alone.stderr)")
            // A single seed says what it runs before it runs: the seed and every drawn parameter.
            let first = alone.stdout.split(separator: "\n").first.map(String.init) ?? ""
            #expect(
                first.hasPrefix("seed 2 (profile default, span 4 s) swarm: profile=default span=4.0 seconds"),
                "first line: \(first)")
            #expect(
                first.contains("store[") && first.contains("replicator[") && first.contains("preemption["),
                "first line: \(first)")
            let digest = { (text: String) in
                text.split(separator: "\n").first { $0.hasPrefix("seed 2 passed") }?.split(separator: " ").last.map(
                    String.init)
            }
            #expect(digest(alone.stdout) != nil)
            #expect(digest(alone.stdout) == digest(range.stdout), "seed 2 replays differently beside other seeds")
        }
    }

    @Test("bad arguments: one error line and a non-zero exit")
    func badArguments() async throws {
        try await blocking {
            let box = try SluiceSandbox()
            defer { box.remove() }
            for arguments in [
                ["sim", "--seeds", "5..1"], ["sim", "--seed", "1", "--profile", "nope"], ["sim"],
                ["sim", "--seed", "1", "--jobs", "0"], ["sim", "--seed", "1", "--worker"],
                ["sim", "--seed", "1", "--without", "kills,bogus"], ["sim", "--seeds", "1..2", "--minimize"],
            ] {
                let outcome = try box.sluice(arguments)
                #expect(outcome.status != 0, "\(arguments): exit status 0")
                #expect(
                    outcome.stderr.contains("Error") || outcome.stderr.contains("error"),
                    "\(arguments): \(outcome.stderr)")
            }
        }
    }
}
