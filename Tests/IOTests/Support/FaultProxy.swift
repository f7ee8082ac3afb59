import Foundation
import Testing

/// `Fixtures/fault_proxy.py` in front of an S3-compatible server, started inside a sandbox
/// (its port and statistics files live there) and stopped by PID.
final class FaultProxy {
    let process = Process()
    let box: SluiceSandbox
    /// The proxy's address, to use as a replica URL's `endpoint=`.
    let endpoint: String

    /// Starts the proxy in front of `upstream` with extra `arguments` (rates, a seed, flags) and
    /// waits until it listens.
    init(upstream: String, box: SluiceSandbox, arguments: [String]) throws {
        self.box = box
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments =
            [
                "python3",
                SluiceSandbox.packageRoot.appendingPathComponent("Tests/IOTests/Fixtures/fault_proxy.py").path,
                "--upstream", upstream, "--port-file", box.path("proxy.port"), "--stats", box.path("proxy.stats"),
            ] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        guard eventually(timeout: .seconds(60), { box.exists("proxy.port") }) else {
            killAndReap(process)
            throw ProxyError.didNotStart
        }
        endpoint = "http://127.0.0.1:" + (try String(contentsOfFile: box.path("proxy.port"), encoding: .utf8))
    }

    enum ProxyError: Error { case didNotStart }

    /// Stops the proxy (SIGKILL: a child started by Foundation's Process may inherit a blocked
    /// SIGTERM); safe to call twice.
    func stop() {
        killAndReap(process)
    }

    /// The statistics the proxy last wrote: counts of faults and, under "by_type", of requests
    /// by S3 operation.
    func statistics() throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: box.path("proxy.stats")))
        return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    }

    deinit { stop() }
}
