import Foundation

/// A unique folder under the temp directory (`$TMPDIR`, which `Scripts/test` checks is empty
/// after the run), removed by `remove()` or, at the latest, when the last reference goes: a
/// test that throws or fails an expectation half-way still leaves nothing behind.
final class TemporaryDirectory: Sendable {
    let path: String

    init(_ label: String = "sluice-io") throws {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(label)-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        path = url.path
    }

    deinit { remove() }

    var url: URL { URL(fileURLWithPath: path, isDirectory: true) }

    func file(_ name: String) -> String { path + "/" + name }

    /// Removes the folder and everything in it now; harmless when it is already gone.
    func remove() { try? FileManager.default.removeItem(atPath: path) }
}
