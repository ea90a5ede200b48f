import Foundation

struct PrivacyMailView {
    var privacyURL: String
}

/// A message ready for SMTP: the envelope and the bytes.
public struct ComposedMessage: Sendable {
    public var envelopeFrom: String
    public var envelopeTo: String
    public var bytes: [UInt8]
}

/// Renders outbox rows into messages at send time, so a message reflects the
/// subscription and campaign as they are when it leaves, not when queued.
public struct MessageComposer: Sendable {
    /// What to do with a leased row.
    public enum Decision: Sendable {
        case send(ComposedMessage)
        /// It no longer applies (the reason is recorded).
        case skip(String)
        /// Not now: its campaign is paused. The lease is returned.
        case hold
    }

    /// The reason recorded for a message not sent because its person
    /// restricted processing.
    public static let restricted = "restricted"

    /// Every mail template the composer renders, in each language.
    public static let templateNames =
        ConfirmationMail.templateNames + NewsletterMail.templateNames + WelcomeMail.templateNames + TermsChangeMail.templateNames
        + Language.allCases.flatMap { language in
            ["privacy", "address", "address-notice"].flatMap { mail in
                ["subject", "text", "html"].map { "mail.\(language.rawValue).\(mail).\($0)" }
            }
        }

    private let renderer: TemplateRenderer
    private let newsletters: NewsletterMail.Cache
    private let confirmations: ConfirmationMail.Cache
    private let signer: TokenSigner
    private let baseURL: String
    private let sender: Mailbox
    private let confirmTTL: TimeInterval
    private let listIdDomain: String
    private let unsubscribeMailto: String?
    private let dkim: DKIMSigner?
    private let bounces: BounceAddresses?
    private let tags: MessageTags?
    private let echoes: [BounceWebhookProvider]
    private let time: HumanTime

    /// - Parameters:
    ///   - confirmTTL: how long a confirmation link lives, which its mail says.
    ///   - dkim: signs each message with the keys of its From domain; nil to leave signing to the relay.
    ///   - bounces: each message's own signed envelope sender; nil to send with the From address.
    ///   - tags: what names each message in its Message-ID, for the sending
    ///     services' webhooks (`BounceWebhooks`); nil for a random Message-ID.
    ///   - echoes: the services whose webhooks are taken: each message carries
    ///     the header each echoes (`BounceWebhookProvider.echoHeader`).
    /// - Throws: `KuvertError.configuration` when `KUVERT_FROM` is not a mailbox.
    public init(
        mail: MailSettings,
        confirmTTL: TimeInterval,
        renderer: TemplateRenderer,
        signer: TokenSigner,
        dkim: DKIMSigner? = nil,
        bounces: BounceAddresses? = nil,
        tags: MessageTags? = nil,
        echoes: [BounceWebhookProvider] = []
    ) throws {
        self.dkim = dkim
        self.bounces = bounces
        self.tags = tags
        self.echoes = echoes.sorted { $0.rawValue < $1.rawValue }
        sender = try mail.sender()
        self.renderer = renderer
        self.newsletters = NewsletterMail.Cache(renderer: renderer)
        self.confirmations = ConfirmationMail.Cache(renderer: renderer, time: mail.humanTime)
        self.signer = signer
        self.baseURL = mail.baseURL
        self.confirmTTL = confirmTTL
        self.listIdDomain = URL(string: mail.baseURL)?.host ?? "localhost"
        self.unsubscribeMailto = mail.unsubscribeMailto
        self.time = mail.humanTime
    }

