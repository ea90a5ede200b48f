import Foundation
import Hummingbird
import KuvertCore
import Logging

/// `GET` and `POST /confirm/{token}`: the terms page and its acceptance.
///
/// GET changes nothing, because mail scanners follow links; only a POST with
/// `accept_terms=yes` activates a subscription.
struct ConfirmationController: Sendable {
    let confirmation: ConfirmationService
    let pages: Pages
    let maximumBodyBytes: Int
    let metrics: KuvertMetrics

    func register(on router: Router<KuvertRequestContext>) {
        router.get("confirm/:token", use: show)
        router.post("confirm/:token", use: accept)
    }

    @Sendable func show(_ request: Request, context: KuvertRequestContext) async throws -> Response {
        let token = context.token
        let opened = try await pages.linkWorks(request) { try await confirmation.open(token, now: Date()) }
        if opened.subscription.status == .active { return try pages.welcome(opened, alreadyActive: true) }
        return try pages.confirm(opened, token: token)
    }

    @Sendable func accept(_ request: Request, context: KuvertRequestContext) async throws -> Response {
        let token = context.token
        let fields: FormFields
        do {
            fields = try await FormFields.read(request, limit: maximumBodyBytes)
        } catch {
            throw PageError(WebError(error), json: false, language: request.pageLanguage, pages: pages)
        }
        let shownVersion = fields["terms_version"].flatMap(Int.init)
        let origin = RequestOrigin(ip: context.clientIP, userAgent: request.headers[.userAgent], source: "confirm-page")
        let answer = try await pages.linkWorks(request) {
            try await confirmation.answer(
                token,
                accepted: fields["accept_terms"] == "yes",
                termsVersion: shownVersion,
                origin: origin,
                now: Date()
            )
        }
        switch answer {
        case .confirmed(let confirmed):
            metrics.confirmed()
            context.logger.info("subscription confirmed", metadata: ["list": .string(confirmed.list.slug)])
            return try pages.welcome(confirmed, alreadyActive: false)
        case .alreadyActive(let context):
            return try pages.welcome(context, alreadyActive: true)
        case .termsRequired(let confirmation):
            let changed = fields["accept_terms"] == "yes"
            context.logger.info("confirmation needs terms", metadata: ["termsChanged": .stringConvertible(changed)])
            return try pages.confirm(
                confirmation,
                token: token,
                acceptMissing: !changed,
                termsChanged: changed,
                status: .unprocessableContent
            )
        }
    }
}
