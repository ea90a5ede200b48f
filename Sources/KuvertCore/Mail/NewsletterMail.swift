import Foundation
import Ink

/// A newsletter as one subscriber receives it: the campaign's body in the
/// list's newsletter template, greeted by name, with an unsubscribe link.
public enum NewsletterMail {
    /// The templates this mail needs, in each language.
    public static let templateNames: [String] = Language.allCases.flatMap { language in
        ["text", "html"].map { "mail.\(language.rawValue).newsletter.\($0)" }
    }

    /// The HTML and plain text of a campaign's Markdown body, made once when the
    /// campaign is created. The plain text is the Markdown itself, which reads
    /// well, with links and images written out.
    public static func bodies(markdown: String) -> (html: String, text: String) {
        let html = MarkdownParser().html(from: markdown)
        var text = markdown
        text = text.replacingOccurrences(of: #"!\[([^\]]*)\]\(([^)\s]+)[^)]*\)"#, with: "$1", options: .regularExpression)
        text = text.replacingOccurrences(of: #"\[([^\]]+)\]\(([^)\s]+)[^)]*\)"#, with: "$1 ($2)", options: .regularExpression)
        return (html, text)
    }

    /// Renders a campaign for one recipient.
    /// - Parameters:
    ///   - name: the subscriber's name, if known; the greeting falls back to none.
    ///   - unsubscribeURL: the recipient's one-click link.
    ///   - isTest: marks the copy as a test in subject and body.
    public static func render(
        _ campaign: Campaign, list: MailingList, language: Language, name: String?, unsubscribeURL: String,
        isTest: Bool, renderer: TemplateRenderer
    ) throws -> (subject: String, text: String, html: String) {
        // A dictionary, not a struct: Mustache reads a struct's fields through
        // reflection, which was most of the cost of a newsletter.
        var view: [String: Any] = [
            "listName": list.name, "subject": campaign.subject, "bodyHTML": campaign.bodyHTML,
            "bodyText": campaign.bodyText, "unsubscribeURL": unsubscribeURL, "isTest": isTest,
        ]
        if let name, !name.isEmpty { view["name"] = name }
        let text = try renderer.render(view, template: "mail.\(language.rawValue).newsletter.text")
        let html = try renderer.render(view, template: "mail.\(language.rawValue).newsletter.html")
        return ((isTest ? "[TEST] " : "") + campaign.subject, text, html)
    }
}
