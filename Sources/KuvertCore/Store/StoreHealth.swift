import Foundation

/// Whether the store can be used.
public protocol StoreHealth: Sendable {
    /// True when the store answers a query.
    func isHealthy() async -> Bool

    /// True when the store takes a write now (a small write of its own,
    /// committed): a store can answer reads while its disk is full.
    func canWrite() async -> Bool

    /// What an error thrown by this store means for a request: why the store
    /// could not serve it, or nil when the error is not the store's (a bug).
    func unavailability(of error: any Error) -> StoreUnavailable?
}
