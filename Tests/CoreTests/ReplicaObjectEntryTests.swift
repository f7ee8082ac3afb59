import Testing

@testable import Core

@Suite("Replica listings of both layouts")
struct ReplicaObjectEntryTests {
    let generation = Generation("1a21258d17de78d7")!
    func entry(_ key: String, _ size: Int64 = 10, at ms: Int64 = 1000) -> ReplicaObjectEntry {
        ReplicaObjectEntry(key: key, size: size, modified: Timestamp(millisecondsSince1970: ms))
    }

    @Test("snapshots of both layouts, one per index, the grouped copy winning, junk skipped")
    func snapshots() {
        let infos = ReplicaLayout.snapshots(
            of: generation,
            from: [
                entry("0000000000000002.snapshot.lz4", 20),
                entry("00000002.snapshot.lz4", 99),
                entry("00000001.snapshot.lz4", 11),
                entry("0000000000000001.snapshot.lz4.123.tmp"),
                entry("notes.txt"),
            ])
        #expect(infos.map(\.index) == [1, 2])
        #expect(infos.map(\.size) == [11, 20])
    }

    @Test("segments of both layouts, one per position, the grouped copy winning, sorted by position")
    func segments() {
        let infos = ReplicaLayout.walSegments(
            of: generation,
            from: [
                entry("0000000000000001/0000000000001038.wal.lz4", 5),
                entry("00000001_00001038.wal.lz4", 77),
                entry("00000001_00000000.wal.lz4", 6),
                entry("0000000000000000/0000000000000000.wal.lz4", 7),
                entry("0000000000000001/0000000000000000.wal.lz4.9.tmp"),
                entry("0000000000000001/junk"),
                entry("a/b/c.wal.lz4"),
            ])
        #expect(infos.map { [$0.index, $0.offset] } == [[0, 0], [1, 0], [1, 0x1038]])
        #expect(infos.map(\.size) == [7, 6, 5])
    }

    @Test("WAL keys parse in either layout, nothing else")
    func parseKeys() {
        #expect(ReplicaLayout.parseWALKey("0000000000000003/0000000000000020.wal.lz4")! == (3, 0x20, true))
        #expect(ReplicaLayout.parseWALKey("00000003_00000020.wal.lz4")! == (3, 0x20, false))
        #expect(ReplicaLayout.parseWALKey("0000000000000003") == nil)
        #expect(ReplicaLayout.parseWALKey("3/20.wal.lz4") == nil)
        #expect(
            ReplicaLayout.parseWALKey("fedcba9876543210/00000000000000ff.wal.lz4")! == (
                0xfedc_ba98_7654_3210, 0xff, true
            ))
        #expect(ReplicaLayout.parseWALKey("00000000000000000003_00000020.wal.lz4") == nil, "more than 16 digits")
        #expect(ReplicaLayout.parseWALKey("0000000000000003/00000000000000200.wal.lz4") == nil, "a 17-digit offset")
        #expect(ReplicaLayout.parseWALKey("0000000A_00000020.wal.lz4") == nil, "uppercase")
        #expect(ReplicaLayout.parseWALKey("00000003_00000020_1.wal.lz4") == nil)
        #expect(ReplicaLayout.parseWALKey("0000000000000003/0000000000000020/x.wal.lz4") == nil)
        #expect(ReplicaLayout.parseWALKey("_00000020.wal.lz4") == nil)
        #expect(ReplicaLayout.parseWALKey("00000003_.wal.lz4") == nil)
        #expect(
            ReplicaLayout.parseWALKey("0000000000000003_0000000000000020.wal.lz4")! == (3, 0x20, false),
            "16-digit legacy names")
        #expect(ReplicaLayout.parseWALKey("0000000000000003/0000000000000020.wal.lz4.tmp") == nil)
        #expect(ReplicaLayout.parseWALKey(".wal.lz4") == nil)
        #expect(ReplicaLayout.parseWALKey("") == nil)
    }
}
