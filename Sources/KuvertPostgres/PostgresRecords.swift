import Foundation
import KuvertCore
import PostgresNIO

/// A domain value read from the columns a query selected with `select(_:)`.
///
/// Unquoted names fold to lower case in PostgreSQL, so a table's columns come
/// back as `alias_column` in lower case; `Cells` looks them up that way, and
/// several tables can share one row without their `id`s colliding.
protocol PostgresRecord {
    /// The table's columns, spelled as in the schema.
    static var columns: [String] { get }
    init(_ cells: Cells) throws
}

extension PostgresRecord {
    /// The select list for the table under `alias`: `alias.column AS alias_column, …`.
    static func select(_ alias: String) -> String {
        columns.map { "\(alias).\($0) AS \(alias)_\($0.lowercased())" }.joined(separator: ", ")
    }

    /// The record under `alias` in `row`.
    init(_ row: PostgresRandomAccessRow, _ alias: String) throws {
        try self.init(Cells(row: row, prefix: alias + "_"))
    }
}

/// The cells of one table in a row, by column name.
struct Cells {
    let row: PostgresRandomAccessRow
    let prefix: String

    func callAsFunction<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        try row[prefix + column.lowercased()].decode(T.self)
    }

    /// A column holding a raw value of `T`.
    func value<T: RawRepresentable>(_ column: String, as type: T.Type = T.self) throws -> T where T.RawValue == String {
        let raw: String = try self(column)
        guard let value = T(rawValue: raw) else { throw StoredValueError(column: column, value: raw) }
        return value
    }

    /// Whether the table's columns are all null (a left join that found nothing).
    var isAbsent: Bool {
        (try? self("id", as: Int64?.self)) == nil
    }
}

/// A stored value this binary does not know (a newer binary wrote it, or someone by hand).
struct StoredValueError: Error, CustomStringConvertible {
    var column: String
    var value: String
    var description: String { "The store holds an unknown \(column) '\(value)'." }
}

extension MailingList: PostgresRecord {
    static let columns = ["id", "slug", "name", "fromAddress", "thanksURL", "language", "createdAt", "description"]

    init(_ cells: Cells) throws {
        self.init(
            id: try cells("id"),
            slug: try cells("slug"),
            name: try cells("name"),
            fromAddress: try cells("fromAddress"),
            thanksURL: try cells("thanksURL"),
            language: try cells.value("language"),
            createdAt: try cells("createdAt"),
            description: try cells("description")
        )
    }
}

extension Subscriber: PostgresRecord {
    static let columns = [
        "id", "address", "addressKey", "createdAt", "erasedAt", "restrictedAt", "restrictionReason", "newAddress", "newAddressKey",
        "newAddressNonce", "newAddressRequestedAt",
    ]

    init(_ cells: Cells) throws {
        self.init(
            id: try cells("id"),
            address: try cells("address"),
            addressKey: try cells("addressKey"),
            createdAt: try cells("createdAt"),
            erasedAt: try cells("erasedAt"),
            restrictedAt: try cells("restrictedAt"),
            restrictionReason: try cells("restrictionReason"),
            newAddress: try cells("newAddress"),
            newAddressKey: try cells("newAddressKey"),
            newAddressNonce: try cells("newAddressNonce"),
            newAddressRequestedAt: try cells("newAddressRequestedAt")
        )
    }
}

extension Subscription: PostgresRecord {
    static let columns = [
        "id", "subscriberId", "listId", "status", "name", "language", "confirmNonce", "requestedAt", "confirmedAt",
        "endedAt", "updatedAt",
    ]

    init(_ cells: Cells) throws {
        self.init(
            id: try cells("id"),
            subscriberId: try cells("subscriberId"),
            listId: try cells("listId"),
            status: try cells.value("status"),
            name: try cells("name"),
            language: try cells.value("language"),
            confirmNonce: try cells("confirmNonce"),
            requestedAt: try cells("requestedAt"),
            confirmedAt: try cells("confirmedAt"),
            endedAt: try cells("endedAt"),
            updatedAt: try cells("updatedAt")
        )
    }
}

extension TermsVersion: PostgresRecord {
    static let columns = ["id", "listId", "version", "body", "sha256", "publishedAt"]

    init(_ cells: Cells) throws {
        self.init(
            id: try cells("id"),
            listId: try cells("listId"),
            version: try cells("version"),
            body: try cells("body"),
            sha256: try cells("sha256"),
            publishedAt: try cells("publishedAt")
        )
    }
}

