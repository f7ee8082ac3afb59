/// The retry rule for work that keeps what it did before it failed (a shadow pass, the start-up
/// copy of the WAL backlog, the scan that re-opens a shadow index): after a failure it runs again
/// at once, for as long as the failed tries got further, until `fruitlessLimit` tries in a row
/// got nowhere or `limit` retries were made in all. Progress is whatever `progress` reads before
/// and after a try. Cancellation ends it at once.
///
/// Waiting, or starting over, after each error is what let intermittent I/O errors hold the
/// shadow behind a growing WAL (docs/replication.md has the seeds that showed it).
enum ProgressRetry {
    static func run<Progress: Equatable>(
        isolation: isolated (any Actor)? = #isolation,
        fruitlessLimit: Int,
        limit: Int = .max,
        progress: () -> Progress,
        onRetry: (_ error: any Error, _ retries: Int) -> Void = { _, _ in },
        _ body: () async throws -> Void
    ) async throws {
        var retries = 0
        var fruitless = 0
        while true {
            let start = progress()
            do {
                try await body()
                return
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                fruitless = progress() == start ? fruitless + 1 : 0
                guard retries < limit, fruitless < fruitlessLimit, !Task.isCancelled else { throw error }
                retries += 1
                onRetry(error, retries)
            }
        }
    }
}
