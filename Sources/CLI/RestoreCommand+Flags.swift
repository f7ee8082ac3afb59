import Core

extension RestoreCommand {
    /// Checks the combinations of --dry-run, --json, --follow and the interval flags; returns the
    /// poll interval when following.
    func checkModeFlags() throws -> Duration? {
        if json && !dryRun { throw CLIError.flagRequires(flag: "json", required: "dry-run") }
        if dryRun && follow { throw CLIError.flagsExclusive("dry-run", "follow") }
        _ = try progressLogInterval()
        guard follow else { return nil }
        if timestamp != nil { throw CLIError.flagsExclusive("follow", "timestamp") }
        if index != nil { throw CLIError.flagsExclusive("follow", "index") }
        return try Self.positiveDuration(interval, flag: "interval")
    }

    /// `--progress-interval`, checked.
    func progressLogInterval() throws -> Duration {
        try Self.positiveDuration(progressInterval, flag: "progress-interval")
    }

    private static func positiveDuration(_ text: String, flag: String) throws -> Duration {
        guard let parsed = DurationParser.parse(text) else { throw CLIError.invalidDuration(flag: flag, value: text) }
        guard parsed > .zero else { throw CLIError.zeroInterval(flag: flag) }
        return parsed
    }
}
