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
    /// Whether the person has restricted processing: nothing but what they
    /// asked for themselves (a privacy link) goes to them.
    public var restricted: Bool
    /// For a welcome mail: the lists joined with its subscription.
    public var receipt: WelcomeReceipt?
    /// For a confirmation: the names of the other lists its link stands for
    /// (a request that named several), by list.
    public var otherLists: [String] = []
    /// For a new address's confirmation: the change it is for, when it still
    /// waits (`address` is then the new address).
    public var addressChange: AddressChange?
    /// For a notice, re-consent or reminder: its terms change, as it stands.
    public var termsChange: TermsChange?
    /// For a re-consent or reminder: whether the person accepted meanwhile.
    public var reconsentAccepted = false

    /// The query both stores read whether a subscription (`$1`) accepted a
    /// terms version (`$2`) with, as `?1`/`?2` or `$1`/`$2`: for a re-consent
    /// mail at send time and for its link's page.
    package static func acceptedQuery(_ first: String, _ second: String) -> String {
        "SELECT EXISTS (SELECT 1 FROM consentEvent WHERE subscriptionId = \(first) AND kind = 'confirmed' AND termsVersionId = \(second))"
    }

    /// Addresses a new address's confirmation to that address, when `change`
    /// is the one still waiting that queued it, and a notice to the old
    /// address it names; other messages stay as they are.
    public mutating func address(for change: AddressChange?) {
        switch message.kind {
        case .address:
            guard let change, change.requestedAt == message.createdAt else { return }
            addressChange = change
            address = change.newAddress
        case .addressNotice:
            address = message.testRecipient ?? ""
        default:
            break
        }
    }

    /// Every field, as a store reads it from its rows.
    public init(
        message: OutboxMessage,
        address: String,
        list: MailingList,
        subscription: Subscription? = nil,
        campaign: Campaign? = nil,
        restricted: Bool = false,
        receipt: WelcomeReceipt? = nil
    ) {
        self.receipt = receipt
        self.restricted = restricted
        self.message = message
        self.address = address
        self.list = list
        self.subscription = subscription
        self.campaign = campaign
    }
}
