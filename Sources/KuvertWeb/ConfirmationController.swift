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
    /// Wakes the mailer for the welcome mail.
    let mailQueued: DelayedWake

    func register(on router: Router<KuvertRequestContext>) {
        router.get("confirm/:token", use: show)
        router.post("confirm/:token", use: accept)
    }

    @Sendable func show(_ request: Request, context: KuvertRequestContext) async throws -> Response {
        let token = context.token
        let group = try await pages.linkWorks(request) { try await confirmation.openGroup(token, now: Date()) }
        // One list: the group is its subscription, checked as `open` checks it.
        guard group.count == 1, let opened = group.first else { return try pages.confirmSeveral(group, token: token) }
        if opened.subscription.status == .active { return try pages.welcome(opened, alreadyActive: true) }
        return try pages.confirm(opened, token: token)
    }

    @Sendable func accept(_ request: Request, context: KuvertRequestContext) async throws -> Response {
        let token = context.token
        let fields: FormFields
        do {
            fields = try await FormFields.read(request, limit: maximumBodyBytes, repeatable: ["accept_terms"])
        } catch {
            throw PageError(WebError(error), json: false, language: request.pageLanguage, pages: pages)
        }
        let origin = RequestOrigin(ip: context.clientIP, userAgent: request.headers[.userAgent], source: "confirm-page")
        let group = try await pages.linkWorks(request) { try await confirmation.openGroup(token, now: Date()) }
        if group.count > 1 { return try await acceptSeveral(request, context, fields: fields, origin: origin) }
        let accepted = fields.all("accept_terms")
        let acceptsOne = accepted == ["yes"] || (accepted.count == 1 && accepted[0] == group.first?.list.slug)
        let shownVersion = fields["terms_version"].flatMap(Int.init)
        let answer = try await pages.linkWorks(request) {
            try await confirmation.answer(
                token,
                accepted: acceptsOne,
                termsVersion: shownVersion,
                origin: origin,
                now: Date()
            )
        }
        switch answer {
        case .confirmed(let confirmed):
            metrics.confirmed()
            mailQueued.request()
            context.logger.info("subscription confirmed", metadata: ["list": .string(confirmed.list.slug)])
            return try pages.welcome(confirmed, alreadyActive: false)
        case .alreadyActive(let context):
            return try pages.welcome(context, alreadyActive: true)
        case .termsRequired(let confirmation):
            let changed = acceptsOne
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

    /// The answer to a page for several lists: each list ticked (`accept_terms`
    /// naming its slug) with the version the page showed (`shown`).
    private func acceptSeveral(
        _ request: Request,
        _ context: KuvertRequestContext,
        fields: FormFields,
        origin: RequestOrigin
    ) async throws -> Response {
        let token = context.token
        let answer = try await pages.linkWorks(request) {
            try await confirmation.answerGroup(
                token,
                accepted: Set(fields.all("accept_terms")),
                shown: ManageController.versions(shown: fields["shown"] ?? ""),
                origin: origin,
                now: Date()
            )
        }
        if !answer.confirmed.isEmpty {
            metrics.confirmed()
            mailQueued.request()
        }
        context.logger.info(
            "confirmation of several lists",
            metadata: ["confirmed": .stringConvertible(answer.confirmed.count), "termsChanged": .stringConvertible(answer.changed.count)]
        )
        if answer.nothingTicked || !answer.changed.isEmpty {
            return try pages.confirmSeveral(
                answer.group,
                token: token,
                acceptMissing: answer.nothingTicked,
                termsChanged: answer.changed,
                status: .unprocessableContent
            )
        }
        let joined = answer.confirmed.isEmpty ? answer.group.filter { $0.subscription.status == .active } : answer.confirmed
        return try pages.welcome(several: joined, alreadyActive: answer.confirmed.isEmpty)
    }
}
