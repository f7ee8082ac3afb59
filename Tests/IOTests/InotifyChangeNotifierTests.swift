import Core
import Foundation
import IO
import Testing

/// The production change notices: one-shot inotify watches on a file's inode.
@Suite("InotifyChangeNotifier: one notice per arm, for writes, truncation and removal")
struct InotifyChangeNotifierTests {
    private let clock = ContinuousClock()
    /// One instance for the suite, as a process has: each holds a descriptor and a reader thread.
    private static let notifier = InotifyChangeNotifier()

    private func withWatchedFile(_ body: (String, any FileChangeSubscription) async throws -> Void) async throws {
        let directory = try TemporaryDirectory("sluice-inotify")
        defer { directory.remove() }
        let path = directory.file("db-wal")
        #expect(FileManager.default.createFile(atPath: path, contents: Data([1, 2, 3])))
        let notifier = try #require(Self.notifier)
        let subscription = try #require(notifier.subscribe(to: path))
        defer { subscription.cancel() }
        try await body(path, subscription)
    }

    private func append(_ path: String) throws {
        let handle = try #require(FileHandle(forWritingAtPath: path))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data([4]))
    }

    @Test("a write after arming is noticed; without another arm the next write is not")
    func writeIsNoticedOnce() async throws {
        try await withWatchedFile { path, subscription in
            #expect(subscription.arm())
            #expect(
                try await subscription.wait(timeout: .milliseconds(20), clock: clock) == false, "nothing written yet")
            try append(path)
            #expect(try await subscription.wait(timeout: .seconds(30), clock: clock), "the write was not noticed")
            try append(path)
            #expect(
                try await subscription.wait(timeout: .milliseconds(50), clock: clock) == false,
                "one-shot: not armed again")
            #expect(subscription.arm())
            try append(path)
            #expect(
                try await subscription.wait(timeout: .seconds(30), clock: clock), "re-armed, the write was not noticed")
        }
    }

    @Test("truncation and removal are noticed; a missing file cannot be armed")
    func truncateAndRemove() async throws {
        try await withWatchedFile { path, subscription in
            #expect(subscription.arm())
            #expect(truncate(path, 0) == 0)
            #expect(try await subscription.wait(timeout: .seconds(30), clock: clock), "the truncation was not noticed")
            #expect(subscription.arm())
            try FileManager.default.removeItem(atPath: path)
            #expect(try await subscription.wait(timeout: .seconds(30), clock: clock), "the removal was not noticed")
            #expect(!subscription.arm(), "a missing file is polled, not watched")
        }
    }

    @Test("a cancelled subscription cannot be armed")
    func cancelled() async throws {
        try await withWatchedFile { _, subscription in
            subscription.cancel()
            #expect(!subscription.arm())
        }
    }
}
