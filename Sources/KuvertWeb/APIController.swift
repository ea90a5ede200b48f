import Foundation
import HTTPTypes
import Hummingbird
import KuvertCore

/// `/api/v1/`: the same operations as the command line, for programs. Every
/// route needs `Authorization: Bearer TOKEN` (`APIAuthentication`).
struct APIController: Sendable {
    let store: any KuvertStore
    /// The same intake as the form: validation, double opt-in, never active at once.
    let intake: SubscriptionIntake
    let suppression: SuppressionKey
    let maximumBodyBytes: Int
    let mailQueued: DelayedWake

    func register(on router: Router<KuvertRequestContext>) {
        let api = router.group("api/v1").add(middleware: APIAuthentication(tokens: store))
        api.get("lists") { _, _ -> Response in
            let summaries = try await store.listSummaries()
            return try APIJSON.response(ListsAnswer(lists: summaries.map(ListsAnswer.List.init)))
        }
        api.post("subscriptions", use: subscribe)
        api.get("subscribers/:email") { _, context -> Response in
            try await Self.withAddress(context) { address in
                guard let record = try await store.subscriberRecord(address: address) else { return Self.unknownSubscriber() }
                return try APIJSON.response(SubscriberAnswer(record))
            }
        }
        api.get("subscribers/:email/export") { _, context -> Response in
            try await Self.withAddress(context) { address in
                guard let export = try await store.export(address, now: Date()) else { return Self.unknownSubscriber() }
                _ = try await store.recordAudit(
                    AuditEvent(occurredAt: Date(), actor: context.apiActor, action: "subscriber.exported"), address: address)
                return try APIJSON.response(export)
            }
        }
        api.delete("subscribers/:email") { _, context -> Response in
            try await Self.withAddress(context) { address in
                guard try await store.erase(
                    address, suppressionHash: suppression.hash(address), actor: context.apiActor, now: Date())
                else { return Self.unknownSubscriber() }
                return Response(status: .noContent, headers: [.cacheControl: "no-store"])
            }
        }
    }

    /// `POST /api/v1/subscriptions`: `{"email","list","name","locale"}` starts
    /// the double opt-in, as the form does, and answers `202` whatever the
    /// address's state; the consent ledger's source names the token.
    @Sendable func subscribe(_ request: Request, context: KuvertRequestContext) async throws -> Response {
        do {
            let fields = try await FormFields.read(request, limit: maximumBodyBytes)
            guard fields.encoding == .json else { throw FormFields.Problem.unsupportedMediaType }
            let form = SubscribeForm(email: fields["email"], list: fields["list"], name: fields["name"], locale: fields["locale"])
            let origin = RequestOrigin(ip: context.clientIP, userAgent: request.headers[.userAgent], source: context.apiActor)
            let receipt = try await intake.submit(form, preferredLanguage: nil, origin: origin, actor: context.apiActor, now: Date())
            if case .confirmationQueued = receipt.outcome { mailQueued.request() }
            return JSONResponse.pending()
        } catch let problem as FormFields.Problem {
            return JSONResponse.error(WebError(problem))
        } catch KuvertError.unknownList(let slug) {
            return APIJSON.error(status: .notFound, code: "unknown_list", message: KuvertError.unknownList(slug).description)
        } catch let error as KuvertError {
            guard let webError = WebError(error) else { throw error }
            return JSONResponse.error(webError)
        }
    }

    /// `body` with the address in the path, or `422` when it is none.
    private static func withAddress(
        _ context: KuvertRequestContext, _ body: (EmailAddress) async throws -> Response
    ) async throws -> Response {
        let raw = context.parameters.get("email").flatMap { $0.removingPercentEncoding } ?? ""
        let address: EmailAddress
        do {
            address = try EmailAddress(raw)
        } catch {
            return APIJSON.error(status: .unprocessableContent, code: "invalid_email", message: error.description)
        }
        return try await body(address)
    }

    private static func unknownSubscriber() -> Response {
        APIJSON.error(status: .notFound, code: "unknown_subscriber", message: KuvertError.unknownSubscriber.description)
    }

    struct SubscriberAnswer: Encodable {
        struct Subscription: Encodable {
            var list: String
            var status: String
            var language: String
            var requestedAt: Date
            var confirmedAt: Date?
            var endedAt: Date?
        }

        var email: String
        var knownSince: Date
        var subscriptions: [Subscription]

        init(_ record: SubscriberRecord) {
            email = record.subscriber.address
            knownSince = record.subscriber.createdAt
            subscriptions = record.subscriptions.map { entry in
                Subscription(
                    list: entry.list.slug, status: entry.subscription.status.rawValue,
                    language: entry.subscription.language.rawValue, requestedAt: entry.subscription.requestedAt,
                    confirmedAt: entry.subscription.confirmedAt, endedAt: entry.subscription.endedAt)
            }
        }
    }

    struct ListsAnswer: Encodable {
        struct List: Encodable {
            var slug: String
            var name: String
            var language: String
            var termsVersion: Int
            var counts: [String: Int]

            init(_ summary: ListSummary) {
                slug = summary.list.slug
                name = summary.list.name
                language = summary.list.language.rawValue
                termsVersion = summary.termsVersion
                counts = Dictionary(uniqueKeysWithValues: SubscriptionStatus.allCases.map { ($0.rawValue, summary.counts[$0] ?? 0) })
            }
        }

        var lists: [List]
    }
}

/// Checks `Authorization: Bearer TOKEN` (the scheme in any case) against the
/// stored hashes. A missing, malformed, unknown or revoked token gets the same
/// `401` with `WWW-Authenticate: Bearer`, and the request goes no further.
struct APIAuthentication: RouterMiddleware {
    typealias Context = KuvertRequestContext
    let tokens: any APITokenStore

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token = try await authenticated(request) else {
            var response = APIJSON.error(
                status: .unauthorized, code: "unauthorized", message: "This route needs Authorization: Bearer TOKEN (kuvert api-token create).")
            response.headers[.wwwAuthenticate] = "Bearer"
            return response
        }
        var context = context
        context.apiToken = token.name
        return try await next(request, context)
    }

    private func authenticated(_ request: Request) async throws -> APIToken? {
        guard let header = request.headers[.authorization] else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let secret = parts[1].trimmingCharacters(in: .whitespaces)
        guard secret.hasPrefix("kuvert_"), secret.count <= 128 else { return nil }
        guard let token = try await tokens.activeAPIToken(hash: APIToken.hash(secret)), token.matches(secret) else { return nil }
        return token
    }
}

/// JSON answers of the API: sorted keys, ISO 8601 times, `no-store`; errors as
/// `{"error","message"}`.
enum APIJSON {
    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }

    static func error(status: HTTPResponse.Status, code: String, message: String) -> Response {
        JSONResponse.make(["error": code, "message": message], status: status)
    }
}

extension KuvertRequestContext {
    /// Who acts in the audit log and the consent ledger: `api:NAME`, the token's name.
    var apiActor: String { "api:" + (apiToken ?? "?") }
}
