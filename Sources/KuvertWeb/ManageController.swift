import Foundation
import Hummingbird
import KuvertCore
import Logging

/// `GET` and `POST /manage/{token}`: the person's own page, linked from every
/// newsletter, welcome and notice mail. GET changes nothing; a POST carries
/// everything it needs (the lists wanted, the terms version each showed, the
/// name and language), so the page needs no cookie and no JavaScript.
struct ManageController: Sendable {
    let manage: ManageService
    let pages: Pages
    let maximumBodyBytes: Int
    let limits: RequestLimits
    /// Wakes the mailer for the welcome mail after a join.
    let mailQueued: DelayedWake

    /// Room for a box per list beside the page's own fields.
    static let maximumFields = 256

    func register(on router: Router<KuvertRequestContext>) {
        router.get("manage/:token", use: show)
        router.post("manage/:token", use: save)
    }

    @Sendable func show(_ request: Request, context: KuvertRequestContext) async throws -> Response {
        let token = context.token
        let preferences = try await pages.linkWorks(request) { try await manage.open(token, now: Date()) }
        return try pages.manage(preferences, token: token)
    }

    @Sendable func save(_ request: Request, context: KuvertRequestContext) async throws -> Response {
        let token = context.token
        let language = request.pageLanguage
        if let wait = try await limits.client(context) {
            throw PageError(RequestLimits.tooMany(retryAfter: wait), json: false, language: language, retryAfter: wait, pages: pages)
        }
        let fields: FormFields
        do {
            fields = try await FormFields.read(
                request,
                limit: maximumBodyBytes,
                repeatable: ["list"],
                maximumFields: Self.maximumFields
            )
        } catch {
            throw PageError(WebError(error), json: false, language: language, pages: pages)
        }
        let origin = RequestOrigin(ip: context.clientIP, userAgent: request.headers[.userAgent], source: "preferences", actor: "web")
        let change: PreferenceChange
        do {
            change = PreferenceChange(
                lists: Self.wanted(fields.all("list"), shown: fields["shown"] ?? ""),
                rectification: try Rectification.validated(name: fields["name"], locale: fields["locale"]),
                leaveAll: fields["leave_all"] == "yes"
            )
        } catch let error as KuvertError {
            let preferences = try await pages.linkWorks(request) { try await manage.open(token, now: Date()) }
            let message = WebError(error).map { $0.message(in: preferences.language) } ?? "\(error)"
            return try pages.manage(preferences, token: token, problem: message, status: .unprocessableContent)
        }
        let saved: (PreferenceOutcome, Preferences)
        do {
            saved = try await pages.linkWorks(request) { try await manage.save(token, change, origin: origin, now: Date()) }
        } catch KuvertError.unknownList(let slug) {
            let preferences = try await pages.linkWorks(request) { try await manage.open(token, now: Date()) }
            let message = WebError(KuvertError.unknownList(slug)).map { $0.message(in: preferences.language) } ?? ""
            return try pages.manage(preferences, token: token, problem: message, status: .unprocessableContent)
        }
        let (outcome, preferences) = saved
        switch outcome {
        case .saved(let joined, let left, let fields):
            if !joined.isEmpty { mailQueued.request() }
            context.logger.info(
                "preferences saved",
                metadata: [
                    "joined": .stringConvertible(joined.count), "left": .stringConvertible(left.count),
                    "fields": .string(fields.joined(separator: ",")),
                ]
            )
            return try pages.manage(preferences, token: token, saved: true)
        case .termsChanged(let slugs):
            return try pages.manage(preferences, token: token, termsChanged: Set(slugs), status: .conflict)
        }
    }

    /// The lists named, each with the terms version the page showed for it
    /// (`shown` is `slug:version` pairs separated by spaces; a list it does not
    /// name counts as version 0, which no list has, so its terms are shown again).
    static func wanted(_ slugs: [String], shown: String) -> [String: Int] {
        let versions = versions(shown: shown)
        return Dictionary(slugs.map { ($0, versions[$0] ?? 0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The terms versions a page showed, from its `shown` field: `slug:version`
    /// pairs separated by spaces.
    static func versions(shown: String) -> [String: Int] {
        var versions: [String: Int] = [:]
        for pair in shown.split(separator: " ").prefix(maximumFields) {
            let parts = pair.split(separator: ":")
            if parts.count == 2, let version = Int(parts[1]) { versions[String(parts[0])] = version }
        }
        return versions
    }
}
