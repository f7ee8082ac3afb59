import Core

/// Opens `SQLiteDatabase` connections with one VFS: nil for SQLite's default (the unix VFS in
/// production, the simulator's own VFS once it registers itself as the default).
public struct SQLiteDatabaseOpener: SQLiteOpener {
    public let vfsName: String?
    public let runner: any BlockingRunner

    public init(vfsName: String? = nil, runner: any BlockingRunner) {
        self.vfsName = vfsName
        self.runner = runner
    }

    public func open(_ path: String, options: SQLiteOpenOptions) async throws -> any SQLiteConnection {
        try await SQLiteDatabase.open(path, options: options, vfsName: vfsName, runner: runner)
    }
}
