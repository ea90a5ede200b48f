import Foundation

/// Lists and their versioned terms.
public protocol ListStore: Sendable {
    /// Creates a list with its first terms version: `terms` in the list's own
    /// language, `translations` in others.
    /// - Throws: `KuvertError.listExists`.
    func createList(_ list: MailingList, terms: String, translations: [Language: String], actor: String) async throws -> MailingList
    /// Publishes a new terms version for a list; later confirmations accept it.
    /// - Throws: `KuvertError.unknownList`, `.termsUnchanged` for the current text again,
    ///   `.termsChangeOpen` while a notice or re-consent of the list is open.
    func publishTerms(listSlug: String, body: String, translations: [Language: String], actor: String, now: Date) async throws -> TermsVersion
    /// Changes a list's name, sender, thanks page or language; the fields left
    /// nil stay as they are. Audited as `list.edited`, naming the fields.
    /// - Throws: `KuvertError.unknownList`.
    func editList(slug: String, _ edit: ListEdit, actor: String, now: Date) async throws -> MailingList
    /// All lists, oldest first, with their current terms version and counts.
    func listSummaries() async throws -> [ListSummary]
    /// The list with this slug, or the default list (the oldest) for nil.
    /// - Throws: `KuvertError.unknownList`, `.noDefaultList`.
    func mailingList(slug: String?) async throws -> MailingList
    /// A published terms version of a list (the current one for nil) with its
    /// texts in other languages: the exact text a consent record points at.
    /// nil when the list has no such version.
    /// - Throws: `KuvertError.unknownList`.
    func publishedTerms(listSlug: String, version: Int?) async throws -> PublishedTerms?
}

/// One terms version as published: the list's own text and its translations,
/// each with its own SHA-256.
public struct PublishedTerms: Sendable, Equatable {
    public var list: MailingList
    /// In the list's own language.
    public var terms: TermsVersion
    /// The same version in other languages, as `terms` with another body and hash.
    public var translations: [Language: TermsVersion]
    /// The newest version of the list, to say whether this one is current.
    public var currentVersion: Int

    public init(list: MailingList, terms: TermsVersion, translations: [Language: TermsVersion], currentVersion: Int) {
        self.list = list
        self.terms = terms
        self.translations = translations
        self.currentVersion = currentVersion
    }

    /// The text a person reading `language` is shown, and its language.
    public func text(in language: Language) -> (terms: TermsVersion, language: Language) {
        translations[language].map { ($0, language) } ?? (terms, list.language)
    }
}

/// What `kuvert lists edit` changes: nil leaves a field as it is; an empty
/// `fromAddress` or `thanksURL` removes it (KUVERT_FROM, Kuvert's own page).
public struct ListEdit: Sendable {
    public var name: String?
    public var fromAddress: String?
    public var thanksURL: String?
    public var language: Language?
    /// An empty description removes it.
    public var description: String?

    public init(
        name: String? = nil,
        fromAddress: String? = nil,
        thanksURL: String? = nil,
        language: Language? = nil,
        description: String? = nil
    ) {
        self.description = description
        self.name = name
        self.fromAddress = fromAddress
        self.thanksURL = thanksURL
        self.language = language
    }

    /// The names of the fields it changes, for the audit log.
    public var fields: [String] {
        [
            name.map { _ in "name" }, fromAddress.map { _ in "from" }, thanksURL.map { _ in "thanks-url" },
            language.map { _ in "locale" }, description.map { _ in "description" },
        ].compactMap { $0 }
    }

    /// `list` with this edit made.
    public func applied(to list: MailingList) -> MailingList {
        var list = list
        if let name { list.name = name }
        if let fromAddress { list.fromAddress = fromAddress.isEmpty ? nil : fromAddress }
        if let thanksURL { list.thanksURL = thanksURL.isEmpty ? nil : thanksURL }
        if let language { list.language = language }
        if let description { list.description = description.isEmpty ? nil : description }
        return list
    }
}

extension ListStore {
    /// A list whose terms are in its own language only.
    public func createList(_ list: MailingList, terms: String, actor: String) async throws -> MailingList {
        try await createList(list, terms: terms, translations: [:], actor: actor)
    }

    /// A terms version in the list's own language only.
    public func publishTerms(listSlug: String, body: String, actor: String, now: Date) async throws -> TermsVersion {
        try await publishTerms(listSlug: listSlug, body: body, translations: [:], actor: actor, now: now)
    }
}

extension TermsVersion {
    /// Whether a new version would be word for word this one: the same own
    /// text and the same translations (`current` by language, as hashes).
    public static func unchanged(
        body: String,
        translations: [Language: String],
        currentSHA256: String,
        currentTranslations: [Language: String]
    ) -> Bool {
        digest(body) == currentSHA256 && translations.mapValues(digest) == currentTranslations
    }
}
