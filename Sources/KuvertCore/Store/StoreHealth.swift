import Foundation

/// Whether the store can be used.
public protocol StoreHealth: Sendable {
    /// True when the store answers a query.
    func isHealthy() async -> Bool
}
