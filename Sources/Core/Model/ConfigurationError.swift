/// A setting that cannot work, found while validating configuration before anything runs.
///
/// Each message names the setting by its configuration key and says what would be accepted,
/// so the one line the CLI prints is enough to fix the file or the flag.
public enum ConfigurationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `min-checkpoint-page-count` is below 1.
    case minimumCheckpointPagesTooSmall(Int)
    /// `truncate-page-count` is not above `min-checkpoint-page-count`, so the emergency TRUNCATE
    /// would fire before (or instead of) the ordinary PASSIVE checkpoint.
    case truncatePagesNotAboveMinimum(truncatePages: Int, minimumPages: Int)
    /// `checkpoint-interval` is zero or negative.
    case checkpointIntervalNotPositive(Duration)
    /// A duration setting that `DurationParser` cannot read.
    case invalidDuration(key: String, text: String)

    public var description: String {
        switch self {
        case .minimumCheckpointPagesTooSmall(let pages):
            return "min-checkpoint-page-count is \(pages); it must be at least 1"
        case .truncatePagesNotAboveMinimum(let truncatePages, let minimumPages):
            return
                "truncate-page-count (\(truncatePages)) must be greater than min-checkpoint-page-count (\(minimumPages)); raise it or leave it unset"
        case .checkpointIntervalNotPositive(let interval):
            return
                "checkpoint-interval is \(DurationParser.format(interval)); it must be positive (e.g. 1m), or unset to disable idle checkpoints"
        case .invalidDuration(let key, let text):
            return "\(key): \"\(text)\" is not a duration; use a number with a unit such as 30s, 10m, 1h30m or 7d"
        }
    }
}