extension ConsentEvent: PostgresRecord {
    static let columns = [
        "id", "subscriptionId", "kind", "occurredAt", "ip", "userAgent", "source", "termsVersionId", "termsSHA256",
    ]

    init(_ cells: Cells) throws {
        self.init(
            id: try cells("id"),
            subscriptionId: try cells("subscriptionId"),
            kind: try cells.value("kind"),
            occurredAt: try cells("occurredAt"),
            ip: try cells("ip"),
            userAgent: try cells("userAgent"),
            source: try cells("source"),
            termsVersionId: try cells("termsVersionId"),
            termsSHA256: try cells("termsSHA256")
        )
    }
}

extension Campaign: PostgresRecord {
    static let columns = [
        "id", "listId", "subject", "bodyMarkdown", "bodyHTML", "bodyText", "status", "createdAt", "sendAt", "queuedAt",
    ]

    init(_ cells: Cells) throws {
        self.init(
            id: try cells("id"),
            listId: try cells("listId"),
            subject: try cells("subject"),
            bodyMarkdown: try cells("bodyMarkdown"),
            bodyHTML: try cells("bodyHTML"),
            bodyText: try cells("bodyText"),
            status: try cells.value("status"),
            createdAt: try cells("createdAt"),
            sendAt: try cells("sendAt"),
            queuedAt: try cells("queuedAt")
        )
    }
}

extension OutboxMessage: PostgresRecord {
    static let columns = [
        "id", "kind", "subscriptionId", "status", "dueAt", "attempts", "leaseExpiresAt", "lastReply", "lastReplyCode",
        "createdAt", "sentAt", "campaignId", "testRecipient", "termsChangeId",
    ]

    init(_ cells: Cells) throws {
        self.init(
            id: try cells("id"),
            kind: try cells.value("kind"),
            subscriptionId: try cells("subscriptionId"),
            status: try cells.value("status"),
            dueAt: try cells("dueAt"),
            attempts: try cells("attempts"),
            createdAt: try cells("createdAt"),
            campaignId: try cells("campaignId"),
            testRecipient: try cells("testRecipient"),
            termsChangeId: try cells("termsChangeId")
        )
        leaseExpiresAt = try cells("leaseExpiresAt")
        lastReply = try cells("lastReply")
        lastReplyCode = try cells("lastReplyCode")
        sentAt = try cells("sentAt")
    }
}

extension AuditEvent: PostgresRecord {
    static let columns = ["id", "occurredAt", "actor", "action", "subscriberId", "listId", "detail"]

    init(_ cells: Cells) throws {
        self.init(
            occurredAt: try cells("occurredAt"),
            actor: try cells("actor"),
            action: try cells("action"),
            subscriberId: try cells("subscriberId"),
            listId: try cells("listId"),
            detail: try cells("detail")
        )
        id = try cells("id")
    }
}

extension BounceEvent: PostgresRecord {
    static let columns = [
        "id", "receivedAt", "outboxMessageId", "subscriptionId", "kind", "status", "action", "diagnostic", "outcome",
        "providerEvent",
    ]

    init(_ cells: Cells) throws {
        self.init(
            id: try cells("id"),
            receivedAt: try cells("receivedAt"),
            outboxMessageId: try cells("outboxMessageId"),
            subscriptionId: try cells("subscriptionId"),
            kind: try cells.value("kind"),
            status: try cells("status"),
            action: try cells("action"),
            diagnostic: try cells("diagnostic"),
            outcome: try cells.value("outcome"),
            providerEvent: try cells("providerEvent")
        )
    }
}

extension APIToken: PostgresRecord {
    static let columns = ["id", "name", "tokenHash", "createdAt", "revokedAt"]

    init(_ cells: Cells) throws {
        self.init(
            id: try cells("id"),
            name: try cells("name"),
            tokenHash: try cells("tokenHash"),
            createdAt: try cells("createdAt"),
            revokedAt: try cells("revokedAt")
        )
    }
}

extension PostgresRowSequence {
    /// Every row as random-access cells.
    func rows() async throws -> [PostgresRandomAccessRow] {
        var rows: [PostgresRandomAccessRow] = []
        for try await row in self { rows.append(row.makeRandomAccess()) }
        return rows
    }

    /// Every row's first column.
    func column<T: PostgresDecodable>(_ type: T.Type) async throws -> [T] {
        var values: [T] = []
        for try await (value) in decode(T.self) { values.append(value) }
        return values
    }

    /// The first row's first column, if there is a row.
    func first<T: PostgresDecodable>(_ type: T.Type) async throws -> T? {
        for try await (value) in decode(T.self) { return value }
        return nil
    }
}
