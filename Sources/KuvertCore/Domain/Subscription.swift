import Foundation

/// Where a subscription stands. Only `active` subscriptions receive newsletters.
public enum SubscriptionStatus: String, Sendable, Codable, CaseIterable, Hashable {
    /// Asked for, not yet confirmed by the person.
    case pending
    /// Confirmed by the person, who accepted the list's terms.
    case active
    /// Withdrawn by the person.
    case unsubscribed
    /// Stopped because mail to the address failed permanently.
    case bounced
    /// Ended at the deadline of a re-consent the person did not answer: their
    /// consent did not carry over to the list's new terms.
    case lapsed

    /// Whether the subscription has ended (unsubscribed, bounced or lapsed):
    /// asking again starts a fresh consent.
    public var hasEnded: Bool { self == .unsubscribed || self == .bounced || self == .lapsed }
}

/// A person, known by address. Their per-list state is in `Subscription`.
public struct Subscriber: Equatable, Sendable, Codable {
    public var id: Int64?
    /// The address mail is delivered to.
    public var address: String
    /// The case-folded address that identifies the person (unique).
    public var addressKey: String
    public var createdAt: Date
    /// When the person was erased; their address is gone from then on.
    public var erasedAt: Date?
    /// Since when processing is restricted at the person's request (GDPR
    /// Art. 18): nothing is mailed to them, nothing is deleted.
    public var restrictedAt: Date?
    /// Why, as the editor or the person gave it.
    public var restrictionReason: String?
    /// A new address asked for and not yet confirmed by its owner, with the
    /// nonce its confirmation link carries and when it was asked for.
    public var newAddress: String?
    public var newAddressKey: String?
    public var newAddressNonce: String?
    public var newAddressRequestedAt: Date?

    /// Every field, as a store reads it from its rows.
    public init(
        id: Int64? = nil,
        address: String,
        addressKey: String,
        createdAt: Date,
        erasedAt: Date? = nil,
        restrictedAt: Date? = nil,
        restrictionReason: String? = nil,
        newAddress: String? = nil,
        newAddressKey: String? = nil,
        newAddressNonce: String? = nil,
        newAddressRequestedAt: Date? = nil
    ) {
        self.newAddress = newAddress
        self.newAddressKey = newAddressKey
        self.newAddressNonce = newAddressNonce
        self.newAddressRequestedAt = newAddressRequestedAt
        self.restrictedAt = restrictedAt
        self.restrictionReason = restrictionReason
        self.id = id
        self.address = address
        self.addressKey = addressKey
        self.createdAt = createdAt
        self.erasedAt = erasedAt
    }
}

/// A person's relation to one list.
public struct Subscription: Equatable, Sendable, Codable {
    public var id: Int64?
    public var subscriberId: Int64
    public var listId: Int64
    public var status: SubscriptionStatus
    /// The name given with the latest request, used to greet the person.
    public var name: String?
    public var language: Language
    /// Random value bound into confirmation links; renewed when a subscription is
    /// requested again after it ended, so old links cannot revive it.
    public var confirmNonce: String
    /// When confirmation was last asked for (the start of the confirm window).
    public var requestedAt: Date
    public var confirmedAt: Date?
    public var endedAt: Date?
    public var updatedAt: Date

    /// Every field, as a store reads it from its rows.
    public init(
        id: Int64? = nil,
        subscriberId: Int64,
        listId: Int64,
        status: SubscriptionStatus,
        name: String? = nil,
        language: Language,
        confirmNonce: String,
        requestedAt: Date,
        confirmedAt: Date? = nil,
        endedAt: Date? = nil,
        updatedAt: Date
    ) {
        self.id = id
        self.subscriberId = subscriberId
        self.listId = listId
        self.status = status
        self.name = name
        self.language = language
        self.confirmNonce = confirmNonce
        self.requestedAt = requestedAt
        self.confirmedAt = confirmedAt
        self.endedAt = endedAt
        self.updatedAt = updatedAt
    }
}

/// Everything known about one subscriber, for `kuvert subscribers show`.
public struct SubscriberRecord: Sendable {
    public struct ListSubscription: Sendable {
        public var subscription: Subscription
        public var list: MailingList
        public var consent: [ConsentEvent]
        /// The version number of each terms version a consent entry names, by id.
        public var termsVersions: [Int64: Int]
        /// What came back to the bounce addresses of its messages, oldest first.
        public var bounces: [BounceEvent]

        /// Every field, as a store reads it from its rows.
        public init(
            subscription: Subscription,
            list: MailingList,
            consent: [ConsentEvent],
            termsVersions: [Int64: Int],
            bounces: [BounceEvent] = []
        ) {
            self.subscription = subscription
            self.list = list
            self.consent = consent
            self.termsVersions = termsVersions
            self.bounces = bounces
        }
    }

    public var subscriber: Subscriber
    public var subscriptions: [ListSubscription]

    /// Every field, as a store reads it from its rows.
    public init(
        subscriber: Subscriber,
        subscriptions: [ListSubscription]
    ) {
        self.subscriber = subscriber
        self.subscriptions = subscriptions
    }

    /// The record from what either store reads: each subscription gets its own
    /// consent entries (in the order given, oldest first), the numbers of the
    /// terms versions those entries name, and its bounces.
    /// - Parameters:
    ///   - termsVersionNumbers: the version number of each terms version id
    ///     that an entry of `consent` names.
    ///   - bounces: each subscription's bounces, by subscription id.
    public init(
        subscriber: Subscriber,
        subscriptions: [SubscriptionAndList],
        consent: [ConsentEvent],
        termsVersionNumbers: [Int64: Int],
        bounces: [Int64: [BounceEvent]]
    ) {
        let bySubscription = Dictionary(grouping: consent, by: \.subscriptionId)
        self.init(
            subscriber: subscriber,
            subscriptions: subscriptions.map { pair in
                let events = bySubscription[pair.subscription.id ?? -1] ?? []
                return ListSubscription(
                    subscription: pair.subscription,
                    list: pair.list,
                    consent: events,
                    termsVersions: termsVersionNumbers.filter { id, _ in events.contains { $0.termsVersionId == id } },
                    bounces: bounces[pair.subscription.id ?? -1] ?? []
                )
            }
        )
    }
}

/// One line of a subscriber listing.
public struct SubscriptionListing: Sendable, Equatable {
    public var address: String
    public var listSlug: String
    public var status: SubscriptionStatus
    public var requestedAt: Date
    public var confirmedAt: Date?

    /// Every field, as a store reads it from its rows.
    public init(
        address: String,
        listSlug: String,
        status: SubscriptionStatus,
        requestedAt: Date,
        confirmedAt: Date? = nil
    ) {
        self.address = address
        self.listSlug = listSlug
        self.status = status
        self.requestedAt = requestedAt
        self.confirmedAt = confirmedAt
    }
}

/// A subscription with its list, as a change to it left them.
public struct SubscriptionAndList: Sendable {
    public var subscription: Subscription
    public var list: MailingList

    public init(subscription: Subscription, list: MailingList) {
        self.subscription = subscription
        self.list = list
    }
}