    /// The message for an outbox row, or why it is not sent now.
    /// - Throws: template or header errors, which make the message fail.
    public func compose(_ delivery: OutboxDelivery, now: Date) throws -> Decision {
        // A restricted person gets only what they ask for themselves: a privacy link, a new address's link.
        if delivery.restricted, ![.privacy, .address, .addressNotice].contains(delivery.message.kind) { return .skip(Self.restricted) }
        return switch delivery.message.kind {
        case .confirmation: try confirmation(delivery, now: now)
        case .newsletter, .test: try newsletter(delivery, now: now)
        case .privacy: try privacy(delivery, now: now)
        case .welcome: try welcome(delivery, now: now)
        case .address: try address(delivery, now: now)
        case .addressNotice: try addressNotice(delivery, now: now)
        case .notice, .reconsent, .reconsentReminder: try termsChange(delivery, now: now)
        }
    }

    /// A notice of new terms, or a request to accept them (and its reminder):
    /// list mail, with the list's headers and one-click unsubscribe.
    private func termsChange(_ delivery: OutboxDelivery, now: Date) throws -> Decision {
        guard let subscription = delivery.subscription, subscription.status == .active else {
            return .skip("subscription is \(delivery.subscription?.status.rawValue ?? "gone")")
        }
        guard let change = delivery.termsChange else { return .skip("terms change is gone") }
        let asking = delivery.message.kind != .notice
        if asking {
            guard change.closedAt == nil, let deadline = change.deadline, now < deadline else { return .skip("re-consent closed") }
            guard !delivery.reconsentAccepted else { return .skip("accepted already") }
        }
        let language = subscription.language
        let token = UnsubscribeLink.token(for: subscription, signer: signer)
        let unsubscribeURL = baseURL + "/unsubscribe/" + token
        let unsubscribeHeader = "<\(unsubscribeURL)>" + (unsubscribeMailto.map { ", <mailto:\($0)?subject=unsubscribe%20\(token)>" } ?? "")
        let view = TermsChangeMail.view(
            change,
            list: delivery.list,
            language: language,
            name: subscription.name,
            baseURL: baseURL,
            manageURL: baseURL + "/manage/" + ManageLink.token(forSubscriber: subscription.subscriberId, signer: signer),
            unsubscribeURL: unsubscribeURL,
            reconsentURL: asking
                ? subscription.id.map { baseURL + "/reconsent/" + ReconsentService.token(subscriptionId: $0, change: change, signer: signer) } : nil,
            deadline: asking ? change.deadline.map { time.text($0, language: language) } : nil,
            reminder: delivery.message.kind == .reconsentReminder
        )
        let mail = asking ? "reconsent" : "notice"
        let listId = "\(MIMEWriter.listIdPhrase(delivery.list.name)) <\(delivery.list.slug).\(listIdDomain)>"
        return try compose(
            delivery,
            mail: mail,
            view: view,
            language: language,
            headers: [
                (name: "List-Id", value: listId),
                (name: "List-Unsubscribe", value: unsubscribeHeader),
                (name: "List-Unsubscribe-Post", value: "List-Unsubscribe=One-Click"),
                (name: "Precedence", value: "bulk"),
            ],
            now: now
        )
    }

    private func privacy(_ delivery: OutboxDelivery, now: Date) throws -> Decision {
        guard let subscription = delivery.subscription else { return .skip("subscriber is gone") }
        guard now.timeIntervalSince(delivery.message.createdAt) < PrivacyLink.lifetime else {
            return .skip("the link would have expired")
        }
        let token = PrivacyLink.token(forSubscriber: subscription.subscriberId, signer: signer, now: now)
        let view = PrivacyMailView(privacyURL: baseURL + "/privacy/" + token)
        let language = subscription.language
        return try compose(
            delivery,
            mail: "privacy",
            view: view,
            language: language,
            headers: [(name: "Auto-Submitted", value: "auto-generated")],
            now: now
        )
    }

