import CoreMetrics
import IO
import Prometheus
import Synchronization

/// `--addr`: swift-metrics bootstrapped with the Prometheus backend, and the `/metrics`
/// endpoint serving it. Only a process that asks for the endpoint bootstraps anything; without
/// it every metric is swift-metrics' no-op, and no sink or decorator is even made.
///
/// Order of use: `bootstrap(address:)` before any metric is made, then `ReplicationMetrics` and
/// `MeteredReplicaClient` for every database, then `start(databases:)` binds the address, so a
/// bad address or a port in use stops the command before replication starts.
final class MetricsEndpoint: Sendable {
    private let address: ListenAddress
    private let registry = PrometheusCollectorRegistry()

    /// Parses the address and bootstraps the backend; throws a one-line error for a bad address.
    init(address text: String) throws {
        do {
            address = try ListenAddress(parsing: text)
        } catch {
            throw MetricsServer.StartError(address: text, reason: error.description)
        }
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    }

    /// Binds and serves; each scrape refreshes the time-dependent gauges of `databases` first.
    func start(databases: [ReplicationMetrics]) throws -> MetricsServer {
        let registry = self.registry
        let buffer = Mutex<[UInt8]>([])
        return try MetricsServer.start(address) {
            for database in databases { database.refresh() }
            return buffer.withLock { buffer in
                buffer.removeAll(keepingCapacity: true)
                registry.emit(into: &buffer)
                return buffer
            }
        }
    }
}
