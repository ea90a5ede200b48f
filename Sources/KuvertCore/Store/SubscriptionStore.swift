import Foundation

/// The subscription lifecycle: intake, confirmation and lookups.
public protocol SubscriptionStore: Sendable {
    /// Records a subscription request. In one transaction: the subscriber, the
    /// pending subscription, a `requested` consent entry, an audit entry and, for
    /// a new or renewed request, an outbox row for the confirmation mail.
    func subscribe(_ request: SubscriptionRequest, resendWindow: TimeInterval, now: Date) async throws -> IntakeOutcome
    /// The subscription, its list and the list's current terms.
    func confirmationContext(subscriptionId: Int64) async throws -> ConfirmationContext?
    /// Activates a pending subscription whose nonce matches, recording the
    /// accepted terms in the consent ledger, in one transaction.
    func confirm(_ acceptance: TermsAcceptance, now: Date) async throws -> ConfirmOutcome
    /// Ends a subscription at the person's request: `unsubscribed`, with a
    /// `withdrawn` consent entry and an audit entry, in one transaction. Harmless
    /// when it has ended already. Nil when there is no such subscription.
    func unsubscribe(subscriptionId: Int64, origin: RequestOrigin, now: Date) async throws -> SubscriptionAndList?
    /// A subscriber with every subscription and consent entry.
    func subscriberRecord(address: EmailAddress) async throws -> SubscriberRecord?
    /// Subscriptions, optionally of one list or status, oldest first.
    func subscriptions(listSlug: String?, status: SubscriptionStatus?) async throws -> [SubscriptionListing]
}
