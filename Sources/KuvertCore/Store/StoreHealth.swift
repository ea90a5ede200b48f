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

    /// What `doctor` and `migrate` say of the store: its schema, its lists,
    /// and the facts only it knows (an engine's version, connections in use,
    /// the journal and an integrity check).
    func diagnosis() async throws -> StoreDiagnosis
}

/// A store's account of itself, the same for every store.
public struct StoreDiagnosis: Sendable, Equatable {
    /// The newest migration applied.
    public var schema: String
    public var lists: Int
    /// The rest, in a few words, in the order `doctor` prints them.
    public var facts: [String]
    /// False when the store reports damage (an integrity check that fails).
    public var sound: Bool

    public init(schema: String, lists: Int, facts: [String], sound: Bool) {
        self.schema = schema
        self.lists = lists
        self.facts = facts
        self.sound = sound
    }
}
