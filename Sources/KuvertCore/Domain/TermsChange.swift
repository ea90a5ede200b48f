import Foundation

/// A list's new terms, told to its subscribers (`notice`) or put to them again
/// (`reconsent`): `kuvert lists terms SLUG --file F --notice | --reconsent`.
/// One is open per list at a time.
public struct TermsChange: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// Everyone is told; nobody's subscription changes.
        case notice
        /// Everyone is asked to accept the new version by `deadline`; who does
        /// not ends as `lapsed`.
        case reconsent
    }

    public var id: Int64?
    public var listId: Int64
    public var kind: Kind
    /// The version the change is about, and the one in force before it.
    public var termsVersionId: Int64
    public var version: Int
    public var previousVersion: Int
    /// What the editor says changed (Markdown), if they said.
    public var summary: String?
    /// The subscriptions it speaks to: the list's active ones with an id up to
    /// this, as it was opened.
    public var lastSubscriptionId: Int64
    public var createdAt: Date
    /// For a re-consent: when those who did not accept lapse.
    public var deadline: Date?
    /// When every mail of it was in the outbox (nil while queueing, and after
    /// a crash mid-way, until the deadline job finishes it).
    public var queuedAt: Date?
    public var remindedAt: Date?
    public var closedAt: Date?

    /// Every field, as a store reads it from its rows.
    public init(
        id: Int64? = nil,
        listId: Int64,
        kind: Kind,
        termsVersionId: Int64,
        version: Int,
        previousVersion: Int,
        summary: String?,
        lastSubscriptionId: Int64,
        createdAt: Date,
        deadline: Date?,
        queuedAt: Date? = nil,
        remindedAt: Date? = nil,
        closedAt: Date? = nil
    ) {
        self.id = id
        self.listId = listId
        self.kind = kind
        self.termsVersionId = termsVersionId
        self.version = version
        self.previousVersion = previousVersion
        self.summary = summary
        self.lastSubscriptionId = lastSubscriptionId
        self.createdAt = createdAt
        self.deadline = deadline
        self.queuedAt = queuedAt
        self.remindedAt = remindedAt
        self.closedAt = closedAt
    }

    /// When the one reminder goes: half way to the deadline.
    public var reminderAt: Date? {
        deadline.map { createdAt.addingTimeInterval($0.timeIntervalSince(createdAt) / 2) }
    }

    /// The next moment the deadline job has something to do for this change:
    /// finish queueing, remind, lapse and close; nil once closed. A notice
    /// closes when its mail has left, which the job looks at each round.
    public var nextMoment: Date? {
        guard closedAt == nil else { return nil }
        guard queuedAt != nil else { return createdAt.addingTimeInterval(Self.queueingGrace) }
        guard let deadline, let reminderAt else { return nil }
        return remindedAt == nil && reminderAt < deadline ? reminderAt : deadline
    }

    /// How long the command that opened a change has to queue its mail before
    /// the deadline job takes it for interrupted and finishes it: a million
    /// take seconds, and two streams of the same change only waste work.
    public static let queueingGrace: TimeInterval = 300

    /// The one line that refuses a second change while this one is open.
    public func openLine(listSlug: String) -> String {
        let what = kind == .notice ? "a notice of terms v\(version) still being mailed" : "an open re-consent to terms v\(version)"
        let until = deadline.map { " (deadline \($0.formatted(.iso8601)))" } ?? ""
        return "List \(listSlug) has \(what)\(until); publish new terms after it closes."
    }
}

/// What `kuvert lists terms` asks for beyond publishing.
public struct TermsChangeRequest: Sendable, Equatable {
    public var kind: TermsChange.Kind
    public var summary: String?
    /// For a re-consent: how long people have to accept.
    public var deadline: TimeInterval?

    public init(kind: TermsChange.Kind, summary: String? = nil, deadline: TimeInterval? = nil) {
        self.kind = kind
        self.summary = summary
        self.deadline = kind == .reconsent ? (deadline ?? Self.defaultDeadline) : nil
    }

    /// Thirty days, as DESIGN.md says.
    public static let defaultDeadline: TimeInterval = 30 * 86_400
}

/// A terms change with how far it got, for `kuvert lists show SLUG`.
public struct TermsChangeProgress: Sendable, Equatable {
    public var change: TermsChange
    public var listSlug: String
    /// The notices or requests sent, and those still waiting in the outbox.
    public var mailed: Int
    public var waiting: Int
    /// Messages not sent: failed, or skipped (the restricted, the ended).
    public var notSent: Int
    /// Subscriptions it speaks to that accepted the new version since it opened.
    public var accepted: Int
    /// Reminders sent.
    public var reminded: Int
    /// Subscriptions that lapsed at its deadline.
    public var lapsed: Int

    public init(
        change: TermsChange,
        listSlug: String,
        mailed: Int,
        waiting: Int,
        notSent: Int,
        accepted: Int,
        reminded: Int,
        lapsed: Int
    ) {
        self.change = change
        self.listSlug = listSlug
        self.mailed = mailed
        self.waiting = waiting
        self.notSent = notSent
        self.accepted = accepted
        self.reminded = reminded
        self.lapsed = lapsed
    }
}

/// What a re-consent link opens: the subscription, its list, the change, and
/// the new text.
public struct ReconsentContext: Sendable, Equatable {
    public var subscription: Subscription
    public var change: TermsChange
    public var terms: PublishedTerms
    /// Whether the subscription has accepted the new version already.
    public var accepted: Bool

    /// What the link may still do: nothing more once accepted (true);
    /// otherwise accept, while the change is open and the subscription active.
    /// The one decision the page and both stores' acceptance make.
    /// - Throws: `ConfirmationService.LinkError.expired` once the change
    ///   closed, `.noLongerValid` once the subscription ended.
    public func standing() throws(ConfirmationService.LinkError) -> Bool {
        if accepted && subscription.status == .active { return true }
        guard change.closedAt == nil else { throw .expired }
        guard subscription.status == .active else { throw .noLongerValid }
        return false
    }

    public init(subscription: Subscription, change: TermsChange, terms: PublishedTerms, accepted: Bool) {
        self.subscription = subscription
        self.change = change
        self.terms = terms
        self.accepted = accepted
    }
}

/// What one round of the deadline job did.
public struct TermsDeadlineReport: Sendable, Equatable {
    /// Mails queued for changes whose queueing a crash interrupted.
    public var queued: Int = 0
    public var reminded: Int = 0
    public var lapsed: Int = 0
    public var closed: Int = 0

    public init(queued: Int = 0, reminded: Int = 0, lapsed: Int = 0, closed: Int = 0) {
        self.queued = queued
        self.reminded = reminded
        self.lapsed = lapsed
        self.closed = closed
    }

    public var isEmpty: Bool { queued + reminded + lapsed + closed == 0 }
}
