import Core

/// What the oracle knows about the source database and the replicator: the content digest after
/// every committed transaction (numbered by the `meta.n` counter each one increments, which is
/// also the WAL-visible commit order, the app being the only writer), and the last position each
/// replica was reported to hold. Touched only on the simulator thread.
public final class CommitLog: @unchecked Sendable {
    /// `digests[n]` is the table's content after commit n.
    public private(set) var digests: [ContentDigest] = []
    /// Per replica location, the furthest position reported replicated, and the commit count
    /// when it was reported.
    public private(set) var replicated: [String: (position: Position, commitsThen: Int)] = [:]

    public init() {}

    public var lastCommit: Int { digests.count - 1 }

    func record(commit: Int, digest: ContentDigest) {
        precondition(commit == digests.count, "commits must be recorded in order")
        digests.append(digest)
        SimTrace.record("commit", UInt64(commit))
    }

    func reportReplicated(replica: String, position: Position) {
        replicated[replica] = (position, digests.count - 1)
        SimTrace.record("replicated \(position)")
    }
}
