import Core

/// The kinds of disk operation that faults are drawn for, one rate per kind.
public enum DiskOperationKind: String, Sendable, CaseIterable, Hashable {
    /// Opening (or creating) a file.
    case open
    case read
    case write
    case truncate
    /// fsync of a file.
    case sync
    /// fsync of a directory.
    case syncDirectory
    /// Creating, renaming and removing directory entries (mkdir, rename, unlink, rmdir).
    case namespace
    /// stat, directory listings and file sizes.
    case metadata
}

/// Seeded fault injection for one `SimDisk`. Everything is off by default, so a plain disk behaves
/// like a perfect one until a crash.
///
/// Rates are probabilities per call in 0...1. A *transient* fault fails one call with EIO. A
/// *persistent* fault breaks that operation kind on that file (or directory) for good: every
/// later call of the kind on it fails with EIO, as a bad region of a real device would, until
/// the disk's next crash (a reboot clears it, as a remapped sector would).
public struct DiskFaults: Sendable, Equatable {
    /// Probability that one call of a kind fails once with EIO.
    public var transientErrorRate: [DiskOperationKind: Double]
    /// Probability that one call of a kind breaks that kind on that file for good.
    public var persistentErrorRate: [DiskOperationKind: Double]
    /// Total live bytes the disk holds before writes and extensions fail with ENOSPC; nil for no limit.
    public var capacityBytes: Int64?
    /// Power fails at the mutation after this many mutations: mutations 1...n succeed and mutation
    /// n+1 fails with EIO and halts the disk (every later call fails) until `crash(random:model:)`.
    /// Mutations are writes, truncates, file and directory fsyncs, file creations (including
    /// truncating opens), mkdir, rename and remove. One-shot: cleared when it fires.
    public var crashAfterMutations: Int?

    public init(
        transientErrorRate: [DiskOperationKind: Double] = [:],
        persistentErrorRate: [DiskOperationKind: Double] = [:],
        capacityBytes: Int64? = nil,
        crashAfterMutations: Int? = nil
    ) {
        for (kind, rate) in transientErrorRate {
            precondition((0...1).contains(rate), "transient \(kind) rate \(rate)")
        }
        for (kind, rate) in persistentErrorRate {
            precondition((0...1).contains(rate), "persistent \(kind) rate \(rate)")
        }
        precondition(capacityBytes.map { $0 >= 0 } ?? true, "capacity \(String(describing: capacityBytes))")
        precondition(
            crashAfterMutations.map { $0 >= 0 } ?? true, "crash after \(String(describing: crashAfterMutations))")
        self.transientErrorRate = transientErrorRate
        self.persistentErrorRate = persistentErrorRate
        self.capacityBytes = capacityBytes
        self.crashAfterMutations = crashAfterMutations
    }

    /// No faults at all.
    public static let none = DiskFaults()
}

/// How a power loss treats what was not yet durable (see `SimDisk.crash(random:model:)`).
public struct DiskCrashModel: Sendable, Equatable {
    /// How un-synced directory changes survive.
    public enum DirectoryMode: Sendable, Equatable {
        /// Each change (create, rename, remove) is kept or dropped on its own: hostile, allows
        /// orders no journaling file system produces.
        case independent
        /// One seeded cut point over every un-synced change on the disk in the order they were
        /// made; the changes before it survive (a journaling file system such as ext4).
        case journalPrefix
    }

    /// Probability that one dirty 512-byte sector reaches the platter with its latest content.
    public var sectorSurvivalRate: Double
    /// Probability that a sector which did not survive is left holding random bytes instead of its
    /// old content. Non-zero breaks SQLite's powersafe-overwrite assumption, so `SimVFS` then
    /// stops reporting `SQLITE_IOCAP_POWERSAFE_OVERWRITE`.
    public var sectorGarbageRate: Double
    /// Probability that a file's un-synced size change (truncate or extension) survives.
    public var sizeChangeSurvivalRate: Double
    /// Probability that one un-synced directory change survives (independent mode).
    public var directoryChangeSurvivalRate: Double
    public var directoryMode: DirectoryMode

    public init(
        sectorSurvivalRate: Double = 0.5, sectorGarbageRate: Double = 0,
        sizeChangeSurvivalRate: Double = 0.5, directoryChangeSurvivalRate: Double = 0.5,
        directoryMode: DirectoryMode = .independent
    ) {
        for rate in [sectorSurvivalRate, sectorGarbageRate, sizeChangeSurvivalRate, directoryChangeSurvivalRate] {
            precondition((0...1).contains(rate), "crash model rate \(rate) outside 0...1")
        }
        self.sectorSurvivalRate = sectorSurvivalRate
        self.sectorGarbageRate = sectorGarbageRate
        self.sizeChangeSurvivalRate = sizeChangeSurvivalRate
        self.directoryChangeSurvivalRate = directoryChangeSurvivalRate
        self.directoryMode = directoryMode
    }
}

extension RandomSource {
    /// A uniform draw in 0..<1 (53 bits).
    func unitInterval() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// True with probability `rate`; draws nothing when the rate is 0 or 1, so turning a fault
    /// class off does not shift the stream of the others.
    func chance(_ rate: Double) -> Bool {
        if rate <= 0 { return false }
        if rate >= 1 { return true }
        return unitInterval() < rate
    }
}
