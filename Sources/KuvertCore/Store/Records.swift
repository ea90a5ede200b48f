import GRDB

// Domain types persist as GRDB records; column names match property names.

extension MailingList: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "mailingList"
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

extension TermsVersion: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "termsVersion"
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

extension Subscriber: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "subscriber"
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

extension Subscription: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "subscription"
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

extension ConsentEvent: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "consentEvent"
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

extension OutboxMessage: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "outboxMessage"
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

extension AuditEvent: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "auditEvent"
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}
