import Foundation
import Ink
import Synchronization

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

    /// Newsletter templates rendered and encoded once per campaign, language and
    /// shape (named or not, test or not), with the recipient's name and
    /// unsubscribe link left as slots filled in per message. A campaign's every
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
        private let entries = Mutex<[Key: (text: Prepared, html: Prepared)]>([:])
        /// Slot markers: private-use characters around a per-process random
        /// number, so no campaign text can contain one by accident.
        private let nameSlot: String, linkSlot: String

        public init(renderer: TemplateRenderer) {
            self.renderer = renderer
            let nonce = UInt64.random(in: .min ... .max)
            nameSlot = "\u{F8F0}\(nonce)\u{F8F1}"
            linkSlot = "\u{F8F2}\(nonce)\u{F8F3}"
        }

        /// As `NewsletterMail.render`, with the bodies in quoted-printable (CRLF line breaks).
        public func encoded(
            _ campaign: Campaign, list: MailingList, language: Language, name: String?, unsubscribeURL: String,
            isTest: Bool
        ) throws -> (subject: String, text: [UInt8], html: [UInt8]) {
            let name = name.flatMap { $0.isEmpty ? nil : $0 }
            let key = Key(
                campaignId: campaign.id, subject: campaign.subject, listName: list.name, language: language,
                named: name != nil, isTest: isTest)
            let prepared: (text: Prepared, html: Prepared)
            if let cached = entries.withLock({ $0[key] }) {
                prepared = cached
            } else {
                let mail = try NewsletterMail.render(
                    campaign, list: list, language: language, name: name == nil ? nil : nameSlot,
                    unsubscribeURL: linkSlot, isTest: isTest, renderer: renderer)
                prepared = (Prepared(mail.text, slots: [nameSlot, linkSlot]), Prepared(mail.html, slots: [nameSlot, linkSlot]))
                entries.withLock { entries in
                    if entries.count >= 64 { entries.removeAll() }
                    entries[key] = prepared
                }
            }
            let values = [name ?? "", unsubscribeURL]
            return (
                (isTest ? "[TEST] " : "") + campaign.subject,
                prepared.text.filled(values),
                prepared.html.filled(values.map(HTML.escape)))
        }
    }

    /// Rendered text split at its slots, its fixed parts in quoted-printable.
    struct Prepared: Sendable {
        enum Piece: Sendable { case encoded([UInt8]), slot(Int) }
        let pieces: [Piece]

        init(_ rendered: String, slots: [String]) {
            var parts: [Piece] = []
            var texts: [(String, slot: Int?)] = [(rendered, nil)]
            for (number, slot) in slots.enumerated() {
                texts = texts.flatMap { text, after -> [(String, slot: Int?)] in
                    let split = text.components(separatedBy: slot)
                    return split.enumerated().map { index, part in (part, index == 0 ? after : number) }
                }
            }
            for (text, slot) in texts {
                if let slot { parts.append(.slot(slot)) }
                var writer = MIMEWriter()
                writer.quotedPrintable(text, terminated: false)
                parts.append(.encoded(writer.bytes))
            }
            pieces = parts
        }

        /// The body with each slot's value encoded between soft line breaks, and a final line break.
        func filled(_ values: [String]) -> [UInt8] {
            var out = MIMEWriter()
            for piece in pieces {
                switch piece {
                case .encoded(let bytes): out.append(bytes)
                case .slot(let number):
                    out.append(Self.softBreak)
                    out.quotedPrintable(values[number], terminated: false)
                    out.append(Self.softBreak)
                }
            }
            out.append([0x0D, 0x0A])
            return out.bytes
        }

        private static let softBreak: [UInt8] = [UInt8(ascii: "="), 0x0D, 0x0A]
    }
}
