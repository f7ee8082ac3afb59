extension RestoreError {
    /// Whether the error says the replica's data is damaged or does not fit the output (a
    /// follower stops), rather than that a request failed (it tries again at the next poll).
    public var isDamage: Bool {
        switch self {
        case .corruptObject, .invalidWAL, .walGap, .walIndexIncomplete, .pageSizeMismatch, .walNotApplied,
            .snapshotNotWALMode, .integrityCheckFailed:
            return true
        default:
            return false
        }
    }
}
