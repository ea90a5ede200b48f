import Foundation

/// An outbox row with what is needed to render it.
public struct OutboxDelivery: Sendable, Equatable {
    public var message: OutboxMessage
    public var address: String
    public var list: MailingList
    /// Nil only for test messages.
    public var subscription: Subscription?
    /// For newsletters and test messages.
    public var campaign: Campaign?
}
