import Foundation
import Synchronization

/// A message's content, rendered from its templates.
public struct RenderedMail: Sendable, Equatable {
    public var to: String
    public var subject: String
    public var text: String
    public var html: String
}

/// The mail that asks a person to confirm a subscription. It names the list and
/// what confirming means, and echoes nothing the form's sender typed.
public enum ConfirmationMail {
    /// Why a confirmation row of a request for several lists is not sent: the
    /// first list's mail names them all.
    public static let sharedReason = "in one mail with the request's other lists"

    /// The query both stores read the other lists of confirmation links with,
    /// for the subscriptions in `ids` (a list of parameters): each one's
    /// pending siblings sharing its nonce, by list.
    package static func siblingsQuery(ids: String) -> String {
        """
        SELECT lead.id, l.name FROM subscription lead
        JOIN subscription s ON s.subscriberId = lead.subscriberId AND s.confirmNonce = lead.confirmNonce
            AND s.id != lead.id AND s.status = 'pending'
        JOIN mailingList l ON l.id = s.listId
        WHERE lead.id IN (\(ids)) ORDER BY lead.id, s.listId
        """
    }

    /// The query both stores ask, for a request naming several lists, whether
    /// one list's subscription (address key `$1`, slug `$2`, both given as
    /// `key` and `slug`) is pending since `$3` (`since`) with a confirmation
    /// link on its way: its own mail, or the mail of a list asked for with it.
    package static func groupUnderwayQuery(key: String, slug: String, since: String) -> String {
        """
        SELECT EXISTS (
            SELECT 1 FROM subscriber p
            JOIN subscription s ON s.subscriberId = p.id
            JOIN mailingList l ON l.id = s.listId
            JOIN subscription g ON g.subscriberId = s.subscriberId AND g.confirmNonce = s.confirmNonce
            JOIN outboxMessage m ON m.subscriptionId = g.id AND m.kind = 'confirmation'
                AND (m.status = 'queued' OR m.status = 'leased' OR m.status = 'sent')
            WHERE p.addressKey = \(key) AND l.slug = \(slug) AND s.status = 'pending' AND s.requestedAt > \(since))
        """
    }

    /// The templates this mail needs, in each language.
    public static let templateNames: [String] = Language.allCases.flatMap { language in
        ["subject", "text", "html"].map { "mail.\(language.rawValue).confirmation.\($0)" }
    }

    /// Renders the mail for a pending subscription.
    /// - Parameters:
    ///   - token: the confirmation token, from `ConfirmationService.token(for:)`.
    ///   - baseURL: the public address links start with.
    public static func render(
        _ subscription: Subscription,
        list: MailingList,
        to address: String,
        token: String,
        baseURL: String,
        confirmTTL: TimeInterval,
        renderer: TemplateRenderer,
        time: HumanTime = .stockholm,
        otherLists: [String] = []
    ) throws -> RenderedMail {
        let (subject, text, html) = try render(
            list: list,
            otherLists: otherLists,
            language: subscription.language,
            renderer: renderer,
            confirmURL: baseURL + "/confirm/" + token,
            expiresAt: time.text(subscription.requestedAt.addingTimeInterval(confirmTTL), language: subscription.language)
        )
        return RenderedMail(to: address, subject: subject, text: text, html: html)
    }

    private static func render(
        list: MailingList,
        otherLists: [String],
        language: Language,
        renderer: TemplateRenderer,
        confirmURL: String,
        expiresAt: String
    ) throws -> (subject: String, text: String, html: String) {
        // A dictionary, not a struct: Mustache reads a struct's fields through reflection.
        let view: [String: Any] = [
            "listName": list.name, "confirmURL": confirmURL, "expiresAt": expiresAt, "several": !otherLists.isEmpty,
            "listNames": Wording.series([list.name] + otherLists, language),
        ]
        let name = "mail.\(language.rawValue).confirmation"
        return (
            try renderer.render(view, template: name + ".subject").trimmingCharacters(in: .whitespacesAndNewlines),
            try renderer.render(view, template: name + ".text"),
            try renderer.render(view, template: name + ".html")
        )
    }

    /// Confirmation mails rendered once per list (and its name) and language,
    /// with the link and its expiry left as slots filled in per message, as
    /// `NewsletterMail.Cache` does for newsletters: every new subscription sends
    /// one, and rendering Mustache for each was most of its cost. Decoded, the
    /// bodies are what `render` gives (tested).
    public final class Cache: Sendable {
        private struct Key: Hashable {
            var listId: Int64?, listName: String, language: Language, otherLists: [String]
        }

        private struct Entry: Sendable {
            var subject: String, subjectHasSlots: Bool, text: SlottedBody, html: SlottedBody
        }

        private let renderer: TemplateRenderer
        private let time: HumanTime
        private let entries = Mutex<[Key: Entry]>([:])
        private let slots = SlotMarkers(count: 2)

        public init(renderer: TemplateRenderer, time: HumanTime = .stockholm) {
            self.renderer = renderer
            self.time = time
        }

        /// As `render`, with the bodies in quoted-printable (CRLF line breaks).
        public func encoded(
            _ subscription: Subscription,
            list: MailingList,
            token: String,
            baseURL: String,
            confirmTTL: TimeInterval,
            otherLists: [String] = []
        ) throws -> (subject: String, text: [UInt8], html: [UInt8]) {
            let key = Key(listId: list.id, listName: list.name, language: subscription.language, otherLists: otherLists)
            let entry: Entry
            if let cached = entries.withLock({ $0[key] }) {
                entry = cached
            } else {
                let mail = try ConfirmationMail.render(
                    list: list,
                    otherLists: otherLists,
                    language: subscription.language,
                    renderer: renderer,
                    confirmURL: slots.markers[0],
                    expiresAt: slots.markers[1]
                )
                entry = Entry(
                    subject: mail.subject,
                    subjectHasSlots: slots.markers.contains { mail.subject.contains($0) },
                    text: SlottedBody(mail.text, slots: slots.markers),
                    html: SlottedBody(mail.html, slots: slots.markers)
                )
                entries.withLock { entries in
                    if entries.count >= 64 { entries.removeAll() }
                    entries[key] = entry
                }
            }
            let values = [
                baseURL + "/confirm/" + token,
                time.text(subscription.requestedAt.addingTimeInterval(confirmTTL), language: subscription.language),
            ]
            var subject = entry.subject
            if entry.subjectHasSlots {
                for (marker, value) in zip(slots.markers, values) {
                    subject = subject.replacingOccurrences(of: marker, with: value)
                }
            }
            return (subject, entry.text.filled(values), entry.html.filled(values.map(HTML.escape)))
        }
    }
}
