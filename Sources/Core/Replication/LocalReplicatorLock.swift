/// Proof that no other replicator of this database runs on this machine: an exclusive SQLite
/// transaction on `<local state>/lock`, held for the replicator's whole run.
///
/// SQLite's locks are the operating system's file locks, which go with the process that held
/// them however it ends (a kill, an out-of-memory kill, a power loss). A replicator that gets
/// this lock therefore knows that every earlier replicator of this database on this machine is
/// gone, and may take over a lease one of them left on a replica (see `LocalLeaseRecord`).
public final class LocalReplicatorLock: Sendable {
    private let connection: any SQLiteConnection

    private init(connection: any SQLiteConnection) {
        self.connection = connection
    }

    /// Takes the lock without waiting; nil if another process holds it or it cannot be had
    /// (the caller then simply cannot take over its predecessor's leases early).
    public static func acquire(state: LocalState, environment: Environment) async -> LocalReplicatorLock? {
        do {
            try await environment.fileSystem.createDirectory(state.directory)
            let connection = try await environment.sqlite.open(
                state.lockPath, options: SQLiteOpenOptions(create: true, busyTimeoutMilliseconds: 0))
            do {
                try await connection.execute("BEGIN EXCLUSIVE")
                return LocalReplicatorLock(connection: connection)
            } catch {
                try? await connection.close()
                return nil
            }
        } catch {
            return nil
        }
    }

    /// Ends the transaction and closes the connection, which lets the lock go.
    public func release() async {
        try? await connection.execute("ROLLBACK")
        try? await connection.close()
    }
}
