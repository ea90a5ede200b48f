import Foundation

/// Lists and their versioned terms.
public protocol ListStore: Sendable {
    /// Creates a list with its first terms version.
    /// - Throws: `KuvertError.listExists`.
    func createList(_ list: MailingList, terms: String, actor: String) async throws -> MailingList
    /// Publishes a new terms version for a list; later confirmations accept it.
    /// - Throws: `KuvertError.unknownList`.
    func publishTerms(listSlug: String, body: String, actor: String, now: Date) async throws -> TermsVersion
    /// All lists, oldest first, with their current terms version and counts.
    func listSummaries() async throws -> [ListSummary]
    /// The list with this slug, or the default list (the oldest) for nil.
    /// - Throws: `KuvertError.unknownList`, `.noDefaultList`.
    func mailingList(slug: String?) async throws -> MailingList
}

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
    func unsubscribe(subscriptionId: Int64, origin: RequestOrigin, now: Date) async throws -> (Subscription, MailingList)?
    /// A subscriber with every subscription and consent entry.
    func subscriberRecord(address: EmailAddress) async throws -> SubscriberRecord?
    /// Subscriptions, optionally of one list or status, oldest first.
    func subscriptions(listSlug: String?, status: SubscriptionStatus?) async throws -> [SubscriptionListing]
}

/// The outbox, as far as operators look at it.
public protocol OutboxStore: Sendable {
    /// Counts by state and the messages not yet sent.
    func queueOverview(now: Date, limit: Int) async throws -> QueueOverview
    /// One outbox row with its recipient, list, subscription and campaign.
    func outboxDelivery(id: Int64) async throws -> OutboxDelivery?
    /// How many messages wait, by state, from the outbox's index alone (cheap
    /// enough for every metrics scrape).
    func outboxDepth(now: Date) async throws -> OutboxDepth
    /// Puts failed messages back in the queue, due now with a fresh count of
    /// attempts: the one with `id`, or every failed one for nil. Each goes
    /// through the composer again, which skips what no longer applies. One
    /// transaction with an audit entry; returns the ids put back.
    func retryFailed(id: Int64?, actor: String, now: Date) async throws -> [Int64]
}

/// Whether the store can be used.
public protocol StoreHealth: Sendable {
    /// True when the store answers a query.
    func isHealthy() async -> Bool
}

/// Every store capability Kuvert uses.
public typealias KuvertStore = ListStore & SubscriptionStore & OutboxStore & CampaignStore & PrivacyStore & PrivacyRequestStore & RetentionStore & StoreHealth
