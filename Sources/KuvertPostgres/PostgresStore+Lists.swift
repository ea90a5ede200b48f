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
                for try await (newest, sha256) in try await connection.query(
                    "SELECT version, sha256 FROM termsVersion WHERE listId = \(listId) ORDER BY version DESC LIMIT 1", logger: logger
                ).decode((Int, String).self) {
                    if sha256 == TermsVersion.digest(body) { throw KuvertError.termsUnchanged(list: listSlug, version: newest) }
                    version = newest + 1
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
            try await connection { c in
                // One query: each list with its newest terms version and a count per status.
                try await c.rows(
                    """
                    SELECT \(unescaped: MailingList.select("l")),
                           (SELECT max(version) FROM termsVersion WHERE listId = l.id) AS terms,
                           count(s.id) FILTER (WHERE s.status = 'pending') AS pending,
                           count(s.id) FILTER (WHERE s.status = 'active') AS active,
                           count(s.id) FILTER (WHERE s.status = 'unsubscribed') AS unsubscribed,
                           count(s.id) FILTER (WHERE s.status = 'bounced') AS bounced
                    FROM mailingList l LEFT JOIN subscription s ON s.listId = l.id
                    GROUP BY l.id ORDER BY l.id
                    """
                ).map { row in
                    var counts: [SubscriptionStatus: Int] = [:]
                    for status in SubscriptionStatus.allCases {
                        let count = try row[status.rawValue].decode(Int.self)
                        if count > 0 { counts[status] = count }
                    }
                    return ListSummary(
                        list: try MailingList(row, "l"), termsVersion: try row["terms"].decode(Int?.self) ?? 0, counts: counts)
                }
            }
        }
    }

    public func editList(slug: String, _ edit: ListEdit, actor: String, now: Date) async throws -> MailingList {
        try await transaction { c in
            guard let row = try await c.rows(
                "SELECT \(unescaped: MailingList.select("l")) FROM mailingList l WHERE l.slug = \(slug) FOR UPDATE"
            ).first else { throw KuvertError.unknownList(slug) }
            let list = edit.applied(to: try MailingList(row, "l"))
            try await c.run(
                """
                WITH edited AS (
                    UPDATE mailingList SET name = \(list.name), fromAddress = \(list.fromAddress), thanksURL = \(list.thanksURL),
                        language = \(list.language.rawValue)
                    WHERE id = \(list.id)
                )
                INSERT INTO auditEvent (occurredAt, actor, action, listId, detail)
                VALUES (\(now), \(actor), 'list.edited', \(list.id), \(edit.fields.joined(separator: ", ")))
                """)
            return list
        }
    }

    public func mailingList(slug: String?) async throws -> MailingList {
        try await reachable { [self] in
            try await connection { c in
                let row = try await c.rows(
                    """
                    SELECT \(unescaped: MailingList.select("l")) FROM mailingList l
                    WHERE \(slug)::text IS NULL OR l.slug = \(slug) ORDER BY l.id LIMIT 1
                    """
                ).first
                guard let row else { throw slug.map { KuvertError.unknownList($0) } ?? KuvertError.noDefaultList }
                return try MailingList(row, "l")
            }
        }
    }
}
