import Foundation
import Testing

extension SluiceSandbox {
    /// Commits one small batch to `database` per poll until `condition` holds, at most `timeout`;
    /// true when it held.
    ///
    /// A WAL index starts only at the first write after the replicator's checkpoint, so a test
    /// that writes and then waits for a new index waits for ever whenever the replicator
    /// checkpointed after the last write; a loaded machine makes that common.
    func writeUntil(
        _ database: String, batch: String = "poke", timeout: Duration = .seconds(60), _ condition: () throws -> Bool
    ) throws -> Bool {
        try eventually(timeout: timeout) {
            if try condition() { return true }
            try writer(database, ["small", "--count", "1", "--batch", batch])
            return try condition()
        }
    }
}
