import Crypto
import Foundation

/// A newsletter people subscribe to, with its own terms, sender and language.
public struct MailingList: Equatable, Sendable, Codable {
    public var id: Int64?
    /// The short name used in forms and commands: lower-case letters, digits and hyphens.
    public var slug: String
    public var name: String
    /// The sender for this list's mail; nil for the configured default.
    public var fromAddress: String?
    /// Where a form post is redirected after subscribing; nil for the built-in page.
    public var thanksURL: String?
    /// The language used when neither the subscription nor the browser says.
    public var language: Language
    public var createdAt: Date
    /// One or two sentences on what the list sends, shown on the manage page.
    public var description: String?

    public init(
        id: Int64? = nil,
        slug: String,
        name: String,
        fromAddress: String? = nil,
        thanksURL: String? = nil,
        language: Language,
        createdAt: Date,
        description: String? = nil
    ) {
        self.description = description
        self.id = id
        self.slug = slug
        self.name = name
        self.fromAddress = fromAddress
        self.thanksURL = thanksURL
        self.language = language
        self.createdAt = createdAt
    }

    /// Whether a list's name can be shown in a page and a mail header: 1 to
    /// 200 characters on one line, no control character (an ESC in it failed
    /// every confirmation for the list at send).
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 200 && !name.unicodeScalars.contains(where: \.breaksOneLineText)
    }

    /// Whether a description fits the manage page: at most 500 characters, no
    /// control character but line breaks.
    public static func isValidDescription(_ description: String) -> Bool {
        description.count <= 500
            && !description.unicodeScalars.contains { $0.properties.generalCategory == .control && $0 != "\n" }
    }

    /// Whether a slug has the shape Kuvert accepts: 1 to 64 of `a-z`, `0-9` and
    /// `-`, starting with a letter or digit.
    public static func isValidSlug(_ slug: String) -> Bool {
        guard let first = slug.unicodeScalars.first, slug.utf8.count <= 64 else { return false }
        let allowed: (Unicode.Scalar) -> Bool = { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
        return first != "-" && slug.unicodeScalars.allSatisfy(allowed)
    }
}

/// One published version of a list's terms and privacy notice. Versions are
/// never changed or deleted: consent records point at them.
public struct TermsVersion: Equatable, Sendable, Codable {
    public var id: Int64?
    public var listId: Int64
    /// 1 for the first version of a list, counting up.
    public var version: Int
    /// The terms as Markdown.
    public var body: String
    /// Lower-case hex SHA-256 of `body` in UTF-8: what a consent record proves was shown.
    public var sha256: String
    public var publishedAt: Date

    public init(id: Int64? = nil, listId: Int64, version: Int, body: String, sha256: String, publishedAt: Date) {
        self.id = id
        self.listId = listId
        self.version = version
        self.body = body
        self.sha256 = sha256
        self.publishedAt = publishedAt
    }

    /// The version as a person reading `language` is shown it: the text in
    /// their language when the version has one (its body and SHA-256), else
    /// the list's own; with the language it is written in.
    public func shown(
        to language: Language,
        of list: MailingList,
        translation: (body: String, sha256: String)?
    ) -> (terms: TermsVersion, language: Language) {
        guard let translation, language != list.language else { return (self, list.language) }
        var shown = self
        shown.body = translation.body
        shown.sha256 = translation.sha256
        return (shown, language)
    }

    /// Lower-case hex SHA-256 of `body` in UTF-8, as `sha256` holds it.
    public static func digest(_ body: String) -> String {
        SHA256.hash(data: Data(body.utf8)).lowercaseHex
    }
}

/// A list with its current terms and subscription counts, for overviews.
public struct ListSummary: Equatable, Sendable {
    public var list: MailingList
    public var termsVersion: Int
    public var counts: [SubscriptionStatus: Int]
    /// Active subscriptions by the terms version their latest consent accepted.
    public var accepted: [Int: Int]

    public init(list: MailingList, termsVersion: Int, counts: [SubscriptionStatus: Int], accepted: [Int: Int] = [:]) {
        self.list = list
        self.termsVersion = termsVersion
        self.counts = counts
        self.accepted = accepted
    }

    /// The query both stores count acceptance with: per list id and terms
    /// version, the active subscriptions whose latest `confirmed` entry names it.
    package static let acceptanceQuery = """
        SELECT s.listId, t.version, count(*) AS n
        FROM subscription s
        JOIN consentEvent e ON e.id = (SELECT max(c.id) FROM consentEvent c WHERE c.subscriptionId = s.id AND c.kind = 'confirmed')
        JOIN termsVersion t ON t.id = e.termsVersionId
        WHERE s.status = 'active'
        GROUP BY s.listId, t.version
        """
}
