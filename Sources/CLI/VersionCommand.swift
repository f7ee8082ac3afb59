import ArgumentParser

/// The version `sluice version` and `sluice --version` print.
let sluiceVersion = "0.1.0-dev"

/// `sluice version`: prints `sluice <version>`.
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version", abstract: "Print the version of sluice.")

    func run() {
        print("sluice \(sluiceVersion)")
    }
}
