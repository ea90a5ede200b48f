import Foundation

/// Access, erasure, backup and the audit log.
public protocol PrivacyStore: Sendable {
    /// Everything held on an address; nil when it is unknown.
    func export(_ address: EmailAddress, now: Date) async throws -> SubscriberExport?
    /// Erases a person: address, name, IP addresses, user agents and SMTP
    /// replies go; subscriptions end; the consent ledger, audit log and outbox
    /// keep what proves what happened, without personal data. The address's
    /// keyed hash joins the suppression list. All at once or not at all; when
    /// it returns, no copy of the erased data is left in the store's own files
    /// (logs of changes, freed pages). False when the address is unknown.
    func erase(_ address: EmailAddress, suppressionHash: String, actor: String, now: Date) async throws -> Bool
    /// The same erasure for the subscriber with this row id, whatever its
    /// stored address looks like (retention erases by row). False when there
    /// is no such subscriber or it was erased already.
    func erase(subscriberId: Int64, suppressionHash: String, actor: String, now: Date) async throws -> Bool
    /// `erase(subscriberId:…)` for each of `people`, the store's clean-up after
    /// the last one (retention). Returns how many were erased.
    func erase(subscribers people: [Erasure], actor: String, now: Date) async throws -> Int
    /// Whether an address was erased (its keyed hash is on the suppression list).
    func isSuppressed(_ suppressionHash: String) async throws -> Bool
    /// A consistent copy of the whole store at `path`, made while others keep
    /// using it, readable only by its owner, that this store can be restored from.
    func backup(to path: String) throws
    /// The audit log, newest last, optionally of one subscriber.
    func auditEvents(address: EmailAddress?, limit: Int) async throws -> [AuditEvent]
    /// Appends an audit entry, about the subscriber with `address` when given.
    func recordAudit(_ event: AuditEvent, address: EmailAddress?) async throws -> AuditEvent
}

extension PrivacyStore {
    /// One erasure after the other (a store whose erasure leaves nothing to clean up).
    public func erase(subscribers people: [Erasure], actor: String, now: Date) async throws -> Int {
        var erased = 0
        for person in people where try await erase(subscriberId: person.id, suppressionHash: person.suppressionHash, actor: actor, now: now) {
            erased += 1
        }
        return erased
    }
}

/// One person to erase by row: their id, and the keyed hash of their address
/// that keeps an import from bringing it back.
public struct Erasure: Sendable, Equatable {
    public var id: Int64
    public var suppressionHash: String

    public init(id: Int64, suppressionHash: String) {
        self.id = id
        self.suppressionHash = suppressionHash
    }
}
