import Foundation

/// A person's own manage page: every list with where they stand on it, and
/// the changes they make there, each with the proof the first consent has.
public protocol PreferenceStore: Sendable {
    /// What the manage page shows the person with this id; nil once erased.
    func preferences(subscriberId: Int64) async throws -> Preferences?
    /// Applies what the person posted, in one transaction: lists left end at
    /// once (ledger `withdrawn`, source `preferences`); lists joined become
    /// active at once with a `confirmed` entry for the terms version the page
    /// showed; a changed name or language is a rectification (audit and
    /// webhook `subscriber.updated`). When a list to join has newer terms than
    /// the page showed, nothing at all changes.
    /// - Throws: `KuvertError.unknownSubscriber` once erased, `.unknownList`.
    func savePreferences(
        subscriberId: Int64,
        _ change: PreferenceChange,
        origin: RequestOrigin,
        now: Date
    ) async throws
        -> PreferenceOutcome
}

/// Everything on a manage page.
public struct Preferences: Sendable, Equatable {
    /// One list, with the person's place on it and its current terms in their language.
    public struct Entry: Sendable, Equatable {
        public var list: MailingList
        /// nil when the person has never asked for it.
        public var status: SubscriptionStatus?
        public var terms: TermsVersion
        public var termsLanguage: Language

        public init(list: MailingList, status: SubscriptionStatus?, terms: TermsVersion, termsLanguage: Language) {
            self.list = list
            self.status = status
            self.terms = terms
            self.termsLanguage = termsLanguage
        }

        public var isJoined: Bool { status == .active }
    }

    public var subscriber: Subscriber
    /// The name the person gave most recently, if any.
    public var name: String?
    public var language: Language
    /// Every list, oldest first.
    public var lists: [Entry]

    public init(subscriber: Subscriber, name: String?, language: Language, lists: [Entry]) {
        self.subscriber = subscriber
        self.name = name
        self.language = language
        self.lists = lists
    }
}

/// What a person posted on their manage page.
public struct PreferenceChange: Sendable, Equatable {
    /// The slugs of the lists the person wants to be on, each with the terms
    /// version the page showed for it; every other list they are on ends.
    public var lists: [String: Int]
    public var rectification: Rectification
    /// `leave_all=yes`: every subscription ends, pending ones too; `lists` is not read.
    public var leaveAll: Bool

    public init(lists: [String: Int], rectification: Rectification = Rectification(), leaveAll: Bool = false) {
        self.lists = leaveAll ? [:] : lists
        self.rectification = rectification
        self.leaveAll = leaveAll
    }
}

/// What saving the manage page did.
public enum PreferenceOutcome: Sendable, Equatable {
    /// Saved: the lists joined and left (slugs) and the fields corrected.
    case saved(joined: [String], left: [String], fields: [String])
    /// A list to join has newer terms than the page showed: nothing changed;
    /// the page shows them again.
    case termsChanged(slugs: [String])
}

/// What saving a manage page means against the page as it stands: shared by
/// both stores, so that they read a post the same way.
package struct PreferencePlan {
    /// Lists to join, with the terms (in the person's language) to record.
    package var joining: [Preferences.Entry] = []
    /// Lists the person is on and did not name.
    package var leaving: [Preferences.Entry] = []
    /// Lists to join whose terms are newer than the page showed.
    package var changedTerms: [String] = []

    /// - Throws: `KuvertError.unknownList` for a slug that names no list.
    package init(_ preferences: Preferences, _ change: PreferenceChange) throws {
        let bySlug = Dictionary(preferences.lists.map { ($0.list.slug, $0) }, uniquingKeysWith: { first, _ in first })
        if let unknown = change.lists.keys.sorted().first(where: { bySlug[$0] == nil }) { throw KuvertError.unknownList(unknown) }
        for entry in preferences.lists {
            if let shown = change.lists[entry.list.slug] {
                guard !entry.isJoined else { continue }
                if shown != entry.terms.version {
                    changedTerms.append(entry.list.slug)
                } else {
                    joining.append(entry)
                }
            } else if entry.isJoined || (change.leaveAll && entry.status == .pending) {
                leaving.append(entry)
            }
        }
    }
}
