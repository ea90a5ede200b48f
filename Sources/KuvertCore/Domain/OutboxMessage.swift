import Foundation

/// A message waiting to be sent, being sent, or done. Mail leaves Kuvert only
/// through these rows; the content is rendered when it is sent.
public struct OutboxMessage: Equatable, Sendable, Codable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case confirmation
        case newsletter
        /// One copy of a campaign to an editor's address, marked as a test.
        case test
        /// A person's link to see, download and erase what is held on them.
        case privacy
        /// The consent receipt after a confirmation or a join: the lists, when,
        /// the terms versions accepted, the manage and unsubscribe links.
        case welcome
        /// A link to confirm a new address, to that address.
        case address
        /// A short notice to the old address that the address changed.
        case addressNotice = "address-notice"
        /// A list's terms changed: what changed, the old and the new text.
        case notice
        /// A list's terms changed and the person is asked to accept them again.
        case reconsent
        /// The one reminder of a re-consent, at half its deadline.
        case reconsentReminder = "reconsent-reminder"
    }

    public enum Status: String, Sendable, Codable, CaseIterable {
        /// Waiting for `dueAt`, possibly after failed attempts.
        case queued
        /// Claimed by a worker until `leaseExpiresAt`.
        case leased
        case sent
        /// Given up: a permanent refusal or too many attempts.
        case failed
        /// Not sent because it no longer applied, such as a confirmation for a
        /// subscription confirmed or ended meanwhile.
        case skipped
    }

    public var id: Int64?
    public var kind: Kind
    /// The subscription the message is for; nil only for test sends.
    public var subscriptionId: Int64?
    public var status: Status
    public var dueAt: Date
    public var attempts: Int
    public var leaseExpiresAt: Date?
    /// The last SMTP reply or connection error.
    public var lastReply: String?
    /// The last SMTP reply code, when the server answered.
    public var lastReplyCode: Int?
    public var createdAt: Date
    public var sentAt: Date?
    /// The campaign a newsletter or test message belongs to.
    public var campaignId: Int64?
    /// The address of a test message (test messages have no subscription).
    public var testRecipient: String?
    /// The terms change a notice, re-consent or reminder belongs to.
    public var termsChangeId: Int64?

    public init(
        id: Int64? = nil,
        kind: Kind,
        subscriptionId: Int64?,
        status: Status,
        dueAt: Date,
        attempts: Int = 0,
        createdAt: Date,
        campaignId: Int64? = nil,
        testRecipient: String? = nil,
        termsChangeId: Int64? = nil
    ) {
        self.termsChangeId = termsChangeId
        self.id = id
        self.kind = kind
        self.subscriptionId = subscriptionId
        self.status = status
        self.dueAt = dueAt
        self.attempts = attempts
        self.createdAt = createdAt
        self.campaignId = campaignId
        self.testRecipient = testRecipient
    }
}

/// The state of the outbox for `kuvert queue`.
public struct QueueOverview: Sendable {
    /// One message with what an operator needs to see, without rendering it.
    public struct Entry: Sendable {
        public var message: OutboxMessage
        public var listSlug: String
        public var address: String

        /// Every field, as a store reads it from its rows.
        public init(
            message: OutboxMessage,
            listSlug: String,
            address: String
        ) {
            self.message = message
            self.listSlug = listSlug
            self.address = address
        }
    }

    public var due: Int
    public var scheduled: Int
    public var leased: Int
    public var retrying: Int
    public var sent: Int
    public var failed: Int
    public var skipped: Int
    /// Messages not yet sent, oldest first.
    public var waiting: [Entry]
    /// The most recent failures, newest first.
    public var recentFailures: [Entry]

    /// Every field, as a store reads it from its rows.
    public init(
        due: Int,
        scheduled: Int,
        leased: Int,
        retrying: Int,
        sent: Int,
        failed: Int,
        skipped: Int,
        waiting: [Entry],
        recentFailures: [Entry]
    ) {
        self.due = due
        self.scheduled = scheduled
        self.leased = leased
        self.retrying = retrying
        self.sent = sent
        self.failed = failed
        self.skipped = skipped
        self.waiting = waiting
        self.recentFailures = recentFailures
    }
}
