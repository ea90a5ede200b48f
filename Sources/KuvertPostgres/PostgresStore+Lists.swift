import Foundation
import KuvertCore
import PostgresNIO

extension PostgresStore: ListStore {
    public func createList(_ list: MailingList, terms: String, actor: String) async throws -> MailingList {
        guard MailingList.isValidSlug(list.slug) else { throw KuvertError.invalidSlug(list.slug) }
        return try await reachable { [self] in
            try await client.withTransaction(logger: logger) { connection in
                // Another node may create the same slug at the same moment: the unique index decides.
                let inserted = try await connection.query(
                    """
                    INSERT INTO mailingList (slug, name, fromAddress, thanksURL, language, createdAt)
                    VALUES (\(list.slug), \(list.name), \(list.fromAddress), \(list.thanksURL), \(list.language.rawValue), \(list.createdAt))
                    ON CONFLICT (slug) DO NOTHING RETURNING id
                    """, logger: logger)
                var id: Int64?
                for try await value in inserted.decode(Int64.self) { id = value }
                guard let id else { throw KuvertError.listExists(list.slug) }
                try await connection.query(
                    """
                    INSERT INTO termsVersion (listId, version, body, sha256, publishedAt)
                    VALUES (\(id), 1, \(terms), \(TermsVersion.digest(terms)), \(list.createdAt))
                    """, logger: logger)
                try await connection.query(
                    """
                    INSERT INTO auditEvent (occurredAt, actor, action, listId, detail)
                    VALUES (\(list.createdAt), \(actor), 'list.created', \(id), 'terms v1')
                    """, logger: logger)
                var created = list
                created.id = id
                return created
            }
        }
    }

    public func publishTerms(listSlug: String, body: String, actor: String, now: Date) async throws -> TermsVersion {
        try await reachable { [self] in
            try await client.withTransaction(logger: logger) { connection in
                // The list's row is locked, so two nodes publishing at once number their versions one after the other.
                var listId: Int64?
                for try await id in try await connection.query(
                    "SELECT id FROM mailingList WHERE slug = \(listSlug) FOR UPDATE", logger: logger
                ).decode(Int64.self) {
                    listId = id
                }
                guard let listId else { throw KuvertError.unknownList(listSlug) }
                var version = 1
                for try await newest in try await connection.query(
                    "SELECT coalesce(max(version), 0) + 1 FROM termsVersion WHERE listId = \(listId)", logger: logger
                ).decode(Int.self) {
                    version = newest
                }
                var terms = TermsVersion(
                    listId: listId, version: version, body: body, sha256: TermsVersion.digest(body), publishedAt: now)
                for try await id in try await connection.query(
                    """
                    INSERT INTO termsVersion (listId, version, body, sha256, publishedAt)
                    VALUES (\(listId), \(version), \(body), \(terms.sha256), \(now)) RETURNING id
                    """, logger: logger
                ).decode(Int64.self) {
                    terms.id = id
                }
                try await connection.query(
                    """
                    INSERT INTO auditEvent (occurredAt, actor, action, listId, detail)
                    VALUES (\(now), \(actor), 'terms.published', \(listId), \("terms v\(version)"))
                    """, logger: logger)
                return terms
            }
        }
    }

    public func listSummaries() async throws -> [ListSummary] {
        try await reachable { [self] in
            // One query: each list with its newest terms version and a count per status.
            let rows = try await client.query(
                """
                SELECT l.id, l.slug, l.name, l.fromAddress, l.thanksURL, l.language, l.createdAt,
                       (SELECT max(version) FROM termsVersion WHERE listId = l.id),
                       count(s.id) FILTER (WHERE s.status = 'pending'),
                       count(s.id) FILTER (WHERE s.status = 'active'),
                       count(s.id) FILTER (WHERE s.status = 'unsubscribed'),
                       count(s.id) FILTER (WHERE s.status = 'bounced')
                FROM mailingList l LEFT JOIN subscription s ON s.listId = l.id
                GROUP BY l.id ORDER BY l.id
                """, logger: logger)
            var summaries: [ListSummary] = []
            for try await (id, slug, name, from, thanks, language, created, terms, pending, active, unsubscribed, bounced)
                in rows.decode((Int64, String, String, String?, String?, String, Date, Int?, Int, Int, Int, Int).self) {
                let counts: [SubscriptionStatus: Int] = [
                    .pending: pending, .active: active, .unsubscribed: unsubscribed, .bounced: bounced,
                ].filter { $0.value > 0 }
                summaries.append(ListSummary(
                    list: try Self.list(id, slug, name, from, thanks, language, created), termsVersion: terms ?? 0,
                    counts: counts))
            }
            return summaries
        }
    }

    public func mailingList(slug: String?) async throws -> MailingList {
        try await reachable { [self] in
            let rows = try await client.query(
                slug.map {
                    "SELECT id, slug, name, fromAddress, thanksURL, language, createdAt FROM mailingList WHERE slug = \($0)"
                } ?? "SELECT id, slug, name, fromAddress, thanksURL, language, createdAt FROM mailingList ORDER BY id LIMIT 1",
                logger: logger)
            for try await (id, slug, name, from, thanks, language, created)
                in rows.decode((Int64, String, String, String?, String?, String, Date).self) {
                return try Self.list(id, slug, name, from, thanks, language, created)
            }
            throw slug.map { KuvertError.unknownList($0) } ?? KuvertError.noDefaultList
        }
    }

    private static func list(
        _ id: Int64, _ slug: String, _ name: String, _ from: String?, _ thanks: String?, _ language: String, _ created: Date
    ) throws -> MailingList {
        guard let language = Language(rawValue: language) else { throw KuvertError.configuration("The store holds an unknown language '\(language)'.") }
        return MailingList(id: id, slug: slug, name: name, fromAddress: from, thanksURL: thanks, language: language, createdAt: created)
    }
}
