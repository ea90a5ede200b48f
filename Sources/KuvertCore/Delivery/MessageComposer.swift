import Foundation

/// A message ready for SMTP: the envelope and the bytes.
public struct ComposedMessage: Sendable {
    public var envelopeFrom: String
    public var envelopeTo: String
    public var bytes: [UInt8]
}

/// Renders outbox rows into messages at send time, so a message reflects the
/// subscription as it is when it leaves, not as it was when queued.
public struct MessageComposer: Sendable {
    private let renderer: TemplateRenderer
    private let confirmation: ConfirmationService
    private let baseURL: String
    private let sender: Mailbox
    private let confirmTTL: TimeInterval

    /// - Throws: `KuvertError.configuration` when `KUVERT_FROM` is not a mailbox.
    public init(configuration: Configuration, renderer: TemplateRenderer, confirmation: ConfirmationService) throws {
        do {
            sender = try Mailbox(parsing: configuration.from)
        } catch {
            throw KuvertError.configuration("KUVERT_FROM must look like 'Name <news@example.se>': \(error)")
        }
        self.renderer = renderer
        self.confirmation = confirmation
        self.baseURL = configuration.baseURL
        self.confirmTTL = configuration.confirmTTL
    }

    /// The message for an outbox row, or why it no longer applies.
    /// - Throws: template or header errors, which make the message fail.
    public func compose(_ delivery: OutboxDelivery, now: Date) throws -> Result<ComposedMessage, SkipReason> {
        switch delivery.message.kind {
        case .confirmation:
            let subscription = delivery.context.subscription
            guard subscription.status == .pending else { return .failure(SkipReason("subscription is \(subscription.status.rawValue)")) }
            guard now.timeIntervalSince(subscription.requestedAt) < confirmTTL else {
                return .failure(SkipReason("confirmation window passed"))
            }
            let mail = try ConfirmationMail.render(
                delivery, token: confirmation.token(for: subscription), baseURL: baseURL, confirmTTL: confirmTTL,
                renderer: renderer)
            let from = try delivery.context.list.fromAddress.map { try Mailbox(parsing: $0) } ?? sender
            let message = MailMessage(
                from: from, to: Mailbox(name: nil, address: mail.to), subject: mail.subject, text: mail.text,
                html: mail.html, headers: [(name: "Auto-Submitted", value: "auto-generated")], date: now)
            return .success(ComposedMessage(envelopeFrom: from.address, envelopeTo: mail.to, bytes: try message.rendered()))
        }
    }

    /// Why a message was not sent.
    public struct SkipReason: Error, Sendable, Equatable {
        public var description: String
        init(_ description: String) { self.description = description }
    }
}
