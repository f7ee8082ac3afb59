import ArgumentParser

/// Litestream spells long flags with one dash (`-sync-interval 1s`, `-o`, `-generation G`), Go's
/// flag style. Every Sluice long option is declared with both spellings, so scripts written for
/// Litestream keep working: `--sync-interval 1s`, `-sync-interval 1s`, `-sync-interval=1s`.
enum LegacyFlags {
    /// `--name` and `-name`.
    static func names(_ name: String) -> NameSpecification {
        [.customLong(name), .customLong(name, withSingleDash: true)]
    }

    /// `--name`, `-name` and the one-letter `-letter`.
    static func names(_ name: String, short letter: Character) -> NameSpecification {
        [.customLong(name), .customLong(name, withSingleDash: true), .customShort(letter)]
    }
}