    /// The link that confirms a new address, to that address; or, when the
    /// address belongs to someone else, word that nothing will change.
    private func address(_ delivery: OutboxDelivery, now: Date) throws -> Decision {
        guard let subscription = delivery.subscription, let change = delivery.addressChange else {
            return .skip("no longer waiting: replaced, applied or gone")
        }
        guard now.timeIntervalSince(change.requestedAt) < confirmTTL else { return .skip("the link would have expired") }
        let language = subscription.language
        var view: [String: Any] = [
            "taken": change.taken,
            "expiresAt": time.text(change.requestedAt.addingTimeInterval(confirmTTL), language: language),
        ]
        if !change.taken {
            view["addressURL"] = baseURL + "/address/" + AddressLink.token(for: change, signer: signer, lifetime: confirmTTL)
        }
        return try compose(
            delivery,
            mail: "address",
            view: view,
            language: language,
            headers: [(name: "Auto-Submitted", value: "auto-generated")],
            now: now
        )
    }

    /// A short word to the old address that the subscriptions moved.
    private func addressNotice(_ delivery: OutboxDelivery, now: Date) throws -> Decision {
        guard let subscription = delivery.subscription, !delivery.address.isEmpty else { return .skip("the old address is gone") }
        let language = subscription.language
        let view: [String: Any] = [
            "when": time.text(delivery.message.createdAt, language: language), "privacyURL": baseURL + "/privacy",
        ]
        return try compose(
            delivery,
            mail: "address-notice",
            view: view,
            language: language,
            headers: [(name: "Auto-Submitted", value: "auto-generated")],
            now: now
        )
    }

    private func welcome(_ delivery: OutboxDelivery, now: Date) throws -> Decision {
        guard let subscription = delivery.subscription, subscription.status == .active else {
            return .skip("subscription is \(delivery.subscription?.status.rawValue ?? "gone")")
        }
        guard let receipt = delivery.receipt, !receipt.entries.isEmpty else { return .skip("nothing joined any more") }
        let language = subscription.language
        let unsubscribe = { (id: Int64) in self.baseURL + "/unsubscribe/" + UnsubscribeLink.token(forSubscription: id, signer: self.signer) }
        let view = WelcomeMail.view(
            receipt,
            baseURL: baseURL,
            when: time.text(receipt.confirmedAt, language: language),
            name: subscription.name,
            manageURL: baseURL + "/manage/" + ManageLink.token(forSubscriber: subscription.subscriberId, signer: signer),
            unsubscribeURL: unsubscribe
        )
        let lead = unsubscribe(subscription.id ?? 0)
        return try compose(
            delivery,
            mail: "welcome",
            view: view,
            language: language,
            headers: [
                (name: "Auto-Submitted", value: "auto-generated"),
                (name: "List-Unsubscribe", value: "<\(lead)>"),
                (name: "List-Unsubscribe-Post", value: "List-Unsubscribe=One-Click"),
            ],
            now: now
        )
    }

    private func confirmation(_ delivery: OutboxDelivery, now: Date) throws -> Decision {
        guard let subscription = delivery.subscription else { return .skip("subscription is gone") }
        guard subscription.status == .pending else { return .skip("subscription is \(subscription.status.rawValue)") }
        guard now.timeIntervalSince(subscription.requestedAt) < confirmTTL else {
            return .skip("confirmation window passed")
        }
        let token = ConfirmationService.token(for: subscription, signer: signer, confirmTTL: confirmTTL)
        let mail = try confirmations.encoded(
            subscription,
            list: delivery.list,
            token: token,
            baseURL: baseURL,
            confirmTTL: confirmTTL,
            otherLists: delivery.otherLists
        )
        return try compose(
            delivery,
            subject: mail.subject,
            text: "",
            html: "",
            encodedBodies: (mail.text, mail.html),
            headers: [(name: "Auto-Submitted", value: "auto-generated")],
            now: now
        )
    }

