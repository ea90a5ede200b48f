import Crypto
import Foundation
import GRDB
import KuvertCore

extension SQLiteStore: ListStore {
    public func createList(_ list: MailingList, terms: String, translations: [Language: String], actor: String) async throws -> MailingList {
        guard MailingList.isValidSlug(list.slug) else { throw KuvertError.invalidSlug(list.slug) }
        return try await writer.write { db in
            guard try MailingList.filter(Column("slug") == list.slug).fetchCount(db) == 0 else {
                throw KuvertError.listExists(list.slug)
            }
            var list = list
            try list.insert(db)
            let listId = try list.id.orThrow()
            var version = TermsVersion(
                listId: listId,
                version: 1,
                body: terms,
                sha256: TermsVersion.digest(terms),
                publishedAt: list.createdAt
            )
            try version.insert(db)
            try Self.insertTranslations(db, translations, of: try version.id.orThrow(), list: list)
            var audit = AuditEvent(
                occurredAt: list.createdAt,
                actor: actor,
                action: "list.created",
                listId: listId,
                detail: "terms v1"
            )
            try audit.insert(db)
            return list
        }
    }

    public func publishTerms(
        listSlug: String,
        body: String,
        translations: [Language: String],
        actor: String,
        now: Date
    ) async throws -> TermsVersion {
        try await writer.write { db in
            try Self.publishTerms(db, listSlug: listSlug, body: body, translations: translations, actor: actor, now: now).version
        }
    }

    /// Publishes a new version in `db`'s transaction: refused for the current
    /// text again and while a terms change of the list is open. Returns the
    /// list, the version, and the number of the one it follows.
    static func publishTerms(
        _ db: Database,
        listSlug: String,
        body: String,
        translations: [Language: String],
        actor: String,
        now: Date
    ) throws -> (list: MailingList, version: TermsVersion, previous: Int) {
        let list = try Self.list(db, slug: listSlug)
        let listId = try list.id.orThrow()
        if let open = try openTermsChange(db, listId: listId) { throw KuvertError.termsChangeOpen(open.openLine(listSlug: listSlug)) }
        let newest = try Row.fetchOne(
            db,
            sql: "SELECT id, version, sha256 FROM termsVersion WHERE listId = ? ORDER BY version DESC LIMIT 1",
            arguments: [listId]
        )
        let current: Int = newest?["version"] ?? 0
        if let newest {
            let translated = try Row.fetchAll(
                db,
                sql: "SELECT language, sha256 FROM termsTranslation WHERE termsVersionId = ?",
                arguments: [newest["id"] as Int64]
            )
            let hashes = Dictionary(
                uniqueKeysWithValues: translated.compactMap { row in
                    Language(rawValue: row["language"]).map { ($0, row["sha256"] as String) }
                }
            )
            if TermsVersion.unchanged(body: body, translations: translations, currentSHA256: newest["sha256"], currentTranslations: hashes) {
                throw KuvertError.termsUnchanged(list: listSlug, version: current)
            }
        }
        var version = TermsVersion(
            listId: listId,
            version: current + 1,
            body: body,
            sha256: TermsVersion.digest(body),
            publishedAt: now
        )
        try version.insert(db)
        try Self.insertTranslations(db, translations, of: try version.id.orThrow(), list: list)
        var audit = AuditEvent(
            occurredAt: now,
            actor: actor,
            action: "terms.published",
            listId: listId,
            detail: "terms v\(version.version)"
        )
        try audit.insert(db)
        return (list, version, current)
    }

    public func editList(slug: String, _ edit: ListEdit, actor: String, now: Date) async throws -> MailingList {
        try await writer.write { db in
            let list = edit.applied(to: try Self.list(db, slug: slug))
            try list.update(db)
            var audit = AuditEvent(
                occurredAt: now,
                actor: actor,
                action: "list.edited",
                listId: list.id,
                detail: edit.fields.joined(separator: ", ")
            )
            try audit.insert(db)
            return list
        }
    }

    public func listSummaries() async throws -> [ListSummary] {
        try await writer.read { db in
            // One query: each list with its newest terms version and a count per status.
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT mailingList.*,
                      (SELECT max(version) FROM termsVersion WHERE listId = mailingList.id) AS termsVersion,
                      \(SubscriptionStatus.allCases.map { status in
                          "(SELECT count(*) FROM subscription WHERE listId = mailingList.id AND status = '\(status.rawValue)') AS \"\(status.rawValue)\""
                      }.joined(separator: ",\n  "))
                    FROM mailingList ORDER BY id
                    """
            )
            var accepted: [Int64: [Int: Int]] = [:]
            for row in try Row.fetchAll(db, sql: ListSummary.acceptanceQuery) {
                accepted[row[0], default: [:]][row[1]] = row[2]
            }
            return try rows.map { row in
                let list = try MailingList(row: row)
                return ListSummary(
                    list: list,
                    termsVersion: row["termsVersion"] ?? 0,
                    counts: Dictionary(
                        uniqueKeysWithValues: SubscriptionStatus.allCases.compactMap { status in
                            let count: Int = row[status.rawValue]
                            return count > 0 ? (status, count) : nil
                        }
                    ),
                    accepted: accepted[list.id ?? 0] ?? [:]
                )
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

    /// A version's texts in languages other than the list's own.
    static func insertTranslations(_ db: Database, _ translations: [Language: String], of versionId: Int64, list: MailingList) throws {
        for (language, body) in translations.sorted(by: { $0.key.rawValue < $1.key.rawValue }) where language != list.language {
            try db.execute(
                sql: "INSERT INTO termsTranslation (termsVersionId, language, body, sha256) VALUES (?, ?, ?, ?)",
                arguments: [versionId, language.rawValue, body, TermsVersion.digest(body)]
            )
        }
    }

    /// A version's text in `language`, when it has one.
    static func translation(_ db: Database, of versionId: Int64?, in language: Language) throws -> (body: String, sha256: String)? {
        try Row.fetchOne(
            db,
            sql: "SELECT body, sha256 FROM termsTranslation WHERE termsVersionId = ? AND language = ?",
            arguments: [versionId, language.rawValue]
        ).map { ($0["body"], $0["sha256"]) }
    }

    static func currentTerms(_ db: Database, listId: Int64) throws -> TermsVersion {
        try TermsVersion.filter(Column("listId") == listId).order(Column("version").desc).fetchOne(db).orThrow()
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

extension SQLiteStore {
    public func publishedTerms(listSlug: String, version: Int?) async throws -> PublishedTerms? {
        try await writer.read { db in try Self.publishedTerms(db, list: try Self.list(db, slug: listSlug), version: version) }
    }

    /// A version of `list` (the current one for nil) with its translations.
    static func publishedTerms(_ db: Database, list: MailingList, version: Int?) throws -> PublishedTerms? {
        let listId = try list.id.orThrow()
        let current = try Self.currentTerms(db, listId: listId)
        guard
            let terms = try version.map({ version in
                try TermsVersion.filter(Column("listId") == listId && Column("version") == version).fetchOne(db)
            }) ?? current
        else { return nil }
        var translations: [Language: TermsVersion] = [:]
        for row in try Row.fetchAll(
            db,
            sql: "SELECT language, body, sha256 FROM termsTranslation WHERE termsVersionId = ?",
            arguments: [terms.id]
        ) {
            guard let language = Language(rawValue: row["language"]) else { continue }
            var translated = terms
            translated.body = row["body"]
            translated.sha256 = row["sha256"]
            translations[language] = translated
        }
        return PublishedTerms(list: list, terms: terms, translations: translations, currentVersion: current.version)
    }
}
