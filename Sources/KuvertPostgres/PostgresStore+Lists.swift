import Foundation
import KuvertCore
import PostgresNIO

extension PostgresStore: ListStore {
    public func createList(_ list: MailingList, terms: String, translations: [Language: String], actor: String) async throws -> MailingList {
        guard MailingList.isValidSlug(list.slug) else { throw KuvertError.invalidSlug(list.slug) }
        return try await transaction { [self] c in
            // Another node may create the same slug at the same moment: the unique index decides.
            guard
                let id = try await c.value(
                    """
                    INSERT INTO mailingList (slug, name, fromAddress, thanksURL, language, createdAt, description)
                    VALUES (\(list.slug), \(list.name), \(list.fromAddress), \(list.thanksURL), \(list.language.rawValue), \(list.createdAt),
                            \(list.description))
                    ON CONFLICT (slug) DO NOTHING RETURNING id
                    """,
                    as: Int64.self
                )
            else { throw KuvertError.listExists(list.slug) }
            var created = list
            created.id = id
            let versionId = try await c.value(
                """
                INSERT INTO termsVersion (listId, version, body, sha256, publishedAt)
                VALUES (\(id), 1, \(terms), \(TermsVersion.digest(terms)), \(list.createdAt)) RETURNING id
                """,
                as: Int64.self
            ).orThrow()
            try await insertTranslations(c, translations, of: versionId, list: created)
            try await c.run(
                """
                INSERT INTO auditEvent (occurredAt, actor, action, listId, detail)
                VALUES (\(list.createdAt), \(actor), 'list.created', \(id), 'terms v1')
                """
            )
            return created
        }
    }

    public func publishTerms(
        listSlug: String,
        body: String,
        translations: [Language: String],
        actor: String,
        now: Date
    ) async throws -> TermsVersion {
        try await transaction { [self] c in
            try await publishTerms(c, listSlug: listSlug, body: body, translations: translations, actor: actor, now: now).version
        }
    }

    /// Publishes a new version in `c`'s transaction: refused for the current
    /// text again and while a terms change of the list is open. Returns the
    /// list, the version, and the number of the one it follows.
    func publishTerms(
        _ c: PostgresConnection,
        listSlug: String,
        body: String,
        translations: [Language: String],
        actor: String,
        now: Date
    ) async throws -> (list: MailingList, version: TermsVersion, previous: Int) {
        // The list's row is locked, so two nodes publishing at once number their versions one after the other.
        guard
            let row = try await c.rows(
                "SELECT \(unescaped: MailingList.select("l")) FROM mailingList l WHERE l.slug = \(listSlug) FOR UPDATE OF l"
            ).first
        else { throw KuvertError.unknownList(listSlug) }
        let list = try MailingList(row, "l")
        let listId = try list.id.orThrow()
        if let open = try await Self.openTermsChange(c, listId: listId) {
            throw KuvertError.termsChangeOpen(open.openLine(listSlug: listSlug))
        }
        var version = 1
        if let newest = try await c.rows(
            "SELECT id, version, sha256 FROM termsVersion WHERE listId = \(listId) ORDER BY version DESC LIMIT 1"
        ).first {
            let (newestId, number, sha256) = (
                try newest["id"].decode(Int64.self), try newest["version"].decode(Int.self), try newest["sha256"].decode(String.self)
            )
            var hashes: [Language: String] = [:]
            for translated in try await c.rows("SELECT language, sha256 FROM termsTranslation WHERE termsVersionId = \(newestId)") {
                if let language = Language(rawValue: try translated["language"].decode(String.self)) {
                    hashes[language] = try translated["sha256"].decode(String.self)
                }
            }
            if TermsVersion.unchanged(body: body, translations: translations, currentSHA256: sha256, currentTranslations: hashes) {
                throw KuvertError.termsUnchanged(list: listSlug, version: number)
            }
            version = number + 1
        }
        var terms = TermsVersion(listId: listId, version: version, body: body, sha256: TermsVersion.digest(body), publishedAt: now)
        terms.id = try await c.value(
            """
            INSERT INTO termsVersion (listId, version, body, sha256, publishedAt)
            VALUES (\(listId), \(version), \(body), \(terms.sha256), \(now)) RETURNING id
            """,
            as: Int64.self
        )
        try await insertTranslations(c, translations, of: try terms.id.orThrow(), list: list)
        try await c.run(
            """
            INSERT INTO auditEvent (occurredAt, actor, action, listId, detail)
            VALUES (\(now), \(actor), 'terms.published', \(listId), \("terms v\(version)"))
            """
        )
        return (list, terms, version - 1)
    }

