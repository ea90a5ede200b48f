import Foundation
import Hummingbird
import KuvertCore
import Logging

/// `GET` and `POST /reconsent/{token}`: a subscriber accepts a list's new
/// terms. GET shows the text and one button and changes nothing (mail scanners
/// follow links); only a POST with `accept_terms=yes` records the acceptance.
struct ReconsentController: Sendable {
    let reconsent: ReconsentService
    let pages: Pages
    let maximumBodyBytes: Int

    func register(on router: Router<KuvertRequestContext>) {
        router.get("reconsent/:token", use: show)
        router.post("reconsent/:token", use: accept)
    }

    @Sendable func show(_ request: Request, context: KuvertRequestContext) async throws -> Response {
        let token = context.token
        let opened = try await pages.linkWorks(request) { try await reconsent.open(token, now: Date()) }
        return try pages.reconsent(opened, token: token)
    }

    @Sendable func accept(_ request: Request, context: KuvertRequestContext) async throws -> Response {
        let token = context.token
        let fields: FormFields
        do {
            fields = try await FormFields.read(request, limit: maximumBodyBytes)
        } catch {
            throw PageError(WebError(error), json: false, language: request.pageLanguage, pages: pages)
        }
        let opened = try await pages.linkWorks(request) { try await reconsent.open(token, now: Date()) }
        guard opened.accepted || fields["accept_terms"] == "yes" else {
            return try pages.reconsent(opened, token: token, acceptMissing: true)
        }
        let origin = RequestOrigin(ip: context.clientIP, userAgent: request.headers[.userAgent], source: "reconsent")
        let accepted = try await pages.linkWorks(request) {
            try await reconsent.accept(token, language: opened.subscription.language, origin: origin, now: Date())
        }
        context.logger.info("terms accepted again", metadata: ["list": .string(accepted.terms.list.slug), "version": "\(accepted.change.version)"])
        return try pages.reconsent(accepted, token: token)
    }
}
