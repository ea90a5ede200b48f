import Crypto
import Foundation
import GRDB

extension AppDatabase: ListStore {
    public func createList(_ list: MailingList, terms: String, actor: String) async throws -> MailingList {
        guard MailingList.isValidSlug(list.slug) else { throw KuvertError.invalidSlug(list.slug) }
        return try await writer.write { db in
            guard try MailingList.filter(Column("slug") == list.slug).fetchCount(db) == 0 else {
                throw KuvertError.listExists(list.slug)
            }
            var list = list
            try list.insert(db)
            let listId = try list.id.orThrow()
            var version = TermsVersion(
                listId: listId, version: 1, body: terms, sha256: Self.sha256Hex(terms), publishedAt: list.createdAt)
            try version.insert(db)
            var audit = AuditEvent(
                occurredAt: list.createdAt, actor: actor, action: "list.created", listId: listId, detail: "terms v1")
            try audit.insert(db)
            return list
        }
    }

    public func publishTerms(listSlug: String, body: String, actor: String, now: Date) async throws -> TermsVersion {
        try await writer.write { db in
            let list = try Self.list(db, slug: listSlug)
            let listId = try list.id.orThrow()
            let current = try Int.fetchOne(
                db, sql: "SELECT max(version) FROM termsVersion WHERE listId = ?", arguments: [listId]) ?? 0
            var version = TermsVersion(
                listId: listId, version: current + 1, body: body, sha256: Self.sha256Hex(body), publishedAt: now)
            try version.insert(db)
            var audit = AuditEvent(
                occurredAt: now, actor: actor, action: "terms.published", listId: listId,
                detail: "terms v\(version.version)")
            try audit.insert(db)
            return version
        }
    }

    public func listSummaries() async throws -> [ListSummary] {
        try await writer.read { db in
            let lists = try MailingList.order(Column("id")).fetchAll(db)
            return try lists.map { list in
                let listId = try list.id.orThrow()
                let version = try Int.fetchOne(
                    db, sql: "SELECT max(version) FROM termsVersion WHERE listId = ?", arguments: [listId]) ?? 0
                var counts: [SubscriptionStatus: Int] = [:]
                let rows = try Row.fetchAll(
                    db, sql: "SELECT status, count(*) AS n FROM subscription WHERE listId = ? GROUP BY status",
                    arguments: [listId])
                for row in rows {
                    if let status = SubscriptionStatus(rawValue: row["status"]) { counts[status] = row["n"] }
                }
                return ListSummary(list: list, termsVersion: version, counts: counts)
            }
        }
    }

    public func mailingList(slug: String?) async throws -> MailingList {
        try await writer.read { db in try Self.list(db, slug: slug) }
    }

    /// The list with this slug, or the oldest list for nil.
    static func list(_ db: Database, slug: String?) throws -> MailingList {
        if let slug {
            guard let list = try MailingList.filter(Column("slug") == slug).fetchOne(db) else {
                throw KuvertError.unknownList(slug)
            }
            return list
        }
        guard let list = try MailingList.order(Column("id")).fetchOne(db) else { throw KuvertError.noDefaultList }
        return list
    }

    static func currentTerms(_ db: Database, listId: Int64) throws -> TermsVersion {
        try TermsVersion.filter(Column("listId") == listId).order(Column("version").desc).fetchOne(db).orThrow()
    }

    static func sha256Hex(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

/// A value the schema guarantees was present is missing: the store is damaged.
struct StoreInconsistency: Error, CustomStringConvertible {
    var description: String { "The store is missing a value its schema requires." }
}

extension Optional {
    func orThrow() throws -> Wrapped {
        guard let self else { throw StoreInconsistency() }
        return self
    }
}
