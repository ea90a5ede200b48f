import Foundation
import Hummingbird
import KuvertCore

/// `GET /terms/{slug}` and `/terms/{slug}/{version}`: a list's current terms,
/// or any published version, with the SHA-256 of the text shown: the exact
/// text a consent record points at. In the language `?locale=` or the browser
/// asks for when the version has it, else the list's own.
struct TermsController: Sendable {
    let store: any ListStore
    let pages: Pages

    func register(on router: Router<KuvertRequestContext>) {
        router.get("terms/:slug") { request, context in try await show(request, context, version: nil) }
        router.get("terms/:slug/:version") { request, context -> Response in
            guard let raw = context.parameters.get("version"), let version = Int(raw), version > 0, raw.utf8.count <= 9 else {
                return try pages.termsMissing(language: request.pageLanguage)
            }
            return try await show(request, context, version: version)
        }
    }

    private func show(_ request: Request, _ context: KuvertRequestContext, version: Int?) async throws -> Response {
        let asked = request.uri.queryParameters.get("locale").flatMap { Language(rawValue: $0) } ?? request.browserLanguage
        guard let slug = context.parameters.get("slug"), MailingList.isValidSlug(slug) else {
            return try pages.termsMissing(language: asked ?? .en)
        }
        let published: PublishedTerms?
        do {
            published = try await store.publishedTerms(listSlug: slug, version: version)
        } catch KuvertError.unknownList {
            published = nil
        }
        guard let published else { return try pages.termsMissing(language: asked ?? .en) }
        return try pages.terms(published, language: asked ?? published.list.language)
    }
}
