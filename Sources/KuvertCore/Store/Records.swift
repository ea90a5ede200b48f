import GRDB

// Domain types persist as GRDB records; column names match property names.

/// A record whose dates are written as `StoreTime` writes them: the same text
/// GRDB would write, without its `DateFormatter`, which costs microseconds a
/// date and several megabytes of ICU data in every process that uses it.
public protocol StoreTimeRecord: EncodableRecord {}

extension StoreTimeRecord {
    public static func databaseDateEncodingStrategy(for column: String) -> DatabaseDateEncodingStrategy {
        .custom { StoreTime.value($0) }
    }
}

extension MailingList: FetchableRecord, MutablePersistableRecord, StoreTimeRecord {
    public static let databaseTableName = "mailingList"
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

extension TermsVersion: FetchableRecord, MutablePersistableRecord, StoreTimeRecord {
    public static let databaseTableName = "termsVersion"
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

extension Subscriber: FetchableRecord, MutablePersistableRecord, StoreTimeRecord {
    public static let databaseTableName = "subscriber"
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

extension Subscription: FetchableRecord, MutablePersistableRecord, StoreTimeRecord {
    public static let databaseTableName = "subscription"
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    /// Read by column, not through `Decodable`: the mailer reads one a message.
    public init(row: Row) throws {
        self.init(
            id: row["id"], subscriberId: row["subscriberId"], listId: row["listId"],
            status: try SubscriptionStatus(rawValue: row["status"]).orThrow(), name: row["name"],
            language: try Language(rawValue: row["language"]).orThrow(), confirmNonce: row["confirmNonce"],
            requestedAt: row["requestedAt"], confirmedAt: row["confirmedAt"], endedAt: row["endedAt"],
            updatedAt: row["updatedAt"])
    }
}

extension ConsentEvent: FetchableRecord, MutablePersistableRecord, StoreTimeRecord {
    public static let databaseTableName = "consentEvent"
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

extension OutboxMessage: FetchableRecord, MutablePersistableRecord, StoreTimeRecord {
    public static let databaseTableName = "outboxMessage"
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    /// Read by column, not through `Decodable`: the mailer leases many at a time.
    public init(row: Row) throws {
        self.init(
            id: row["id"], kind: try Kind(rawValue: row["kind"]).orThrow(), subscriptionId: row["subscriptionId"],
            status: try Status(rawValue: row["status"]).orThrow(), dueAt: row["dueAt"], attempts: row["attempts"],
            createdAt: row["createdAt"], campaignId: row["campaignId"], testRecipient: row["testRecipient"])
        leaseExpiresAt = row["leaseExpiresAt"]
        lastReply = row["lastReply"]
        lastReplyCode = row["lastReplyCode"]
        sentAt = row["sentAt"]
    }
}

extension AuditEvent: FetchableRecord, MutablePersistableRecord, StoreTimeRecord {
    public static let databaseTableName = "auditEvent"
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

extension BounceEvent: FetchableRecord, MutablePersistableRecord, StoreTimeRecord {
    public static let databaseTableName = "bounceEvent"
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

extension APIToken: FetchableRecord, MutablePersistableRecord, StoreTimeRecord {
    public static let databaseTableName = "apiToken"
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}
