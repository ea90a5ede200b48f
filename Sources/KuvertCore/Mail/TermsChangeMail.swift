import Foundation

/// What a notice, a re-consent request and its reminder say: the list, the
/// old and the new version with links to exactly those texts, the editor's
/// summary, and the manage and unsubscribe links; a re-consent adds its link
/// and deadline.
public enum TermsChangeMail {
    /// The mails, in each language: `notice` for a notice, `reconsent` for a
    /// request and its reminder (which the template words as one).
    public static let templateNames = Language.allCases.flatMap { language in
        ["notice", "reconsent"].flatMap { mail in ["subject", "text", "html"].map { "mail.\(language.rawValue).\(mail).\($0)" } }
    }

    /// The template view; the summary's HTML is escaped Markdown.
    static func view(
        _ change: TermsChange,
        list: MailingList,
        language: Language,
        name: String?,
        baseURL: String,
        manageURL: String,
        unsubscribeURL: String,
        reconsentURL: String?,
        deadline: String?,
        reminder: Bool
    ) -> [String: Any] {
        let terms = { (version: Int) in "\(baseURL)/terms/\(list.slug)/\(version)?locale=\(language.rawValue)" }
        var view: [String: Any] = [
            "listName": list.name,
            "version": change.version,
            "previousVersion": change.previousVersion,
            "newTermsURL": terms(change.version),
            "oldTermsURL": terms(change.previousVersion),
            "manageURL": manageURL,
            "unsubscribeURL": unsubscribeURL,
            "reminder": reminder,
        ]
        if let name, !name.isEmpty { view["firstName"] = NewsletterMail.firstName(of: name) }
        if let summary = change.summary?.trimmingCharacters(in: .whitespacesAndNewlines), !summary.isEmpty {
            let rendered = Markdown.render(summary)
            view["summaryHTML"] = rendered.html
            view["summaryText"] = rendered.text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        if let reconsentURL { view["reconsentURL"] = reconsentURL }
        if let deadline { view["deadline"] = deadline }
        return view
    }
}
