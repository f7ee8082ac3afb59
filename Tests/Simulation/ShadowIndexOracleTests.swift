import Core
import Testing

@testable import SimHarness

/// Invariant 9's oracle against real SQLite WAL restarts, with the shadow files written by hand:
/// a closed index that is the WAL's committed prefix passes; one missing a commit, or a next
/// index that skips a WAL lifetime, is reported.
@Suite("ShadowIndexOracle", .serialized)
struct ShadowIndexOracleTests {
    static let shadowDirectory = LocalState(databasePath: ScenarioWorld.databasePath).shadowDirectory(
        Generation(value: 0x19b7_0000_0000_0001))

    @Test("a closed shadow index that is the committed prefix of the WAL it copied passes")
    func exactCopyPasses() async throws {
        let found = try await Self.run { world, oracle in
            let copied = try await Self.committedPrefix(world)
            try await Self.writeShadow(world, index: 0, bytes: copied)
            try await Self.restartWAL(world)
            try await Self.writeShadow(world, index: 1, bytes: Array(try await Self.committedPrefix(world).prefix(32)))
            #expect(oracle.checkedIndexes == 1)
        }
        #expect(found.isEmpty, "\(found)")
    }

    @Test("a closed shadow index missing the WAL's last commit is reported with both lengths")
    func missingCommitIsReported() async throws {
        let found = try await Self.run { world, oracle in
            let copied = try await Self.committedPrefix(world)
            try await world.app.commit(inserts: 2)
            try await Self.writeShadow(world, index: 0, bytes: copied)
            try await Self.restartWAL(world)
            try await Self.writeShadow(world, index: 1, bytes: Array(try await Self.committedPrefix(world).prefix(32)))
        }
        #expect(found.count == 1)
        #expect(
            found.first.map {
                "\($0)".contains("shadow index 0 holds") && "\($0)".contains("committed prefix when it restarted held")
            } == true,
            "\(found)")
    }

    @Test("a next index whose header is not the lifetime that followed is reported as a skipped lifetime")
    func skippedLifetimeIsReported() async throws {
        let found = try await Self.run { world, _ in
            try await Self.writeShadow(world, index: 0, bytes: try await Self.committedPrefix(world))
            try await Self.restartWAL(world)
            try await Self.restartWAL(world)
            try await Self.writeShadow(world, index: 1, bytes: Array(try await Self.committedPrefix(world).prefix(32)))
        }
        #expect(found.count == 1)
        #expect(found.first.map { "\($0)".contains("a lifetime was skipped") } == true, "\(found)")
    }

    /// A world whose app made a few commits, with the oracle on its disk; returns what it reported.
    private static func run(_ body: @escaping @Sendable (ScenarioWorld, ShadowIndexOracle) async throws -> Void)
        async throws -> [InvariantViolation]
    {
        try await runScenario(seed: 9) { world in
            let found = Found()
            let oracle = ShadowIndexOracle(state: LocalState(databasePath: ScenarioWorld.databasePath)) {
                found.violations.append($0)
            }
            world.disk.observe(oracle)
            defer { world.disk.observe(nil) }
            try await world.app.create()
            for _ in 0..<4 { try await world.app.commit(inserts: 2) }
            try await body(world, oracle)
            return found.violations
        }
    }

    /// A complete PASSIVE checkpoint, then a commit: SQLite restarts the WAL with a new header.
    private static func restartWAL(_ world: ScenarioWorld) async throws {
        let result = try #require(try await world.app.checkpoint(.passive))
        #expect(!result.busy && result.checkpointedFrames == result.walFrames)
        try await world.app.commit(inserts: 1)
    }

    /// The source WAL's header and committed frames, read straight from the app's disk.
    private static func committedPrefix(_ world: ScenarioWorld) async throws -> [UInt8] {
        let handle = try await world.appNode.fileSystem.open(ScenarioWorld.databasePath + "-wal", mode: .readOnly)
        let bytes = try await handle.read(at: 0, count: Int(try await handle.size()))
        try await handle.close()
        let lifetime = WALLifetime(header: try #require(WALHeader(bytes)), bytes: PagedBytes(bytes))
        return Array(bytes.prefix(lifetime.committedLength()))
    }

    /// Writes a shadow file as the replicator does: header first, into an empty file.
    private static func writeShadow(_ world: ScenarioWorld, index: UInt64, bytes: [UInt8]) async throws {
        let fileSystem = world.appNode.fileSystem
        try await fileSystem.createDirectory(shadowDirectory)
        let handle = try await fileSystem.open(
            Path.join(shadowDirectory, Hex.format(index, width: 16) + ".wal"), mode: .truncate)
        try await handle.write(Array(bytes.prefix(32)), at: 0)
        if bytes.count > 32 { try await handle.write(Array(bytes.dropFirst(32)), at: 32) }
        try await handle.close()
    }

    // @unchecked: touched only on the simulator's one thread.
    private final class Found: @unchecked Sendable {
        var violations: [InvariantViolation] = []
    }
}
