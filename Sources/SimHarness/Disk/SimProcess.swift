/// One simulated operating-system process on a simulated machine: the owner of file descriptors,
/// POSIX advisory locks and shared-memory mappings on that machine's `SimDisk`.
///
/// Identities are never reused on one disk, so a handle that outlives its process (a zombie
/// SQLite connection after a kill) can never be mistaken for a live one.
public struct SimProcess: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Unique on its disk, in start order.
    public let id: Int
    /// A label for traces ("app", "replicator").
    public let name: String

    public init(id: Int, name: String) {
        self.id = id
        self.name = name
    }

    public static func < (lhs: SimProcess, rhs: SimProcess) -> Bool { lhs.id < rhs.id }

    public var description: String { "\(name)#\(id)" }
}

/// An open file description on a `SimDisk`, owned by one `SimProcess`. Numbers are never reused.
public struct SimFileDescriptor: Hashable, Sendable, CustomStringConvertible {
    public let number: Int

    public init(number: Int) { self.number = number }

    public var description: String { "fd\(number)" }
}
