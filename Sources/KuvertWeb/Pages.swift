import Foundation
import Hummingbird
import KuvertCore

/// Renders the public pages, localised, as HTML responses.
struct Pages: Sendable {
    /// Every web template the pages use, in each language.
    static let templateNames: [String] =
        Language.allCases.flatMap { language in
            [
                "thanks", "confirm", "welcome", "link-error", "form-error", "unsubscribe", "privacy-request", "privacy", "form", "unavailable",
                "manage", "terms", "confirm-several", "address", "reconsent",
            ].map {
                "web.\(language.rawValue).\($0)"
            }
        } + ["web.style"]

    let renderer: TemplateRenderer
    /// Times on pages, in the organisation's zone.
    var time: HumanTime = .stockholm

    func thanks(list: MailingList, language: Language, embedded: Bool = false) throws -> Response {
        try page("thanks", ThanksView(listName: list.name, embedded: embedded), language: language)
    }

    func confirm(
        _ context: ConfirmationContext,
        token: String,
        acceptMissing: Bool = false,
        termsChanged: Bool = false,
        status: HTTPResponse.Status = .ok
    ) throws -> Response {
        let view = ConfirmView(
            listName: context.list.name,
            termsHTML: TermsRenderer.html(context.terms),
            termsLanguage: context.termsLanguage.rawValue,
            termsVersion: context.terms.version,
            action: "/confirm/" + token,
            acceptMissing: acceptMissing,
            termsChanged: termsChanged
        )
        return try page("confirm", view, language: context.subscription.language, status: status)
    }

    /// The page for a link that stands for several lists: each with its terms
    /// and a box of its own, none ticked.
    func confirmSeveral(
        _ group: [ConfirmationContext],
        token: String,
        acceptMissing: Bool = false,
        termsChanged: Set<String> = [],
        status: HTTPResponse.Status = .ok
    ) throws -> Response {
        let view = ConfirmSeveralView(
            lists: group.map { context in
                ConfirmSeveralView.Entry(
                    slug: context.list.slug,
                    name: context.list.name,
                    active: context.subscription.status == .active,
                    termsVersion: context.terms.version,
                    termsHTML: TermsRenderer.html(context.terms),
                    termsLanguage: context.termsLanguage.rawValue,
                    termsChanged: termsChanged.contains(context.list.slug)
                )
            },
            shown: group.map { "\($0.list.slug):\($0.terms.version)" }.joined(separator: " "),
            action: "/confirm/" + token,
            acceptMissing: acceptMissing,
            termsChanged: !termsChanged.isEmpty
        )
        return try page("confirm-several", view, language: group.first?.subscription.language ?? .en, status: status)
    }

    /// The welcome page after confirming several lists at once.
    func welcome(several joined: [ConfirmationContext], alreadyActive: Bool) throws -> Response {
        let view = WelcomeView(
            listName: joined.map(\.list.name).joined(separator: ", "),
            termsVersion: joined.first?.terms.version ?? 0,
            alreadyActive: alreadyActive,
            several: joined.count > 1,
            lists: joined.map { WelcomeView.Joined(name: $0.list.name, termsVersion: $0.terms.version) }
        )
        return try page("welcome", view, language: joined.first?.subscription.language ?? .en)
    }

    func welcome(_ context: ConfirmationContext, alreadyActive: Bool) throws -> Response {
        let view = WelcomeView(listName: context.list.name, termsVersion: context.terms.version, alreadyActive: alreadyActive)
        return try page("welcome", view, language: context.subscription.language)
    }

    /// The person's manage page, as it stands.
    /// - Parameters:
    ///   - saved: the post was applied: say so.
    ///   - termsChanged: lists whose terms changed since the page was shown; nothing was joined.
    ///   - problem: what was wrong with the post.
    func manage(
        _ preferences: Preferences,
        token: String,
        saved: Bool = false,
        termsChanged: Set<String> = [],
        problem: String? = nil,
        status: HTTPResponse.Status = .ok
    ) throws -> Response {
        let view = ManageView(preferences, action: "/manage/" + token, saved: saved, termsChanged: termsChanged, problem: problem)
        return try page("manage", view, language: preferences.language, status: status)
    }

