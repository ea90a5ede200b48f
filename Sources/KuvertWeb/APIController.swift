import Foundation
import HTTPTypes
import Hummingbird
import KuvertCore

/// `/api/v1/`: the same operations as the command line, for programs. Every
/// route needs `Authorization: Bearer TOKEN` (`APIAuthentication`).
struct APIController: Sendable {
    let store: any KuvertStore

    func register(on router: Router<KuvertRequestContext>) {
        let api = router.group("api/v1").add(middleware: APIAuthentication(tokens: store))
        api.get("lists") { _, _ -> Response in
            let summaries = try await store.listSummaries()
            return try APIJSON.response(ListsAnswer(lists: summaries.map(ListsAnswer.List.init)))
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
