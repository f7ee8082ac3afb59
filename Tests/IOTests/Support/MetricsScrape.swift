import Foundation
import Testing

/// One scrape of sluice's `/metrics`: every sample line, as `name{labels}` to value. Fetched over
/// a real socket with curl, from the port sluice logged (`BackgroundProcess.metricsPort`).
struct MetricsScrape {
    var text: String
    var samples: [String: Double]

    init(_ text: String) {
        self.text = text
        var samples: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                continue
            }
            samples[String(line[..<space])] = value
        }
        self.samples = samples
    }

    /// The value of the sample named `name` whose labels include every one of `labels`.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { key, _ in
            key.hasPrefix(name + "{") && labels.allSatisfy { key.contains("\($0.key)=\"\($0.value)\"") }
        }?.value
    }

    /// Scrapes `http://127.0.0.1:port/metrics`, requiring a 200.
    static func fetch(_ port: Int) throws -> MetricsScrape {
        let response = try get(port, "/metrics")
        try #require(response.status == 200)
        return MetricsScrape(response.body)
    }

    /// One GET of `path` on the local port; status 0 when nothing answered.
    static func get(_ port: Int, _ path: String) throws -> (status: Int, body: String) {
        let outcome = Process()
        outcome.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        outcome.arguments = ["-s", "-m", "5", "-w", "\n%{http_code}", "http://127.0.0.1:\(port)\(path)"]
        let pipe = Pipe()
        outcome.standardOutput = pipe
        try outcome.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        outcome.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        let status = Int(text.split(separator: "\n").last ?? "") ?? 0
        return (status, String(text.dropLast(String(status).count)))
    }
}

extension BackgroundProcess {
    /// The port sluice logged in its "serving metrics" line (for `addr` 127.0.0.1:0), once it has.
    func metricsPort() throws -> Int {
        var port: Int?
        _ = eventually {
            port = log.split(separator: "\n").first { $0.contains("serving metrics") }
                .flatMap { $0.split(separator: " ").first { $0.hasPrefix("address=127.0.0.1:") } }
                .flatMap { Int($0.split(separator: ":").last!) }
            return port != nil
        }
        return try #require(port, "no 'serving metrics' line; log:\n\(log)")
    }
}
