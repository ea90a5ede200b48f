import Foundation

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
    /// The templates this mail needs, in each language.
    public static let templateNames: [String] = Language.allCases.flatMap { language in
        ["subject", "text", "html"].map { "mail.\(language.rawValue).confirmation.\($0)" }
    }

    /// Renders the mail for a pending subscription.
    /// - Parameters:
    ///   - token: the confirmation token, from `ConfirmationService.token(for:)`.
    ///   - baseURL: the public address links start with.
    public static func render(
        _ subscription: Subscription, list: MailingList, to address: String, token: String, baseURL: String,
        confirmTTL: TimeInterval, renderer: TemplateRenderer
    ) throws -> RenderedMail {
        let language = subscription.language.rawValue
        let expiry = subscription.requestedAt.addingTimeInterval(confirmTTL)
        let view = View(
            listName: list.name, confirmURL: baseURL + "/confirm/" + token,
            expiresAt: expiry.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: false)) + " UTC")
        let subject = try renderer.render(view, template: "mail.\(language).confirmation.subject")
        let text = try renderer.render(view, template: "mail.\(language).confirmation.text")
        let html = try renderer.render(view, template: "mail.\(language).confirmation.html")
        return RenderedMail(
            to: address, subject: subject.trimmingCharacters(in: .whitespacesAndNewlines), text: text,
            html: html)
    }

    struct View {
        var listName: String
        var confirmURL: String
        var expiresAt: String
    }
}
