import Foundation
import Hummingbird
import KuvertCore

/// `POST /webhooks/bounces/{provider}`: bounces and complaints reported by a
/// sending service (`BounceWebhooks`). `200` with what was taken, also for
/// events that name no message of Kuvert's; `401` for missing or wrong
/// credentials or signatures; `400` for a body that is not the service's
/// format; `413` over a megabyte; `404` for a service not configured; `503`
/// when SES's certificate cannot be fetched or the store is down, so that the
/// service tries again.
struct BounceWebhookController: Sendable {
    let webhooks: BounceWebhooks?

    func register(on router: Router<KuvertRequestContext>) {
        router.post("webhooks/bounces/:provider") { request, context -> Response in
            let provider = try context.parameters.require("provider")
            guard let webhooks else {
                throw APIError(.notFound, "not_configured", "No KUVERT_BOUNCE_WEBHOOK_<PROVIDER> is set: Kuvert takes no bounce webhooks.")
            }
            let (known, _) = try Self.answer { () throws(BounceWebhookError) in try webhooks.reader(provider) }
            let body: ByteBuffer
            do throws(FormFields.Problem) {
                body = try await FormFields.body(request, limit: BounceWebhooks.maximumBodySize)
            } catch { throw APIError(WebError(error)) }
            var headers: [String: String] = [:]
            for field in request.headers where headers[field.name.canonicalName] == nil {
                headers[field.name.canonicalName] = field.value
            }
            let summary: BounceWebhooks.Summary
            do {
                summary = try await webhooks.take(provider, BounceWebhookRequest(body: Array(buffer: body), headers: headers))
            } catch let error as BounceWebhookError {
                throw Self.apiError(error, known)
            }
            return JSONResponse.make(
                ["status": "ok", "events": "\(summary.events)", "recorded": "\(summary.recorded)", "duplicates": "\(summary.duplicates)"],
                status: .ok
            )
        }
    }

    private static func answer<T>(_ body: () throws(BounceWebhookError) -> T) throws -> T {
        do { return try body() } catch { throw apiError(error, nil) }
    }

    /// The answer to a refused POST; a `401` names the scheme the service's credentials take.
    static func apiError(_ error: BounceWebhookError, _ provider: BounceWebhookProvider?) -> APIError {
        switch error {
        case .notConfigured(let message): return APIError(.notFound, "not_configured", message)
        case .malformed(let message): return APIError(.badRequest, "malformed_body", message)
        case .unavailable(let message): return APIError(.serviceUnavailable, "unavailable", message)
        case .unauthorized(let message):
            var headers: HTTPFields = [:]
            if let provider, [.postmark, .brevo, .mailjet].contains(provider) {
                headers[.wwwAuthenticate] = #"Basic realm="kuvert bounces", charset="UTF-8""#
            }
            return APIError(.unauthorized, "unauthorized", message, headers: headers)
        }
    }
}
