import Foundation

/// The subscription lifecycle: intake, confirmation and lookups.
public protocol SubscriptionStore: Sendable {
    /// Records a subscription request. In one transaction: the subscriber, the
    /// pending subscription, a `requested` consent entry, an audit entry and, for
    /// a new or renewed request, an outbox row for the confirmation mail.
    func subscribe(_ request: SubscriptionRequest, resendWindow: TimeInterval, now: Date) async throws -> IntakeOutcome
    /// A request naming several lists (`slugs`, two to ten, each a list that
    /// exists), in one transaction: each list as `subscribe` treats it, with one
    /// nonce for every subscription the request starts or renews, so one
    /// confirmation mail (for the first of them) names them all; the others'
    /// confirmation rows are skipped. The outcome is the first list's that
    /// queued a mail, else `alreadyActive` when every list is, else `alreadyPending`.
    func subscribe(
        _ request: SubscriptionRequest,
        lists slugs: [String],
        resendWindow: TimeInterval,
        now: Date
    ) async throws
        -> IntakeOutcome
    /// The subscription, its list and the list's current terms.
    func confirmationContext(subscriptionId: Int64) async throws -> ConfirmationContext?
    /// The subscriptions one confirmation link stands for: the person's
    /// subscriptions that share this one's nonce (it among them), by list;
    /// empty when there is no such subscription.
    func confirmationGroup(subscriptionId: Int64) async throws -> [ConfirmationContext]
    /// Activates the pending subscriptions whose nonces match, recording each
    /// one's accepted terms in the consent ledger, in one transaction, and
    /// queues one welcome mail for all that became active.
    func confirm(_ acceptances: [TermsAcceptance], now: Date) async throws -> [ConfirmOutcome]
    /// Ends a subscription at the person's request: `unsubscribed`, with a
    /// `withdrawn` consent entry and an audit entry, in one transaction. Harmless
    /// when it has ended already. Nil when there is no such subscription.
    func unsubscribe(subscriptionId: Int64, origin: RequestOrigin, now: Date) async throws -> SubscriptionAndList?
    /// A subscriber with every subscription and consent entry.
    func subscriberRecord(address: EmailAddress) async throws -> SubscriberRecord?
    /// Subscriptions, optionally of one list or status, oldest first.
    func subscriptions(listSlug: String?, status: SubscriptionStatus?) async throws -> [SubscriptionListing]
}

extension SubscriptionStore {
    /// One acceptance, as `confirm(_:now:)` of several.
    public func confirm(_ acceptance: TermsAcceptance, now: Date) async throws -> ConfirmOutcome {
        try await confirm([acceptance], now: now).first ?? .superseded
    }
}