    /// A published terms version in `language` when it has that text, else in the list's.
    func terms(_ published: PublishedTerms, language: Language) throws -> Response {
        let (terms, termsLanguage) = published.text(in: language)
        let others = ([published.list.language] + published.translations.keys.sorted { $0.rawValue < $1.rawValue })
            .filter { $0 != termsLanguage }
        let path = "/terms/\(published.list.slug)/\(terms.version)"
        let view = TermsView(
            listName: published.list.name,
            version: terms.version,
            termsHTML: TermsRenderer.html(terms),
            termsLanguage: termsLanguage.rawValue,
            sha256: terms.sha256,
            publishedAt: time.text(terms.publishedAt, language: language),
            current: terms.version == published.currentVersion,
            currentVersion: published.currentVersion,
            currentURL: "/terms/\(published.list.slug)",
            otherLanguages: others.map { TermsView.Other(name: Wording.languageName($0), url: path + "?locale=" + $0.rawValue) }
        )
        return try page("terms", view, language: language)
    }

    func termsMissing(language: Language) throws -> Response {
        try page("terms", TermsView(missing: true), language: language, status: .notFound)
    }

    func unsubscribe(list: MailingList, language: Language, token: String, done: Bool) throws -> Response {
        try page("unsubscribe", UnsubscribeView(listName: list.name, action: "/unsubscribe/" + token, done: done), language: language)
    }

    func embeddableForm(listSlug: String?, choices: [MailingList] = [], rendered: String, language: Language) throws -> Response {
        var view = EmbeddableFormView(listSlug: listSlug, rendered: rendered, embedded: true)
        view.choices = choices.map { EmbeddableFormView.Choice(slug: $0.slug, name: $0.name, description: $0.description) }
        return try page("form", view, language: language)
    }

    func privacyRequest(sent: Bool, language: Language) throws -> Response {
        try page("privacy-request", PrivacyRequestView(sent: sent), language: language)
    }

    func privacy(_ export: SubscriberExport, token: String, language: Language, addressRequested: Bool = false) throws -> Response {
        var view = PrivacyView(export, token: token, language: language, time: time)
        view.addressRequested = addressRequested
        return try page("privacy", view, language: language)
    }

    /// The page of a link that confirms a new address: what will change, or
    /// that the address belongs to someone already; after the post, what did.
    func address(_ change: AddressChange?, token: String, changed: Bool = false, taken: Bool = false, language: Language) throws -> Response {
        let view = AddressView(
            newAddress: change?.newAddress ?? "",
            taken: taken || change?.taken == true,
            changed: changed,
            action: "/address/" + token
        )
        return try page("address", view, language: language)
    }

    /// A re-consent: the new text and one button; after the post, or when
    /// accepted before, that the subscription goes on.
    func reconsent(_ context: ReconsentContext, token: String, acceptMissing: Bool = false) throws -> Response {
        let language = context.subscription.language
        let (terms, termsLanguage) = context.terms.text(in: language)
        let view = ReconsentView(
            listName: context.terms.list.name,
            termsHTML: TermsRenderer.html(terms),
            termsLanguage: termsLanguage.rawValue,
            termsVersion: context.change.version,
            previousVersion: context.change.previousVersion,
            previousURL: "/terms/\(context.terms.list.slug)/\(context.change.previousVersion)?locale=\(language.rawValue)",
            deadline: context.change.deadline.map { time.text($0, language: language) } ?? "",
            action: "/reconsent/" + token,
            acceptMissing: acceptMissing,
            accepted: context.accepted
        )
        return try page("reconsent", view, language: language, status: acceptMissing ? .unprocessableContent : .ok)
    }