    /// A version's texts in languages other than the list's own.
    func insertTranslations(_ c: PostgresConnection, _ translations: [Language: String], of versionId: Int64, list: MailingList) async throws {
        for (language, text) in translations.sorted(by: { $0.key.rawValue < $1.key.rawValue }) where language != list.language {
            try await c.run(
                """
                INSERT INTO termsTranslation (termsVersionId, language, body, sha256)
                VALUES (\(versionId), \(language.rawValue), \(text), \(TermsVersion.digest(text)))
                """
            )
        }
    }

    public func listSummaries() async throws -> [ListSummary] {
        try await reachable { [self] in
            try await connection { c in
                var accepted: [Int64: [Int: Int]] = [:]
                for row in try await c.rows(PostgresQuery(unsafeSQL: ListSummary.acceptanceQuery)) {
                    accepted[try row["listid"].decode(Int64.self), default: [:]][try row["version"].decode(Int.self)] =
                        try row["n"].decode(Int.self)
                }
                // One query: each list with its newest terms version and a count per status.
                return try await c.rows(
                    """
                    SELECT \(unescaped: MailingList.select("l")),
                           (SELECT max(version) FROM termsVersion WHERE listId = l.id) AS terms,
                           count(s.id) FILTER (WHERE s.status = 'pending') AS pending,
                           count(s.id) FILTER (WHERE s.status = 'active') AS active,
                           count(s.id) FILTER (WHERE s.status = 'unsubscribed') AS unsubscribed,
                           count(s.id) FILTER (WHERE s.status = 'bounced') AS bounced,
                           count(s.id) FILTER (WHERE s.status = 'lapsed') AS lapsed
                    FROM mailingList l LEFT JOIN subscription s ON s.listId = l.id
                    GROUP BY l.id ORDER BY l.id
                    """
                ).map { row in
                    var counts: [SubscriptionStatus: Int] = [:]
                    for status in SubscriptionStatus.allCases {
                        let count = try row[status.rawValue].decode(Int.self)
                        if count > 0 { counts[status] = count }
                    }
                    let list = try MailingList(row, "l")
                    return ListSummary(
                        list: list,
                        termsVersion: try row["terms"].decode(Int?.self) ?? 0,
                        counts: counts,
                        accepted: accepted[list.id ?? 0] ?? [:]
                    )
                }
            }
        }
    }

    public func editList(slug: String, _ edit: ListEdit, actor: String, now: Date) async throws -> MailingList {
        try await transaction { c in
            guard
                let row = try await c.rows(
                    "SELECT \(unescaped: MailingList.select("l")) FROM mailingList l WHERE l.slug = \(slug) FOR UPDATE"
                ).first
            else { throw KuvertError.unknownList(slug) }
            let list = edit.applied(to: try MailingList(row, "l"))
            try await c.run(
                """
                WITH edited AS (
                    UPDATE mailingList SET name = \(list.name), fromAddress = \(list.fromAddress), thanksURL = \(list.thanksURL),
                        language = \(list.language.rawValue), description = \(list.description)
                    WHERE id = \(list.id)
                )
                INSERT INTO auditEvent (occurredAt, actor, action, listId, detail)
                VALUES (\(now), \(actor), 'list.edited', \(list.id), \(edit.fields.joined(separator: ", ")))
                """
            )
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

extension PostgresStore {
    public func publishedTerms(listSlug: String, version: Int?) async throws -> PublishedTerms? {
        try await connection { c in
            guard let listRow = try await c.rows("SELECT \(unescaped: MailingList.select("l")) FROM mailingList l WHERE l.slug = \(listSlug)").first
            else { throw KuvertError.unknownList(listSlug) }
            return try await Self.publishedTerms(c, list: try MailingList(listRow, "l"), version: version)
        }
    }

    /// A version of `list` (the current one for nil) with its translations.
    static func publishedTerms(_ c: PostgresConnection, list: MailingList, version: Int?) async throws -> PublishedTerms? {
        let versions = try await c.rows(
            """
            SELECT \(unescaped: TermsVersion.select("t")) FROM termsVersion t
            WHERE t.listId = \(list.id)
              AND (t.version = \(version) OR t.version = (SELECT max(version) FROM termsVersion WHERE listId = \(list.id)))
            ORDER BY t.version DESC
            """
        ).map { try TermsVersion($0, "t") }
        guard let current = versions.first, let terms = version.map({ wanted in versions.first { $0.version == wanted } }) ?? current
        else { return nil }
        var translations: [Language: TermsVersion] = [:]
        for row in try await c.rows("SELECT language, body, sha256 FROM termsTranslation WHERE termsVersionId = \(terms.id)") {
            guard let language = Language(rawValue: try row["language"].decode(String.self)) else { continue }
            var translated = terms
            translated.body = try row["body"].decode(String.self)
            translated.sha256 = try row["sha256"].decode(String.self)
            translations[language] = translated
        }
        return PublishedTerms(list: list, terms: terms, translations: translations, currentVersion: current.version)
    }
}
