import Testing

@testable import Core

@Suite("ReplicaLayout")
struct ReplicaLayoutTests {
    static let generation = Generation("b16ddcf5c697540f")!

    @Test("ReplicaLayout: grouped keys use 16-hex names and one folder per index")
    func groupedKeys() {
        let layout = ReplicaLayout.grouped
        #expect(
            layout.snapshotKey(Self.generation, index: 0x2A)
                == "generations/b16ddcf5c697540f/snapshots/000000000000002a.snapshot.lz4")
        let position = Position(generation: Self.generation, index: 2, offset: 0x1038)
        #expect(
            layout.walSegmentKey(position)
                == "generations/b16ddcf5c697540f/wal/0000000000000002/0000000000001038.wal.lz4")
        #expect(
            ReplicaLayout.walIndexDirectory(Self.generation, index: 2)
                == "generations/b16ddcf5c697540f/wal/0000000000000002")
    }

    @Test("ReplicaLayout: legacy keys use Litestream v0.3's flat 8-hex names")
    func legacyKeys() {
        let layout = ReplicaLayout.legacy
        #expect(
            layout.snapshotKey(Self.generation, index: 0x2A)
                == "generations/b16ddcf5c697540f/snapshots/0000002a.snapshot.lz4")
        let position = Position(generation: Self.generation, index: 0xA, offset: 4152)
        #expect(layout.walSegmentKey(position) == "generations/b16ddcf5c697540f/wal/0000000a_00001038.wal.lz4")
        // %08x is a minimum width: an offset past 4 GiB takes 9 digits.
        let large = Position(generation: Self.generation, index: 1, offset: 0x1_0000_0000)
        #expect(layout.walSegmentKey(large) == "generations/b16ddcf5c697540f/wal/00000001_100000000.wal.lz4")
    }

    @Test("ReplicaLayout: directories")
    func directories() {
        #expect(ReplicaLayout.generationsDirectory == "generations")
        #expect(ReplicaLayout.generationDirectory(Self.generation) == "generations/b16ddcf5c697540f")
        #expect(ReplicaLayout.snapshotsDirectory(Self.generation) == "generations/b16ddcf5c697540f/snapshots")
        #expect(ReplicaLayout.walDirectory(Self.generation) == "generations/b16ddcf5c697540f/wal")
    }

    @Test("ReplicaLayout: snapshot names parse in both widths and 9+ hex legacy widths")
    func parseSnapshotNames() {
        #expect(ReplicaLayout.parseSnapshotName("0000002a.snapshot.lz4") == 0x2A)
        #expect(ReplicaLayout.parseSnapshotName("000000000000002a.snapshot.lz4") == 0x2A)
        #expect(ReplicaLayout.parseSnapshotName("100000000.snapshot.lz4") == 0x1_0000_0000)
        #expect(ReplicaLayout.parseSnapshotName("ffffffffffffffff.snapshot.lz4") == .max)
        for bad in [
            "2a.snapshot.lz4", "0000002.snapshot.lz4", "00000000000000002a.snapshot.lz4",
            "0000002A.snapshot.lz4", "0000002a.snapshot", "0000002a.wal.lz4", "0000002a.snapshot.lz4.tmp",
            ".snapshot.lz4", "0000002g.snapshot.lz4",
        ] {
            #expect(ReplicaLayout.parseSnapshotName(bad) == nil, "\(bad)")
        }
    }

    @Test("ReplicaLayout: grouped segment and index folder names are exactly 16 hex")
    func parseGroupedNames() {
        #expect(ReplicaLayout.parseIndexDirectoryName("0000000000000002") == 2)
        #expect(ReplicaLayout.parseGroupedSegmentName("0000000000001038.wal.lz4") == 0x1038)
        for bad in ["00000002", "00000000000000002", "000000000000000G", "000000000000000A"] {
            #expect(ReplicaLayout.parseIndexDirectoryName(bad) == nil, "\(bad)")
        }
        for bad in [
            "00001038.wal.lz4", "0000000000001038.wal", "0000000000001038.snapshot.lz4",
            "0000000000000002_0000000000001038.wal.lz4",
        ] {
            #expect(ReplicaLayout.parseGroupedSegmentName(bad) == nil, "\(bad)")
        }
    }

    @Test("ReplicaLayout: legacy segment names parse, including 9+ hex widths")
    func parseLegacyNames() {
        let parsed = ReplicaLayout.parseLegacySegmentName("0000000a_00001038.wal.lz4")
        #expect(parsed?.index == 0xA)
        #expect(parsed?.offset == 0x1038)
        let wide = ReplicaLayout.parseLegacySegmentName("00000001_100000000.wal.lz4")
        #expect(wide?.index == 1)
        #expect(wide?.offset == 0x1_0000_0000)
        let both = ReplicaLayout.parseLegacySegmentName("123456789_0000000000001038.wal.lz4")
        #expect(both?.index == 0x1_2345_6789)
        #expect(both?.offset == 0x1038)
        for bad in [
            "0000000a00001038.wal.lz4", "0000000a_00001038_0.wal.lz4", "_00001038.wal.lz4",
            "0000000a_.wal.lz4", "0000000a_0001038.wal.lz4", "0000000A_00001038.wal.lz4",
            "0000000a_00001038.wal", "00000000000000000a_00001038.wal.lz4",
        ] {
            #expect(ReplicaLayout.parseLegacySegmentName(bad) == nil, "\(bad)")
        }
    }

    @Test("ReplicaLayout: keys of both layouts parse back to the same position")
    func roundTrip() {
        let random = SplitMix64(seed: 1442)
        for _ in 0..<2000 {
            // Mix small values with ones that need 9 to 16 hex digits.
            let wide = random.next() % 2 == 0
            let index = wide ? random.next() : random.next() % 0x1_0000
            let offset = wide ? random.next() >> (random.next() % 64) : random.next() % 0x10_0000
            let position = Position(generation: Self.generation, index: index, offset: offset)

            let grouped = ReplicaLayout.grouped.walSegmentKey(position).split(separator: "/")
            #expect(ReplicaLayout.parseIndexDirectoryName(String(grouped[grouped.count - 2])) == index)
            #expect(ReplicaLayout.parseGroupedSegmentName(String(grouped[grouped.count - 1])) == offset)

            let legacy = ReplicaLayout.legacy.walSegmentKey(position).split(separator: "/")
            let parsed = ReplicaLayout.parseLegacySegmentName(String(legacy.last!))
            #expect(parsed?.index == index)
            #expect(parsed?.offset == offset)

            for layout in ReplicaLayout.allCases {
                let name = layout.snapshotKey(Self.generation, index: index).split(separator: "/").last!
                #expect(ReplicaLayout.parseSnapshotName(String(name)) == index)
            }
        }
    }
}
