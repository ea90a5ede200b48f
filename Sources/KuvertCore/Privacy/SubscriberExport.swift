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
    }

    public struct Consent: Codable, Sendable, Equatable {
        public var kind: String
        public var at: Date
        public var source: String
        public var ip: String?
        public var userAgent: String?
        public var termsVersion: Int?
        public var termsSHA256: String?
    }

    public struct Message: Codable, Sendable, Equatable {
        public var kind: String
        public var subject: String?
        public var status: String
        public var queuedAt: Date
        public var sentAt: Date?
    }

    public struct Event: Codable, Sendable, Equatable {
        public var at: Date
        public var actor: String
        public var action: String
        public var detail: String?
    }

    public var address: String
    public var knownSince: Date
    public var exportedAt: Date
    public var subscriptions: [Subscription]
    public var auditEvents: [Event]

    /// Pretty, sorted JSON with ISO 8601 times.
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return try encoder.encode(self)
    }
}