    func privacyErased(language: Language) throws -> Response {
        try page("privacy", PrivacyView(erased: true), language: language)
    }

    func linkError(_ error: ConfirmationService.LinkError, privacy: Bool = false, language: Language) throws -> Response {
        let view = LinkErrorView(
            invalid: error == .invalidLink,
            expired: error == .expired,
            noLongerValid: error == .noLongerValid,
            privacy: privacy
        )
        return try page("link-error", view, language: language, status: error == .invalidLink ? .badRequest : .gone)
    }

    func formError(
        _ error: WebError,
        email: String?,
        name: String? = nil,
        listSlug: String?,
        language: Language,
        embedded: Bool = false
    ) throws -> Response {
        let view = FormErrorView(
            message: error.message(in: language),
            showForm: error.status == .unprocessableContent,
            email: email ?? "",
            name: name ?? "",
            listSlug: listSlug.flatMap { MailingList.isValidSlug($0) ? $0 : nil },
            embedded: embedded
        )
        return try page("form-error", view, language: language, status: error.status)
    }

    /// A page that only says what went wrong (`unavailable`: the store cannot write).
    func problem(_ name: String, status: HTTPResponse.Status, language: Language) throws -> Response {
        try page(name, [String: String](), language: language, status: status)
    }

    private func page(_ name: String, _ view: Any, language: Language, status: HTTPResponse.Status = .ok) throws -> Response {
        let html = try renderer.render(view, template: "web.\(language.rawValue).\(name)")
        return Response(
            status: status,
            headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: html))
        )
    }
}

struct ThanksView {
    var listName: String
    /// In the website's frame: a compact page without the footer.
    var embedded = false
}

struct ConfirmView {
    var listName: String
    var termsHTML: String
    /// The language the terms are written in, which may not be the page's.
    var termsLanguage: String
    var termsVersion: Int
    var action: String
    var acceptMissing: Bool
    var termsChanged: Bool
}

struct ReconsentView {
    var listName: String
    var termsHTML: String
    var termsLanguage: String
    var termsVersion: Int
    var previousVersion: Int
    var previousURL: String
    var deadline: String
    var action: String
    var acceptMissing: Bool
    var accepted: Bool
}

struct WelcomeView {
    struct Joined {
        var name: String
        var termsVersion: Int
    }

    var listName: String
    var termsVersion: Int
    var alreadyActive: Bool
    var several = false
    var lists: [Joined] = []
}

struct ConfirmSeveralView {
    struct Entry {
        var slug: String
        var name: String
        var active: Bool
        var termsVersion: Int
        var termsHTML: String
        var termsLanguage: String
        var termsChanged: Bool
    }

    var lists: [Entry]
    var shown: String
    var action: String
    var acceptMissing: Bool
    var termsChanged: Bool
}

struct PrivacyRequestView { var sent: Bool }

struct EmbeddableFormView {
    struct Choice {
        var slug: String
        var name: String
        var description: String?
    }

    var listSlug: String?
    var rendered: String
    var email = ""
    var name = ""
    var embedded = false
    /// Several lists offered, a box each.
    var choices: [Choice] = [] {
        didSet { several = !choices.isEmpty }
    }
    /// Stored, for Mustache: whether `choices` has any.
    var several = false
}

/// What the privacy page shows of an export.
struct PrivacyView {
    struct Subscription {
        var listName: String
        var status: String
        var name: String
        var requestedAt: String
        var confirmedAt: String?
        var endedAt: String?
        var messages: Int
        var consent: [Consent]
    }

    struct Consent {
        var at: String
        var kind: String
        var source: String
        var termsVersion: Int?
        var ip: String?
    }

    var erased = false
    var address = ""
    var subscriptions: [Subscription] = []
    var exportURL = ""
    var eraseURL = ""
    var restricted = false
    var restrictURL = ""
    var unrestrictURL = ""
    var addressURL = ""
    /// A new address was asked for: say a link went to it.
    var addressRequested = false

    init(erased: Bool) { self.erased = erased }

