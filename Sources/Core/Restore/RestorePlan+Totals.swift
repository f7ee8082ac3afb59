/// What carrying out a plan will read from the replica, computed from the listing's sizes alone,
/// so a dry run can state it without opening any object.
extension RestorePlan {
    /// Compressed bytes of the plan's WAL segments.
    public var walDownloadByteCount: Int64 { segments.reduce(0) { $0 + $1.size } }

    /// Compressed bytes the restore downloads: the snapshot and every planned WAL segment.
    public var downloadByteCount: Int64 { snapshot.size + walDownloadByteCount }
}

extension IndexPlan {
    /// Compressed bytes of the index's planned segments.
    public var downloadByteCount: Int64 { segments.reduce(0) { $0 + $1.size } }
}
