import Foundation

/// Everything Kuvert holds on one person, as the JSON of an export.
public struct SubscriberExport: Codable, Sendable, Equatable {
    public struct Subscription: Codable, Sendable, Equatable {
        public var list: String
        public var listName: String
        public var status: String
        public var name: String?
        public var language: String
        public var requestedAt: Date
        public var confirmedAt: Date?
        public var endedAt: Date?
        public var consent: [Consent]
        public var messages: [Message]
        /// What came back to the bounce addresses: bounces, complaints, replies.
        public var bounces: [Bounce]

        /// Every field, as a store reads it from its rows.
        public init(
            list: String,
            listName: String,
            status: String,
            name: String? = nil,
            language: String,
            requestedAt: Date,
            confirmedAt: Date? = nil,
            endedAt: Date? = nil,
            consent: [Consent],
            messages: [Message],
            bounces: [Bounce] = []
        ) {
            self.list = list
            self.listName = listName
            self.status = status
            self.name = name
            self.language = language
            self.requestedAt = requestedAt
            self.confirmedAt = confirmedAt
            self.endedAt = endedAt
            self.consent = consent
            self.messages = messages
            self.bounces = bounces
        }
    }

    public struct Bounce: Codable, Sendable, Equatable {
        public var at: Date
        public var kind: String
        public var status: String?
        public var action: String?
        public var diagnostic: String?
        public var outcome: String

        /// The export of one stored event.
        public init(_ event: BounceEvent) {
            at = event.receivedAt
            kind = event.kind.rawValue
            status = event.status
            action = event.action
            diagnostic = event.diagnostic
            outcome = event.outcome.rawValue
        }
    }

    public struct Consent: Codable, Sendable, Equatable {
        public var kind: String
        public var at: Date
        public var source: String
        public var ip: String?
        public var userAgent: String?
        public var termsVersion: Int?
        public var termsSHA256: String?

        /// Every field, as a store reads it from its rows.
        public init(
            kind: String,
            at: Date,
            source: String,
            ip: String? = nil,
            userAgent: String? = nil,
            termsVersion: Int? = nil,
            termsSHA256: String? = nil
        ) {
            self.kind = kind
            self.at = at
            self.source = source
            self.ip = ip
            self.userAgent = userAgent
            self.termsVersion = termsVersion
            self.termsSHA256 = termsSHA256
        }
    }

    public struct Message: Codable, Sendable, Equatable {
        public var kind: String
        public var subject: String?
        public var status: String
        public var queuedAt: Date
        public var sentAt: Date?

        /// Every field, as a store reads it from its rows.
        public init(
            kind: String,
            subject: String? = nil,
            status: String,
            queuedAt: Date,
            sentAt: Date? = nil
        ) {
            self.kind = kind
            self.subject = subject
            self.status = status
            self.queuedAt = queuedAt
            self.sentAt = sentAt
        }
    }

    public struct Event: Codable, Sendable, Equatable {
        public var at: Date
        public var actor: String
        public var action: String
        public var detail: String?

        /// Every field, as a store reads it from its rows.
        public init(
            at: Date,
            actor: String,
            action: String,
            detail: String? = nil
        ) {
            self.at = at
            self.actor = actor
            self.action = action
            self.detail = detail
        }
    }

    /// The text of one terms version the person accepted, as they were shown it.
    public struct AcceptedTerms: Codable, Sendable, Equatable {
        public var list: String
        public var version: Int
        public var sha256: String
        public var text: String

        public init(list: String, version: Int, sha256: String, text: String) {
            self.list = list
            self.version = version
            self.sha256 = sha256
            self.text = text
        }

        /// The query both stores read them with, for the subscriber `$1`
        /// (written as `subscriber`): each version and text a `confirmed`
        /// entry names, once, by list and version.
        package static func query(subscriber: String) -> String {
            """
            SELECT DISTINCT l.slug, t.version, e.termsSHA256,
                   CASE WHEN t.sha256 = e.termsSHA256 THEN t.body ELSE tr.body END AS body
            FROM consentEvent e
            JOIN subscription s ON s.id = e.subscriptionId
            JOIN mailingList l ON l.id = s.listId
            JOIN termsVersion t ON t.id = e.termsVersionId
            LEFT JOIN termsTranslation tr ON tr.termsVersionId = t.id AND tr.sha256 = e.termsSHA256
            WHERE s.subscriberId = \(subscriber) AND e.kind = 'confirmed'
            ORDER BY l.slug, t.version, e.termsSHA256
            """
        }
    }

    public var address: String
    public var knownSince: Date
    /// Whether processing is restricted at the person's request: then nothing is mailed to them.
    public var processingRestricted: Bool
    public var restrictedSince: Date?
    public var restrictionReason: String?
    public var exportedAt: Date
    public var subscriptions: [Subscription]
    public var auditEvents: [Event]
    /// Every terms text the person accepted, not only its hash.
    public var termsAccepted: [AcceptedTerms] = []

    /// Pretty, sorted JSON with ISO 8601 times.
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return try encoder.encode(self)
    }

    /// Every field, as a store reads it from its rows.
    public init(
        address: String,
        knownSince: Date,
        exportedAt: Date,
        subscriptions: [Subscription],
        auditEvents: [Event],
        restrictedSince: Date? = nil,
        restrictionReason: String? = nil
    ) {
        self.processingRestricted = restrictedSince != nil
        self.restrictedSince = restrictedSince
        self.restrictionReason = restrictionReason
        self.address = address
        self.knownSince = knownSince
        self.exportedAt = exportedAt
        self.subscriptions = subscriptions
        self.auditEvents = auditEvents
    }

    /// The export from what either store reads: each subscription with its
    /// own consent entries, messages and bounces (each by subscription id,
    /// oldest first), and the audit entries about the person.
    public init(
        subscriber: Subscriber,
        subscriptions: [SubscriptionAndList],
        consent: [Int64: [Consent]],
        messages: [Int64: [Message]],
        bounces: [Int64: [BounceEvent]],
        auditEvents: [AuditEvent],
        exportedAt: Date
    ) {
        self.init(
            address: subscriber.address,
            knownSince: subscriber.createdAt,
            exportedAt: exportedAt,
            subscriptions: subscriptions.map { pair in
                let id = pair.subscription.id ?? -1
                return Subscription(
                    list: pair.list.slug,
                    listName: pair.list.name,
                    status: pair.subscription.status.rawValue,
                    name: pair.subscription.name,
                    language: pair.subscription.language.rawValue,
                    requestedAt: pair.subscription.requestedAt,
                    confirmedAt: pair.subscription.confirmedAt,
                    endedAt: pair.subscription.endedAt,
                    consent: consent[id] ?? [],
                    messages: messages[id] ?? [],
                    bounces: (bounces[id] ?? []).map(Bounce.init)
                )
            },
            auditEvents: auditEvents.map { Event(at: $0.occurredAt, actor: $0.actor, action: $0.action, detail: $0.detail) },
            restrictedSince: subscriber.restrictedAt,
            restrictionReason: subscriber.restrictionReason
        )
    }
}
