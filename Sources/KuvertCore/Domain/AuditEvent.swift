import Foundation

/// One processing action in the append-only audit log. Details never hold an
/// address; the subscriber is referenced by id.
public struct AuditEvent: Equatable, Sendable, Codable {
    public var id: Int64?
    public var occurredAt: Date
    /// Who acted: `web`, `cli`, `worker`.
    public var actor: String
    /// What was done, as `subject.verb`: `subscription.requested`, `list.created` ...
    public var action: String
    public var subscriberId: Int64?
    public var listId: Int64?
    /// Short non-personal detail, such as a terms version.
    public var detail: String?

    public init(
        occurredAt: Date,
        actor: String,
        action: String,
        subscriberId: Int64? = nil,
        listId: Int64? = nil,
        detail: String? = nil
    ) {
        self.occurredAt = occurredAt
        self.actor = actor
        self.action = action
        self.subscriberId = subscriberId
        self.listId = listId
        self.detail = detail
    }
}
