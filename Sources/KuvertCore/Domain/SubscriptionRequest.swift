import Foundation

/// A validated request to subscribe an address to a list.
public struct SubscriptionRequest: Sendable, Equatable {
    public var address: EmailAddress
    /// The list's slug; nil for the default list (the oldest).
    public var listSlug: String?
    public var name: String?
    /// The language the person asked for or their browser prefers; nil for the list's.
    public var language: Language?
    public var origin: RequestOrigin
    /// Who acted, for the audit log: `web`, `cli`.
    public var actor: String
    /// When the confirmation mail may go; nil for at once. Imports spread their
    /// mail out so a list does not arrive at the relay in one burst.
    public var confirmationDueAt: Date?

    public init(
        address: EmailAddress,
        listSlug: String?,
        name: String?,
        language: Language?,
        origin: RequestOrigin,
        actor: String
    ) {
        self.address = address
        self.listSlug = listSlug
        self.name = name
        self.language = language
        self.origin = origin
        self.actor = actor
    }
}

/// What a subscription request did. Callers must answer all of these the same
/// way to the requester, so that nobody learns whether an address is known.
public enum IntakeOutcome: Sendable, Equatable {
    /// The outcome of a request for several lists, from each list's: the first
    /// that queued a mail, else `alreadyActive` when every list is, else `alreadyPending`.
    public static func combined(_ outcomes: [IntakeOutcome]) -> IntakeOutcome {
        for outcome in outcomes {
            if case .confirmationQueued = outcome { return outcome }
        }
        return outcomes.allSatisfy { $0 == .alreadyActive } ? .alreadyActive : .alreadyPending
    }

    /// The subscription a queued confirmation is for.
    public var queuedSubscription: Int64? {
        if case .confirmationQueued(let id) = self { return id }
        return nil
    }

    /// A confirmation mail was queued for a new or renewed pending subscription.
    case confirmationQueued(subscriptionId: Int64)
    /// Pending, and asked for within the resend window: no new mail.
    case alreadyPending
    /// Already confirmed: nothing changed.
    case alreadyActive
}

/// What the confirmation page shows and the acceptance records.
public struct ConfirmationContext: Sendable, Equatable {
    public var subscription: Subscription
    public var list: MailingList
    /// The list's current terms as the person is shown them: the text in their
    /// language when the version has one (its body and SHA-256), else the
    /// list's own.
    public var terms: TermsVersion
    /// The language `terms` is written in.
    public var termsLanguage: Language

    /// Every field, as a store reads it from its rows: `translation` is the
    /// current version's text in the subscription's language, if it has one.
    public init(
        subscription: Subscription,
        list: MailingList,
        terms: TermsVersion,
        translation: (body: String, sha256: String)? = nil
    ) {
        self.subscription = subscription
        self.list = list
        (self.terms, self.termsLanguage) = terms.shown(to: subscription.language, of: list, translation: translation)
    }
}

/// A person's acceptance of a list's terms through a confirmation link.
public struct TermsAcceptance: Sendable, Equatable {
    public var subscriptionId: Int64
    public var nonce: String
    /// The terms version shown on the page the person accepted; nil for the current one.
    public var termsVersion: Int?
    public var origin: RequestOrigin
    /// Pending subscriptions requested longer ago than this have expired.
    public var confirmWindow: TimeInterval
}

/// What accepting the terms did.
public enum ConfirmOutcome: Sendable, Equatable {
    /// Now active, with a `confirmed` consent entry.
    case confirmed(ConfirmationContext)
    /// Active already: nothing changed.
    case alreadyActive(ConfirmationContext)
    /// The terms changed since the page was shown: show the new ones.
    case termsChanged(ConfirmationContext)
    /// No subscription for this link any more, or it was renewed with a new link.
    case superseded
    /// The subscription ended (unsubscribed, bounced) after this link was sent.
    case ended
    /// The pending subscription outlived the confirm window.
    case expired
}