    init(_ export: SubscriberExport, token: String, language: Language, time human: HumanTime) {
        let time: (Date) -> String = { human.text($0, language: language) }
        address = export.address
        exportURL = "/privacy/\(token)/export"
        eraseURL = "/privacy/\(token)/erase"
        restricted = export.processingRestricted
        restrictURL = "/privacy/\(token)/restrict"
        unrestrictURL = "/privacy/\(token)/unrestrict"
        addressURL = "/privacy/\(token)/address"
        subscriptions = export.subscriptions.map { subscription in
            Subscription(
                listName: subscription.listName,
                status: Wording.status(subscription.status, language),
                name: subscription.name ?? "-",
                requestedAt: time(subscription.requestedAt),
                confirmedAt: subscription.confirmedAt.map(time),
                endedAt: subscription.endedAt.map(time),
                messages: subscription.messages.count,
                consent: subscription.consent.map {
                    .init(
                        at: time($0.at),
                        kind: Wording.consent($0.kind, language),
                        source: Wording.source($0.source, language),
                        termsVersion: $0.termsVersion,
                        ip: $0.ip
                    )
                }
            )
        }
    }
}

/// What the manage page shows: the person's name and language, and every
/// list with their place on it.
struct ManageView {
    struct Entry {
        var slug: String
        var name: String
        var description: String?
        var joined: Bool
        var pending: Bool
        /// Never asked for, or ended.
        var notJoined: Bool
        var termsVersion: Int
        var termsHTML: String
        var termsLanguage: String
        /// Its terms changed since the page was last shown: shown open.
        var termsChanged: Bool
    }

    var name: String
    var sv: Bool
    var en: Bool
    var lists: [Entry]
    /// `slug:version` of each list's terms as shown, posted back with the form.
    var shown: String
    var action: String
    var saved: Bool
    var termsChanged: Bool
    var restricted: Bool
    var problem: String?
    var joinedAny: Bool

    init(_ preferences: Preferences, action: String, saved: Bool, termsChanged: Set<String>, problem: String?) {
        name = preferences.name ?? ""
        sv = preferences.language == .sv
        en = preferences.language == .en
        lists = preferences.lists.map { entry in
            Entry(
                slug: entry.list.slug,
                name: entry.list.name,
                description: entry.list.description,
                joined: entry.status == .active,
                pending: entry.status == .pending,
                notJoined: entry.status != .active && entry.status != .pending,
                termsVersion: entry.terms.version,
                termsHTML: TermsRenderer.html(entry.terms),
                termsLanguage: entry.termsLanguage.rawValue,
                termsChanged: termsChanged.contains(entry.list.slug)
            )
        }
        shown = preferences.lists.map { "\($0.list.slug):\($0.terms.version)" }.joined(separator: " ")
        self.action = action
        self.saved = saved
        self.termsChanged = !termsChanged.isEmpty
        restricted = preferences.subscriber.restrictedAt != nil
        self.problem = problem
        joinedAny = preferences.lists.contains { $0.status == .active || $0.status == .pending }
    }
}

struct TermsView {
    struct Other {
        var name: String
        var url: String
    }

    var missing = false
    var listName = ""
    var version = 0
    var termsHTML = ""
    var termsLanguage = ""
    var sha256 = ""
    var publishedAt = ""
    var current = true
    var currentVersion = 0
    var currentURL = ""
    var otherLanguages: [Other] = []
}

struct AddressView {
    var newAddress: String
    var taken: Bool
    var changed: Bool
    var action: String
}

struct UnsubscribeView {
    var listName: String
    var action: String
    var done: Bool
}

struct LinkErrorView {
    var invalid: Bool
    var expired: Bool
    var noLongerValid: Bool
    /// A privacy link: offer a new one, not a subscription.
    var privacy: Bool
}

struct FormErrorView {
    var message: String
    var showForm: Bool
    var email: String
    var name: String
    var listSlug: String?
    var embedded: Bool
}
