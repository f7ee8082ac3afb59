/// The current bytes of a few keys of a `SimObjectStore`, readable without a request and without
/// a suspension: what an oracle compares a client's beliefs against (the lease object, for
/// `LeaseOracle`). The store updates it as each write or delete of a watched key takes effect.
/// Touched only on the simulator thread.
// @unchecked: touched only on the simulator's one thread.
public final class WatchedObjects: @unchecked Sendable {
    private var keys: Set<String> = []
    private var current: [String: [UInt8]] = [:]

    public init() {}

    /// Follows `key` from now on. Only for keys the store does not hold yet.
    public func watch(_ key: String) { keys.insert(key) }

    /// The bytes of a watched key as the store holds them now; nil when it holds none.
    public func bytes(of key: String) -> [UInt8]? { current[key] }

    /// Called by the store as a write (bytes) or delete (nil) takes effect.
    func update(_ key: String, _ bytes: [UInt8]?) {
        guard !keys.isEmpty, keys.contains(key) else { return }
        current[key] = bytes
    }
}