    private func newsletter(_ delivery: OutboxDelivery, now: Date) throws -> Decision {
        guard let campaign = delivery.campaign else { return .skip("campaign is gone") }
        let isTest = delivery.message.kind == .test
        if !isTest {
            switch campaign.status {
            case .paused: return .hold
            case .cancelled, .draft: return .skip("campaign \(campaign.status.rawValue)")
            case .sending: break
            }
        }
        let subscription = delivery.subscription
        if !isTest, subscription?.status != .active {
            return .skip("subscription is \(subscription?.status.rawValue ?? "gone")")
        }
        let token = subscription.map { UnsubscribeLink.token(for: $0, signer: signer) } ?? "test"
        let unsubscribeURL = baseURL + "/unsubscribe/" + token
        // The mailto names the token in its subject, so whoever reads that mailbox knows whom to remove.
        let unsubscribeHeader = "<\(unsubscribeURL)>" + (unsubscribeMailto.map { ", <mailto:\($0)?subject=unsubscribe%20\(token)>" } ?? "")
        let mail = try newsletters.encoded(
            campaign,
            list: delivery.list,
            language: subscription?.language ?? delivery.list.language,
            name: subscription?.name,
            unsubscribeURL: unsubscribeURL,
            manageURL: baseURL + "/manage/" + (subscription.map { ManageLink.token(forSubscriber: $0.subscriberId, signer: signer) } ?? "test"),
            isTest: isTest
        )
        let listId = "\(MIMEWriter.listIdPhrase(delivery.list.name)) <\(delivery.list.slug).\(listIdDomain)>"
        return try compose(
            delivery,
            subject: mail.subject,
            text: "",
            html: "",
            encodedBodies: (mail.text, mail.html),
            headers: [
                (name: "List-Id", value: listId),
                (name: "List-Unsubscribe", value: unsubscribeHeader),
                (name: "List-Unsubscribe-Post", value: "List-Unsubscribe=One-Click"),
                (name: "Precedence", value: "bulk"),
            ],
            now: now
        )
    }

    /// A mail rendered from its three templates, `mail.<language>.<name>.subject|text|html`.
    private func compose(
        _ delivery: OutboxDelivery,
        mail name: String,
        view: Any,
        language: Language,
        headers: [(name: String, value: String)],
        now: Date
    ) throws -> Decision {
        let prefix = "mail.\(language.rawValue).\(name)."
        return try compose(
            delivery,
            subject: try renderer.render(view, template: prefix + "subject").trimmingCharacters(in: .whitespacesAndNewlines),
            text: try renderer.render(view, template: prefix + "text"),
            html: try renderer.render(view, template: prefix + "html"),
            headers: headers,
            now: now
        )
    }

    private func compose(
        _ delivery: OutboxDelivery,
        subject: String,
        text: String,
        html: String,
        encodedBodies: (text: [UInt8], html: [UInt8])? = nil,
        headers: [(name: String, value: String)],
        now: Date
    ) throws -> Decision {
        let from = try delivery.list.fromAddress.map { try Mailbox(parsing: $0) } ?? sender
        // The message's tag in its Message-ID (and the headers services echo), so their webhooks name it.
        let tag = tags.flatMap { tags in delivery.message.id.map(tags.tag(for:)) }
        var message = MailMessage(
            from: from,
            to: Mailbox(name: nil, address: delivery.address),
            subject: subject,
            text: text,
            html: html,
            headers: headers + (tag.map { tag in echoes.compactMap { $0.echoHeader(tag: tag) } } ?? []),
            date: now,
            messageID: tag.map { "\($0).\(RandomHex.make().prefix(16))@\(from.domain)" }
        )
        message.encodedBodies = encodedBodies
        var bytes = try message.rendered()
        if let dkim { bytes = try dkim.sign(bytes, domain: from.domain, now: now) }
        // The envelope sender names the message (a bounce finds it); From and DKIM's d= stay the list's.
        let envelopeFrom = bounces.flatMap { bounces in delivery.message.id.map(bounces.address(for:)) } ?? from.address
        return .send(ComposedMessage(envelopeFrom: envelopeFrom, envelopeTo: delivery.address, bytes: bytes))
    }
}
