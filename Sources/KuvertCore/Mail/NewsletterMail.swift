import Foundation
import Synchronization

/// A newsletter as one subscriber receives it: the campaign's body in the
/// list's newsletter template, greeted by name, with an unsubscribe link and
/// a link to the person's manage page.
public enum NewsletterMail {
    /// The templates this mail needs, in each language.
    public static let templateNames: [String] = Language.allCases.flatMap { language in
        ["text", "html"].map { "mail.\(language.rawValue).newsletter.\($0)" }
    }

    /// The HTML and plain text of a campaign's Markdown body, made once when the
    /// campaign is created (`Markdown.render`: links written out in the text).
    /// Images, code blocks and tables get inline styles that keep them within a
    /// phone's width: mail programs drop or ignore a stylesheet more often than
    /// a `style` attribute.
    public static func bodies(markdown: String) -> (html: String, text: String) {
        let (html, text) = Markdown.render(markdown)
        return (fittedToPhones(html), text)
    }

    /// cmark's own tags, given widths that fit (raw HTML never reaches its
    /// output, so every `<img ` in it is cmark's).
    static func fittedToPhones(_ html: String) -> String {
        html.replacingOccurrences(of: "<img ", with: "<img style=\"max-width:100%;height:auto;\" ")
            .replacingOccurrences(of: "<pre>", with: "<pre style=\"white-space:pre-wrap;overflow-wrap:anywhere;\">")
            .replacingOccurrences(
                of: "<table>",
                with:
                    "<table style=\"display:block;max-width:100%;overflow-x:auto;border-collapse:collapse;overflow-wrap:normal;word-break:normal;\">"
            )
    }

    /// Renders a campaign for one recipient.
    /// - Parameters:
    ///   - name: the subscriber's name, if known; the greeting falls back to none.
    ///   - unsubscribeURL: the recipient's one-click link.
    ///   - manageURL: the recipient's manage page.
    ///   - isTest: marks the copy as a test in subject and body.
    public static func render(
        _ campaign: Campaign,
        list: MailingList,
        language: Language,
        name: String?,
        firstName: String? = nil,
        unsubscribeURL: String,
        manageURL: String,
        isTest: Bool,
        renderer: TemplateRenderer
    ) throws -> (subject: String, text: String, html: String) {
        // A dictionary, not a struct: Mustache reads a struct's fields through
        // reflection, which was most of the cost of a newsletter.
        var view: [String: Any] = [
            "listName": list.name, "subject": campaign.subject, "bodyHTML": campaign.bodyHTML,
            "bodyText": campaign.bodyText, "unsubscribeURL": unsubscribeURL, "manageURL": manageURL, "isTest": isTest,
        ]
        // The template chooses how to greet: by `firstName`, by the whole
        // `name`, or not at all. Neither is set for a person without a name.
        if let name, !name.isEmpty {
            view["name"] = name
            view["firstName"] = firstName ?? Self.firstName(of: name)
        }
        let text = try renderer.render(view, template: "mail.\(language.rawValue).newsletter.text")
        let html = try renderer.render(view, template: "mail.\(language.rawValue).newsletter.html")
        return ((isTest ? "[TEST] " : "") + campaign.subject, text, html)
    }

    /// The first of a name's words ("Björn" of "Björn Ängström", "Anna-Karin" of
    /// "Anna-Karin Ek"), for a greeting.
    public static func firstName(of name: String) -> String {
        name.split(whereSeparator: \.isWhitespace).first.map(String.init) ?? name
    }

    /// Newsletter templates rendered and encoded once per campaign, language and
    /// shape (named or not, test or not), with the recipient's name, unsubscribe
    /// and manage links left as slots filled in per message. A campaign's every
    /// message differs only there, and rendering Mustache for each of them was
    /// most of a newsletter's cost. The bodies come in quoted-printable, ready
    /// for the message: the fixed parts are encoded once, and each slot's value
    /// is encoded alone between soft line breaks, which a reader's decoder
    /// removes, so that the fixed parts' encoding never depends on a value's
    /// length. Decoded, the bodies are what `render` gives (tested).
    public final class Cache: Sendable {
        private struct Key: Hashable {
            var campaignId: Int64?, subject: String, listName: String, language: Language, named: Bool, isTest: Bool
        }

        private let renderer: TemplateRenderer
        private let entries = Mutex<[Key: (text: SlottedBody, html: SlottedBody)]>([:])
        private let slots = SlotMarkers(count: 4)
        private var nameSlot: String { slots.markers[0] }
        private var linkSlot: String { slots.markers[1] }
        private var firstNameSlot: String { slots.markers[2] }
        private var manageSlot: String { slots.markers[3] }

        public init(renderer: TemplateRenderer) {
            self.renderer = renderer
        }

        /// As `NewsletterMail.render`, with the bodies in quoted-printable (CRLF line breaks).
        public func encoded(
            _ campaign: Campaign,
            list: MailingList,
            language: Language,
            name: String?,
            unsubscribeURL: String,
            manageURL: String,
            isTest: Bool
        ) throws -> (subject: String, text: [UInt8], html: [UInt8]) {
            let name = name.flatMap { $0.isEmpty ? nil : $0 }
            let key = Key(
                campaignId: campaign.id,
                subject: campaign.subject,
                listName: list.name,
                language: language,
                named: name != nil,
                isTest: isTest
            )
            let prepared: (text: SlottedBody, html: SlottedBody)
            if let cached = entries.withLock({ $0[key] }) {
                prepared = cached
            } else {
                let mail = try NewsletterMail.render(
                    campaign,
                    list: list,
                    language: language,
                    name: name == nil ? nil : nameSlot,
                    firstName: name == nil ? nil : firstNameSlot,
                    unsubscribeURL: linkSlot,
                    manageURL: manageSlot,
                    isTest: isTest,
                    renderer: renderer
                )
                prepared = (SlottedBody(mail.text, slots: slots.markers), SlottedBody(mail.html, slots: slots.markers))
                entries.withLock { entries in
                    if entries.count >= 64 { entries.removeAll() }
                    entries[key] = prepared
                }
            }
            let values = [name ?? "", unsubscribeURL, name.map(NewsletterMail.firstName(of:)) ?? "", manageURL]
            return (
                (isTest ? "[TEST] " : "") + campaign.subject,
                prepared.text.filled(values),
                prepared.html.filled(values.map(HTML.escape))
            )
        }
    }
}
