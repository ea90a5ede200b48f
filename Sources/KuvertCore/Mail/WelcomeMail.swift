import Foundation

/// What a welcome mail, the consent receipt, says: every list the person
/// joined at that moment, each with the terms version they accepted.
public struct WelcomeReceipt: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var subscriptionId: Int64
        public var listSlug: String
        public var listName: String
        public var termsVersion: Int

        public init(subscriptionId: Int64, listSlug: String, listName: String, termsVersion: Int) {
            self.subscriptionId = subscriptionId
            self.listSlug = listSlug
            self.listName = listName
            self.termsVersion = termsVersion
        }
    }

    /// When the person accepted.
    public var confirmedAt: Date
    /// The lists joined together, oldest list first; still active when read.
    public var entries: [Entry]

    public init(confirmedAt: Date, entries: [Entry]) {
        self.confirmedAt = confirmedAt
        self.entries = entries
    }

    /// The query both stores read a receipt with, for the subscription `$1`
    /// (as `?` or `$1`): every confirmation of its person at the moment of its
    /// latest, on lists still active, with the version each accepted.
    package static func query(parameter: String) -> String {
        """
        SELECT s.id, l.slug, l.name, t.version, e.occurredAt
        FROM consentEvent e
        JOIN subscription s ON s.id = e.subscriptionId
        JOIN mailingList l ON l.id = s.listId
        JOIN termsVersion t ON t.id = e.termsVersionId
        WHERE e.kind = 'confirmed' AND s.status = 'active'
          AND s.subscriberId = (SELECT subscriberId FROM subscription WHERE id = \(parameter))
          AND e.occurredAt = (SELECT max(occurredAt) FROM consentEvent WHERE subscriptionId = \(parameter) AND kind = 'confirmed')
        ORDER BY l.id
        """
    }
}

/// The welcome mail's view: a dictionary, as the newsletter's, for Mustache.
enum WelcomeMail {
    static let templateNames: [String] = Language.allCases.flatMap { language in
        ["subject", "text", "html"].map { "mail.\(language.rawValue).welcome.\($0)" }
    }

    static func view(
        _ receipt: WelcomeReceipt,
        baseURL: String,
        when: String,
        name: String?,
        manageURL: String,
        unsubscribeURL: (Int64) -> String
    ) -> [String: Any] {
        var view: [String: Any] = [
            "when": when,
            "manageURL": manageURL,
            "privacyURL": baseURL + "/privacy",
            "several": receipt.entries.count > 1,
            "listNames": receipt.entries.map(\.listName).joined(separator: ", "),
            "lists": receipt.entries.map { entry -> [String: Any] in
                [
                    "name": entry.listName, "termsVersion": entry.termsVersion,
                    "termsURL": baseURL + "/terms/\(entry.listSlug)/\(entry.termsVersion)",
                    "unsubscribeURL": unsubscribeURL(entry.subscriptionId),
                ]
            },
        ]
        if let name, !name.isEmpty { view["firstName"] = NewsletterMail.firstName(of: name) }
        return view
    }
}
