import Testing

@testable import Core

/// A WAL header with a valid checksum, as SQLite would write it.
func makeWALHeader(sequence: UInt32, salt1: UInt32, salt2: UInt32, pageSize: UInt32 = 4096, bigEndian: Bool = false)
    -> WALHeader
{
    var bytes = [UInt8](repeating: 0, count: 32)
    func put(_ value: UInt32, _ offset: Int) {
        bytes[offset] = UInt8(value >> 24)
        bytes[offset + 1] = UInt8((value >> 16) & 0xFF)
        bytes[offset + 2] = UInt8((value >> 8) & 0xFF)
        bytes[offset + 3] = UInt8(value & 0xFF)
    }
    put(bigEndian ? WALFormat.magicBigEndian : WALFormat.magicLittleEndian, 0)
    put(WALFormat.formatVersion, 4)
    put(pageSize, 8)
    put(sequence, 12)
    put(salt1, 16)
    put(salt2, 20)
    var sum = WALChecksum()
    sum.update(bytes[0..<24], bigEndian: bigEndian)
    put(sum.s0, 24)
    put(sum.s1, 28)
    return WALHeader(bytes)!
}

@Suite("Continuity decisions")
struct ContinuityTests {
    let generation = Generation("1a21258d17de78d7")!
    let header = makeWALHeader(sequence: 7, salt1: 100, salt2: 0xDEAD)
    let frame = [UInt8](repeating: 0xAB, count: 24 + 4096)

    func shadow(offset: UInt64 = 32 + 3 * 4120, lastFrame: [UInt8]? = nil) -> ShadowState {
        ShadowState(
            position: Position(generation: generation, index: 4, offset: offset), header: header,
            lastFrame: offset > 32 ? (lastFrame ?? frame) : nil)
    }

    @Test("same header, grown WAL, same last frame: append")
    func append() {
        let wal = WALObservation(header: header, size: 32 + 10 * 4120, frameAtShadowEnd: frame)
        #expect(Continuity.decide(shadow: shadow(), wal: wal, lockHeldSinceLastCopy: false) == .append)
        #expect(Continuity.decide(shadow: shadow(), wal: wal, lockHeldSinceLastCopy: true) == .append)
    }

    @Test("a WAL shorter than the shadow with the same header was truncated by someone else")
    func truncated() {
        let wal = WALObservation(header: header, size: 32 + 4120, frameAtShadowEnd: nil)
        guard
            case .newGeneration(let reason) = Continuity.decide(shadow: shadow(), wal: wal, lockHeldSinceLastCopy: true)
        else {
            Issue.record("expected a new generation")
            return
        }
        #expect(reason.contains("truncated"))
    }

    @Test("a changed last frame means the WAL was overwritten")
    func overwritten() {
        var other = frame
        other[100] ^= 1
        let wal = WALObservation(header: header, size: 32 + 10 * 4120, frameAtShadowEnd: other)
        guard
            case .newGeneration(let reason) = Continuity.decide(shadow: shadow(), wal: wal, lockHeldSinceLastCopy: true)
        else {
            Issue.record("expected a new generation")
            return
        }
        #expect(reason.contains("overwritten"))
    }

    @Test("exactly one restart with the lock held continues with the next index")
    func singleRestart() {
        let next = makeWALHeader(sequence: 8, salt1: 101, salt2: 0x1234)
        let wal = WALObservation(header: next, size: 32 + 4120, frameAtShadowEnd: nil)
        #expect(Continuity.decide(shadow: shadow(), wal: wal, lockHeldSinceLastCopy: true) == .nextIndex(next))
    }

    @Test("a restart seen without the lock held continuously cannot be proven complete")
    func restartWhileDown() {
        let next = makeWALHeader(sequence: 8, salt1: 101, salt2: 0x1234)
        let wal = WALObservation(header: next, size: 32 + 4120, frameAtShadowEnd: nil)
        guard
            case .newGeneration(let reason) = Continuity.decide(
                shadow: shadow(), wal: wal, lockHeldSinceLastCopy: false)
        else {
            Issue.record("expected a new generation")
            return
        }
        #expect(reason.contains("not running"))
    }

    @Test("with the lock held, any new header is one restart, whatever its salts and sequence")
    func anyHeaderWithLockHeld() {
        // SQLite's checkpoint sequence and salts are per connection: a writer that never
        // restarted the WAL itself writes sequence 1 and, after another connection's TRUNCATE,
        // random salts. The read lock, not the header, is what proves nothing was lost.
        for next in [
            makeWALHeader(sequence: 1, salt1: 555, salt2: 9), makeWALHeader(sequence: 7, salt1: 100, salt2: 1),
            makeWALHeader(sequence: 9, salt1: 102, salt2: 0x1234),
        ] {
            let wal = WALObservation(header: next, size: 32 + 4120, frameAtShadowEnd: nil)
            #expect(Continuity.decide(shadow: shadow(), wal: wal, lockHeldSinceLastCopy: true) == .nextIndex(next))
            guard case .newGeneration = Continuity.decide(shadow: shadow(), wal: wal, lockHeldSinceLastCopy: false)
            else {
                Issue.record("expected a new generation without the lock")
                return
            }
        }
    }

    @Test("a page size change always starts a new generation")
    func pageSizeChange() {
        let next = makeWALHeader(sequence: 8, salt1: 101, salt2: 1, pageSize: 8192)
        let wal = WALObservation(header: next, size: 32, frameAtShadowEnd: nil)
        guard
            case .newGeneration(let reason) = Continuity.decide(shadow: shadow(), wal: wal, lockHeldSinceLastCopy: true)
        else {
            Issue.record("expected a new generation")
            return
        }
        #expect(reason.contains("page size"))
    }

    @Test("an emptied WAL is idle while the lock was held, lost continuity otherwise")
    func emptied() {
        let wal = WALObservation(header: nil, size: 0, frameAtShadowEnd: nil)
        #expect(Continuity.decide(shadow: shadow(), wal: wal, lockHeldSinceLastCopy: true) == .idle)
        guard case .newGeneration = Continuity.decide(shadow: shadow(), wal: wal, lockHeldSinceLastCopy: false) else {
            Issue.record("expected a new generation")
            return
        }
        // A generation that never saw a frame loses nothing when the WAL is empty.
        #expect(Continuity.decide(shadow: shadow(offset: 32), wal: wal, lockHeldSinceLastCopy: false) == .idle)
    }

    @Test("the index limit forces a new generation")
    func maximumIndex() {
        var state = shadow()
        state.position.index = maximumWALIndex
        let wal = WALObservation(header: header, size: 32 + 10 * 4120, frameAtShadowEnd: frame)
        guard case .newGeneration = Continuity.decide(shadow: state, wal: wal, lockHeldSinceLastCopy: true) else {
            Issue.record("expected a new generation")
            return
        }
    }
}
