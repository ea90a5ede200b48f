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
}

/// Everything known about one subscriber, for `kuvert subscribers show`.
public struct SubscriberRecord: Sendable {
    public struct ListSubscription: Sendable {
        public var subscription: Subscription
        public var list: MailingList
        public var consent: [ConsentEvent]
        /// The version number of each terms version a consent entry names, by id.
        public var termsVersions: [Int64: Int]
    }

    public var subscriber: Subscriber
    public var subscriptions: [ListSubscription]
}

/// One line of a subscriber listing.
public struct SubscriptionListing: Sendable, Equatable {
    public var address: String
    public var listSlug: String
    public var status: SubscriptionStatus
    public var requestedAt: Date
    public var confirmedAt: Date?
}
