import Foundation
import Hummingbird
import KuvertCore
import Logging

/// `GET` and `POST /unsubscribe/{token}`: the link in every newsletter.
///
/// GET shows a page with one button and changes nothing. POST unsubscribes at
/// once, whatever its body: RFC 8058 one-click (`List-Unsubscribe=One-Click`,
/// form-encoded or multipart, no cookies) and the page's button alike. It
/// answers 200 with a page, never a redirect.
struct UnsubscribeController: Sendable {
    let unsubscribing: UnsubscribeService
    let pages: Pages
    let maximumBodyBytes: Int
    let metrics: KuvertMetrics

    func register(on router: Router<KuvertRequestContext>) {
        router.get("unsubscribe/:token", use: show)
        router.post("unsubscribe/:token", use: unsubscribe)
    }

    @Sendable func show(_ request: Request, context: KuvertRequestContext) async throws -> Response {
        let token = context.token
        let found = try await pages.linkWorks(request) { try await unsubscribing.open(token, now: Date()) }
        let ended = found.subscription.status.hasEnded
        return try pages.unsubscribe(list: found.list, language: found.subscription.language, token: token, done: ended)
    }

    @Sendable func unsubscribe(_ request: Request, context: KuvertRequestContext) async throws -> Response {
        let token = context.token
        // The body only tells one-click from the page's button; its size is still bounded.
        let body = (try? await request.body.collect(upTo: maximumBodyBytes)).map { String(buffer: $0) } ?? ""
        let origin = RequestOrigin(
            ip: context.clientIP,
            userAgent: request.headers[.userAgent],
            source: Self.isOneClick(body) ? "one-click" : "unsubscribe-page"
        )
        let ended = try await pages.linkWorks(request) {
            try await unsubscribing.unsubscribe(token, origin: origin, now: Date())
        }
        let (subscription, list) = (ended.subscription, ended.list)
        metrics.unsubscribed(source: origin.source)
        context.logger.info("unsubscribed", metadata: ["list": .string(list.slug), "source": .string(origin.source)])
        return try pages.unsubscribe(list: list, language: subscription.language, token: token, done: true)
    }

    /// RFC 8058's body, form-encoded (`List-Unsubscribe=One-Click`) or as a
    /// multipart field named `List-Unsubscribe` with the value `One-Click`.
    static func isOneClick(_ body: String) -> Bool {
        body.contains("List-Unsubscribe=One-Click")
            || (body.contains("name=\"List-Unsubscribe\"") && body.contains("\r\n\r\nOne-Click"))
    }
}
