import Foundation

extension Campaign {
    /// A draft campaign from a subject and a Markdown body, the HTML and text
    /// bodies rendered once; `listId` is set by the store from the list's slug.
    /// The command line and the API create campaigns through this one check.
    /// - Throws: `KuvertError.invalidField` for a subject that is empty, too
    ///   long or not one line, or an empty body.
    public static func draft(subject: String, markdown: String, now: Date) throws -> Campaign {
        let subject = try validSubject(subject)
        guard !markdown.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw KuvertError.invalidField(name: "markdown", reason: "is empty: write the issue's body in Markdown")
        }
        let body = CampaignBody(markdown: markdown)
        return Campaign(
            listId: 0,
            subject: subject,
            bodyMarkdown: body.markdown,
            bodyHTML: body.html,
            bodyText: body.text,
            status: .draft,
            createdAt: now
        )
    }

    /// The subject without surrounding spaces.
    /// - Throws: `KuvertError.invalidField` unless it is 1 to
    ///   `maximumSubjectLength` characters on one line (it becomes a mail header).
    public static func validSubject(_ raw: String) throws -> String {
        let subject = raw.trimmingCharacters(in: .whitespaces)
        guard !subject.isEmpty, subject.count <= maximumSubjectLength,
            !subject.unicodeScalars.contains(where: \.breaksOneLineText)
        else {
            throw KuvertError.invalidField(
                name: "subject",
                reason: "must be 1 to \(maximumSubjectLength) characters on one line, without control characters"
            )
        }
        return subject
    }
}

/// A campaign's body in its three forms, made together from the Markdown.
public struct CampaignBody: Sendable {
    public var markdown: String
    public var html: String
    public var text: String

    public init(markdown: String) {
        self.markdown = markdown
        (html, text) = NewsletterMail.bodies(markdown: markdown)
    }
}

extension Campaign {
    /// Refuses a change to a campaign that is no draft.
    public func requireDraft(doing what: String) throws {
        guard status == .draft else {
            throw KuvertError.campaignState(
                "Campaign \(id ?? 0) was queued (\(status.rawValue)); only a draft can be \(what). Create a new one instead."
            )
        }
    }
}
