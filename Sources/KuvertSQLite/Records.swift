import GRDB
import KuvertCore

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

    /// Read by column, not through `Decodable`.
    public init(row: Row) throws {
        self.init(
            id: row["id"],
            slug: row["slug"],
            name: row["name"],
            fromAddress: row["fromAddress"],
            thanksURL: row["thanksURL"],
            language: try Language(rawValue: row["language"]).orThrow(),
            createdAt: row["createdAt"],
            description: row["description"]
        )
    }
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

    /// Read by column, not through `Decodable`.
    public init(row: Row) throws {
        self.init(
            id: row["id"],
            subscriberId: row["subscriberId"],
            listId: row["listId"],
            status: try SubscriptionStatus(rawValue: row["status"]).orThrow(),
            name: row["name"],
            language: try Language(rawValue: row["language"]).orThrow(),
            confirmNonce: row["confirmNonce"],
            requestedAt: row["requestedAt"],
            confirmedAt: row["confirmedAt"],
            endedAt: row["endedAt"],
            updatedAt: row["updatedAt"]
        )
    }

    /// The columns `init(row:at:)` reads, in its order.
    static let columns = [
        "id", "subscriberId", "listId", "status", "name", "language", "confirmNonce", "requestedAt", "confirmedAt",
        "endedAt", "updatedAt",
    ]

    /// `columns`, qualified by the table's name, for a SELECT.
    static let selection = columns.map { "subscription.\($0)" }.joined(separator: ", ")

    /// Read by position from `selection`'s columns starting at `first`: the
    /// mailer reads one a message, and a column found by name costs a search.
    init(row: Row, at first: Int) throws {
        self.init(
            id: row[first],
            subscriberId: row[first + 1],
            listId: row[first + 2],
            status: try SubscriptionStatus(rawValue: row[first + 3]).orThrow(),
            name: row[first + 4],
            language: try Language(rawValue: row[first + 5]).orThrow(),
            confirmNonce: row[first + 6],
            requestedAt: row[first + 7],
            confirmedAt: row[first + 8],
            endedAt: row[first + 9],
            updatedAt: row[first + 10]
        )
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
            id: row["id"],
            kind: try Kind(rawValue: row["kind"]).orThrow(),
            subscriptionId: row["subscriptionId"],
            status: try Status(rawValue: row["status"]).orThrow(),
            dueAt: row["dueAt"],
            attempts: row["attempts"],
            createdAt: row["createdAt"],
            campaignId: row["campaignId"],
            testRecipient: row["testRecipient"],
            termsChangeId: row["termsChangeId"]
        )
        leaseExpiresAt = row["leaseExpiresAt"]
        lastReply = row["lastReply"]
        lastReplyCode = row["lastReplyCode"]
        sentAt = row["sentAt"]
    }

    /// The columns `init(row:at:)` reads, in its order.
    static let columns = [
        "id", "kind", "subscriptionId", "status", "dueAt", "attempts", "createdAt", "campaignId", "testRecipient",
        "leaseExpiresAt", "lastReply", "lastReplyCode", "sentAt", "termsChangeId",
    ]

    /// `columns`, qualified by the table's name, for a SELECT.
    static let selection = columns.map { "outboxMessage.\($0)" }.joined(separator: ", ")

    /// Read by position from `selection`'s columns starting at `first`.
    init(row: Row, at first: Int) throws {
        self.init(
            id: row[first],
            kind: try Kind(rawValue: row[first + 1]).orThrow(),
            subscriptionId: row[first + 2],
            status: try Status(rawValue: row[first + 3]).orThrow(),
            dueAt: row[first + 4],
            attempts: row[first + 5],
            createdAt: row[first + 6],
            campaignId: row[first + 7],
            testRecipient: row[first + 8],
            termsChangeId: row[first + 13]
        )
        leaseExpiresAt = row[first + 9]
        lastReply = row[first + 10]
        lastReplyCode = row[first + 11]
        sentAt = row[first + 12]
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
