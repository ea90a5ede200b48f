import Foundation
import Synchronization

/// Turns a posted subscription form into a pending subscription.
///
/// Validation happens here, so the web form, the JSON API and later the CSV
/// import accept exactly the same input.
public struct SubscriptionIntake: Sendable {
    /// What became of a form, with what the answer page needs. The outcome must
    /// never be revealed to the requester.
    public struct Receipt: Sendable, Equatable {
        /// Every list the form named, in its order (at least one).
        public var lists: [MailingList]
        /// The first list the form named: its thanks page answers.
        public var list: MailingList { lists[0] }
        /// The language to answer in: the form's, else the browser's, else the list's.
        public var language: Language
        /// What the store did; nil when the honeypot was filled and nothing was stored.
        public var outcome: IntakeOutcome?
    }

    private let lists: ListCache
    private let subscriptions: any SubscriptionStore
    private let resendWindow: TimeInterval

    /// - Parameter listLifetime: how long a looked-up list is reused before it
    ///   is read again (a list changed from the command line shows within it).
    public init(store: any ListStore & SubscriptionStore, resendWindow: TimeInterval, listLifetime: TimeInterval = 5) {
        self.lists = ListCache(store: store, lifetime: listLifetime)
        self.subscriptions = store
        self.resendWindow = resendWindow
    }

    /// Validates the form and records the request (see `SubscriptionStore.subscribe`).
    ///
    /// A filled honeypot, or a form posted sooner after rendering than a person
    /// could, answers like success and stores nothing.
    /// - Parameter preferredLanguage: the browser's language, used when the form names none.
    /// - Throws: `KuvertError.invalidAddress`, `.invalidField`, `.unknownList`, `.noDefaultList`.
    public func submit(
        _ form: SubscribeForm,
        preferredLanguage: Language?,
        origin: RequestOrigin,
        actor: String,
        now: Date
    ) async throws -> Receipt {
        let slugs = try Self.listSlugs(form)
        var named: [MailingList] = []
        for slug in slugs { named.append(try await lists.mailingList(slug: slug, now: now)) }
        let list = named[0]
        let asked = form.locale.flatMap { Language(tag: $0) } ?? preferredLanguage
        var receipt = Receipt(lists: named, language: asked ?? list.language, outcome: nil)
        if let website = form.website, !website.trimmingCharacters(in: .whitespaces).isEmpty {
            return receipt
        }
        guard form.looksHuman else { return receipt }
        guard let email = form.email else { throw KuvertError.invalidField(name: "email", reason: "is required") }
        let address: EmailAddress
        do {
            address = try EmailAddress(email)
        } catch {
            throw KuvertError.invalidAddress(error)
        }
        let request = SubscriptionRequest(
            address: address,
            listSlug: list.slug,
            name: try Self.validName(form.name),
            language: asked,
            origin: origin,
            actor: actor
        )
        receipt.outcome =
            named.count == 1
            ? try await subscriptions.subscribe(request, resendWindow: resendWindow, now: now)
            : try await subscriptions.subscribe(request, lists: named.map(\.slug), resendWindow: resendWindow, now: now)
        return receipt
    }

    /// The lists a form names, each once, in its order: `[nil]` for the
    /// default list when it names none.
    /// - Throws: `KuvertError.unknownList` for a slug of the wrong shape,
    ///   `.invalidField` for more than `SubscribeForm.maximumLists`.
    static func listSlugs(_ form: SubscribeForm) throws -> [String?] {
        guard !form.moreLists.isEmpty else { return [try listSlug(form.list)] }
        var slugs: [String] = []
        for raw in [form.list].compactMap({ $0 }) + form.moreLists {
            guard let slug = try listSlug(raw) else {
                throw KuvertError.invalidField(name: "list", reason: "is empty: name a list in each")
            }
            if !slugs.contains(slug) { slugs.append(slug) }
        }
        guard slugs.count <= SubscribeForm.maximumLists else {
            throw KuvertError.invalidField(name: "list", reason: "names more than \(SubscribeForm.maximumLists) lists")
        }
        return slugs
    }

    /// The slug named by the form, nil for the default list.
    static func listSlug(_ raw: String?) throws -> String? {
        guard let list = raw?.trimmingCharacters(in: .whitespaces), !list.isEmpty else { return nil }
        guard MailingList.isValidSlug(list) else { throw KuvertError.unknownList(String(list.prefix(64))) }
        return list
    }

    /// A trimmed name of at most 200 characters without control characters; nil when empty.
    static func validName(_ raw: String?) throws -> String? {
        guard let name = raw?.trimmingCharacters(in: .whitespaces), !name.isEmpty else { return nil }
        guard name.count <= SubscribeForm.maximumNameLength else {
            throw KuvertError.invalidField(name: "name", reason: "is longer than \(SubscribeForm.maximumNameLength) characters")
        }
        guard !name.unicodeScalars.contains(where: \.isControlCharacter) else {
            throw KuvertError.invalidField(name: "name", reason: "contains a line break or control character")
        }
        return name
    }
}

/// Lists by slug for a few seconds: every form post names one, and they change
/// only from the command line. Unknown slugs are not remembered.
private final class ListCache: Sendable {
    private let store: any ListStore
    private let lifetime: TimeInterval
    private let entries = Mutex<[String: (list: MailingList, until: Date)]>([:])
    /// The key of the default list (a slug cannot be empty).
    private static let defaultKey = ""

    init(store: any ListStore, lifetime: TimeInterval) {
        self.store = store
        self.lifetime = lifetime
    }

    func mailingList(slug: String?, now: Date) async throws -> MailingList {
        let key = slug ?? Self.defaultKey
        if let cached = entries.withLock({ $0[key] }), cached.until > now { return cached.list }
        let list = try await store.mailingList(slug: slug)
        entries.withLock { entries in
            if entries.count > 1000 { entries.removeAll() }
            entries[key] = (list, now.addingTimeInterval(lifetime))
        }
        return list
    }
}
